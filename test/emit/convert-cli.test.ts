// `ngx2envoy convert` as data in and out: stdout, -o files, exit codes.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runConvert, writeInPlace, writeOutputFiles } from '../../src/cli/convert.js';
import { COMMAND_MODULES, commandModulesFor } from '../../src/cli/launch.js';
import { buildProgram } from '../../src/cli/main.js';
import { compile, renderReport } from '../../src/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLE = resolve(import.meta.dirname, '../../examples/nginx.conf');

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('convert', () => {
  test('examples/nginx.conf converts cleanly to YAML on stdout', async () => {
    const out = await runConvert(EXAMPLE, {});
    expect(out.exitCode).toBe(0);
    const doc = parseYaml(out.stdout);
    expect(doc.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual(['127.0.0.1_9000', '127.0.0.1_9001', 'api_v1']);
    expect(out.stdout).toContain('# nginx: nginx.conf:');
    expect(out.stderr).toMatch(/directives: \d+ translated/);
  });

  test('--format json has the same content and no comments', async () => {
    const yaml = await runConvert(EXAMPLE, {});
    const json = await runConvert(EXAMPLE, { format: 'json' });
    expect(JSON.parse(json.stdout)).toEqual(parseYaml(yaml.stdout));
  });

  test('-o writes envoy.yaml, report.json, report.md and the Consul registrations', async () => {
    const out = await runConvert(EXAMPLE, { out: join(dir, 'out') });
    expect(out.stdout).toBe('');
    expect(out.files.slice(0, 3).map((f) => f.path)).toEqual([join(dir, 'out', 'envoy.yaml'), join(dir, 'out', 'report.json'), join(dir, 'out', 'report.md')]);
    // One agent definition per backend (upstream api_v1 and two inline targets), the catalog payloads and names.json.
    const consul = out.files.slice(3).map((f) => f.path.slice(join(dir, 'out').length + 1));
    expect(consul).toEqual([
      'consul/agent/127-0-0-1-9000.json',
      'consul/agent/127-0-0-1-9001.json',
      'consul/agent/api-v1.json',
      'consul/catalog/127-0-0-1-9000.json',
      'consul/catalog/127-0-0-1-9001.json',
      'consul/catalog/api-v1.json',
      'consul/names.json',
    ]);
    const names = JSON.parse(out.files.find((f) => f.path.endsWith('names.json'))!.text);
    // The config identity is the main file relative to DIR: the same on every machine.
    expect(names.config).toBe(relative(resolve(join(dir, 'out')), EXAMPLE));
    const report = JSON.parse(out.files[1]!.text);
    expect(Object.keys(report)).toEqual(['summary', 'directives', 'notes']);
    expect(report.directives[0]).toEqual(expect.objectContaining({ file: 'nginx.conf', line: 2, col: 1, directive: 'events', class: 'ignored' }));
    expect(out.files[2]!.text).toMatch(/^# Migration report/);
  });

  test('report.json is built as the bytes written, and reads as the report', async () => {
    const out = await runConvert(EXAMPLE, { out: join(dir, 'bytes') });
    const file = out.files[1]!;
    const expected = renderReport(compile(EXAMPLE, {}).report, 'json');
    expect(Buffer.from(file.bytes!).toString('utf8')).toBe(expected);
    expect(file.text).toBe(expected);
  });

  test('--mode xds -o writes the xDS files, not the static bootstrap', async () => {
    const out = await runConvert(EXAMPLE, { out: join(dir, 'xds'), mode: 'xds' });
    expect(out.exitCode).toBe(0);
    const names = out.files.map((f) => f.path.slice(join(dir, 'xds').length + 1));
    expect(names).not.toContain('envoy.yaml');
    expect(names.filter((n) => !n.startsWith('consul/') && !n.startsWith('report.')).length).toBeGreaterThan(0);
    expect(names).toContain('report.json');
  });

  test('bad input: exit 1 with file:line:col and no stack trace', async () => {
    const f = write('bad.conf', 'events {}\nhttp {\n  server {\n    location ~ (?<=x)y { return 200; }\n  }\n}\n');
    const out = await runConvert(f, {});
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('bad.conf:4:16');
    expect(out.stderr).toContain('location regex "(?<=x)y" has no RE2 form: look-behind');
    expect(out.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  test('a syntax error is reported as the parser reports it', async () => {
    const f = write('syntax.conf', 'events {}\nhttp {\n  server {\n    listen 80\n  }\n');
    const out = await runConvert(f, {});
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toMatch(/syntax\.conf:\d+:\d+/);
  });

  test('--strict: unsupported directives are errors', async () => {
    const f = write('strict.conf', 'events {}\nhttp {\n  server {\n    listen 80;\n    location / { if ($x) { return 403; } proxy_pass http://127.0.0.1:9000; }\n  }\n}\n');
    expect((await runConvert(f, {})).exitCode).toBe(0);
    const strict = await runConvert(f, { strict: true });
    expect(strict.exitCode).toBe(1);
    expect(strict.stderr).toContain('unsupported: if');
  });

  test('a fragment (conf.d file) converts in the http context', async () => {
    const f = write('site.conf', 'server {\n  listen 8080;\n  server_name frag.test;\n  location / { return 200 "x"; }\n}\n');
    const out = await runConvert(f, {});
    expect(out.exitCode).toBe(0);
    expect(parseYaml(out.stdout).static_resources.listeners[0].name).toBe('listener_0.0.0.0_8080');
  });

  test('--context stream: a stream.d fragment is the body of stream {}; an http server there is nginx\'s error', async () => {
    const f = write('tcp.conf', 'upstream db { server 10.0.0.5:5432; }\nserver {\n  listen 5432;\n  proxy_pass db;\n}\n');
    const out = await runConvert(f, { context: 'stream' });
    expect(out.exitCode).toBe(0);
    const doc = parseYaml(out.stdout);
    expect(doc.static_resources.listeners.map((l: { name: string }) => l.name)).toEqual(['stream_tcp_0.0.0.0_5432']);
    expect(doc.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual(['stream_db']);
    const http = write('web.conf', 'server {\n  listen 8080;\n  location / { return 200 "x"; }\n}\n');
    const bad = await runConvert(http, { context: 'stream' });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('web.conf:3:3');
  });
});

describe('writing the files', () => {
  test('a file written over a longer, a shorter or no file holds exactly the new content', () => {
    const path = join(dir, 'in-place.txt');
    writeInPlace(path, Buffer.from('a long first content\n'));
    expect(readFileSync(path, 'utf8')).toBe('a long first content\n');
    writeInPlace(path, Buffer.from('short\n'));
    expect(readFileSync(path, 'utf8')).toBe('short\n');
    writeInPlace(path, Buffer.from('longer again, → with UTF-8\n'));
    expect(readFileSync(path, 'utf8')).toBe('longer again, → with UTF-8\n');
    writeInPlace(path, Buffer.alloc(0));
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  test('a text is written as its UTF-8 bytes over a longer, a shorter or no file (lone surrogates as Buffer.from encodes them)', () => {
    const path = join(dir, 'in-place-text.txt');
    for (const text of ['a long first content, → with UTF-8\n', 'short\n', 'lone \ud800 surrogate, 😀 pair\n', '', 'é'.repeat(20_000)]) {
      writeInPlace(path, text);
      expect(readFileSync(path).equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
  });

  test('texts and bytes land in their directories, created as needed', () => {
    const root = join(dir, 'tree');
    writeOutputFiles([
      { path: join(root, 'a', 'x.json'), text: '{"x": "→"}\n' },
      { path: join(root, 'a', 'y.json'), text: 'ignored', bytes: Buffer.from('[1]\n') },
      { path: join(root, 'b', 'c', 'z.md'), text: '# z\n' },
    ]);
    expect(readFileSync(join(root, 'a', 'x.json'), 'utf8')).toBe('{"x": "→"}\n');
    expect(readFileSync(join(root, 'a', 'y.json'), 'utf8')).toBe('[1]\n');
    expect(readFileSync(join(root, 'b', 'c', 'z.md'), 'utf8')).toBe('# z\n');
  });
});

describe('the launcher loads only the command being run', () => {
  const namesOf = (argv: string[]) => commandModulesFor(['node', 'ngx2envoy', ...argv]).flatMap((m) => m.names);

  test('one module per command; help and unknown names load all, --version none', () => {
    expect(namesOf(['convert', 'x.conf', '-o', 'out'])).toEqual(['convert']);
    expect(namesOf(['serve', 'x.conf'])).toEqual(['serve']);
    expect(namesOf(['consul', 'register', 'x.conf'])).toEqual(['consul']);
    expect(namesOf(['explain', 'x.conf', 'GET', '/'])).toEqual(['check', 'diff', 'explain']);
    const all = COMMAND_MODULES.flatMap((m) => m.names);
    expect(namesOf([])).toEqual(all);
    expect(namesOf(['--help'])).toEqual(all);
    expect(namesOf(['help', 'convert'])).toEqual(all);
    expect(namesOf(['convrt'])).toEqual(all);
    expect(namesOf(['--version'])).toEqual([]);
    expect(namesOf(['-V'])).toEqual([]);
    expect(namesOf(['--version', 'convert'])).toEqual(all);
  });

  test('the launcher knows every command of the program, in its order', () => {
    expect(COMMAND_MODULES.flatMap((m) => m.names)).toEqual(buildProgram().commands.map((c) => c.name()));
  });
});

describe('convert -o DIR through the command', () => {
  test('writes the same report.json as the API, and the human report.md', async () => {
    const { main } = await import('../../src/cli/main.js');
    const out = join(dir, 'written');
    const quiet = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await main(['node', 'ngx2envoy', 'convert', EXAMPLE, '-o', out]);
    } finally {
      process.stderr.write = quiet;
    }
    const result = compile(EXAMPLE, {});
    expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe(renderReport(result.report, 'json'));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(renderReport(result.report, 'md'));
    expect(readdirSync(join(out, 'consul'))).toEqual(['agent', 'catalog', 'names.json']);
  });

  test('a backend gone from nginx.conf leaves no Consul definition behind', async () => {
    const { main } = await import('../../src/cli/main.js');
    const out = join(dir, 'stale');
    const conf = write('stale.conf', 'events {}\nhttp {\n  upstream old_pool { server 10.0.0.9:80; }\n  upstream api { server 10.0.0.1:80; }\n  server { listen 80; location / { proxy_pass http://api; } location /old/ { proxy_pass http://old_pool; } }\n}\n');
    const quiet = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await main(['node', 'ngx2envoy', 'convert', conf, '-o', out]);
      expect(readdirSync(join(out, 'consul', 'agent')).sort()).toEqual(['api.json', 'old-pool.json']);
      writeFileSync(conf, 'events {}\nhttp {\n  upstream api { server 10.0.0.1:80; }\n  server { listen 80; location / { proxy_pass http://api; } }\n}\n');
      await main(['node', 'ngx2envoy', 'convert', conf, '-o', out]);
    } finally {
      process.stdout.write = quiet.out;
      process.stderr.write = quiet.err;
    }
    expect(readdirSync(join(out, 'consul', 'agent'))).toEqual(['api.json']);
    expect(readdirSync(join(out, 'consul', 'catalog'))).toEqual(['api.json']);
  });
});
