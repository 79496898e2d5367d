// http `map` emission: the route order and matchers of a dispatch and of a guard, read
// back by the Envoy evaluator (each output validated against Envoy's protos), and the
// evaluator's own StringMatcher/HeaderMatcher semantics the routes rely on.
import { describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { headerMatch, stringMatch } from '../../src/sim/envoy/match.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources, hasErrors, formatFindings } from '../../src/validate/index.js';
import { compileText } from '../edge/support.js';

function http(body: string): string {
  return `events {}\nhttp {\n${body}\n}\n`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function routesOf(bootstrap: Json): Json[] {
  const hcm = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  return hcm.route_config.virtual_hosts[0].routes;
}

describe('dispatch', () => {
  const r = compileText(
    http(`upstream up_a { server 10.0.0.1:80; }
      upstream up_b { server 10.0.0.2:80; }
      map $http_x_t $to { default up_a; one up_b; TWO up_b; ~^r up_a; three up_b; ~^s up_b; ~^z up_a; }
      server { listen 80; location /api/ { proxy_pass http://$to; proxy_read_timeout 5s; } }`),
  );
  const routes = routesOf(r.bootstrap).filter((x: Json) => x.name.startsWith('server_0/loc_0') && !x.name.endsWith('/slash'));

  test('exact keys of one value share a route before the regexes; groups at the end with the default value are left to it', () => {
    expect(routes.map((x: Json) => x.name)).toEqual(['server_0/loc_0/map_0', 'server_0/loc_0/map_1', 'server_0/loc_0/map_2', 'server_0/loc_0']);
    expect(routes[0].match.headers[0].string_match.safe_regex.regex).toBe('(?:[oO][nN][eE]|[tT][wW][oO]|[tT][hH][rR][eE][eE])');
    expect(routes[1].match.headers[0].string_match.safe_regex.regex).toBe('.*(?:^r).*');
    // every route keeps the location's settings
    for (const x of routes) expect(x.route.idle_timeout).toBe('5s');
  });

  test('the evaluator reaches what nginx reaches for each value', () => {
    const go = (headers: Record<string, string>) => evaluator(r.bootstrap)({ port: 80, host: 'a', path: '/api/x', headers }).cluster;
    expect(go({ 'x-t': 'ONE' })).toBe('up_b');
    expect(go({ 'x-t': 'three' })).toBe('up_b');
    expect(go({ 'x-t': 'rone' })).toBe('up_a'); // the regex ~^r comes before ~^s... and exact keys before both
    expect(go({ 'x-t': 'sz' })).toBe('up_b');
    expect(go({ 'x-t': 'zz' })).toBe('up_a');
    expect(go({})).toBe('up_a');
  });

  test('the xDS form validates too', () => {
    const findings = validateXdsResources(toXdsResources(r.bootstrap));
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });
});

describe('guard', () => {
  test('a falsy exact key beats a truthy regex: the regex route excludes it', () => {
    const r = compileText(http(`map $http_user_agent $bot { default 0; ~*curl 1; curl/ok 0; }
      server { listen 80; if ($bot) { return 403; } location / { return 200; } }`));
    const guard = routesOf(r.bootstrap).filter((x: Json) => x.name.startsWith('server_0/rewrite_0'));
    expect(guard).toHaveLength(1);
    expect(guard[0].match.headers).toEqual([
      { name: 'user-agent', string_match: { safe_regex: { regex: '(?i).*(?:curl).*' } } },
      { name: 'user-agent', string_match: { exact: 'curl/ok', ignore_case: true }, invert_match: true, treat_missing_header_as_empty: true },
    ]);
    const status = (ua?: string) => evaluator(r.bootstrap)({ port: 80, host: 'a', path: '/', headers: ua === undefined ? {} : { 'user-agent': ua } }).status;
    expect([status('curl/8'), status('CURL/OK'), status('firefox'), status()]).toEqual([403, 200, 200, 200]);
  });

  test('a truthy default with a falsy regex taking the empty value: an empty or absent header still passes', () => {
    const r = compileText(http(`map $http_x_e $e { default yes; ~^x* 0; }
      server { listen 80; if ($e) { return 420; } location / { return 200; } }`));
    const status = (v?: string) => evaluator(r.bootstrap)({ port: 80, host: 'a', path: '/', headers: v === undefined ? {} : { 'x-e': v } }).status;
    // nginx: no regex is tried on an empty value, so it gets the default; any other value matches ^x*
    expect([status(), status(''), status('x'), status('y')]).toEqual([420, 420, 200, 200]);
  });

  test('`= value` and `!= value` compare the map value exactly', () => {
    const r = compileText(http(`map $request_method $m { default other; get read; head read; ~^P write; }
      server { listen 80; location / { if ($m = write) { return 405; } if ($m != read) { return 418; } return 200; } }`));
    const status = (method: string) => evaluator(r.bootstrap)({ port: 80, host: 'a', path: '/', method }).status;
    expect([status('GET'), status('HEAD'), status('POST'), status('PUT'), status('DELETE')]).toEqual([200, 200, 405, 405, 418]);
  });
});

describe("the evaluator's matchers", () => {
  test('ignore_case folds ASCII letters only, as absl::EqualsIgnoreCase', () => {
    expect(stringMatch({ exact: 'k', ignore_case: true }, 'K')).toBe(true);
    expect(stringMatch({ exact: 'k', ignore_case: true }, '\u212a')).toBe(false); // KELVIN SIGN
    expect(stringMatch({ prefix: 'ab', ignore_case: true }, 'ABc')).toBe(true);
  });

  test('invert_match on an absent header matches only with treat_missing_header_as_empty', () => {
    const m = { name: 'x', string_match: { exact: 'a' }, invert_match: true };
    expect(headerMatch(m, {})).toBe(false);
    expect(headerMatch({ ...m, treat_missing_header_as_empty: true }, {})).toBe(true);
    expect(headerMatch({ name: 'x', string_match: { exact: '' }, treat_missing_header_as_empty: true }, {})).toBe(true);
  });
});
