// internal, auth_basic and auth_request against real nginx 1.22: clients with no, wrong and
// right credentials, from allowed and denied addresses, ask for internal locations (directly,
// through rewrite … last, try_files, error_page), locations guarded by auth_basic (inherited,
// `off` inside, with allow/deny, `satisfy any`, inside limit_except) and by auth_request. Each
// answer must be the evaluator's reading of the compiled configuration (status, nginx's
// WWW-Authenticate realm, the path a proxied request reached), except where the compiler
// fails closed or reports a difference: there the test holds nginx and Envoy to the stated
// difference and the report to saying so, never an open route where nginx refuses.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluator, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { routeNginx } from '../../src/sim/nginx/index.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe, startEchoBackends, type EchoReply } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

const sha = (pw: string): string => createHash('sha1').update(pw).digest('base64');

function httpBody(port: number, backend: number, dead: number, files: { sha: string; plain: string; dir: string }): string {
  const pass = `proxy_pass http://127.0.0.1:${backend};`;
  return `
  server {
    listen 127.0.0.1:${port};
    server_name a.test;
    auth_basic "Server Realm";
    auth_basic_user_file ${files.sha};
    location /open/ { auth_basic off; ${pass} }
    location /inh/ { ${pass} }
    location /admin/ {
      auth_basic "Admin";
      ${pass}
      location /admin/public/ { auth_basic off; ${pass} }
      location /admin/deep/ { ${pass} }
    }
    location /ret/ { return 200 "ret\\n"; }
    location /acl/ { deny 127.0.0.3; auth_basic "ACL"; ${pass} }
    location /any/ { satisfy any; allow 127.0.0.2; deny all; auth_basic "Any"; ${pass} }
    location /mixed/ { auth_basic "Mixed"; auth_basic_user_file ${files.plain}; ${pass} }
    location = /int { internal; ${pass} }
    location /intdir/ { internal; ${pass} location /intdir/nested/ { ${pass} } }
    location /rw/ { auth_basic off; rewrite ^ /int last; }
    location /tf/ { auth_basic off; try_files /nonexistent /int; }
    location /ep/ { auth_basic off; error_page 404 = /int; }
    location /sso/ { auth_basic off; auth_request /authok; ${pass} }
    location /ssodead/ { auth_basic off; auth_request /authdead; ${pass} }
    location = /authok { internal; proxy_pass http://127.0.0.1:${backend}/ok; }
    location = /authdead { internal; proxy_pass http://127.0.0.1:${dead}; }
    location /le/ { auth_basic off; limit_except GET { auth_basic "Writers"; } ${pass} }
    # try_files to a named location: the location's checks before try_files, the named location's after
    location /tfacl/ { try_files /nonexistent @acl; }
    location /tfdeny/ { auth_basic off; allow 127.0.0.1; allow 127.0.0.3; deny all; try_files /nonexistent @acl; }
    location /tffront/ { auth_basic "Front"; try_files /nonexistent @open; }
    location @acl { deny 127.0.0.3; ${pass} }
    location @open { auth_basic off; ${pass} }
    # error_page for auth_basic's 401: nginx keeps its challenge with the file, the =code, the redirect
    location /ep401/ { error_page 401 /401.html; ${pass} }
    location /ep401eq/ { error_page 401 =403 /401.html; ${pass} }
    location /ep401url/ { error_page 401 http://login.test/in; ${pass} }
    location /tokens/ { server_tokens off; ${pass} }
    location = /401.html { auth_basic off; root ${files.dir}; }
  }
`;
}

const PATHS = ['/open/x', '/inh/x', '/admin/x', '/admin/public/x', '/admin/deep/x', '/admin', '/ret/', '/acl/x', '/any/x', '/mixed/x', '/int', '/intdir/', '/intdir', '/intdir/nested/x', '/rw/a', '/tf/a', '/ep/a', '/sso/x', '/ssodead/x', '/le/x', '/tfacl/x', '/tfdeny/x', '/tffront/x', '/ep401/x', '/ep401eq/x', '/ep401url/x', '/tokens/x', '/other'];
const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const CREDENTIALS: [string, Record<string, string>][] = [
  ['none', {}],
  ['wrong', { Authorization: basic('alice', 'bad') }],
  ['right', { Authorization: basic('alice', 'secret') }],
  ['plain user', { Authorization: basic('bob', 'pw') }],
];

/**
 * Differences the compiler states (each asserted against the report below), by path: what
 * nginx does there, what Envoy does. Every other request must agree exactly.
 */
const STATED: Record<string, { why: RegExp; directive: string }> = {
  // a users file with a {PLAIN} line: Envoy would refuse it, the routes fail closed (401)
  '/mixed/x': { directive: 'auth_basic', why: /FAIL CLOSED, every request is answered 401/ },
  // the auth service lets the request through in nginx; Envoy has no such check: 500
  '/sso/x': { directive: 'auth_request', why: /FAIL CLOSED: every request is answered 500/ },
  // satisfy any: the credentials alone are checked (an allowed address must log in too)
  '/any/x': { directive: 'satisfy', why: /only the credentials are checked/ },
  // the internal redirects Envoy cannot make (files first, then the fallback; error_page to a URI)
  '/tf/a': { directive: 'try_files', why: /files|not translated/ },
  '/ep/a': { directive: 'error_page', why: /internal redirect/ },
};

type Outcome = string;

function nginxOutcome(res: { status: number; headers: Record<string, string>; body: string }): Outcome {
  if (res.headers['x-echo-backend']) return `proxied ${(JSON.parse(res.body) as EchoReply).path}`;
  if (res.headers.location) return `${res.status} → ${res.headers.location}`;
  if (res.status === 401) return `401 ${res.headers['www-authenticate'] ?? '(no challenge)'}`;
  return String(res.status);
}

/** What a client asked for credentials gets besides the status: the challenge, Content-Type and body ('' when no challenge). */
function nginxChallenge(res: { status: number; headers: Record<string, string>; body: string }): string {
  const challenge = res.headers['www-authenticate'];
  return challenge === undefined ? '' : `${challenge} | ${res.headers['content-type']} | ${res.body}`;
}

const added = (d: EnvoyDecision, key: string): string | undefined => d.responseHeadersToAdd?.filter((h) => h.key.toLowerCase() === key).pop()?.value;

/** The reply as the client gets it (local_reply_config applied: a mapper may change the status and add a Location). */
function envoyOutcome(d: EnvoyDecision): Outcome {
  if (d.kind === 'route' && d.cluster) return `proxied ${d.upstreamPath}`;
  if (d.kind === 'redirect') return `${d.status} → ${d.redirectLocation}`;
  const status = d.reply?.status ?? d.status;
  const location = added(d, 'location');
  if (location !== undefined) return `${status} → ${location}`;
  if (status === 401) return `401 ${added(d, 'www-authenticate') ?? '(no challenge)'}`;
  return String(status);
}

function envoyChallenge(d: EnvoyDecision): string {
  const challenge = d.kind === 'route' ? undefined : added(d, 'www-authenticate');
  return challenge === undefined ? '' : `${challenge} | ${d.reply?.contentType} | ${d.reply?.body}`;
}

describe.skipIf(!nginxAvailable())('internal, auth_basic, auth_request: nginx and the compiled Envoy configuration', () => {
  let port = 0;
  let backend = 0;
  let dead = 0;
  let nginx: NginxInstance;
  let stopBackends: () => Promise<void> = async () => {};
  let dir = '';
  let text = '';
  let compiled: CompileResult;
  const results: { path: string; creds: string; from: string; method: string; nginx: Outcome; envoy: Outcome; model: number; nginxChallenge: string; envoyChallenge: string }[] = [];

  beforeAll(async () => {
    [port, backend, dead] = await freePorts(3);
    dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-fail-closed-'));
    const files = { sha: join(dir, 'users-sha'), plain: join(dir, 'users-plain'), dir };
    writeFileSync(join(dir, '401.html'), '<p>please log in</p>\n');
    writeFileSync(files.sha, `# admins\nalice:{SHA}${sha('secret')}\n`);
    writeFileSync(files.plain, `alice:{SHA}${sha('secret')}\nbob:{PLAIN}pw\n`);
    stopBackends = (await startEchoBackends([backend])).stop;
    text = httpBody(port, backend, dead, files);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [port]);
    compiled = compileText(testConfig('/tmp/unused', text));
    const ev = evaluator(compiled.bootstrap);
    for (const path of PATHS) {
      for (const method of ['GET', 'POST']) {
        for (const from of CLIENTS) {
          for (const [creds, headers] of CREDENTIALS) {
            const res = await probe(port, 'a.test', path, method, from, headers);
            const real = nginxOutcome(res);
            const d = ev({ port, address: '127.0.0.1', remoteAddress: from, host: 'a.test', path, method, headers });
            const envoy = envoyOutcome(d);
            const model = routeNginx(compiled.ir!, { port, address: '127.0.0.1', host: 'a.test', target: path, method, remoteAddress: from, headers });
            // what the client gets: error_page applied (a 401 page may answer 403 or redirect)
            const status = model.reply?.status ?? ('status' in model.outcome ? model.outcome.status : 0);
            results.push({ path, creds, from, method, nginx: real, envoy, model: model.outcome.kind === 'proxy' ? 200 : status, nginxChallenge: nginxChallenge(res), envoyChallenge: envoyChallenge(d) });
          }
        }
      }
    }
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    await stopBackends();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every request outside the stated differences: the same answer (status, realm, proxied path)', () => {
    const mismatches = results.filter((r) => !(r.path in STATED) && r.nginx !== r.envoy).map((r) => `${r.method} ${r.path} from ${r.from} with ${r.creds} credentials: nginx ${r.nginx}, envoy ${r.envoy}`);
    expect(mismatches).toEqual([]);
    const seen = new Set(results.map((r) => r.nginx));
    // the cases the configuration means to cover were reached
    expect([...seen]).toEqual(expect.arrayContaining(['401 Basic realm="Server Realm"', '401 Basic realm="Admin"', '401 Basic realm="ACL"', '401 Basic realm="Writers"', '403', '404', '500', '200', 'proxied /int', 'proxied /admin/x', 'proxied /le/x']));
  });

  test('a refusal with a challenge is nginx\'s byte for byte: the challenge, Content-Type and body (nginx\'s 401 page per server_tokens, the error_page file, =code, URL)', () => {
    const mismatches = results.filter((r) => !(r.path in STATED) && r.nginxChallenge !== r.envoyChallenge).map((r) => `${r.method} ${r.path} from ${r.from} with ${r.creds} credentials:\n  nginx ${r.nginxChallenge}\n  envoy ${r.envoyChallenge}`);
    expect(mismatches).toEqual([]);
    const seen = (path: string): string[] => [...new Set(results.filter((r) => r.path === path && r.creds === 'none').map((r) => `${r.nginx} | ${r.nginxChallenge}`))];
    expect(seen('/inh/x')).toEqual([expect.stringMatching(/^401 Basic realm="Server Realm" \| Basic realm="Server Realm" \| text\/html \| <html>\r\n<head><title>401 Authorization Required<\/title>.*nginx\/1\.22\.1/s)]);
    expect(seen('/tokens/x')).toEqual([expect.stringMatching(/<hr><center>nginx<\/center>/)]);
    expect(seen('/ep401/x')).toEqual(['401 Basic realm="Server Realm" | Basic realm="Server Realm" | text/html | <p>please log in</p>\n']);
    expect(seen('/ep401eq/x')).toEqual(['403 | Basic realm="Server Realm" | text/html | <p>please log in</p>\n']);
    expect(seen('/ep401url/x')).toEqual([expect.stringMatching(/^302 → http:\/\/login\.test\/in \| Basic realm="Server Realm" \| text\/html \| <html>.*302 Found/s)]);
  });

  test('internal: external requests 404 (the slash redirect and nested locations too), internal redirects still reach it', () => {
    for (const path of ['/int', '/intdir/', '/intdir', '/intdir/nested/x']) {
      const rows = results.filter((r) => r.path === path);
      expect(rows.every((r) => r.nginx === '404' && r.envoy === '404'), path).toBe(true);
    }
    // (the internal location inherits the server's auth_basic: nginx asks for credentials after the redirect, and so does the route)
    expect(results.filter((r) => r.path === '/rw/a' && r.creds === 'right').every((r) => r.nginx === 'proxied /int' && r.envoy === 'proxied /int')).toBe(true);
    expect(results.filter((r) => r.path === '/rw/a' && r.creds === 'none').every((r) => r.nginx === '401 Basic realm="Server Realm"' && r.envoy === r.nginx)).toBe(true);
  });

  test('try_files to a named location: the location\'s credentials and allow/deny, then the named location\'s, in nginx\'s order', () => {
    const at = (path: string, from: string, creds: string): string => results.find((r) => r.path === path && r.from === from && r.creds === creds && r.method === 'GET')!.nginx;
    // the server's credentials first, then @acl's rules: a denied client learns of the denial only once logged in
    expect([at('/tfacl/x', '127.0.0.3', 'none'), at('/tfacl/x', '127.0.0.3', 'right'), at('/tfacl/x', '127.0.0.1', 'right')]).toEqual(['401 Basic realm="Server Realm"', '403', 'proxied /tfacl/x']);
    // the location's rules (.2 refused), @acl's (.3 refused), then @acl's credentials
    expect([at('/tfdeny/x', '127.0.0.2', 'right'), at('/tfdeny/x', '127.0.0.3', 'none'), at('/tfdeny/x', '127.0.0.1', 'none'), at('/tfdeny/x', '127.0.0.1', 'right')]).toEqual(['403', '403', '401 Basic realm="Server Realm"', 'proxied /tfdeny/x']);
    // the location's realm, though @open asks for nothing
    expect([at('/tffront/x', '127.0.0.1', 'none'), at('/tffront/x', '127.0.0.1', 'right')]).toEqual(['401 Basic realm="Front"', 'proxied /tffront/x']);
    for (const path of ['/tfacl/x', '/tfdeny/x', '/tffront/x']) expect(results.filter((r) => r.path === path && r.nginx !== r.envoy), path).toEqual([]);
  });

  test('auth_basic + allow/deny (satisfy all): a denied client gets 403 with or without credentials, as in nginx', () => {
    const denied = results.filter((r) => r.path === '/acl/x' && r.from === '127.0.0.3');
    expect(denied.every((r) => r.nginx === '403' && r.envoy === '403')).toBe(true);
  });

  test('the stated differences are what the report says, and never open where nginx refuses', () => {
    for (const [path, stated] of Object.entries(STATED)) {
      const rows = results.filter((r) => r.path === path);
      const differs = rows.filter((r) => r.nginx !== r.envoy);
      expect(differs.length, path).toBeGreaterThan(0);
      // Envoy never forwards a request nginx refuses (a 401/403/500 answer proxied in Envoy would be an open route)
      for (const r of rows) if (!r.nginx.startsWith('proxied') && r.path !== '/tf/a' && r.path !== '/ep/a') expect(r.envoy.startsWith('proxied'), `${r.method} ${path} ${r.creds}`).toBe(false);
      const lines = reportLines(compiled, stated.directive);
      expect(lines.some((e) => stated.why.test(e.reason)), `${stated.directive}: ${JSON.stringify(lines)}`).toBe(true);
    }
    // the closed routes agree with nginx where nginx refuses too
    expect(results.filter((r) => r.path === '/mixed/x' && r.creds !== 'plain user' && r.creds !== 'right').every((r) => r.nginx === r.envoy && r.envoy === '401 Basic realm="Mixed"')).toBe(true);
    expect(results.filter((r) => r.path === '/ssodead/x').every((r) => r.nginx === '500' && r.envoy === '500')).toBe(true);
    expect(results.filter((r) => r.path === '/sso/x').every((r) => r.nginx === 'proxied /sso/x' && r.envoy === '500')).toBe(true);
  });

  test('the nginx model agrees with real nginx on internal locations and auth_basic', () => {
    const modelled = results.filter((r) => !['/tf/a', '/ep/a', '/sso/x', '/ssodead/x', '/other'].includes(r.path));
    const wrong = modelled.filter((r) => {
      const status = r.nginx.startsWith('proxied') ? 200 : Number(r.nginx.slice(0, 3));
      return status !== r.model && !(r.nginx === '200' && r.model === 200);
    });
    expect(wrong.map((r) => `${r.method} ${r.path} ${r.from} ${r.creds}: nginx ${r.nginx}, model ${r.model}`)).toEqual([]);
  });

  test('the report: internal translated, auth_request unsupported with what to do', () => {
    expect(reportLines(compiled, 'internal').every((e) => e.class === 'translated' && /answered 404/.test(e.reason))).toBe(true);
    const ar = reportLines(compiled, 'auth_request');
    expect(ar.length).toBe(2);
    expect(ar.every((e) => e.class === 'unsupported' && /ext_authz/.test(e.reason))).toBe(true);
  });
});
