// Route matching. Expected answers from
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routematch
// (routes are tried in order, first match wins; prefix/path/path_separated_prefix on
// the path without query; safe_regex "must match the :path header once the query
// string is removed … the entire path"; case_sensitive default true and no effect on
// safe_regex), #config-route-v3-headermatcher and #config-route-v3-queryparametermatcher.
import { describe, expect, it } from 'vitest';
import { evaluate, EnvoyConfigError, type EnvoyRequest } from '../../../src/sim/envoy/index.js';
import { bootstrap } from './helpers.js';

function routeOf(routesYaml: string, req: Partial<EnvoyRequest>): ReturnType<typeof evaluate> {
  const rc = `
virtual_hosts:
  - name: vh
    domains: ["*"]
    routes:
${routesYaml.replace(/^/gm, '      ')}
`;
  return evaluate(bootstrap(rc), { port: 8080, host: 'example.com', path: '/', ...req });
}

const clusterOf = (routes: string, req: Partial<EnvoyRequest>): string | undefined => routeOf(routes, req).cluster;

describe('path specifiers', () => {
  const ROUTES = `
- match: { path: "/exact" }
  route: { cluster: exact }
- match: { safe_regex: { regex: "/img/[a-z]+\\\\.png" } }
  route: { cluster: regex }
- match: { path_separated_prefix: "/seg" }
  route: { cluster: seg }
- match: { prefix: "/api" }
  route: { cluster: api }
- match: { prefix: "/" }
  route: { cluster: root }
`;
  it('path is an exact match on the path without the query', () => {
    expect(clusterOf(ROUTES, { path: '/exact' })).toBe('exact');
    expect(clusterOf(ROUTES, { path: '/exact?x=1' })).toBe('exact');
    expect(clusterOf(ROUTES, { path: '/exact/' })).toBe('root');
  });

  it('safe_regex is a full match: a partial match does not count', () => {
    expect(clusterOf(ROUTES, { path: '/img/cat.png' })).toBe('regex');
    expect(clusterOf(ROUTES, { path: '/img/cat.png?size=2' })).toBe('regex');
    expect(clusterOf(ROUTES, { path: '/img/cat.png/more' })).toBe('root');
    expect(clusterOf(ROUTES, { path: '/x/img/cat.png' })).toBe('root');
  });

  it('prefix is a raw string prefix: /api matches /apiv2', () => {
    expect(clusterOf(ROUTES, { path: '/apiv2/x' })).toBe('api');
    expect(clusterOf(ROUTES, { path: '/api' })).toBe('api');
  });

  it('path_separated_prefix matches the prefix exactly or followed by "/" only', () => {
    expect(clusterOf(ROUTES, { path: '/seg' })).toBe('seg');
    expect(clusterOf(ROUTES, { path: '/seg/x' })).toBe('seg');
    expect(clusterOf(ROUTES, { path: '/seg?q' })).toBe('seg');
    expect(clusterOf(ROUTES, { path: '/segment' })).toBe('root');
  });

  it('routes are first-match in order (a catch-all first shadows everything)', () => {
    const r = `
- match: { prefix: "/" }
  route: { cluster: first }
- match: { path: "/exact" }
  route: { cluster: second }
`;
    const d = routeOf(r, { path: '/exact' });
    expect(d.cluster).toBe('first');
    expect(d.routeIndex).toBe(0);
  });

  it('case_sensitive: false makes prefix and path case-insensitive; safe_regex is unaffected', () => {
    const r = `
- match: { prefix: "/API", case_sensitive: false }
  route: { cluster: api }
- match: { safe_regex: { regex: "/img" }, case_sensitive: false }
  route: { cluster: img }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, { path: '/api/x' })).toBe('api');
    expect(clusterOf(r, { path: '/Api' })).toBe('api');
    expect(clusterOf(r, { path: '/IMG' })).toBe('root');
    expect(clusterOf(r, { path: '/img' })).toBe('img');
    // the default is case-sensitive
    expect(clusterOf(`
- match: { prefix: "/API" }
  route: { cluster: api }
- match: { prefix: "/" }
  route: { cluster: root }
`, { path: '/api' })).toBe('root');
  });

  it('RE2 syntax, not PCRE: (?i) works, look-ahead is a configuration error', () => {
    expect(clusterOf(`
- match: { safe_regex: { regex: "(?i)/docs/.*" } }
  route: { cluster: docs }
`, { path: '/DOCS/x' })).toBe('docs');
    expect(() => routeOf(`
- match: { safe_regex: { regex: "/a(?=b)" } }
  route: { cluster: c }
`, { path: '/ab' })).toThrow(EnvoyConfigError);
  });

  it('no route matches → no_route, 404', () => {
    const d = routeOf(`
- match: { prefix: "/only" }
  route: { cluster: c }
`, { path: '/other' });
    expect(d).toMatchObject({ kind: 'no_route', status: 404, virtualHost: 'vh' });
  });
});

describe('header matchers (HeaderMatcher)', () => {
  it('a :path prefix guard sees the full :path, query included', () => {
    // design.md §3: a regex route guarded by a :path prefix header matcher
    const r = `
- match:
    safe_regex: { regex: ".*\\\\.php" }
    headers: [{ name: ":path", string_match: { prefix: "/app/" } }]
  route: { cluster: guarded }
- match:
    prefix: "/"
    headers: [{ name: ":path", string_match: { suffix: "?debug=1" } }]
  route: { cluster: query_seen }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, { path: '/app/index.php' })).toBe('guarded');
    expect(clusterOf(r, { path: '/app/index.php?x=1' })).toBe('guarded');
    expect(clusterOf(r, { path: '/other/index.php' })).toBe('root');
    expect(clusterOf(r, { path: '/other/x?debug=1' })).toBe('query_seen');
  });

  it(':authority and :method pseudo-headers; safe_regex with (?i) on :authority', () => {
    const r = `
- match:
    prefix: "/"
    headers: [{ name: ":method", string_match: { exact: "POST" } }]
  route: { cluster: post }
- match:
    prefix: "/"
    headers: [{ name: ":authority", string_match: { safe_regex: { regex: "(?i)w+\\\\.example\\\\.(com|org)" } } }]
  route: { cluster: auth }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, { method: 'POST' })).toBe('post');
    expect(clusterOf(r, { host: 'WWW.Example.org' })).toBe('auth');
    expect(clusterOf(r, { host: 'www.example.org.evil' })).toBe('root');
  });

  it('string_match forms, ignore_case, and the deprecated direct forms', () => {
    const r = `
- match: { prefix: "/", headers: [{ name: x-a, string_match: { exact: "Yes", ignore_case: true } }] }
  route: { cluster: exact_ic }
- match: { prefix: "/", headers: [{ name: x-b, string_match: { contains: "mid" } }] }
  route: { cluster: contains }
- match: { prefix: "/", headers: [{ name: x-c, exact_match: "v1" }] }
  route: { cluster: deprecated_exact }
- match: { prefix: "/", headers: [{ name: x-d, prefix_match: "abc" }] }
  route: { cluster: deprecated_prefix }
- match: { prefix: "/", headers: [{ name: x-e, safe_regex_match: { regex: "[0-9]+" } }] }
  route: { cluster: deprecated_regex }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, { headers: { 'X-A': 'yes' } })).toBe('exact_ic');
    expect(clusterOf(r, { headers: { 'x-b': 'a-mid-b' } })).toBe('contains');
    expect(clusterOf(r, { headers: { 'x-c': 'v1' } })).toBe('deprecated_exact');
    expect(clusterOf(r, { headers: { 'x-c': 'v2' } })).toBe('root');
    expect(clusterOf(r, { headers: { 'x-d': 'abcdef' } })).toBe('deprecated_prefix');
    expect(clusterOf(r, { headers: { 'x-e': '123' } })).toBe('deprecated_regex');
    expect(clusterOf(r, { headers: { 'x-e': '123a' } })).toBe('root'); // full match
  });

  it('present_match, invert_match, and a missing header', () => {
    const r = `
- match: { prefix: "/", headers: [{ name: x-absent, present_match: false }] }
  route: { cluster: absent }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, {})).toBe('absent');
    expect(clusterOf(r, { headers: { 'x-absent': '' } })).toBe('root');
    const inv = `
- match: { prefix: "/", headers: [{ name: x-v, string_match: { exact: "beta" }, invert_match: true }] }
  route: { cluster: not_beta }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(inv, { headers: { 'x-v': 'stable' } })).toBe('not_beta');
    expect(clusterOf(inv, { headers: { 'x-v': 'beta' } })).toBe('root');
    // a missing header never matches a value matcher, inverted or not
    expect(clusterOf(inv, {})).toBe('root');
    const presentInv = `
- match: { prefix: "/", headers: [{ name: x-p, present_match: true, invert_match: true }] }
  route: { cluster: p_absent }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(presentInv, {})).toBe('p_absent');
    expect(clusterOf(presentInv, { headers: { 'x-p': '1' } })).toBe('root');
  });

  it('every header matcher of a route must match', () => {
    const r = `
- match: { prefix: "/", headers: [{ name: a, present_match: true }, { name: b, present_match: true }] }
  route: { cluster: both }
- match: { prefix: "/" }
  route: { cluster: root }
`;
    expect(clusterOf(r, { headers: { a: '1' } })).toBe('root');
    expect(clusterOf(r, { headers: { a: '1', b: '2' } })).toBe('both');
  });
});

describe('query parameter matchers and runtime_fraction', () => {
  const r = `
- match: { prefix: "/", query_parameters: [{ name: debug, string_match: { exact: "1" } }] }
  route: { cluster: debug }
- match: { prefix: "/", query_parameters: [{ name: flag, present_match: true }] }
  route: { cluster: flag }
- match: { prefix: "/" }
  route: { cluster: root }
`;
  it('string_match on the first value, present_match on presence', () => {
    expect(clusterOf(r, { path: '/x?debug=1' })).toBe('debug');
    expect(clusterOf(r, { path: '/x?debug=2&debug=1' })).toBe('root');
    expect(clusterOf(r, { path: '/x?a=b&flag' })).toBe('flag');
    expect(clusterOf(r, { path: '/x' })).toBe('root');
  });

  it('runtime_fraction is ignored with a note', () => {
    const d = routeOf(`
- match: { prefix: "/", runtime_fraction: { default_value: { numerator: 0 }, runtime_key: k } }
  route: { cluster: c }
`, {});
    expect(d.cluster).toBe('c');
    expect(d.notes?.join(' ')).toMatch(/runtime_fraction ignored/);
  });
});
