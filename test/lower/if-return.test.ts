// Which `if` blocks become Envoy routes (condition + return) and which stay
// unsupported, read from the compiled IR and the report of small configs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-if-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ifEntry(serverBody: string, n = 0) {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, `events {}\nhttp {\n server {\n listen 80;\n ${serverBody}\n }\n}\n`);
  const result = compile(path, {});
  expect(result.ok, result.diagnostics.map((d) => d.message).join('\n')).toBe(true);
  const entry = result.report.directives.filter((e) => e.directive === 'if')[n]!;
  return { entry, server: result.ir!.servers[0]! };
}

describe('if … return lowering', () => {
  it('certbot: $host = literal with a 301 is an if step, translated', () => {
    const { entry, server } = ifEntry('if ($host = www.example.com) { return 301 https://$host$request_uri; } return 404;');
    expect(entry.class).toBe('translated');
    expect(server.rewrites[0]).toMatchObject({ kind: 'if', condition: { kind: 'compare', variable: 'host', value: 'www.example.com', negate: false }, action: { kind: 'redirect', status: 301 } });
  });

  it('quoted operands and ~* / !~ regexes are read as nginx reads them', () => {
    const a = ifEntry('if ($request_uri ~* "\\.git") { return 404; }');
    expect(a.server.rewrites[0]).toMatchObject({ kind: 'if', condition: { kind: 'regex', variable: 'request_uri', regex: '\\.git', caseless: true, negate: false } });
    expect(a.entry.class).toBe('approximated');
    const b = ifEntry('if ($request_method !~ ^(GET|HEAD)$) { return 405; }');
    expect(b.server.rewrites[0]).toMatchObject({ kind: 'if', condition: { kind: 'regex', variable: 'request_method', negate: true } });
    expect(b.entry.class).toBe('translated');
  });

  const unsupported: [string, RegExp][] = [
    ['if ($host = www.example.com) { return 301 https://x/; set $a 1; }', /not a single `return`/],
    ['if ($host = www.example.com) { rewrite ^ /x last; }', /not a single `return`/],
    ['if ($remote_addr = 10.0.0.1) { return 403; }', /\$remote_addr/],
    ['if ($http_host = www.example.com:8080) { return 403; }', /strips the port/],
    ['if ($uri !~ ^/api) { return 403; }', /negated regex/],
    ['if ($host = $server_name) { return 403; }', /variables/],
    ['if ($uri ~ (?<=a)b) { return 403; }', /no RE2 form/],
    ['if ($uri ~ ^/(.*)) { return 301 /x/$1; }', /captures/],
    ['if (-f $request_filename) { return 403; }', /condition/],
    ['location ~ \\.php$ { if ($uri ~ /x) { return 403; } }', /two regexes/],
  ];
  for (const [body, reason] of unsupported) {
    it(`unsupported: ${body}`, () => {
      const { entry, server } = ifEntry(body);
      expect(entry.class).toBe('unsupported');
      expect(entry.reason).toMatch(reason);
      const steps = [...server.rewrites, ...server.locations.flatMap((l) => l.rewrites)];
      expect(steps.some((s) => s.kind === 'if')).toBe(false);
    });
  }
});
