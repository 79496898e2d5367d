// A level skips a marker when it holds none of the marker's directive family
// (util.ts directiveFamily). A family that missed a name the marker reports would
// drop that name's report line silently: every known directive name, and the
// names the markers spell out, is run through each marker and must be in its
// family whenever the marker reports it.
import { describe, expect, test } from 'vitest';
import type { Arg, Directive } from '../../src/parse/ast.js';
import { NGINX_DIRECTIVES } from '../../src/analyze/nginx-directives.generated.js';
import { Reporter } from '../../src/lower/classify.js';
import { holds, levelOf } from '../../src/lower/util.js';
import { COMPRESSION_DIRECTIVES, COMPRESSION_FAMILY, COMPRESSION_MARKED, markCompression } from '../../src/lower/compression.js';
import { ACCESS_LOG_MARKED, COMBINED, markAccessLogs } from '../../src/lower/access-log.js';
import { markTracing, TRACING_MARKED } from '../../src/lower/tracing.js';
import { GRPC_MARKED, markGrpc } from '../../src/lower/grpc.js';
import { HTTP2_MARKED, markHttp2 } from '../../src/lower/http2.js';
import { LIMITS_MARKED, markLimits } from '../../src/lower/limits.js';
import { markSslLevel, PROXY_SSL_DIRECTIVES, GRPC_SSL_DIRECTIVES, setsSsl } from '../../src/lower/proxy-ssl.js';
import { lower, policyOf, POLICY_DIRECTIVES } from '../../src/lower/index.js';
import { parseText } from '../../src/parse/index.js';

const pos = { file: 'families.conf', line: 1, col: 1 };

function directive(name: string, values: string[]): Directive {
  const args: Arg[] = values.map((value) => ({ value, quote: null, source: pos }));
  return { kind: 'directive', name, args, source: pos };
}

// Every name nginx knows, and the ones the markers name that nginx's own list may lack (modules).
const NAMES = [
  ...new Set([
    ...NGINX_DIRECTIVES.map((v) => v.name),
    ...COMPRESSION_DIRECTIVES,
    'brotli', 'brotli_static', 'brotli_window', 'brotli_buffers', 'gunzip', 'gunzip_buffers',
    'otel_trace', 'otel_exporter', 'otel_service_name', 'otel_span_name', 'opentracing', 'opentracing_tag', 'zipkin_collector_host', 'datadog_tag',
    'grpc_set_header', 'grpc_read_timeout', 'http2_push', 'http2_push_preload', 'proxy_socket_keepalive',
  ]),
].sort();

const MARKERS: [string, number, (ds: Directive[], r: Reporter) => void][] = [
  ['markCompression', COMPRESSION_MARKED, markCompression],
  ['markAccessLogs', ACCESS_LOG_MARKED, (ds, r) => markAccessLogs(ds, r, new Map([['combined', COMBINED]]))],
  ['markTracing', TRACING_MARKED, markTracing],
  ['markGrpc', GRPC_MARKED, markGrpc],
  ['markHttp2', HTTP2_MARKED, markHttp2],
  ['markLimits', LIMITS_MARKED, markLimits],
];

describe('directive families', () => {
  test('the vocabulary is the one nginx knows (the check below covers hundreds of names)', () => {
    expect(NAMES.length).toBeGreaterThan(500);
  });

  for (const [label, family, mark] of MARKERS) {
    test(`${label}: every name it reports is in its family`, () => {
      const missed: string[] = [];
      let reported = 0;
      for (const name of NAMES) {
        for (const values of [['on'], ['off'], ['1.0', 'x'], []]) {
          const d = directive(name, values);
          const r = new Reporter();
          mark([d], r);
          if (!r.isMarked(d)) continue;
          reported++;
          if (!holds(levelOf([d]), family)) missed.push(name);
        }
      }
      expect(reported).toBeGreaterThan(0);
      expect([...new Set(missed)]).toEqual([]);
    });
  }

  test('a level holds exactly the families of its names', () => {
    const level = levelOf([directive('gzip', ['on']), directive('proxy_pass', ['http://a']), directive('gzip', ['off'])]);
    expect(holds(level, COMPRESSION_FAMILY)).toBe(true);
    expect(holds(level, COMPRESSION_MARKED)).toBe(true);
    expect(holds(level, LIMITS_MARKED)).toBe(false);
    expect(holds(level, GRPC_MARKED | LIMITS_MARKED)).toBe(false);
    expect(holds(levelOf([]), COMPRESSION_FAMILY | ACCESS_LOG_MARKED | TRACING_MARKED)).toBe(false);
  });

  test('setsSsl answers by the family sets, and markSslLevel reports a level holding either family', () => {
    for (const name of PROXY_SSL_DIRECTIVES) {
      expect(setsSsl(levelOf([directive(name, ['on'])]), 'proxy')).toBe(true);
      expect(setsSsl(levelOf([directive(name, ['on'])]), 'grpc')).toBe(false);
    }
    for (const name of GRPC_SSL_DIRECTIVES) expect(setsSsl(levelOf([directive(name, ['on'])]), 'grpc')).toBe(true);
    const d = directive('grpc_ssl_session_reuse', ['off']);
    const r = new Reporter();
    markSslLevel(levelOf([directive('listen', ['80']), d]), r);
    expect(r.isMarked(d)).toBe(true);
  });

  test('a location without policy directives shares its parent policy; one with any of them has its own', () => {
    for (const name of ['proxy_read_timeout', 'add_header', 'gzip', 'access_log']) {
      expect(POLICY_DIRECTIVES.has(name)).toBe(true);
    }
    const conf = `http { server { listen 8080; proxy_read_timeout 5s;
      location /a { proxy_pass http://127.0.0.1:9000; }
      location /b { proxy_pass http://127.0.0.1:9000; proxy_read_timeout 7s; }
      location /c { return 200; } } }`;
    const ir = lower(parseText(conf, 'families.conf')).ir!;
    const [a, b, c] = ir.servers[0]!.locations;
    expect(a!.policy).toBe(c!.policy);
    expect(a!.policy.proxyReadTimeoutMs).toBe(5000);
    expect(b!.policy).not.toBe(a!.policy);
    expect(b!.policy.proxyReadTimeoutMs).toBe(7000);
  });

  test('a location with a rewrite-module directive gets its steps, one without has none', () => {
    const conf = `http { server { listen 8080;
      location /a { rewrite ^/a/(.*)$ /b/$1 break; proxy_pass http://127.0.0.1:9000; }
      location /b { proxy_pass http://127.0.0.1:9000; }
      location /c/ { fastcgi_pass 127.0.0.1:9000; } } }`;
    const ir = lower(parseText(conf, 'families.conf')).ir!;
    const [a, b, c] = ir.servers[0]!.locations;
    expect(a!.rewrites.map((s) => s.kind)).toEqual(['rewrite']);
    expect(b!.rewrites).toEqual([]);
    expect(a!.rewrites).not.toBe(b!.rewrites);
    // fastcgi_pass: a content handler (502) and an auto_redirect handler
    expect(c!.action).toMatchObject({ kind: 'static', status: 502 });
    expect(c!.autoRedirect).toBe(true);
  });
});

describe('http-level edge directives', () => {
  test('are reported once, by the http level in effect, however many servers inherit them', () => {
    const conf = `http {
      set_real_ip_from 10.0.0.0/8;
      real_ip_header X-Forwarded-For;
      gzip on;
      keepalive_timeout 30s;
      server { listen 8080; location / { return 200; } }
      server { listen 8081; real_ip_header X-Real-IP; location / { return 200; } }
      server { listen 8082; gzip off; location / { return 200; } }
    }`;
    const ir = lower(parseText(conf, 'nginx.conf')).ir!;
    const at = (line: number) => ir.report.filter((e) => e.line === line);
    const [realIpFrom, realIpHeader, gzip, keepalive] = [2, 3, 4, 5].map((line) => at(line));
    for (const entries of [realIpFrom, realIpHeader, gzip, keepalive]) expect(entries).toHaveLength(1);
    // the http level's own setting (X-Forwarded-For), not a server's: one reason, not one per server
    expect(realIpFrom[0]!.reason).toMatch(/^use_remote_address with xff_num_trusted_hops 1/);
    expect(realIpFrom[0]!.reason).not.toMatch(/custom_header/);
    expect(gzip[0]!.reason).toBe('envoy.filters.http.compressor with the gzip library');
    expect(keepalive[0]!.reason).toMatch(/^common_http_protocol_options.idle_timeout/);
    // and each server's own directives are reported where they are
    const named = (line: number, name: string) => at(line).find((e) => e.directive === name)!;
    expect(named(7, 'real_ip_header').reason).toMatch(/custom_header X-Real-IP/);
    expect(named(8, 'gzip').reason).toBe('no compression here (the compressor is disabled on these routes)');
  });
});

describe('the edge part of a policy (logs, error pages, compression)', () => {
  test('is the parent scope one when a location sets none of it, and equals what its own levels give', () => {
    const text = `http {
  access_log /var/log/http.log;
  error_page 502 /http502.html;
  server {
    listen 8080;
    error_page 503 /server503.html;
    location /a/ { add_header X-A 1; proxy_pass http://127.0.0.1:9000; }
    location /b/ {
      error_page 504 /b504.html;
      proxy_read_timeout 5s;
      location /b/x/ { add_header X-BX 1; proxy_pass http://127.0.0.1:9000; }
    }
    location /c/ { gzip on; add_header X-C 1; }
    location /d/ { access_log off; add_header X-D 1; }
  }
}`;
    const parsed = parseText(text, 'nginx.conf');
    const ir = lower(parsed).ir!;
    const http = parsed.root.find((s): s is Directive => s.kind === 'directive' && s.name === 'http')!;
    const server = http.block!.find((s): s is Directive => s.kind === 'directive' && s.name === 'server')!;
    const httpL = levelOf(directivesOfBlock(http));
    const serverL = levelOf(directivesOfBlock(server));
    const locs = directivesOfBlock(server).filter((d) => d.name === 'location');
    const levelsOf = (path: Directive[]) => [httpL, serverL, ...path.map((d) => levelOf(directivesOfBlock(d)))];
    const [a, b, c, d] = ir.servers[0]!.locations;
    const bx = b!.children[0]!;
    const nestedB = directivesOfBlock(locs[1]!).find((x) => x.name === 'location')!;
    const cases: [typeof a, Directive[]][] = [[a, [locs[0]!]], [b, [locs[1]!]], [bx, [locs[1]!, nestedB]], [c, [locs[2]!]], [d, [locs[3]!]]];
    for (const [loc, path] of cases) expect(loc!.policy).toEqual(policyOf(levelsOf(path)));
    expect(a!.policy.errorPages!.map((e) => e.target.raw)).toEqual(['/server503.html']);
    expect(a!.policy.accessLogs!.map((l) => l.path)).toEqual(['/var/log/http.log']);
    expect(bx.policy.errorPages!.map((e) => e.target.raw)).toEqual(['/b504.html']);
    expect(bx.policy.errorPages).toBe(b!.policy.errorPages);
    expect(c!.policy.compression).toMatchObject({ gzip: true });
    expect(c!.policy.errorPages).toBe(a!.policy.errorPages);
    expect(d!.policy.accessLogs).toEqual([]);
  });
});

function directivesOfBlock(d: Directive): Directive[] {
  return (d.block ?? []).filter((s): s is Directive => s.kind === 'directive');
}

describe('report entries made from a position the IR already has', () => {
  test('name the directive where it is written, with the file as the IR names it', () => {
    const text = `http {
  server {
    listen 8080;
    location /a/ {
      proxy_set_header X-A 1;
        proxy_set_header X-B 2;
      proxy_pass http://127.0.0.1:9000;
    }
    location = /r { return 301 https://example.com/; }
    location = /s {   return 204; }
  }
}`;
    const parsed = parseText(text, '/etc/nginx/nginx.conf');
    const ir = lower(parsed, { sourceFile: (f) => `mapped:${f.split('/').pop()}` }).ir!;
    const where = new Map<string, string>();
    const visit = (stmts: typeof parsed.root): void => {
      for (const s of stmts) {
        if (s.kind !== 'directive') continue;
        where.set(`${s.name}@${s.source.line}`, `${s.source.line}:${s.source.col}`);
        if (s.block) visit(s.block);
      }
    };
    visit(parsed.root);
    const checked = ir.report.filter((e) => ['location', 'proxy_set_header', 'proxy_pass', 'return'].includes(e.directive));
    expect(checked.map((e) => e.directive).sort()).toEqual(['location', 'location', 'location', 'proxy_pass', 'proxy_set_header', 'proxy_set_header', 'return', 'return']);
    for (const e of checked) {
      expect(e.file).toBe('mapped:nginx.conf');
      expect(`${e.line}:${e.col}`).toBe(where.get(`${e.directive}@${e.line}`));
    }
    expect(checked.find((e) => e.directive === 'proxy_set_header' && e.line === 6)!.col).toBe(9);
    expect(checked.find((e) => e.directive === 'return' && e.line === 10)!.col).toBe(23);
  });
});
