// Emission of internal locations (404 routes), auth_basic (the basic_auth filter after RBAC,
// disabled by default, BasicAuthPerRoute by filename, nginx's realm by a local reply mapper)
// and closed gates (direct responses), their validation as a bootstrap and as xDS resources,
// and the evaluator's reading of them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import type { CompileResult } from '../../src/compile.js';
import { evaluator, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { nginxPage } from '../../src/lower/special-response.js';
import { compileText, hcmOf } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-fail-closed-emit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const USERS = join(dir, 'users');
writeFileSync(USERS, `alice:{SHA}${createHash('sha1').update('secret').digest('base64')}\n`);
const APR1 = join(dir, 'apr1');
writeFileSync(APR1, 'bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n');
const PASS = 'proxy_pass http://10.0.0.1:80;';
const auth = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

function http(body: string): string {
  return `events {}\nhttp {\n server {\n  listen 8080;\n  server_name a.test;\n${body}\n }\n}\n`;
}

const hcm = (r: CompileResult): Json => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080');
const routes = (r: CompileResult): Json[] => hcm(r).route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test')).routes;
const named = (r: CompileResult, name: string): Json => routes(r).find((x) => x.name === name);

function ask(r: CompileResult, path: string, headers: Record<string, string> = {}, from = '127.0.0.1', method = 'GET'): EnvoyDecision {
  return evaluator(r.bootstrap)({ port: 8080, remoteAddress: from, host: 'a.test', path, method, headers });
}
const challenge = (d: EnvoyDecision): string | undefined => d.responseHeadersToAdd?.find((h) => h.key === 'www-authenticate')?.value;

describe('internal', () => {
  test('the location (exact, prefix, slash redirect, nested) answers 404 without its body limit; a rewrite to it proxies', () => {
    const r = compileText(http(`location = /x { internal; ${PASS} }\n location /d/ { internal; client_max_body_size 1; ${PASS} location /d/n/ { ${PASS} } }\n location /r/ { rewrite ^ /x last; }`));
    for (const name of ['server_0/loc_0', 'server_0/loc_1', 'server_0/loc_1/slash', 'server_0/loc_1/loc_0']) {
      expect(named(r, name).direct_response, name).toEqual({ status: 404 });
      // (the route's own per-filter config, else its virtual host's: hoisted when most routes share it)
      const buffer = named(r, name).typed_per_filter_config?.['envoy.filters.http.buffer'] ?? hcm(r).route_config.virtual_hosts[0].typed_per_filter_config?.['envoy.filters.http.buffer'];
      expect(buffer.disabled, name).toBe(true);
    }
    expect(ask(r, '/d').status).toBe(404);
    expect(ask(r, '/d/n/x').status).toBe(404);
    expect(ask(r, '/r/a')).toMatchObject({ kind: 'route', upstreamPath: '/x' });
  });
});

describe('auth_basic', () => {
  test('basic_auth filter after RBAC, disabled by default, users by filename; routes without auth never enable it', () => {
    const r = compileText(http(`location /a/ { deny 10.9.9.9; auth_basic "Admin"; auth_basic_user_file ${USERS}; ${PASS} }\n location /o/ { ${PASS} }`));
    const filters = hcm(r).http_filters;
    expect(filters.map((f: Json) => f.name)).toEqual(['envoy.filters.http.buffer', 'envoy.filters.http.rbac', 'envoy.filters.http.basic_auth', 'envoy.filters.http.router']);
    expect(filters[2].disabled).toBe(true);
    expect(JSON.stringify(r.bootstrap)).not.toContain('{SHA}'); // hashes never inlined
    expect(named(r, 'server_0/loc_0').typed_per_filter_config['envoy.filters.http.basic_auth'].users).toEqual({ filename: USERS });
    expect(named(r, 'server_0/loc_1').typed_per_filter_config?.['envoy.filters.http.basic_auth']).toBeUndefined();
    // the evaluator: 401 with nginx's realm (the mapper), 200 with the right password, 403 first for a denied client
    const none = ask(r, '/a/x');
    expect(none.status).toBe(401);
    expect(challenge(none)).toBe('Basic realm="Admin"');
    expect(ask(r, '/a/x', auth('alice', 'wrong')).status).toBe(401);
    expect(ask(r, '/a/x', auth('alice', 'secret')).kind).toBe('route');
    expect(ask(r, '/a/x', auth('alice', 'secret'), '10.9.9.9').status).toBe(403);
    expect(ask(r, '/o/x').kind).toBe('route');
    const mapper = hcm(r).local_reply_config.mappers[0];
    expect(mapper.headers_to_add[0].header).toEqual({ key: 'www-authenticate', value: 'Basic realm="Admin"' });
    expect(none.reply).toMatchObject({ status: 401, body: nginxPage(401), contentType: 'text/html' });
  });

  test('the filter\'s 401 is nginx\'s: one first mapper per realm, server_tokens and error_page for 401 (the challenge with the page, the file, the =code, the redirect)', () => {
    const page = join(dir, 'html');
    mkdirSync(page, { recursive: true });
    writeFileSync(join(page, '401.html'), 'log in\n');
    const guard = `auth_basic "R"; auth_basic_user_file ${USERS}; ${PASS}`;
    const r = compileText(http(`root ${page};\n location /a/ { ${guard} }\n location /b/ { ${guard} }\n location /t/ { server_tokens off; ${guard} }
 location /f/ { error_page 401 /401.html; ${guard} }\n location /e/ { error_page 401 =403 /401.html; ${guard} }\n location /u/ { error_page 401 404 http://login.test/in; ${guard} }
 location /n/ { error_page 401 @login; ${guard} }\n location /o/ { error_page 404 /401.html; ${PASS} }\n location = /401.html { }\n location @login { ${PASS} }`));
    const mappers: Json[] = hcm(r).local_reply_config.mappers;
    const realm = mappers.filter((m) => JSON.stringify(m.filter).includes('ngx2envoy.auth_basic.401'));
    // first, one per distinct reply: nginx's page (on and off), the file (401 and =403), the redirect; @login (not followed) shares nginx's page
    expect(mappers.slice(0, realm.length)).toEqual(realm);
    expect(realm.length).toBe(5);
    for (const m of realm) expect(m.headers_to_add[0]).toEqual({ header: { key: 'www-authenticate', value: 'Basic realm="R"' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
    const reply = (path: string): Json => ask(r, path).reply;
    expect(reply('/a/x')).toEqual({ status: 401, body: nginxPage(401), contentType: 'text/html', headers: [{ key: 'www-authenticate', value: 'Basic realm="R"' }] });
    expect(reply('/n/x').body).toBe(nginxPage(401));
    expect(reply('/t/x').body).toBe(nginxPage(401, 'off'));
    expect(reply('/f/x')).toMatchObject({ status: 401, body: 'log in\n', contentType: 'text/html' });
    expect(reply('/e/x')).toMatchObject({ status: 403, body: 'log in\n', contentType: 'text/html' });
    const redirected = ask(r, '/u/x');
    expect(redirected.reply).toMatchObject({ status: 302, body: nginxPage(302), contentType: 'text/html' });
    expect(redirected.responseHeadersToAdd?.map((h) => `${h.key}: ${h.value}`).sort()).toEqual(['location: http://login.test/in', 'www-authenticate: Basic realm="R"']);
    // a route without the filter keeps its error_page, without a challenge
    expect(ask(r, '/o/x', {}, '127.0.0.1', 'GET').kind).toBe('route');
    expect(validateXdsResources(toXdsResources(r.bootstrap)).filter((f: Json) => f.severity === 'error')).toEqual([]);
  });

  test('a refused users file: a 401 direct response with the challenge, no filter at all', () => {
    const r = compileText(http(`location /a/ { auth_basic "Legacy"; auth_basic_user_file ${APR1}; ${PASS} }`));
    expect(named(r, 'server_0/loc_0').direct_response).toEqual({ status: 401 });
    expect(hcm(r).http_filters.map((f: Json) => f.name)).not.toContain('envoy.filters.http.basic_auth');
    const d = ask(r, '/a/x', auth('bob', 'whatever'));
    expect(d.status).toBe(401);
    expect(challenge(d)).toBe('Basic realm="Legacy"');
  });

  test('limit_except with auth_basic: the other methods get a route of their own with the credentials check', () => {
    const r = compileText(http(`location /a/ { limit_except GET { auth_basic "W"; auth_basic_user_file ${USERS}; } ${PASS} }`));
    expect(ask(r, '/a/x', {}, '127.0.0.1', 'GET').kind).toBe('route');
    expect(ask(r, '/a/x', {}, '127.0.0.1', 'POST').status).toBe(401);
    expect(ask(r, '/a/x', auth('alice', 'secret'), '127.0.0.1', 'POST').kind).toBe('route');
  });
});

describe('closed gates', () => {
  test('auth_request: the content route answers 500; a return in the location is not closed (rewrite phase first)', () => {
    const r = compileText(http(`location /a/ { auth_request /auth; ${PASS} }\n location /b/ { auth_request /auth; return 200 ok; }`));
    expect(named(r, 'server_0/loc_0').direct_response).toEqual({ status: 500 });
    expect(named(r, 'server_0/loc_0').route).toBeUndefined();
    expect(ask(r, '/b/x').status).toBe(200);
  });

  test('a config without these directives has no basic_auth filter and no 404 routes of its own', () => {
    const r = compileText(http(`location /a/ { ${PASS} }`));
    expect(JSON.stringify(hcm(r))).not.toMatch(/basic_auth|auth_basic/);
  });

  test('xDS: every resource validates', () => {
    const r = compileText(http(`location /a/ { auth_basic "A"; auth_basic_user_file ${USERS}; ${PASS} }\n location /c/ { auth_request /auth; ${PASS} }\n location = /auth { internal; ${PASS} }`));
    const x = toXdsResources(r.bootstrap);
    expect(validateXdsResources(x).filter((f: Json) => f.severity === 'error')).toEqual([]);
  });
});
