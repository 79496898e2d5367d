// Lowering of the access checks Envoy would otherwise leave open: `internal` (inherited by
// nested locations), auth_basic (inherited per directive, `off`, the users file checked as
// Envoy's basic_auth reads it), satisfy, auth_request and the other gates (closed), and what
// the report says of each. What nginx answers is checked in test/differential/fail-closed.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../src/compile.js';
import { usersFileProblem } from '../../src/lower/auth.js';
import type { Location } from '../../src/ir/types.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-fail-closed-lower-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SHA_LINE = 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=';
writeFileSync(join(dir, 'sha'), `# users\n${SHA_LINE}\n`);
writeFileSync(join(dir, 'apr1'), 'bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n');

function compileServer(serverBody: string, httpExtra = ''): CompileResult {
  const path = join(dir, 'nginx.conf');
  writeFileSync(path, `events {}\nhttp {\n${httpExtra}\n  server {\n    listen 8080;\n${serverBody}\n  }\n}\n`);
  const r = compile(path, {});
  expect(r.ok, r.diagnostics.map((d) => d.message).join('\n')).toBe(true);
  return r;
}

const locs = (r: CompileResult): Location[] => r.ir!.servers[0]!.locations;
const report = (r: CompileResult, directive: string): { class: string; reason: string; line: number }[] => r.report.directives.filter((e) => e.directive === directive);
const PASS = 'proxy_pass http://127.0.0.1:9;';

describe('internal', () => {
  it('marks the location and its nested locations; reported translated (external requests 404)', () => {
    const r = compileServer(`    location /i/ { internal; ${PASS} location /i/n/ { ${PASS} } }\n    location /o/ { ${PASS} }`);
    const [i, o] = locs(r);
    expect(i!.internal).toBe(true);
    expect(i!.children[0]!.internal).toBe(true);
    expect(o!.internal).toBeUndefined();
    expect(report(r, 'internal')).toEqual([expect.objectContaining({ class: 'translated', reason: expect.stringMatching(/slash redirect \("\/i"\) included, are answered 404/) })]);
  });

  it('a rewrite … last to an internal location still resolves to it', () => {
    const r = compileServer(`    location = /x { internal; ${PASS} }\n    location /r/ { rewrite ^ /x last; }`);
    const step = locs(r)[1]!.rewrites[0]!;
    expect(step.kind === 'rewrite' && step.target).toBe(locs(r)[0]!.id);
  });
});

describe('auth_basic', () => {
  it('inherits realm and file separately; `off` ends it; a {SHA} file read at convert time', () => {
    const r = compileServer(`    auth_basic "Outer";\n    location /a/ { auth_basic_user_file sha; ${PASS} }\n    location /b/ { auth_basic off; auth_basic_user_file sha; ${PASS} }\n    location /c/ { ${PASS} }`);
    const [a, b, c] = locs(r);
    expect(a!.policy.auth).toMatchObject({ kind: 'basic', basic: { realm: 'Outer', file: 'sha', checked: true } });
    expect(b!.policy.auth).toBeUndefined();
    expect(c!.policy.auth).toBeUndefined(); // a realm without a users file: nginx checks nothing
    expect(report(r, 'auth_basic').map((e) => e.class)).toEqual(['approximated', 'translated']);
  });

  it('a users file Envoy would refuse (apr1): the gate is closed with nginx\'s challenge, reported with what to do', () => {
    const r = compileServer(`    location /a/ { auth_basic "Legacy"; auth_basic_user_file apr1; ${PASS} }`);
    const gate = locs(r)[0]!.policy.auth!;
    expect(gate).toMatchObject({ kind: 'closed', closed: { status: 401, headers: [{ name: 'WWW-Authenticate', value: 'Basic realm="Legacy"' }], directive: 'auth_basic' } });
    expect(report(r, 'auth_basic')[0]).toMatchObject({ class: 'unsupported', reason: expect.stringMatching(/apr1.*re-hash every password as \{SHA\}.*FAIL CLOSED/) });
  });

  it('a file not readable at convert time: referenced, unchecked, reported approximated', () => {
    const r = compileServer(`    location /a/ { auth_basic "R"; auth_basic_user_file /nonexistent/htpasswd; ${PASS} }`);
    expect(locs(r)[0]!.policy.auth).toMatchObject({ kind: 'basic', basic: { file: '/nonexistent/htpasswd', checked: false } });
    expect(report(r, 'auth_basic_user_file')[0]).toMatchObject({ class: 'approximated', reason: expect.stringMatching(/could not be read at convert time.*only `\{SHA\}`/) });
  });

  it("Envoy's htpasswd rules: comments and empty lines skipped; CR, comment fields, duplicates, other hashes refused", () => {
    expect(usersFileProblem(`# c\n\n${SHA_LINE}\n`).kind).toBe('ok');
    expect(usersFileProblem(`${SHA_LINE}\r\n`).kind).toBe('refused');
    expect(usersFileProblem(`${SHA_LINE}:comment\n`).kind).toBe('refused');
    expect(usersFileProblem(`${SHA_LINE}\n${SHA_LINE}\n`)).toMatchObject({ why: expect.stringMatching(/twice/) });
    expect(usersFileProblem('u:$2y$05$abc\n')).toMatchObject({ why: expect.stringMatching(/bcrypt/) });
    expect(usersFileProblem('u:{PLAIN}pw\n')).toMatchObject({ why: expect.stringMatching(/plain-text/) });
    expect(usersFileProblem('nocolon\n').kind).toBe('refused');
  });

  it('satisfy any with allow/deny: both kept in the IR (nginx-faithful), satisfyAny set, reported approximated', () => {
    const r = compileServer(`    location /a/ { satisfy any; allow 10.0.0.0/8; deny all; auth_basic "R"; auth_basic_user_file sha; ${PASS} }`);
    const p = locs(r)[0]!.policy;
    expect(p.access).toBeDefined();
    expect(p.satisfyAny).toBe(true);
    expect(report(r, 'satisfy')[0]).toMatchObject({ class: 'approximated', reason: expect.stringMatching(/only the credentials are checked/) });
  });

  it('try_files to a named location keeps the location\'s own credentials check', () => {
    const r = compileServer(`    location /a/ { auth_basic "R"; auth_basic_user_file sha; try_files $uri @app; }\n    location @app { auth_basic off; ${PASS} }`);
    const [a, app] = locs(r);
    expect(a!.action.kind).toBe('proxy');
    // the named location's own policy (no credentials), with the location's access phase nginx ran first
    expect(a!.policy.auth).toBeUndefined();
    expect(a!.policy.handedFrom).toMatchObject({ location: a!.id, auth: { kind: 'basic', basic: { realm: 'R' } } });
    expect(a!.policy.handedFrom!.access).toBeUndefined();
    expect(app!.policy.handedFrom).toBeUndefined();
    expect(report(r, 'try_files')[0]!.reason).toMatch(/checks \S*loc_0's allow\/deny and credentials as nginx does before try_files, then @app's/);
  });

  it('try_files keeps the location\'s allow/deny beside the named location\'s; a location checking nothing hands over nothing', () => {
    const r = compileServer(`    location /a/ { allow 10.0.0.0/8; deny all; try_files $uri @app; }\n    location /b/ { try_files $uri @app; }\n    location @app { deny 10.1.0.0/16; ${PASS} }`);
    const [a, b, app] = locs(r);
    expect(a!.policy.access).toBe(app!.policy.access);
    expect(a!.policy.handedFrom!.access!.rules.v4.map((x) => `${x.action} ${x.cidr}`)).toEqual(['allow 10.0.0.0/8', 'deny 0.0.0.0/0']);
    expect(b!.policy).toBe(app!.policy);
  });

  it('two users files one after the other: the routes are closed with the first realm, and the report says why', () => {
    writeFileSync(join(dir, 'sha2'), `${SHA_LINE}\n`);
    const r = compileServer(`    location /a/ { auth_basic "A"; auth_basic_user_file sha; try_files $uri @app; }\n    location /s/ { auth_basic "S"; auth_basic_user_file sha2; try_files $uri @same; }\n    location @app { auth_basic "B"; auth_basic_user_file sha2; ${PASS} }\n    location @same { auth_basic "Other realm"; auth_basic_user_file sha2; ${PASS} }`);
    const tf = report(r, 'try_files');
    expect(tf[0]!.reason).toMatch(/checks the credentials against .*sha and then .*sha2.*FAIL CLOSED with 401 `WWW-Authenticate: Basic realm="A"`/);
    // one users file for both: the second check passes whomever the first let in, nothing is closed
    expect(tf[1]!.reason).not.toMatch(/FAIL CLOSED/);
  });
});

describe('auth_request and the other gates: closed', () => {
  it('auth_request closes the content routes with 500; `off` inside reopens; reported with ext_authz', () => {
    const r = compileServer(`    auth_request /auth;\n    location /a/ { ${PASS} }\n    location /b/ { auth_request off; ${PASS} }`);
    const [a, b] = locs(r);
    expect(a!.policy.auth).toMatchObject({ kind: 'closed', closed: { status: 500, directive: 'auth_request' } });
    expect(b!.policy.auth).toBeUndefined();
    expect(report(r, 'auth_request').map((e) => e.class)).toEqual(['unsupported', 'translated']);
    expect(report(r, 'auth_request')[0]!.reason).toMatch(/FAIL CLOSED.*ext_authz/);
  });

  it('access_by_lua_block and auth_jwt close; modsecurity is reported but does not close', () => {
    const r = compileServer(`    location /l/ { access_by_lua_block { ngx.exit(403) } ${PASS} }\n    location /j/ { auth_jwt "api"; ${PASS} }\n    location /w/ { modsecurity on; ${PASS} }`);
    const [l, j, w] = locs(r);
    expect(l!.policy.auth?.kind).toBe('closed');
    expect(j!.policy.auth?.kind).toBe('closed');
    expect(w!.policy.auth).toBeUndefined();
    expect(report(r, 'modsecurity')[0]).toMatchObject({ class: 'unsupported', reason: expect.stringMatching(/not an authentication gate/) });
  });

  it('a server-level gate guards the server fallback', () => {
    const r = compileServer('    auth_request /auth;');
    expect(r.ir!.servers[0]!.fallbackAuth).toMatchObject({ kind: 'closed', closed: { status: 500 } });
  });
});
