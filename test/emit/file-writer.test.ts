// convert -o writes its files on a worker thread as each is rendered: the same bytes as the
// synchronous writer, the same first error, and nothing at all when the command fails.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileWriter, writeOutputFiles } from '../../src/cli/file-writer.js';
import { ConsulStaging, runConvert, type OutputFile } from '../../src/cli/convert.js';
import { consulFileNames, type ConsulBackends } from '../../src/emit/consul/index.js';
import { compile, renderBootstrap, renderReport, type Report } from '../../src/compile.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/nginx.conf');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-file-writer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command through the launcher, its output silenced; returns the exit code. */
async function command(argv: string[]): Promise<number | undefined> {
  const { main } = await import('../../src/cli/main.js');
  const quiet = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    await main(['node', 'ngx2envoy', ...argv]);
    return process.exitCode === undefined ? undefined : Number(process.exitCode);
  } finally {
    process.exitCode = before;
    process.stdout.write = quiet.out;
    process.stderr.write = quiet.err;
  }
}

describe('FileWriter', () => {
  test('writes texts and bytes (moved or copied) over old content, in directories it creates', async () => {
    const root = join(dir, 'tree');
    const big = Buffer.alloc(3 << 20, 'é→x'); // its own memory: moved to the worker
    const pooled = Buffer.from('[1]\n'); // a slice of Node's pool: copied
    const expectedBig = Buffer.from(big);
    writeOutputFiles([{ path: join(root, 'a', 'x.json'), text: 'a much longer old content than the new one\n' }]);
    const writer = new FileWriter(dir);
    writer.write([
      { path: join(root, 'a', 'x.json'), text: '{"x": "→"}\n' },
      { path: join(root, 'a', 'y.json'), text: 'ignored', bytes: pooled },
    ]);
    writer.write([{ path: join(root, 'b', 'c', 'big.bin'), text: '', bytes: big }]);
    await writer.close();
    expect(readFileSync(join(root, 'a', 'x.json'), 'utf8')).toBe('{"x": "→"}\n');
    expect(readFileSync(join(root, 'a', 'y.json'), 'utf8')).toBe('[1]\n');
    expect(pooled.toString()).toBe('[1]\n'); // the pool was not taken away
    expect(readFileSync(join(root, 'b', 'c', 'big.bin')).equals(expectedBig)).toBe(true);
  });

  test('writes a file given in blocks, in order, over longer old content; large blocks are moved, small ones copied', async () => {
    const root = join(dir, 'blocks');
    const blocks = [Buffer.alloc(1 << 20, 'é→'), Buffer.alloc(5, 'x'), Buffer.alloc(3 << 19, 'y')].map((b, i) => {
      const own = Buffer.allocUnsafe(b.length + 100 * i).subarray(0, b.length); // a view at the start of larger memory
      b.copy(own);
      return own;
    });
    const expected = Buffer.concat(blocks);
    writeOutputFiles([{ path: join(root, 'sync.yaml'), text: '', blocks }]);
    expect(readFileSync(join(root, 'sync.yaml')).equals(expected)).toBe(true);
    writeOutputFiles([{ path: join(root, 'big.yaml'), text: 'x'.repeat(expected.length + 1000) }]);
    const writer = new FileWriter(root);
    writer.write([{ path: join(root, 'big.yaml'), text: '', blocks }]);
    await writer.close();
    expect(readFileSync(join(root, 'big.yaml')).equals(expected)).toBe(true);
    // moved to the writer's thread, but the small one (perhaps a slice of Node's pool)
    expect(blocks.map((b) => b.buffer.byteLength)).toEqual([0, Buffer.poolSize, 0]);
    expect(blocks[1]!.toString()).toBe('xxxxx');
  });

  test('each write leaves exactly the new content over longer, shorter, equal and empty old content', async () => {
    const path = join(dir, 'sizes', 'file.txt');
    const contents = ['a long first content\n', 'short\n', 'longer again, → with UTF-8\n', 'longer again, → with UTF-9\n', '', 'x\n', 'lone \ud800 surrogate\n', 'é'.repeat(20_000)];
    for (const text of contents) {
      const writer = new FileWriter(join(dir, 'sizes'));
      writer.write([{ path, text }]);
      await writer.close();
      expect(readFileSync(path).equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
  });

  test('the first failure is the error, with the synchronous writer\'s message; nothing after it is written', async () => {
    const root = join(dir, 'failing');
    writeOutputFiles([{ path: join(root, 'file'), text: 'x' }]);
    const files: OutputFile[] = [
      { path: join(root, 'before.txt'), text: 'ok' },
      { path: join(root, 'file', 'under-a-file.txt'), text: 'no' },
      { path: join(root, 'after.txt'), text: 'never' },
    ];
    let syncMessage = '';
    try {
      writeOutputFiles(files.slice(1, 2));
    } catch (err) {
      syncMessage = (err as Error).message;
    }
    expect(syncMessage).toMatch(/ENOTDIR|EEXIST/);
    const writer = new FileWriter(root);
    writer.write(files);
    await expect(writer.close()).rejects.toThrow(syncMessage);
    expect(readFileSync(join(root, 'before.txt'), 'utf8')).toBe('ok');
    expect(existsSync(join(root, 'after.txt'))).toBe(false);
  });

  // Render jobs: files the worker makes itself from data, with a compiled module (convert's reports).
  const RENDERER = `import { join } from 'node:path';
export function numbered(dir, count, fail) {
  if (fail) throw new Error('no such count: ' + count);
  return Array.from({ length: count }, (_, i) => i % 2 ? { path: join(dir, 'n' + i), text: 'text ' + i } : { path: join(dir, 'n' + i), bytes: new TextEncoder().encode('bytes ' + i) });
}
export function sum(dir, numbers) {
  return [{ path: join(dir, 'sum'), text: String(numbers.reduce((a, b) => a + b, 0)) }];
}
`;
  const renderer = (): string => {
    const file = join(dir, 'renderer.mjs');
    writeFileSync(file, RENDERER);
    return pathToFileURL(file).href;
  };

  test('render jobs: the function\'s files are written in their turn among the others, moved buffers arrive whole', async () => {
    const root = join(dir, 'rendered');
    const module = renderer();
    const writer = new FileWriter(root);
    writer.write([{ path: join(root, 'n1'), text: 'overwritten by the job' }]);
    writer.render({ module, fn: 'numbered', args: [root, 3, false] });
    writer.write([{ path: join(root, 'n2'), text: 'after the job' }]);
    const numbers = new Int32Array([1, 2, 3, 4]);
    writer.render({ module, fn: 'sum', args: [root, numbers] }, [numbers.buffer as ArrayBuffer]);
    expect(numbers.length).toBe(0); // moved, not copied
    await writer.close();
    expect(readdirSync(root).sort()).toEqual(['n0', 'n1', 'n2', 'sum']);
    expect(readFileSync(join(root, 'n0'), 'utf8')).toBe('bytes 0');
    expect(readFileSync(join(root, 'n1'), 'utf8')).toBe('text 1');
    expect(readFileSync(join(root, 'n2'), 'utf8')).toBe('after the job');
    expect(readFileSync(join(root, 'sum'), 'utf8')).toBe('10');
  });

  test('held render jobs: made at once, written when released, never written without release', async () => {
    const module = renderer();
    const released = join(dir, 'held-released');
    const writer = new FileWriter(released);
    writer.render({ module, fn: 'numbered', args: [released, 2, false], hold: true });
    writer.write([{ path: join(released, 'first'), text: 'before the release' }]);
    writer.release();
    writer.write([{ path: join(released, 'n1'), text: 'after the release' }]);
    await writer.close();
    expect(readdirSync(released).sort()).toEqual(['first', 'n0', 'n1']);
    expect(readFileSync(join(released, 'n1'), 'utf8')).toBe('after the release');
    const dropped = join(dir, 'held-dropped');
    const other = new FileWriter(dropped);
    other.render({ module, fn: 'numbered', args: [dropped, 2, false], hold: true });
    other.write([{ path: join(dropped, 'plain'), text: 'x' }]);
    await other.close();
    expect(readdirSync(dropped)).toEqual(['plain']);
  });

  test('a render job that throws fails close with its message; nothing after it is written', async () => {
    const root = join(dir, 'render-failing');
    const module = renderer();
    const writer = new FileWriter(root);
    writer.write([{ path: join(root, 'before'), text: 'ok' }]);
    writer.render({ module, fn: 'numbered', args: [root, 7, true] });
    writer.write([{ path: join(root, 'after'), text: 'never' }]);
    await expect(writer.close()).rejects.toThrow('rendering numbered: no such count: 7');
    expect(readdirSync(root)).toEqual(['before']);
  });

  test('abort stops the worker without an unhandled rejection', async () => {
    const writer = new FileWriter(dir);
    writer.abort();
    await new Promise((r) => setTimeout(r, 50));
  });
});

describe('convert -o through the writer', () => {
  test('hands each file over as it is rendered: Consul first, then envoy.yaml and the reports', async () => {
    const seen: string[] = [];
    const out = await runConvert(EXAMPLE, { out: join(dir, 'order') }, { onFiles: (files) => seen.push(...files.map((f) => f.path.slice(join(dir, 'order').length + 1))) });
    expect(seen.slice(0, 7).every((p) => p.startsWith('consul/'))).toBe(true);
    expect(seen.slice(7)).toEqual(['envoy.yaml', 'report.json', 'report.md']);
    // returned in the documented order, the same files
    expect(out.files.map((f) => f.path.slice(join(dir, 'order').length + 1))).toEqual([...seen.slice(7), ...seen.slice(0, 7)]);
  });

  test('reports and consul/ taken over elsewhere: not rendered here, returned as the taker gives them', async () => {
    const seen: string[] = [];
    const taken: { report?: Report; backends?: ConsulBackends; early?: boolean; validated?: boolean } = {};
    const out = join(dir, 'elsewhere');
    const reports = [{ path: join(out, 'report.json'), text: 'made elsewhere' }];
    const consul = [{ path: join(out, 'consul', 'names.json'), text: '{}' }];
    const r = await runConvert(
      EXAMPLE,
      { out },
      {
        onFiles: (files) => seen.push(...files.map((f) => f.path.slice(out.length + 1))),
        elsewhere: {
          report: (report, d) => {
            expect(d).toBe(out);
            taken.report = report;
            return reports;
          },
          consul: (backends, d, early) => {
            expect(d).toBe(out);
            Object.assign(taken, { backends, early });
            return consul;
          },
          validated: () => (taken.validated = true),
        },
      },
    );
    expect(taken.report!.summary.directives).toBeGreaterThan(0);
    expect(taken.early).toBe(false);
    expect(taken.validated).toBe(true);
    const names = consulFileNames(taken.backends!);
    expect(names).toContain('names.json');
    expect(names.length).toBeGreaterThan(2);
    expect(seen).toEqual(['envoy.yaml']);
    expect(r.files).toEqual([expect.objectContaining({ path: join(out, 'envoy.yaml') }), ...reports, ...consul]);
    // declined (null): rendered here as before
    const declined = await runConvert(EXAMPLE, { out }, { elsewhere: { report: () => null, consul: () => null, validated: () => undefined } });
    const fresh = await runConvert(EXAMPLE, { out });
    expect(declined.files.map((f) => [f.path, f.text])).toEqual(fresh.files.map((f) => [f.path, f.text]));
    // the names consulFileNames gives are the files rendered here
    expect(fresh.files.filter((f) => f.path.startsWith(join(out, 'consul') + '/')).map((f) => f.path)).toEqual(names.map((n) => join(out, 'consul', n)));
  });

  test('consul/ taken over early (once lowered, before validation) when there is an early taker', async () => {
    const out = join(dir, 'elsewhere-early');
    let early: boolean | undefined;
    const r = await runConvert(EXAMPLE, { out }, { onConsulEarly: () => expect.unreachable('rendered elsewhere'), elsewhere: { report: () => null, consul: (_, __, e) => ((early = e), []), validated: () => undefined } });
    expect(r.exitCode).toBe(0);
    expect(early).toBe(true);
  });

  test('the command writes what the API renders, byte for byte', async () => {
    const out = join(dir, 'written');
    expect(await command(['convert', EXAMPLE, '-o', out])).toBeUndefined();
    const result = compile(EXAMPLE, {});
    expect(readFileSync(join(out, 'envoy.yaml'), 'utf8')).toBe(renderBootstrap(result, 'yaml'));
    expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe(renderReport(result.report, 'json'));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(renderReport(result.report, 'md'));
    const api = await runConvert(EXAMPLE, { out });
    for (const f of api.files) expect(readFileSync(f.path, 'utf8'), f.path).toBe(f.text);
  });

  test('bad input: exit 1 and no file written, not even a directory', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'events {}\nhttp {\n  upstream api { server 10.0.0.1:80; }\n  server { listen 80; location ~ (?<=x)y { proxy_pass http://api; } }\n}\n');
    const out = join(dir, 'bad-out');
    expect(await command(['convert', bad, '-o', out])).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  test('a write failure is an internal error (exit 2) naming the failure', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where DIR should be');
    const err: string[] = [];
    const write = process.stderr.write;
    const { main } = await import('../../src/cli/main.js');
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    const before = process.exitCode;
    let code: number | undefined;
    try {
      await main(['node', 'ngx2envoy', 'convert', EXAMPLE, '-o', blocker]);
      code = process.exitCode as number | undefined;
    } finally {
      process.exitCode = before;
      process.stderr.write = write;
    }
    expect(code).toBe(2);
    // DIR is made first, as when the files were written in order (envoy.yaml first): the same first error
    expect(err.join('')).toContain(`ngx2envoy: internal error: EEXIST: file already exists, mkdir '${blocker}'`);
    expect(readdirSync(dir)).toContain('blocker');
  });

  describe('consul/ of a first conversion: written early, staged, published whole', () => {
    const STRICT_FAIL = 'events {}\nhttp {\n  upstream api { server 10.0.0.1:80; server 10.0.0.2:80; }\n  server { listen 80; location / { proxy_pass http://api; } location /php { fastcgi_pass 127.0.0.1:9000; } }\n}\n';
    const consulFilesOf = (root: string): string[] => {
      const out: string[] = [];
      const walk = (d: string, rel: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(d, e.name), rel + e.name + '/');
          else out.push(rel + e.name);
        }
      };
      walk(root, '');
      return out.sort();
    };

    test('a fresh DIR gets consul/ with the bytes of the API, no staging directory left; a re-run (in place) writes the same', async () => {
      const out = join(dir, 'staged-fresh');
      expect(await command(['convert', EXAMPLE, '-o', out])).toBeUndefined();
      expect(readdirSync(out).filter((n) => n.startsWith('.consul-staging'))).toEqual([]);
      const api = await runConvert(EXAMPLE, { out });
      const consul = api.files.filter((f) => f.path.startsWith(join(out, 'consul') + '/'));
      expect(consul.length).toBeGreaterThan(2);
      for (const f of consul) expect(readFileSync(f.path, 'utf8'), f.path).toBe(f.text);
      expect(consulFilesOf(join(out, 'consul'))).toEqual(consul.map((f) => f.path.slice(join(out, 'consul').length + 1)).sort());
      const first = consul.map((f) => readFileSync(f.path, 'utf8'));
      expect(await command(['convert', EXAMPLE, '-o', out])).toBeUndefined();
      expect(consul.map((f) => readFileSync(f.path, 'utf8'))).toEqual(first);
      expect(readdirSync(out).filter((n) => n.startsWith('.consul-staging'))).toEqual([]);
    });

    test('a run failing after lowering (--strict) had staged consul/, and leaves nothing behind, not even DIR', async () => {
      const conf = join(dir, 'strict-fail.conf');
      writeFileSync(conf, STRICT_FAIL);
      const out = join(dir, 'strict-out');
      // The early hand-over does happen for this config: the files exist before the verdict.
      const early: OutputFile[] = [];
      const api = await runConvert(conf, { out, strict: true }, { onConsulEarly: (files) => early.push(...files) });
      expect(api.exitCode).toBe(1);
      expect(early.map((f) => f.path)).toContain(join(out, 'consul', 'names.json'));
      expect(await command(['convert', conf, '-o', out, '--strict'])).toBe(1);
      expect(existsSync(out)).toBe(false);
      // An existing DIR stays, without consul/ or a staging directory.
      const kept = join(dir, 'strict-kept');
      expect(await command(['convert', EXAMPLE, '-o', kept])).toBeUndefined();
      rmSync(join(kept, 'consul'), { recursive: true });
      expect(await command(['convert', conf, '-o', kept, '--strict'])).toBe(1);
      expect(readdirSync(kept).sort()).toEqual(['envoy.yaml', 'report.json', 'report.md']);
    });

    test('publish: when DIR/consul appeared meanwhile, the staged files are moved into it and stale ones removed', async () => {
      const out = join(dir, 'staged-race');
      const api = await runConvert(EXAMPLE, { out });
      const consul = api.files.filter((f) => f.path.startsWith(join(out, 'consul') + '/'));
      const staging = new ConsulStaging(out);
      writeOutputFiles(staging.stage(consul));
      expect(existsSync(join(staging.dir, 'names.json'))).toBe(true);
      writeOutputFiles([
        { path: join(out, 'consul', 'agent', 'gone.json'), text: '{}' },
        { path: join(out, 'consul', 'names.json'), text: 'an older version, replaced' },
      ]);
      staging.publish(api.files);
      expect(existsSync(staging.dir)).toBe(false);
      expect(existsSync(join(out, 'consul', 'agent', 'gone.json'))).toBe(false);
      for (const f of consul) expect(readFileSync(f.path, 'utf8'), f.path).toBe(f.text);
    });
  });
});
