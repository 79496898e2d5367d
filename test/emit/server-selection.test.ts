// Server selection: for random sets of servers on one address:port (every
// server_name kind, duplicates, default_server), the virtual host Envoy picks in
// the compiled configuration (read by the independent route evaluator) is the
// server nginx picks, by nginx's documented order: exact → longest leading
// wildcard → longest trailing wildcard → first regex in file order → default.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { evaluate } from '../../src/sim/envoy/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = ['a.test', 'b.test', 'www.a.test', '*.a.test', '*.b.a.test', '.a.test', '.b.test', 'www.a.*', 'www.*', '~^api\\d+\\.a\\.test$', '~\\.test$', '~^www\\.', '~*'.slice(0, 0) + '~(?i)^MIXED', '_', '""'];
const HOSTS = ['a.test', 'A.TEST', 'a.test.', 'a.test:8080', 'www.a.test', 'x.a.test', 'x.b.a.test', 'b.a.test', 'b.test', 'q.b.test', 'www.a.com', 'www.x', 'api12.a.test', 'foo.test', 'www.foo', 'unknown', 'mixed.org', 'WWW.A.TEST'];

interface Server {
  names: string[];
  dflt: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** nginx (ngx_http_find_virtual_server + ngx_hash_add_key conflicts), from its source. */
function nginxSelect(servers: Server[], rawHost: string): number {
  let host = rawHost.toLowerCase().replace(/:\d+$/, '');
  if (host.endsWith('.')) host = host.slice(0, -1);
  const exact = new Map<string, number>();
  const head = new Map<string, number>(); // "*.x" and ".x" keyed by x, with a flag for ".x"
  const dotted = new Set<string>();
  const tail = new Map<string, number>();
  const regexes: { re: RegExp; i: number }[] = [];
  servers.forEach((s, i) => {
    for (const raw of s.names) {
      const n = raw === '""' ? '' : raw;
      if (n === '') continue;
      if (n.startsWith('~')) {
        const src = n.slice(1);
        const icase = src.startsWith('(?i)');
        regexes.push({ re: new RegExp(icase ? src.slice(4) : src, icase ? 'i' : ''), i });
      } else if (n.startsWith('*.')) {
        const k = n.slice(2);
        if (!head.has(k)) head.set(k, i);
      } else if (n.startsWith('.')) {
        const k = n.slice(1);
        if (!head.has(k) && !exact.has(k)) {
          head.set(k, i);
          exact.set(k, -1 - i); // reserved for the conflict check; matched through the wildcard hash
          dotted.add(k);
        }
      } else if (n.endsWith('.*')) {
        const k = n.slice(0, -2);
        if (!tail.has(k)) tail.set(k, i);
      } else if (!exact.has(n)) exact.set(n, i);
    }
  });
  const e = exact.get(host);
  if (e !== undefined && e >= 0) return e;
  // leading wildcards: the longest suffix first; ".x" also matches x itself
  const labels = host.split('.');
  for (let k = 1; k <= labels.length; k++) {
    const suffix = labels.slice(k).join('.');
    if (k < labels.length && head.has(suffix)) return head.get(suffix)!;
  }
  if (dotted.has(host)) return head.get(host)!;
  for (let k = labels.length - 1; k >= 1; k--) {
    const prefix = labels.slice(0, k).join('.');
    if (tail.has(prefix)) return tail.get(prefix)!;
  }
  for (const r of regexes) if (r.re.test(host)) return r.i;
  const d = servers.findIndex((s) => s.dflt);
  return d >= 0 ? d : 0;
}

function configText(servers: Server[]): string {
  const body = servers
    .map((s, i) => `  server {\n    listen 80${s.dflt ? ' default_server' : ''};\n    server_name ${s.names.join(' ')};\n    location / { return 200 "s${i}"; }\n  }\n`)
    .join('');
  return `events {}\nhttp {\n${body}}\n`;
}

describe('server selection matches nginx', () => {
  test.each(Array.from({ length: 60 }, (_, i) => i + 1))('random server set %i', (seed) => {
    const r = rng(seed * 104729);
    const n = 2 + Math.floor(r() * 5);
    const servers: Server[] = [];
    const dfltAt = r() < 0.5 ? Math.floor(r() * n) : -1;
    for (let i = 0; i < n; i++) {
      const names = Array.from({ length: 1 + Math.floor(r() * 3) }, () => NAMES[Math.floor(r() * NAMES.length)]!);
      servers.push({ names: [...new Set(names)], dflt: i === dfltAt });
    }
    const file = join(dir, `s${seed}.conf`);
    writeFileSync(file, configText(servers));
    const result = compile(file, {});
    expect(result.ok, result.diagnostics.map((d) => d.message).join('\n')).toBe(true);
    for (const host of HOSTS) {
      const d = evaluate(result.bootstrap, { port: 80, address: '0.0.0.0', host, path: '/' });
      const want = nginxSelect(servers, host);
      expect(d.body, `${host} with ${JSON.stringify(servers)}`).toBe(`s${want}`);
    }
  });
});
