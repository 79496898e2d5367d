// `ngx2envoy parse` end to end through the real command wiring (main with
// argv), capturing what it writes and the exit code it sets.
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

const FIXTURES = relative(process.cwd(), join(import.meta.dirname, '../../fixtures/parse'));

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = 0;
  try {
    await main(['node', 'ngx2envoy', 'parse', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, stderr, code };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('ngx2envoy parse', () => {
  it('--json prints crossplane payload (if args without parentheses), exit 0', async () => {
    const { stdout, stderr, code } = await run(join(FIXTURES, 'cli/ok.conf'), '--json');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const payload = JSON.parse(stdout);
    expect(payload.status).toBe('ok');
    expect(payload.config).toHaveLength(1);
    const server = payload.config[0].parsed[1].block[0];
    const location = server.block[1];
    expect(location).toMatchObject({ directive: 'location', line: 5, args: ['/'] });
    expect(location.block[0]).toEqual({
      directive: 'if',
      line: 6,
      args: ['$request_method', '=', 'POST'],
      block: [{ directive: 'return', line: 6, args: ['405'] }],
    });
    expect(location.block[1]).toEqual({ directive: 'return', line: 7, args: ['200', 'ok\n'] });
  });

  it('resolves includes: files listed, include directives point at them', async () => {
    const { stdout, code } = await run(join(FIXTURES, 'includes/nginx.conf'), '--json');
    expect(code).toBe(0);
    const payload = JSON.parse(stdout);
    const names = payload.config.map((c: { file: string }) => relative(FIXTURES, c.file));
    expect(names).toEqual(['includes/nginx.conf', 'includes/conf.d/a.conf', 'includes/conf.d/b.conf', 'includes/snippets/proxy.conf', 'includes/snippets/common.conf']);
    const http = payload.config[0].parsed[1];
    expect(http.block.map((d: { includes?: number[] }) => d.includes)).toEqual([[1, 2], [], [4]]);
    expect(payload.config[2].parsed[0].block[1]).toEqual({ directive: 'include', line: 3, args: ['snippets/proxy.conf'], includes: [3] });
  });

  it('prints the tree with includes spliced and file:line:col beside each statement', async () => {
    const { stdout, code } = await run(join(FIXTURES, 'includes/nginx.conf'));
    expect(code).toBe(0);
    const a = join(FIXTURES, 'includes/conf.d/a.conf');
    expect(stdout).toContain(`    include conf.d/*.conf;  # ${join(FIXTURES, 'includes/nginx.conf')}:4:5 (2 files)\n    server {  # ${a}:1:1\n        listen 8081;  # ${a}:2:5\n    }\n`);
    expect(stdout).toContain(`        proxy_set_header Host $host;  # ${join(FIXTURES, 'includes/snippets/proxy.conf')}:1:1\n`);
  });

  it('--prefix sets where relative includes point', async () => {
    const withPrefix = await run(join(FIXTURES, 'prefix/conf/nginx.conf'), '--prefix', join(FIXTURES, 'prefix'), '--json');
    expect(withPrefix.code).toBe(0);
    expect(JSON.parse(withPrefix.stdout).config).toHaveLength(2);
    const without = await run(join(FIXTURES, 'prefix/conf/nginx.conf'));
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(`open() "${join(FIXTURES, 'prefix/conf/conf/extra.conf')}" failed (2: No such file or directory)`);
  });

  it('errors: payload still printed with the errors, carets on stderr, exit 1, no stack trace', async () => {
    const file = join(FIXTURES, 'cli/bad.conf');
    const { stdout, stderr, code } = await run(file, '--json');
    expect(code).toBe(1);
    const payload = JSON.parse(stdout);
    expect(payload.status).toBe('failed');
    expect(payload.errors).toEqual([
      { file, line: 5, error: `unexpected "}" in ${file}:5` },
      { file, line: 6, error: `unexpected "b" in ${file}:6` },
    ]);
    expect(stderr).toBe(
      [
        `${file}:5:5: error: unexpected "}"`,
        '    }',
        '    ^',
        `${file}:6:20: error: unexpected "b"`,
        '    server_name "a"b;',
        '                   ^',
        `${file}:6:5: warning: "server_name" directive is not allowed here`,
        '    server_name "a"b;',
        '    ^',
        '',
      ].join('\n'),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('analysis warnings are printed, exit 0; --strict makes them errors, exit 1', async () => {
    const file = join(FIXTURES, 'cli/ok.conf');
    const ok = await run(file, '--context', 'http');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`${file}:1:1: warning: "events" directive is not allowed here`);
    const strict = await run(file, '--context', 'http', '--strict');
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`${file}:1:1: error: "events" directive is not allowed here\nevents {}\n^`);
  });

  it('a missing file exits 1 with nginx wording', async () => {
    const { stderr, code } = await run('no/such/file.conf');
    expect(code).toBe(1);
    expect(stderr).toBe('no/such/file.conf:1:1: error: open() "no/such/file.conf" failed (2: No such file or directory)\n');
  });

  it('usage errors exit 2', async () => {
    expect((await run()).code).toBe(2);
    expect((await run(join(FIXTURES, 'cli/ok.conf'), '--context', 'nowhere')).code).toBe(2);
  });
});
