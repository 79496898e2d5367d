// `diff` on configurations too large to probe exhaustively, and cluster changes
// that are not endpoint changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import type { DiffDocument } from '../../src/review/diff.js';
import { probesFor } from '../../src/review/probes.js';
import { runCli } from './run-cli.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ngx2envoy-diff-large-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `servers` servers on one port, each with a few locations; `lastUpstream` is where the last server's `/` goes. */
function manyServers(servers: number, lastUpstream: string, connectTimeout = '60s'): string {
  const lines = ['events {}', 'http {', '  upstream a { server 10.0.0.1:80; }', '  upstream b { server 10.0.0.2:80; }'];
  for (let s = 0; s < servers; s++) {
    // The last server's name sorts after every other (probes go by host name).
    lines.push('  server {', '    listen 8080;', `    server_name ${s === servers - 1 ? 'zz-last' : `s${s}`}.example.com;`);
    lines.push(`    location /api/ { proxy_pass http://a; proxy_connect_timeout ${connectTimeout}; }`, '    location /img/ { return 404; }');
    lines.push(`    location / { proxy_pass http://${s === servers - 1 ? lastUpstream : 'a'}; }`, '  }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

function write(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

describe('diff probes', () => {
  it('probe the servers in focus first when the cross product is cut at the limit', () => {
    const ir = compile(write('probe.conf', manyServers(40, 'a'))).ir!;
    const last = ir.servers.find((s) => s.names.some((n) => n.value === 'zz-last.example.com'))!;
    const hosts = (probes: ReturnType<typeof probesFor>) => new Set(probes.map((p) => p.host));
    // Without focus the first 100 probes are the first hosts' (in name order): the last server is not among them.
    expect(hosts(probesFor([ir], 100)).has('zz-last.example.com')).toBe(false);
    const focused = probesFor([ir], 100, (s) => s === last);
    expect(focused).toHaveLength(100);
    expect(focused.filter((p) => p.host === 'zz-last.example.com').map((p) => p.path)).toEqual(expect.arrayContaining(['/', '/api/', '/img/']));
    // Still in the documented order: by host rank and name, then path.
    const keys = focused.map((p) => `${p.host === p.host.toLowerCase() ? 0 : 1} ${p.host} ${p.path}`);
    expect(keys.filter((k) => !k.includes('unknown.ngx2envoy.invalid'))).toEqual([...keys.filter((k) => !k.includes('unknown.ngx2envoy.invalid'))].sort());
  });

  it('without a limit in the way, focus changes nothing', () => {
    const ir = compile(write('small.conf', manyServers(3, 'a'))).ir!;
    expect(probesFor([ir], 20000, (s) => s === ir.servers[2])).toEqual(probesFor([ir]));
  });

  it('finds the requests of a change in a configuration with more probes than the limit', async () => {
    // 1,300 servers: 1,300 lower-case hosts × ~17 paths, more than 20,000 probes; the
    // changed server's host sorts last, past the limit.
    const before = write('big-a.conf', manyServers(1300, 'a'));
    const after = write('big-b.conf', manyServers(1300, 'b'));
    const unfocused = probesFor([compile(before).ir!, compile(after).ir!]);
    expect(unfocused.some((p) => p.host === 'zz-last.example.com')).toBe(false);
    const r = await runCli(['diff', before, after, '--json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as DiffDocument;
    expect(doc.probes).toBe(20000);
    expect(doc.requests.some((q) => q.host === 'zz-last.example.com' && q.path === '/' && q.before.summary === 'a' && q.after.summary === 'b')).toBe(true);
  }, 120_000);
});

describe('diff of a cluster whose endpoints did not change', () => {
  it('names the settings that changed', async () => {
    // Envoy's connect timeout is the cluster's: upstream c is used by one location only.
    const config = (timeout: string) =>
      `events {}\nhttp {\n  upstream c { server 10.0.0.3:80; }\n  server {\n    listen 8080;\n    location /c/ { proxy_pass http://c; proxy_connect_timeout ${timeout}; }\n  }\n}\n`;
    const r = await runCli(['diff', write('ct-a.conf', config('60s')), write('ct-b.conf', config('5s'))]);
    expect(r.stdout).toMatch(/~ c changed: connect_timeout "60s" → connect_timeout "5s"/);
  });
});
