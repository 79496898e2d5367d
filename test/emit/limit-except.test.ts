// limit_except → an RBACPerRoute with a policy per method class (`:method` header
// permissions), route method matchers for the location's rewrite-phase routes, and a
// route for the other methods where the location answers by `return`. What nginx
// answers is checked against real nginx in test/differential/limit-except.test.ts;
// here: the emitted shape, that it validates, hoisting, xDS, and the evaluator's reading.
import { describe, expect, test } from 'vitest';
import type { CompileResult } from '../../src/compile.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { compileText, hcmOf } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const RBAC = 'envoy.filters.http.rbac';
const PASS = 'proxy_pass http://10.0.0.1:80;';

function http(body: string): string {
  return `events {}\nhttp {\n server {\n  listen 8080;\n  server_name a.test;\n${body}\n }\n}\n`;
}

const vhostOf = (r: CompileResult): Json => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test'));
const routesOf = (r: CompileResult): Json[] => vhostOf(r).routes;
/** The RBACPerRoute Envoy uses for a route: its own, else its virtual host's (hoisted). */
const rbacOf = (r: CompileResult, route: Json): Json => route.typed_per_filter_config?.[RBAC] ?? vhostOf(r).typed_per_filter_config?.[RBAC];
const routeNamed = (r: CompileResult, name: string): Json => routesOf(r).find((x) => x.name === name);

function answers(r: CompileResult, path: string, methods: string[], from = '127.0.0.1'): string[] {
  const ev = evaluator(r.bootstrap);
  return methods.map((method) => {
    const d = ev({ port: 8080, remoteAddress: from, host: 'a.test', path, method });
    return `${method} ${d.kind === 'route' ? 'proxied' : d.status}`;
  });
}

describe('limit_except → RBAC per method class', () => {
  test('`limit_except GET { deny all; }` without location rules: only the listed methods, everyone', () => {
    const r = compileText(http(`location /a/ { limit_except GET { deny all; } ${PASS} }`));
    const rules = rbacOf(r, routeNamed(r, 'server_0/loc_0')).rbac.rules;
    expect(rules.action).toBe('ALLOW');
    expect(Object.keys(rules.policies)).toEqual(['nginx_limit_except_listed']);
    expect(rules.policies.nginx_limit_except_listed).toEqual({
      permissions: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { header: { name: ':method', string_match: { exact: 'HEAD' } } }] } }],
      principals: [{ any: true }],
    });
    expect(answers(r, '/a/x', ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FOO'])).toEqual(['GET proxied', 'HEAD proxied', 'POST 403', 'PUT 403', 'DELETE 403', 'PATCH 403', 'OPTIONS 403', 'FOO 403']);
    expect(hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').http_filters.map((f: Json) => f.name)).toContain(RBAC);
  });

  test('the other methods: not_rule of the listed ones, with the block principal; the listed: the location principal', () => {
    const r = compileText(http(`location /a/ { allow 10.0.0.0/8; deny all; limit_except GET POST { allow 10.1.0.0/16; deny all; } ${PASS} }`));
    const policies = rbacOf(r, routeNamed(r, 'server_0/loc_0')).rbac.rules.policies;
    expect(Object.keys(policies)).toEqual(['nginx_limit_except_listed', 'nginx_limit_except_other']);
    expect(policies.nginx_limit_except_other.permissions).toEqual([{ not_rule: policies.nginx_limit_except_listed.permissions[0] }]);
    expect(JSON.stringify(policies.nginx_limit_except_listed.principals)).toContain('"address_prefix":"10.0.0.0","prefix_len":8');
    expect(JSON.stringify(policies.nginx_limit_except_other.principals)).toContain('"address_prefix":"10.1.0.0","prefix_len":16');
    expect(answers(r, '/a/', ['GET', 'POST', 'PUT'], '10.2.0.1')).toEqual(['GET proxied', 'POST proxied', 'PUT 403']);
    expect(answers(r, '/a/', ['GET', 'POST', 'PUT'], '10.1.0.1')).toEqual(['GET proxied', 'POST proxied', 'PUT proxied']);
    expect(answers(r, '/a/', ['GET', 'PUT'], '192.168.0.1')).toEqual(['GET 403', 'PUT 403']);
  });

  test('a class letting nobody in has no policy; the same clients for every method: the plain allow/deny; no rules anywhere: no RBAC', () => {
    const none = compileText(http(`location /a/ { deny all; limit_except GET { allow 10.0.0.1; deny all; } ${PASS} }`));
    expect(Object.keys(rbacOf(none, routeNamed(none, 'server_0/loc_0')).rbac.rules.policies)).toEqual(['nginx_limit_except_other']);
    expect(answers(none, '/a/', ['GET', 'PUT'], '10.0.0.1')).toEqual(['GET 403', 'PUT proxied']);
    const both = compileText(http(`location /a/ { allow 10.0.0.0/8; deny all; limit_except GET { } ${PASS} }`));
    const plain = compileText(http(`location /a/ { allow 10.0.0.0/8; deny all; ${PASS} }`));
    expect(rbacOf(both, routeNamed(both, 'server_0/loc_0'))).toEqual(rbacOf(plain, routeNamed(plain, 'server_0/loc_0')));
    expect(answers(both, '/a/', ['GET', 'PUT'], '10.9.9.9')).toEqual(['GET proxied', 'PUT proxied']);
    expect(answers(both, '/a/', ['GET', 'PUT'], '192.168.1.1')).toEqual(['GET 403', 'PUT 403']);
    const open = compileText(http(`location /a/ { limit_except GET { } ${PASS} }`));
    expect(routeNamed(open, 'server_0/loc_0').typed_per_filter_config).toBeUndefined();
    expect(hcmOf(open.bootstrap, 'listener_0.0.0.0_8080').http_filters.map((f: Json) => f.name)).not.toContain(RBAC);
  });

  test('the location answers by return: the return route takes the listed methods, a route after it the others', () => {
    const r = compileText(http('location /r/ { limit_except GET { allow 10.0.0.1; deny all; } return 200 "ok"; }'));
    const names = routesOf(r).map((x) => x.name);
    expect(names.indexOf('server_0/loc_0/limit_except')).toBe(names.indexOf('server_0/loc_0') + 1);
    const main = routeNamed(r, 'server_0/loc_0');
    expect(main.match.headers).toEqual([{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' } } }]);
    expect(main.direct_response.status).toBe(200);
    const other = routeNamed(r, 'server_0/loc_0/limit_except');
    expect(other.match).toEqual({ prefix: '/r/' });
    expect(other.direct_response.status).toBe(404);
    expect(answers(r, '/r/', ['GET', 'HEAD', 'POST'], '10.0.0.1')).toEqual(['GET 200', 'HEAD 200', 'POST 404']);
    expect(answers(r, '/r/', ['GET', 'POST'], '10.0.0.2')).toEqual(['GET 200', 'POST 403']);
  });

  test("the location's rewrite and if routes match only the listed methods", () => {
    const r = compileText(http(`location /b/ { limit_except GET { } if ($request_method = POST) { return 201; } rewrite ^/b/(.*)$ /c/$1 break; ${PASS} }`));
    const steps = routesOf(r).filter((x) => x.name.startsWith('server_0/loc_0/rewrite'));
    expect(steps.length).toBe(2);
    for (const s of steps) expect(s.match.headers.at(-1)).toEqual({ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' } } });
    const ev = evaluator(r.bootstrap);
    expect(ev({ port: 8080, host: 'a.test', path: '/b/x', method: 'GET' }).upstreamPath).toBe('/c/x');
    expect(ev({ port: 8080, host: 'a.test', path: '/b/x', method: 'PUT' }).upstreamPath).toBe('/b/x');
    // POST is not listed: nginx's `if` does not run for it.
    const post = ev({ port: 8080, host: 'a.test', path: '/b/x', method: 'POST' });
    expect([post.kind, post.upstreamPath]).toEqual(['route', '/b/x']);
  });

  test('output without limit_except keeps its single allow/deny policy', () => {
    const r = compileText(http(`location /a/ { allow 10.0.0.0/8; deny all; ${PASS} }`));
    expect(Object.keys(rbacOf(r, routeNamed(r, 'server_0/loc_0')).rbac.rules.policies)).toEqual(['nginx_allow_deny']);
  });

  test('hoisting: the shared method config moves to the virtual host; the others keep theirs or get the neutral one', () => {
    // (no trailing slash: no auto_redirect routes, which carry no RBAC)
    const locs = ['a', 'b', 'c'].map((p) => `location /${p} { limit_except GET { deny all; } ${PASS} }`).join('\n');
    const r = compileText(http(`${locs}\nlocation /d { ${PASS} }\nlocation /e { limit_except GET POST { deny all; } ${PASS} }`));
    const vh = vhostOf(r);
    expect(Object.keys(vh.typed_per_filter_config[RBAC].rbac.rules.policies)).toEqual(['nginx_limit_except_listed']);
    expect(answers(r, '/a/', ['GET', 'POST'])).toEqual(['GET proxied', 'POST 403']);
    expect(answers(r, '/c/', ['GET', 'POST'])).toEqual(['GET proxied', 'POST 403']);
    expect(answers(r, '/d/', ['GET', 'POST', 'PUT'])).toEqual(['GET proxied', 'POST proxied', 'PUT proxied']);
    expect(answers(r, '/e/', ['GET', 'POST', 'PUT'])).toEqual(['GET proxied', 'POST proxied', 'PUT 403']);
  });

  test('xDS: the resources carry the method policies and validate', () => {
    const r = compileText(http(`location /a/ { allow 10.0.0.0/8; deny all; limit_except GET { allow 10.0.0.1; deny all; } ${PASS} }`));
    const x = toXdsResources(r.bootstrap);
    expect(JSON.stringify(x.routes)).toContain('nginx_limit_except_other');
    expect(validateXdsResources(x).filter((f: Json) => f.severity === 'error')).toEqual([]);
  });
});
