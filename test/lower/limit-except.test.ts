// limit_except lowering: the methods as nginx reads them, the rules the other methods
// get, nginx's load-time errors (file:line:col), and the report of what inside the
// block is not translated.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../src/compile.js';
import type { Location } from '../../src/ir/types.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-limit-except-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compileServer(serverBody: string): CompileResult {
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, `events {}\nhttp {\n  server {\n    listen 8080;\n${serverBody}\n  }\n}\n`);
  return compile(path, {});
}

function location(serverBody: string, i = 0): Location {
  const r = compileServer(serverBody);
  expect(r.ok, r.diagnostics.map((d) => d.message).join('\n')).toBe(true);
  return r.ir!.servers[0]!.locations[i]!;
}

function errorOf(serverBody: string): string {
  const r = compileServer(serverBody);
  expect(r.ok).toBe(false);
  const d = r.diagnostics.find((x) => x.severity === 'error')!;
  return `${d.source?.line}:${d.source?.col}: ${d.message}`;
}

function report(r: CompileResult, directive: string): { class: string; reason: string }[] {
  return r.report.directives.filter((e) => e.directive === directive);
}

describe('limit_except lowering', () => {
  it('lists the methods uppercase, HEAD with GET, once each, sorted', () => {
    const loc = location('    location / { limit_except post get GET { deny all; } proxy_pass http://127.0.0.1:9; }');
    expect(loc.limitExcept?.methods).toEqual(['GET', 'HEAD', 'POST']);
  });

  it("the block's rules replace the location's; without rules it inherits them", () => {
    const own = location('    location / { allow 10.0.0.0/8; deny all; limit_except GET { allow 192.168.0.1; deny all; } proxy_pass http://127.0.0.1:9; }');
    expect(own.limitExcept?.access?.rules.v4.map((r) => `${r.action} ${r.cidr}`)).toEqual(['allow 192.168.0.1/32', 'deny 0.0.0.0/0']);
    expect(own.policy.access?.rules.v4.map((r) => `${r.action} ${r.cidr}`)).toEqual(['allow 10.0.0.0/8', 'deny 0.0.0.0/0']);
    const inherited = location('    location / { allow 10.0.0.0/8; deny all; limit_except GET { } proxy_pass http://127.0.0.1:9; }');
    expect(inherited.limitExcept?.access).toBe(inherited.policy.access);
    const none = location('    location / { limit_except GET { } proxy_pass http://127.0.0.1:9; }');
    expect(none.limitExcept).toBeDefined();
    expect(none.limitExcept?.access).toBeUndefined();
  });

  it('a block of unix: rules only lets every TCP client in (they replace the location rules)', () => {
    const loc = location('    location / { deny all; limit_except GET { deny unix:; } proxy_pass http://127.0.0.1:9; }');
    expect(loc.limitExcept?.access).toBeUndefined();
  });

  it('the rules test real_ip\'s address where set_real_ip_from is in effect', () => {
    const loc = location('    set_real_ip_from 10.0.0.0/8;\n    location / { limit_except GET { allow 127.0.0.1; deny all; } proxy_pass http://127.0.0.1:9; }');
    expect(loc.limitExcept?.access?.client).toBe('real_ip');
  });

  it('a location answering by return sends the other methods to the static files', () => {
    const loc = location('    location / { limit_except GET { deny all; } return 200 ok; }');
    expect(loc.action.kind).toBe('return');
    expect(loc.limitExcept?.action).toMatchObject({ kind: 'static', status: 404 });
    const proxied = location('    location / { limit_except GET { deny all; } proxy_pass http://127.0.0.1:9; }');
    expect(proxied.limitExcept?.action).toBeUndefined();
  });

  it('is not inherited by nested locations', () => {
    const loc = location('    location /a/ { limit_except GET { deny all; } location /a/b/ { proxy_pass http://127.0.0.1:9; } proxy_pass http://127.0.0.1:9; }');
    expect(loc.limitExcept).toBeDefined();
    expect(loc.children[0]!.limitExcept).toBeUndefined();
  });

  it("nginx's errors, at the offending text", () => {
    expect(errorOf('    location / {\n      limit_except GET FOO { deny all; }\n    }')).toBe('6:24: invalid method "FOO"');
    expect(errorOf('    location / {\n      limit_except GET TRACE { deny all; }\n    }')).toBe('6:24: invalid method "TRACE"');
    expect(errorOf('    location / {\n      limit_except GET { deny all; }\n      limit_except POST { deny all; }\n    }')).toBe('7:7: "limit_except" directive is duplicate');
    expect(errorOf('    location / {\n      limit_except GET { proxy_pass http://127.0.0.1:9/x; }\n    }')).toMatch(/^6:26: "proxy_pass" cannot have URI part .* inside "limit_except" block$/);
    expect(errorOf('    location / {\n      limit_except GET { deny 10.0.0.300; }\n    }')).toBe('6:31: invalid parameter "10.0.0.300"');
    // Outside a location the analyzer's context check says so (a warning unless --strict, as for any misplaced directive).
    const outside = compileServer('    limit_except GET { deny all; }');
    expect(outside.diagnostics.map((d) => `${d.source?.line}:${d.source?.col}: ${d.message}`)).toContain('5:5: "limit_except" directive is not allowed here');
  });

  it('reports what inside the block is not translated, and what it changes in nginx', () => {
    const r = compileServer('    location / {\n      limit_except GET { allow 10.0.0.1; deny all; auth_basic "x"; auth_basic_user_file /etc/htpasswd; proxy_pass http://127.0.0.1:8; }\n      proxy_pass http://127.0.0.1:9;\n    }');
    expect(r.ok).toBe(true);
    expect(report(r, 'limit_except').map((e) => e.class)).toEqual(['translated']);
    expect(report(r, 'allow').map((e) => e.class)).toEqual(['translated']);
    // auth_basic in the block: the other methods are checked by Envoy's basic_auth filter (a route of their own), never let through
    expect(report(r, 'auth_basic')[0]).toMatchObject({ class: 'approximated', reason: expect.stringMatching(/basic_auth filter/) });
    expect(report(r, 'auth_basic_user_file')[0]?.class).toBe('approximated');
    const le = r.ir!.servers[0]!.locations[0]!.limitExcept!;
    expect(le.auth).toMatchObject({ kind: 'basic', basic: { realm: 'x', file: '/etc/htpasswd', checked: false } });
    expect(le.untranslated).toEqual([expect.stringMatching(/^proxy_pass at /)]);
    const pass = report(r, 'proxy_pass');
    expect(pass.map((e) => e.class).sort()).toEqual(['translated', 'unsupported']);
    expect(pass.find((e) => e.class === 'unsupported')?.reason).toMatch(/nginx sends methods other than GET HEAD there/);
  });

  it('a return location with a content handler: the other methods would reach it, reported and not translated', () => {
    const r = compileServer('    location / { limit_except GET { deny all; } return 200 ok; proxy_pass http://127.0.0.1:9; }');
    expect(r.ok).toBe(true);
    expect(r.ir!.servers[0]!.locations[0]!.limitExcept).toBeUndefined();
    expect(report(r, 'limit_except')[0]).toMatchObject({ class: 'unsupported', reason: expect.stringMatching(/they reach `proxy_pass`/) });
    expect(report(r, 'deny')[0]?.class).toBe('unsupported');
  });

  const CORPUS = '/work/shared/corpus/nginx/007-nginx-api-gateway__my_apis_space.conf';
  it.skipIf(!existsSync(CORPUS))('the corpus file with `limit_except GET POST { deny all; }`: translated', () => {
    const r = compile(CORPUS, {});
    expect(r.ok).toBe(true);
    expect(report(r, 'limit_except')).toEqual([expect.objectContaining({ class: 'translated', reason: expect.stringMatching(/^GET HEAD POST keep/) })]);
    expect(report(r, 'deny').map((e) => e.class)).toEqual(['translated']);
    const loc = r.ir!.servers[0]!.locations[0]!.children.find((l) => l.pattern === '/api/space/events')!;
    expect(loc.limitExcept?.methods).toEqual(['GET', 'HEAD', 'POST']);
  });
});
