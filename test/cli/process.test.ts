// The CLI as users run it: a process (bin/ngx2envoy.js on the built dist/, which
// `npm test` builds first), its exit code and what it leaves on stderr.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runConvert } from '../../src/cli/convert.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ngx2envoy.js');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const CONFIGS = [
  join(import.meta.dirname, '..', '..', 'examples', 'nginx.conf'),
  ...readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'nginx.conf')))
    .map((d) => join(FIXTURES, d, 'nginx.conf')),
];

/** Every file under `root`, by its path relative to it. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ngx2envoy-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stderr: string;
  stdoutBytes: number;
}

/** Runs the CLI; with `readBytes`, stdout is closed once that many bytes have arrived (as `| head -c N` does). */
function run(args: string[], readBytes?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdoutBytes = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (readBytes !== undefined && stdoutBytes >= readBytes) child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, stdoutBytes }));
  });
}

describe('ngx2envoy as a process', () => {
  it('stops quietly when its reader goes away (`| head`): no EPIPE stack trace', async () => {
    // Enough output that the reader closes the pipe well before the end (~6 MB of YAML).
    const lines = ['events {}', 'http {', '  upstream u { server 10.0.0.1:80; }', '  server {', '    listen 8080;'];
    for (let i = 0; i < 3000; i++) lines.push(`    location /p${i}/ { proxy_pass http://u; add_header X-Loc "${i}"; }`);
    lines.push('  }', '}', '');
    const conf = join(work, 'big.conf');
    writeFileSync(conf, lines.join('\n'));
    const r = await run(['convert', conf], 4096);
    expect(r.stderr).not.toMatch(/EPIPE|at .*\(node:|Unhandled/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('bad input: exit 1, file:line:col and the offending text, no stack trace', async () => {
    const conf = join(work, 'bad.conf');
    writeFileSync(conf, 'events {}\nhttp {\n  server {\n    listen 8080;\n    location /a { proxy_pass http://; }\n  }\n}\n');
    const r = await run(['convert', conf]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.conf:5:\d+/);
    expect(r.stderr).toContain('proxy_pass');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // The built command renders the reports on its writer thread (from a packed copy); the
  // API under the test runner renders them on its own thread: the same files, byte for byte.
  it('convert -o writes what the API renders, every fixture', async () => {
    const processes = 4; // at a time
    let converted = 0;
    for (let at = 0; at < CONFIGS.length; at += processes) {
      const batch = CONFIGS.slice(at, at + processes).map((conf, i) => ({ conf, out: join(work, `fixture-out-${at + i}`) }));
      const runs = await Promise.all(batch.map(({ conf, out }) => run(['convert', conf, '-o', out])));
      for (let i = 0; i < batch.length; i++) {
        const { conf, out } = batch[i]!;
        const apiOut = join(work, 'api-out');
        const api = await runConvert(conf, { out: apiOut });
        expect(runs[i]!.code, conf).toBe(api.exitCode);
        if (api.exitCode !== 0) {
          expect(existsSync(out), conf).toBe(false);
          continue;
        }
        expect(filesUnder(out), conf).toEqual(api.files.map((f) => relative(apiOut, f.path)).sort());
        for (const f of api.files) expect(readFileSync(join(out, relative(apiOut, f.path)), 'utf8'), f.path).toBe(f.text);
        converted++;
      }
    }
    expect(converted).toBeGreaterThan(40);
  }, 180_000);

  it('convert --mode xds -o writes what the API renders', async () => {
    const conf = CONFIGS[0]!;
    const out = join(work, 'xds-out');
    const apiOut = join(work, 'xds-api-out');
    const r = await run(['convert', conf, '--mode', 'xds', '-o', out]);
    const api = await runConvert(conf, { out: apiOut, mode: 'xds' });
    expect(r.code).toBe(0);
    expect(api.exitCode).toBe(0);
    expect(filesUnder(out)).toEqual(api.files.map((f) => relative(apiOut, f.path)).sort());
    for (const f of api.files) expect(readFileSync(join(out, relative(apiOut, f.path)), 'utf8'), f.path).toBe(f.text);
  });

  it('convert -o failing after lowering (--strict): what the writer thread staged is gone, DIR too', async () => {
    const conf = join(work, 'strict-fail.conf');
    writeFileSync(conf, 'events {}\nhttp {\n  upstream api { server 10.0.0.1:80; }\n  server { listen 80; location / { proxy_pass http://api; } location /php { fastcgi_pass 127.0.0.1:9000; } }\n}\n');
    const out = join(work, 'strict-out');
    const r = await run(['convert', conf, '-o', out, '--strict']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/strict-fail\.conf:4:\d+: error: unsupported: fastcgi_pass/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith('.consul-staging'))).toEqual([]);
  });

  it('main() run many times in one process watches stdout once (no listener leak warning)', async () => {
    const before = process.stdout.listenerCount('error');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const code = process.exitCode;
    try {
      for (let i = 0; i < 15; i++) await main(['node', 'ngx2envoy', '--version']);
    } finally {
      process.stdout.write = write;
      process.exitCode = code;
    }
    expect(process.stdout.listenerCount('error') - before).toBeLessThanOrEqual(1);
  });

  it('convert --timings: one line on stderr with every stage, the output unchanged; none without it', async () => {
    const config = CONFIGS[0]!;
    const plain = join(work, 'timings-off');
    const timed = join(work, 'timings-on');
    const off = await run(['convert', config, '-o', plain]);
    const on = await run(['convert', config, '-o', timed, '--timings']);
    expect([off.code, on.code]).toEqual([0, 0]);
    expect(off.stderr).not.toContain('timings');
    const lines = on.stderr.split('\n').filter((l) => l.includes('timings'));
    expect(lines).toHaveLength(1);
    const m = /^ngx2envoy: timings \(ms\): parse (\d+), analyze (\d+), lower (\d+), emit (\d+), validate (\d+), render (\d+), writing (\d+); total (\d+)$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    const [parse, analyze, lower, emit, validate, render, writing, total] = m!.slice(1).map(Number);
    // the stages follow one another within the process's life
    expect(parse! + analyze! + lower! + emit! + validate! + render! + writing!).toBeLessThanOrEqual(total! + 7);
    // the rest of stderr (the summary) and every file are as without --timings
    expect(on.stderr.replace(lines[0]! + '\n', '')).toBe(off.stderr);
    expect(filesUnder(timed)).toEqual(filesUnder(plain));
    for (const f of filesUnder(plain)) expect(readFileSync(join(timed, f), 'utf8')).toBe(readFileSync(join(plain, f), 'utf8'));
  });

  it('runConvert with timings returns each stage; without, none', async () => {
    const config = CONFIGS[0]!;
    const timed = await runConvert(config, { timings: true });
    const plain = await runConvert(config, {});
    expect(plain.timings).toBeUndefined();
    expect(Object.keys(timed.timings!).sort()).toEqual(['analyze', 'emit', 'lower', 'parse', 'render', 'validate']);
    for (const v of Object.values(timed.timings!)) expect(Number.isFinite(v) && v >= 0).toBe(true);
    expect(timed.stdout).toBe(plain.stdout);
  });
});
