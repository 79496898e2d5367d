// ServerReuse (serve's reloads): a compile that reuses the servers of earlier
// compiles must give what a fresh compile of the same files gives — bootstrap,
// IR (but the report, which reuse does not make), success and diagnostics — after
// any sequence of edits. Checked on every fixture under seeded random line edits,
// and on the cross-server effects lowering a server has (inline backends, cluster
// names per transport, $request_id, includes, positions).
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, CompileReuse, renderBootstrap, type CompileResult } from '../../src/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = join(import.meta.dirname, '../../fixtures');

/** What reuse must keep: everything but the report. */
function outcome(r: CompileResult): string {
  return JSON.stringify({
    ok: r.ok,
    diagnostics: r.diagnostics,
    bootstrap: r.bootstrap,
    ir: r.ir ? { ...r.ir, report: [], notes: [] } : null,
    // with the `# nginx: file:line` comments of kept virtual hosts' routes
    yaml: r.ok ? renderBootstrap(r, 'yaml') : '',
  });
}

/** Compile with `reuse`, then fresh; the outcomes must be equal. Returns the reuse stats. */
function compareAt(file: string, reuse: CompileReuse): { reused: number; lowered: number; vhostsReused: number; vhostsEmitted: number } {
  const reusing = compile(file, { reuse });
  const fresh = compile(file, {});
  expect(outcome(reusing)).toBe(outcome(fresh));
  if (fresh.ok) expect(reusing.report.directives).toEqual([]);
  return { ...reuse.servers.stats, vhostsReused: reuse.vhosts.stats.reused, vhostsEmitted: reuse.vhosts.stats.emitted };
}

function seeded(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

describe('ServerReuse: the same output as a fresh compile', () => {
  it('on every fixture, through seeded random line edits (delete, duplicate, renumber, blank line, revert)', () => {
    let reused = 0;
    let lowered = 0;
    let vhostsReused = 0;
    let vhostsEmitted = 0;
    for (const fixture of readdirSync(FIXTURES).sort()) {
      if (!existsSync(join(FIXTURES, fixture, 'nginx.conf'))) continue;
      const copy = join(dir, fixture);
      cpSync(join(FIXTURES, fixture), copy, { recursive: true });
      const file = join(copy, 'nginx.conf');
      const original = readFileSync(file, 'utf8');
      const rnd = seeded(fixture.length * 7919 + fixture.charCodeAt(0));
      const reuse = new CompileReuse();
      let text = original;
      compareAt(file, reuse);
      for (let step = 0; step < 8; step++) {
        const lines = text.split('\n');
        const at = rnd(lines.length);
        const op = rnd(5);
        if (op === 0) lines.splice(at, 1);
        else if (op === 1) lines.splice(at, 0, lines[at]!);
        else if (op === 2) lines[at] = lines[at]!.replace(/\d+/, (m) => String(Number(m) + 1 + rnd(3)));
        else if (op === 3) lines.splice(at, 0, '');
        text = op === 4 ? original : lines.join('\n');
        writeFileSync(file, text);
        const stats = compareAt(file, reuse);
        reused += stats.reused;
        lowered += stats.lowered;
        vhostsReused += stats.vhostsReused;
        vhostsEmitted += stats.vhostsEmitted;
      }
    }
    // The check means something only if servers and virtual hosts were in fact reused (and some made again).
    expect(reused).toBeGreaterThan(100);
    expect(lowered).toBeGreaterThan(100);
    expect(vhostsReused).toBeGreaterThan(100);
    expect(vhostsEmitted).toBeGreaterThan(100);
  });
});

describe('ServerReuse: effects across servers', () => {
  const server = (name: string, body: string) => `    server {\n        listen 8080;\n        server_name ${name};\n${body}\n    }\n`;
  const conf = (servers: string[], http = '') => `events {}\nhttp {\n${http}${servers.join('')}}\n`;

  function sequence(name: string, steps: string[], files: Record<string, string>[] = []): CompileReuse {
    const reuse = new CompileReuse();
    const file = join(dir, `${name}.conf`);
    steps.forEach((text, i) => {
      for (const [path, content] of Object.entries(files[i] ?? {})) writeFileSync(join(dir, path), content);
      writeFileSync(file, text);
      compareAt(file, reuse);
    });
    return reuse;
  }

  it('reuses the servers an edit left alone, and lowers the edited one again', () => {
    const a = server('a.test', '        location / { proxy_pass http://127.0.0.1:9001; }');
    const b = server('b.test', '        location / { proxy_pass http://127.0.0.1:9002; }');
    const c = server('c.test', '        location / { return 200 c; }');
    const reuse = sequence('untouched', [conf([a, b, c]), conf([a, b.replace('9002', '9003'), c])]);
    expect(reuse.servers.stats).toEqual({ reused: 2, lowered: 1 });
  });

  it('an inline backend is described by its first proxy_pass, whichever server that is after the edit', () => {
    const a = server('a.test', '        location / { proxy_pass http://127.0.0.1:9001; }');
    const b = server('b.test', '        location /b/ { proxy_pass http://127.0.0.1:9001; }');
    sequence('inline-first', [conf([a, b]), conf([server('a.test', '        location / { return 204; }'), b]), conf([a, b])]);
  });

  it('cluster names per transport follow every use: a server reused keeps the right cluster', () => {
    const plain = server('a.test', '        location / { proxy_pass http://pool; }');
    const tls = server('b.test', '        location / { proxy_pass https://pool; proxy_ssl_server_name on; }');
    const other = server('b.test', '        location / { proxy_pass http://pool; }');
    const http = '    upstream pool { server 127.0.0.1:9443; }\n';
    sequence('transports', [conf([plain, tls], http), conf([plain, other], http), conf([plain, tls], http)]);
  });

  it('a kept virtual host is emitted again when its cluster names change (transports of another server)', () => {
    const plain = server('a.test', '        location / { proxy_pass http://pool; }');
    const tls = server('b.test', '        location / { proxy_pass https://pool; proxy_ssl_server_name on; }');
    const other = server('b.test', '        location / { return 204; }');
    const http = '    upstream pool { server 127.0.0.1:9443; }\n';
    const reuse = sequence('vhost-clusters', [conf([plain, tls], http), conf([plain, other], http)]);
    // a.test's server is reused, its routes name another cluster: its virtual host is made again
    expect(reuse.servers.stats).toEqual({ reused: 1, lowered: 1 });
    expect(reuse.vhosts.stats.emitted).toBeGreaterThanOrEqual(2);
  });

  it('a listener-wide decision changed by another server (a compressor, tracing) re-emits the kept virtual hosts', () => {
    const a = server('a.test', '        location / { proxy_pass http://127.0.0.1:9001; }\n        location /z/ { gzip on; proxy_pass http://127.0.0.1:9001; }');
    const b = server('b.test', '        location / { return 200 b; }');
    const gz = server('b.test', '        gzip on;\n        gzip_types text/css;\n        location / { return 200 b; }');
    const traced = server('b.test', '        otel_trace on;\n        location / { return 200 b; }');
    const http = '    otel_exporter { endpoint 127.0.0.1:4317; }\n';
    const reuse = sequence('vhost-decisions', [conf([a, b], http), conf([a, gz], http), conf([a, b], http), conf([a, traced], http), conf([a, b], http)]);
    expect(reuse.servers.stats.reused).toBe(1);
  });

  it('virtual hosts of untouched servers are used again as they were', () => {
    const a = server('a.test', '        location / { proxy_pass http://127.0.0.1:9001; }');
    const b = server('b.test', '        location / { return 200 b; }');
    const c = server('c.test', '        add_header X-C c;\n        location / { return 200 c; }');
    const reuse = sequence('vhost-kept', [conf([a, b, c]), conf([a, b.replace('200 b', '201 b'), c])]);
    // a's and c's own, and the default one (a's routes: a is the default server); only b's is made again
    expect(reuse.vhosts.stats).toEqual({ reused: 3, emitted: 1 });
  });

  it('$request_id used in one server changes the others (a whole-tree fact)', () => {
    const a = server('a.test', '        location / { proxy_pass http://127.0.0.1:9001; }');
    const b = server('b.test', '        location / { return 200 ok; }');
    const withId = server('b.test', '        location / { add_header X-Id $request_id; return 200 ok; }');
    sequence('request-id', [conf([a, b]), conf([a, withId]), conf([a, b])]);
  });

  it("a constant proxy_pass finds another server's literal target (an implicit upstream): editing that server changes it", () => {
    const a = server('a.test', '        location / { set $u localhost:9003; proxy_pass http://$u; }');
    const b = server('b.test', '        location / { proxy_pass http://localhost:9003; }');
    const other = server('b.test', '        location / { proxy_pass http://localhost:9004; }');
    sequence('implicit-upstream', [conf([a, b]), conf([a, other]), conf([a, b])]);
  });

  it('an edit in a file included inside a server is seen', () => {
    const a = server('a.test', '        include reuse-snippet.conf;\n        location / { return 200 a; }');
    const b = server('b.test', '        location / { return 200 b; }');
    const reuse = sequence(
      'include',
      [conf([a, b]), conf([a, b]), conf([a, b])],
      [{ 'reuse-snippet.conf': 'location /x/ { return 301 /y/; }\n' }, { 'reuse-snippet.conf': 'location /x/ { return 302 /z/; }\n' }, {}],
    );
    expect(reuse.servers.stats).toEqual({ reused: 2, lowered: 0 });
  });

  it('a line added above a server moves its positions; a changed upstream lowers every server again', () => {
    const a = server('a.test', '        location / { proxy_pass http://pool; }');
    const b = server('b.test', '        location / { proxy_pass http://pool; }');
    const http = '    upstream pool { server 127.0.0.1:9001; }\n';
    const reuse = sequence('frame', [conf([a, b], http), conf([a.replace('a.test;', 'a.test;\n'), b], http), conf([a, b], http.replace('9001', '9002'))]);
    expect(reuse.servers.stats).toEqual({ reused: 0, lowered: 2 });
  });
});
