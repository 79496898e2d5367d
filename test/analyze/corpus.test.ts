// Every real configuration of the corpus, loaded by the parser (fragments in
// the context it detects) and analysed: the directives the table does not know
// must be exactly the reviewed list below, each from a module that is neither
// nginx's own nor one of the third-party modules the table covers.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyze, lookupDirective } from '../../src/analyze/index.js';
import { loadConfig } from '../../src/parse/index.js';

// The corpus lives outside the repository (../shared/corpus/nginx beside the checkout).
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS = [process.env.NGX2ENVOY_CORPUS, join(REPO, '../shared/corpus/nginx'), '/work/shared/corpus/nginx'].find(
  (dir): dir is string => dir !== undefined && existsSync(dir),
);

/** Reviewed unknown directives: name → why nginx (with lua/njs/headers-more/rtmp) does not know it. */
const REVIEWED_UNKNOWN: Record<string, string> = {
  api: 'NGINX Plus ngx_http_api_module (commercial)',
  auth_jwt: 'NGINX Plus ngx_http_auth_jwt_module (commercial)',
  auth_jwt_key_file: 'NGINX Plus ngx_http_auth_jwt_module (commercial)',
  echo: 'openresty echo-nginx-module (not covered)',
  modsecurity: 'ModSecurity-nginx connector',
  modsecurity_rules_file: 'ModSecurity-nginx connector',
  ngx_fastdfs_module: 'fastdfs-nginx-module',
  set_sha1: 'openresty set-misc-nginx-module (not covered)',
  ssl_dyn_rec_enable: "Cloudflare's dynamic TLS record size patch to nginx",
  vhost_traffic_status_filter_by_host: 'nginx-module-vts',
  vhost_traffic_status_zone: 'nginx-module-vts',
  websockify_pass: 'websockify-nginx-module',
};

/** Reviewed other findings (file → messages): true problems of the input, or context limits. */
const REVIEWED_OTHER: Record<string, string[]> = {
  // `worker_rlimit_nofile 200000` lacks its `;`: nginx reads `events {` as its
  // arguments and fails the same way.
  '022-tools__keycloak_nginx_config_nginx.conf': ['directive "worker_rlimit_nofile" is not terminated by ";"'],
  // 169 (a body of an rtmp `server {}`, application blocks) is detected as an
  // rtmp server's inside and analysed there: no finding.
};

const files = CORPUS ? readdirSync(CORPUS).filter((f) => f.endsWith('.conf')).sort() : [];

function analyseCorpus() {
  const unknown = new Map<string, string[]>();
  const other: Record<string, string[]> = {};
  for (const f of files) {
    const config = loadConfig(join(CORPUS!, f));
    for (const finding of analyze(config, { strict: false })) {
      if (finding.code === 'unknown-directive') {
        const name = /^unknown directive "(.*)"$/.exec(finding.message)![1]!;
        unknown.set(name, [...(unknown.get(name) ?? []), `${f}:${finding.source.line}`]);
      } else {
        (other[f] ??= []).push(finding.message);
      }
    }
  }
  return { unknown, other };
}

describe.skipIf(!CORPUS)('analysis of the real-world corpus', () => {
  const { unknown, other } = analyseCorpus();

  it('reads the whole corpus', () => {
    expect(files.length).toBe(137);
  });

  it('finds exactly the reviewed unknown directives', () => {
    expect([...unknown.keys()].sort()).toEqual(Object.keys(REVIEWED_UNKNOWN).sort());
    for (const name of Object.keys(REVIEWED_UNKNOWN)) expect(lookupDirective(name)).toBeUndefined();
  });

  it('finds exactly the reviewed context/arity/block findings', () => {
    expect(other).toEqual(REVIEWED_OTHER);
  });

  it('knows the third-party directives the corpus uses', () => {
    for (const name of ['content_by_lua_block', 'lua_shared_dict', 'js_import', 'more_set_headers', 'rtmp', 'application', 'live', 'ssl']) {
      expect(lookupDirective(name), name).toBeDefined();
    }
  });
});
