// Route actions. Expected answers from
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto
// #config-route-v3-routeaction (prefix_rewrite: "the matched prefix (or path) should be
// swapped with this value"; regex_rewrite on the path without query, query kept;
// host_rewrite_literal; auto_host_rewrite: the upstream host's hostname, strict_dns /
// logical_dns or an endpoint hostname; timeout), #config-route-v3-redirectaction,
// #config-route-v3-directresponseaction, and
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#custom-request-response-headers.
import { describe, expect, it } from 'vitest';
import { evaluate, type EnvoyRequest } from '../../../src/sim/envoy/index.js';
import { bootstrap } from './helpers.js';

function run(routesYaml: string, req: Partial<EnvoyRequest>, opts: Parameters<typeof bootstrap>[1] = {}, vhostExtra = '', rcExtra = ''): ReturnType<typeof evaluate> {
  const rc = `
${rcExtra}
virtual_hosts:
  - name: vh
    domains: ["*"]
${vhostExtra.replace(/^/gm, '    ')}
    routes:
${routesYaml.replace(/^/gm, '      ')}
`;
  return evaluate(bootstrap(rc, opts), { port: 8080, host: 'example.com', path: '/', ...req });
}

describe('forwarding: clusters and path rewrites', () => {
  it('prefix_rewrite replaces the matched prefix and keeps the query', () => {
    const d = run(`
- match: { prefix: "/api/" }
  route: { cluster: api, prefix_rewrite: "/v1/" }
`, { path: '/api/users?id=7' });
    expect(d).toMatchObject({ kind: 'route', cluster: 'api', upstreamPath: '/v1/users?id=7', upstreamHost: 'example.com' });
  });

  it('prefix_rewrite on a path (exact) match replaces the whole path, query kept', () => {
    const d = run(`
- match: { path: "/old" }
  route: { cluster: c, prefix_rewrite: "/new/place" }
`, { path: '/old?a=1' });
    expect(d.upstreamPath).toBe('/new/place?a=1');
  });

  it('prefix_rewrite with a case-insensitive prefix replaces as many characters as the prefix has', () => {
    const d = run(`
- match: { prefix: "/API/", case_sensitive: false }
  route: { cluster: c, prefix_rewrite: "/" }
`, { path: '/Api/x' });
    expect(d.upstreamPath).toBe('/x');
  });

  it('regex_rewrite substitutes every match with \\1 groups on the path only', () => {
    const d = run(`
- match: { prefix: "/service/" }
  route:
    cluster: c
    regex_rewrite:
      pattern: { regex: "^/service/([^/]+)(/.*)$" }
      substitution: "\\\\2/instance/\\\\1"
`, { path: '/service/foo/v1/api?x=/service/q/r' });
    expect(d.upstreamPath).toBe('/v1/api/instance/foo?x=/service/q/r');
    // the docs' case-insensitive example: (?i)/xxx/ → /yyy/ turns /aaa/XxX/bbb into /aaa/yyy/bbb
    const e = run(`
- match: { prefix: "/" }
  route: { cluster: c, regex_rewrite: { pattern: { regex: "(?i)/xxx/" }, substitution: "/yyy/" } }
`, { path: '/aaa/XxX/bbb' });
    expect(e.upstreamPath).toBe('/aaa/yyy/bbb');
    // global: every occurrence
    const g = run(`
- match: { prefix: "/" }
  route: { cluster: c, regex_rewrite: { pattern: { regex: "a" }, substitution: "b" } }
`, { path: '/aXa/a' });
    expect(g.upstreamPath).toBe('/bXb/b');
  });

  it('weighted_clusters are all reported with their weights; cluster_header reads the request', () => {
    const d = run(`
- match: { prefix: "/" }
  route:
    weighted_clusters:
      clusters: [{ name: blue, weight: 80 }, { name: green, weight: 20 }]
`, {});
    expect(d.weightedClusters).toEqual([
      { cluster: 'blue', weight: 80 },
      { cluster: 'green', weight: 20 },
    ]);
    expect(d.cluster).toBeUndefined();
    const h = run(`
- match: { prefix: "/" }
  route: { cluster_header: x-target }
`, { headers: { 'x-target': 'blue' } }, { clustersYaml: '[{ name: blue, type: STATIC }]' });
    expect(h.cluster).toBe('blue');
  });

  it('a route to a cluster that does not exist answers 503 (cluster_not_found_response_code)', () => {
    const d = run(`
- match: { prefix: "/" }
  route: { cluster: ghost }
`, {}, { clustersYaml: '[]' });
    expect(d.status).toBe(503);
    expect(d.notes?.join(' ')).toMatch(/ghost does not exist/);
  });

  it('timeouts are reported as given; a missing timeout gets a note about the 15s default', () => {
    const d = run(`
- match: { prefix: "/" }
  route: { cluster: c, timeout: 0s, idle_timeout: 60s, max_stream_duration: { max_stream_duration: 300s } }
`, {});
    expect(d).toMatchObject({ timeout: '0s', idleTimeout: '60s', maxStreamDuration: '300s' });
    const n = run(`
- match: { prefix: "/" }
  route: { cluster: c }
`, {});
    expect(n.timeout).toBeUndefined();
    expect(n.notes?.join(' ')).toMatch(/default of 15s/);
  });
});

describe('host rewrites', () => {
  const clusters = `
- name: dns
  type: STRICT_DNS
  load_assignment:
    cluster_name: dns
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: backend.internal, port_value: 8080 } } } }] }]
- name: ip
  type: STATIC
  load_assignment:
    cluster_name: ip
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.1.1.1, port_value: 9000 } } } }] }]
- name: named
  type: STATIC
  load_assignment:
    cluster_name: named
    endpoints: [{ lb_endpoints: [{ endpoint: { hostname: api.example.net, address: { socket_address: { address: 10.1.1.2, port_value: 9000 } } } }] }]
`;
  it('host_rewrite_literal sets the upstream Host', () => {
    const d = run(`
- match: { prefix: "/" }
  route: { cluster: ip, host_rewrite_literal: "upstream.local" }
`, {}, { clustersYaml: clusters });
    expect(d.upstreamHost).toBe('upstream.local');
  });

  it('auto_host_rewrite: the DNS name (no port) of a STRICT_DNS cluster, the endpoint hostname, no effect on a bare STATIC IP', () => {
    const mk = (cluster: string): ReturnType<typeof evaluate> =>
      run(`
- match: { prefix: "/" }
  route: { cluster: ${cluster}, auto_host_rewrite: true }
`, { host: 'client.example' }, { clustersYaml: clusters });
    expect(mk('dns').upstreamHost).toBe('backend.internal');
    expect(mk('named').upstreamHost).toBe('api.example.net');
    const ip = mk('ip');
    expect(ip.upstreamHost).toBe('client.example');
    expect(ip.notes?.join(' ')).toMatch(/auto_host_rewrite has no effect/);
  });

  it('host_rewrite_header copies a request header', () => {
    const d = run(`
- match: { prefix: "/" }
  route: { cluster: ip, host_rewrite_header: x-upstream-host }
`, { headers: { 'x-upstream-host': 'h.example' } }, { clustersYaml: clusters });
    expect(d.upstreamHost).toBe('h.example');
  });
});

describe('redirects (RedirectAction → Location)', () => {
  it('https_redirect keeps host and path with query; the default code is 301; :80 is dropped', () => {
    const d = run(`
- match: { prefix: "/" }
  redirect: { https_redirect: true }
`, { host: 'example.com:80', path: '/a/b?x=1' });
    expect(d).toMatchObject({ kind: 'redirect', status: 301, redirectLocation: 'https://example.com/a/b?x=1' });
    // a non-default port stays
    const p = run(`
- match: { prefix: "/" }
  redirect: { https_redirect: true }
`, { host: 'example.com:8080', path: '/' });
    expect(p.redirectLocation).toBe('https://example.com:8080/');
  });

  it('host_redirect, port_redirect and the response_code enum', () => {
    const d = run(`
- match: { prefix: "/" }
  redirect: { host_redirect: "new.example.com", port_redirect: 8443, scheme_redirect: https, response_code: PERMANENT_REDIRECT }
`, { path: '/p?q=1' });
    expect(d).toMatchObject({ status: 308, redirectLocation: 'https://new.example.com:8443/p?q=1' });
    const codes: Record<string, number> = { FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307 };
    for (const [name, status] of Object.entries(codes)) {
      expect(run(`
- match: { prefix: "/" }
  redirect: { host_redirect: h, response_code: ${name} }
`, {}).status).toBe(status);
    }
    // numeric enum form (proto3 JSON allows it): 1 = FOUND
    expect(run(`
- match: { prefix: "/" }
  redirect: { host_redirect: h, response_code: 1 }
`, {}).status).toBe(302);
  });

  it('port_redirect without host_redirect replaces the request port', () => {
    const d = run(`
- match: { prefix: "/" }
  redirect: { port_redirect: 9000 }
`, { host: 'example.com:8080', path: '/x' });
    expect(d.redirectLocation).toBe('http://example.com:9000/x');
  });

  it('path_redirect keeps the request query unless strip_query; its own query always wins', () => {
    const base = (extra: string, path: string): string | undefined =>
      run(`
- match: { prefix: "/" }
  redirect: { ${extra} }
`, { path }).redirectLocation;
    expect(base('path_redirect: "/new"', '/old?a=1')).toBe('http://example.com/new?a=1');
    expect(base('path_redirect: "/new", strip_query: true', '/old?a=1')).toBe('http://example.com/new');
    expect(base('path_redirect: "/new?b=2", strip_query: true', '/old?a=1')).toBe('http://example.com/new?b=2');
    expect(base('host_redirect: "h.com"', '/keep?a=1')).toBe('http://h.com/keep?a=1');
    expect(base('host_redirect: "h.com", strip_query: true', '/keep?a=1')).toBe('http://h.com/keep');
  });

  it('prefix_rewrite and regex_rewrite in a redirect rewrite the request path', () => {
    const d = run(`
- match: { prefix: "/old/" }
  redirect: { prefix_rewrite: "/new/" }
- match: { prefix: "/r/" }
  redirect: { regex_rewrite: { pattern: { regex: "^/r/(.*)$" }, substitution: "/s/\\\\1" } }
`, { path: '/old/x?y=1' });
    expect(d.redirectLocation).toBe('http://example.com/new/x?y=1');
    expect(run(`
- match: { prefix: "/r/" }
  redirect: { regex_rewrite: { pattern: { regex: "^/r/(.*)$" }, substitution: "/s/\\\\1" } }
`, { path: '/r/z?k' }).redirectLocation).toBe('http://example.com/s/z?k');
  });
});

describe('direct responses', () => {
  it('status and inline body', () => {
    const d = run(`
- match: { path: "/healthz" }
  direct_response: { status: 200, body: { inline_string: "ok\\n" } }
`, { path: '/healthz' });
    expect(d).toMatchObject({ kind: 'direct_response', status: 200, body: 'ok\n' });
  });
});

describe('request and response headers to add', () => {
  it('route, then virtual host, then route configuration; append_action and formatters', () => {
    const d = run(
      `
- match: { prefix: "/" }
  route: { cluster: c }
  request_headers_to_add:
    - header: { key: X-Real-IP, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" }
      append_action: OVERWRITE_IF_EXISTS_OR_ADD
    - header: { key: x-host, value: "%REQ(:authority)%" }
    - header: { key: x-ua, value: "%REQ(user-agent)% 100%%" }
    - header: { key: x-t, value: "%START_TIME%" }
  response_headers_to_add:
    - header: { key: x-frame-options, value: DENY }
      append: false
`,
      { remoteAddress: '192.0.2.7', headers: { 'User-Agent': 'curl' } },
      {},
      `request_headers_to_add: [{ header: { key: x-vh, value: v } }]`,
      `request_headers_to_add: [{ header: { key: x-global, value: g }, append_action: ADD_IF_ABSENT }]`,
    );
    expect(d.requestHeadersToAdd).toEqual([
      { key: 'x-real-ip', value: '192.0.2.7', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', level: 'route' },
      { key: 'x-host', value: 'example.com', appendAction: 'APPEND_IF_EXISTS_OR_ADD', level: 'route' },
      { key: 'x-ua', value: 'curl 100%', appendAction: 'APPEND_IF_EXISTS_OR_ADD', level: 'route' },
      { key: 'x-t', value: '%START_TIME%', appendAction: 'APPEND_IF_EXISTS_OR_ADD', level: 'route' },
      { key: 'x-vh', value: 'v', appendAction: 'APPEND_IF_EXISTS_OR_ADD', level: 'virtual_host' },
      { key: 'x-global', value: 'g', appendAction: 'ADD_IF_ABSENT', level: 'route_configuration' },
    ]);
    expect(d.responseHeadersToAdd).toEqual([{ key: 'x-frame-options', value: 'DENY', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', level: 'route' }]);
    expect(d.notes?.join(' ')).toMatch(/%START_TIME% left as written/);
  });

  it('most_specific_header_mutations_wins reverses the order', () => {
    const d = run(
      `
- match: { prefix: "/" }
  route: { cluster: c }
  request_headers_to_add: [{ header: { key: x, value: route } }]
`,
      {},
      {},
      `request_headers_to_add: [{ header: { key: x, value: vhost } }]`,
      'most_specific_header_mutations_wins: true',
    );
    expect(d.requestHeadersToAdd?.map((h) => h.level)).toEqual(['virtual_host', 'route']);
  });
});

describe('headers Envoy refuses to let a route modify', () => {
  it('"host" and :-prefixed headers in headers_to_add are a configuration error', () => {
    for (const key of ['host', ':authority', ':path']) {
      expect(() =>
        run(`
- match: { prefix: "/" }
  route: { cluster: c }
  request_headers_to_add: [{ header: { key: "${key}", value: x } }]
`, {}),
      ).toThrow(/may not be modified/);
    }
  });
});
