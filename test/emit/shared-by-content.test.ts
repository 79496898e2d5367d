// Emission shares by content what many routes repeat: the slash-redirect and rewrite-regex
// matches, RBAC per-route configs, and each route's final per-filter config object; and it
// finishes each virtual host (hoisting, compaction) in one go. These tests hold each to
// what the routes must say: the same output as before, objects shared only where equal.
import { describe, expect, it } from 'vitest';
import { httpCompiler } from '../support/compile-http.js';
import { Emission } from '../../src/emit/envoy/context.js';
import { compactRouteList, compactRoutes } from '../../src/emit/envoy/compact.js';
import { finishVirtualHosts, hoistPerFilterConfigs, hoistRequestHeaders, hoistRetryPolicies, neutralPerRouteConfigs } from '../../src/emit/envoy/hoist.js';
import { prng, type Rand } from '../support/prng.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compileText = httpCompiler('shared-by-content');
const RBAC = 'envoy.filters.http.rbac';

function routesOf(r: ReturnType<typeof compileText>): Json[] {
  const hcm = (r.bootstrap as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  return hcm.route_config.virtual_hosts.flatMap((vh: Json) => vh.routes);
}

const named = (routes: Json[], name: string): Json => {
  const r = routes.find((x) => x.name === name);
  if (!r) throw new Error(`no route ${name}`);
  return r;
};

describe('what routes of alike servers repeat is one frozen object', () => {
  const server = (n: number): string => `server { listen 80; server_name s${n}.test; client_max_body_size 5m;
      location /app/ { proxy_pass http://127.0.0.1:900${n}; }
      location /old/ { rewrite ^/old/(.*)$ /new/$1 redirect; return 404; }
      location /admin/ { allow 10.0.0.0/8; deny all; proxy_pass http://127.0.0.1:900${n}; }
      location /other/ { allow 192.168.0.0/16; deny all; proxy_pass http://127.0.0.1:8000; } }`;
  const r = compileText('alike', `${server(0)}\n${server(1)}\n${server(2)}`);
  const routes = routesOf(r);

  it('slash redirects and rewrite regexes under a prefix share their match', () => {
    const slash = named(routes, 'server_0/loc_0/slash').match;
    expect(slash).toEqual({ path: '/app' });
    expect(Object.isFrozen(slash)).toBe(true);
    expect(named(routes, 'server_1/loc_0/slash').match).toBe(slash);
    const rewrite = named(routes, 'server_0/loc_1/rewrite_0').match;
    expect(rewrite).toEqual({ safe_regex: { regex: '.*(?:^/old/(.*)$).*' }, headers: [{ name: ':path', string_match: { prefix: '/old/' } }] });
    expect(Object.isFrozen(rewrite) && Object.isFrozen(rewrite.headers) && Object.isFrozen(rewrite.safe_regex)).toBe(true);
    expect(named(routes, 'server_2/loc_1/rewrite_0').match).toBe(rewrite);
  });

  it('allow/deny written alike in several servers is one RBAC config; other rules another', () => {
    const admin = named(routes, 'server_0/loc_2').typed_per_filter_config[RBAC];
    expect(admin.rbac.rules.policies.nginx_allow_deny.principals).toEqual([{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }]);
    expect(Object.isFrozen(admin.rbac.rules.policies.nginx_allow_deny.principals[0])).toBe(true);
    expect(named(routes, 'server_1/loc_2').typed_per_filter_config[RBAC]).toBe(admin);
    const other = named(routes, 'server_0/loc_3').typed_per_filter_config[RBAC];
    expect(other).not.toBe(admin);
    expect(other.rbac.rules.policies.nginx_allow_deny.principals).toEqual([{ direct_remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }]);
  });

  it('a route\'s per-filter configs are one frozen object per content', () => {
    const a = named(routes, 'server_0/loc_2').typed_per_filter_config;
    expect(Object.isFrozen(a)).toBe(true);
    expect(named(routes, 'server_2/loc_2').typed_per_filter_config).toBe(a);
    // another content (other rules): another object
    expect(named(routes, 'server_0/loc_3').typed_per_filter_config).not.toBe(a);
    expect(Object.keys(named(routes, 'server_0/loc_3').typed_per_filter_config)).toEqual(Object.keys(a));
  });

  it('so are the per-filter configs hoisted to the virtual hosts of alike servers', () => {
    const hcm = (r.bootstrap as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const [v0, v1] = ['server_0', 'server_1'].map((n) => hcm.route_config.virtual_hosts.find((vh: Json) => vh.name === n));
    expect(v0.typed_per_filter_config['envoy.filters.http.buffer'].buffer.max_request_bytes).toBe(5 * 1024 * 1024);
    expect(Object.isFrozen(v0.typed_per_filter_config)).toBe(true);
    expect(v1.typed_per_filter_config).toBe(v0.typed_per_filter_config);
  });
});

describe('compactRouteList', () => {
  it('shares per-filter config objects of frozen values by content (names in order), and leaves others as they are', () => {
    const em = new Emission();
    const x = Object.freeze({ a: 1 });
    const y = Object.freeze({ b: 2 });
    const routes: Json[] = [
      { name: 'r0', typed_per_filter_config: { f: x, g: y } },
      { name: 'r1', typed_per_filter_config: { f: x, g: y }, tracing: undefined },
      { name: 'r2', typed_per_filter_config: { g: y, f: x } },
      { name: 'r3', typed_per_filter_config: { f: x, g: { b: 2 } } },
    ];
    const mutable = routes[3].typed_per_filter_config;
    em.comment(routes[1], { file: 'c.conf', line: 3, col: 1 });
    compactRouteList(routes, em);
    expect(routes[1].typed_per_filter_config).toBe(routes[0].typed_per_filter_config);
    expect(Object.isFrozen(routes[0].typed_per_filter_config)).toBe(true);
    expect(Object.keys(routes[1])).toEqual(['name', 'typed_per_filter_config']);
    expect(em.comments.get(routes[1])).toBe(' nginx: c.conf:3');
    // the same configs in another order are another content (the output lists them in order)
    expect(routes[2].typed_per_filter_config).not.toBe(routes[0].typed_per_filter_config);
    expect(Object.keys(routes[2].typed_per_filter_config)).toEqual(['g', 'f']);
    // a value that may still change: the route keeps its own object, not frozen
    expect(routes[3].typed_per_filter_config).toBe(mutable);
    expect(Object.isFrozen(mutable)).toBe(false);
  });
});

describe('finishing each virtual host in one go = the hoists and compaction one after the other', () => {
  const T = 'type.googleapis.com/envoy.extensions.filters.http.';
  const FILTERS: Json[] = [
    { name: 'envoy.filters.http.buffer', typed_config: { '@type': `${T}buffer.v3.Buffer`, max_request_bytes: 1048576 } },
    { name: 'envoy.filters.http.lua', typed_config: { '@type': `${T}lua.v3.Lua`, source_codes: { a: { inline_string: 'a' } } } },
    { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}router.v3.Router` } },
  ];
  const BUFFERS = [Object.freeze({ '@type': `${T}buffer.v3.BufferPerRoute`, disabled: true }), Object.freeze({ '@type': `${T}buffer.v3.BufferPerRoute`, buffer: { max_request_bytes: 5 } })];
  const LUAS = [Object.freeze({ '@type': `${T}lua.v3.LuaPerRoute`, name: 'a' })];
  const HEADERS = [Object.freeze([{ header: { key: 'x-a', value: '1' } }]), Object.freeze([{ header: { key: 'x-b', value: '2' } }])];
  const RETRIES = [Object.freeze({ retry_on: 'connect-failure', num_retries: 1 }), Object.freeze({ retry_on: 'connect-failure', num_retries: 2 })];

  function randomRouteConfig(rand: Rand, em: Emission): Json {
    const pick = <X>(xs: X[]): X => xs[Math.floor(rand() * xs.length)]!;
    const vhosts: Json[] = [];
    for (let v = 0, nv = 1 + Math.floor(rand() * 4); v < nv; v++) {
      const routes: Json[] = [];
      const forwards = rand() < 0.8;
      for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) {
        const route: Json = { name: `v${v}/r${i}`, match: { prefix: `/${i}` } };
        if (forwards && rand() < 0.8) {
          route.route = { cluster: 'c', ...(rand() < 0.7 ? { retry_policy: pick(RETRIES) } : {}) };
          if (rand() < 0.85) route.request_headers_to_add = rand() < 0.8 ? HEADERS[0] : pick(HEADERS);
        } else route.direct_response = { status: 200 };
        if (rand() < 0.3) route.response_headers_to_add = undefined; // (as the status-gated headers leave it)
        const tpfc: Json = {};
        if (rand() < 0.7) tpfc['envoy.filters.http.buffer'] = pick(BUFFERS);
        if (rand() < 0.6) tpfc['envoy.filters.http.lua'] = pick(LUAS);
        if (Object.keys(tpfc).length || rand() < 0.2) route.typed_per_filter_config = tpfc;
        em.comment(route, { file: 'r.conf', line: v * 100 + i, col: 1 });
        routes.push(route);
      }
      vhosts.push({ name: `v${v}`, domains: [`v${v}.test`], routes });
    }
    return { name: 'rc', virtual_hosts: vhosts };
  }

  /** The output as the YAML and JSON writers see it (key order included), and each route's comment. */
  function rendered(rc: Json, em: Emission): string {
    const comments = rc.virtual_hosts.flatMap((vh: Json) => vh.routes.map((r: Json) => em.comments.get(r)));
    return JSON.stringify(rc) + JSON.stringify(comments);
  }

  it('gives the same route configuration and comments (200 random ones)', () => {
    const neutral = neutralPerRouteConfigs(FILTERS);
    let hoisted = 0;
    for (let k = 0; k < 200; k++) {
      const emA = new Emission();
      const emB = new Emission();
      const a = randomRouteConfig(prng(7000 + k), emA);
      const b = randomRouteConfig(prng(7000 + k), emB);
      hoistPerFilterConfigs(a, neutral);
      hoistRequestHeaders(a);
      hoistRetryPolicies(a);
      compactRoutes(a, emA);
      finishVirtualHosts(b, neutral, emB);
      expect(rendered(b, emB), `case ${k}`).toBe(rendered(a, emA));
      if (b.virtual_hosts.some((vh: Json) => vh.retry_policy || vh.request_headers_to_add)) hoisted++;
    }
    expect(hoisted).toBeGreaterThan(50);
  });

  it('writes none of the routes it is given: a route that changes is made anew, with its comment (200 random ones)', () => {
    const neutral = neutralPerRouteConfigs(FILTERS);
    let remade = 0;
    let kept = 0;
    for (let k = 0; k < 200; k++) {
      const em = new Emission();
      const rc = randomRouteConfig(prng(9000 + k), em);
      const given: Json[] = rc.virtual_hosts.flatMap((vh: Json) => vh.routes);
      // each route's own keys and values (by identity) before
      const before = given.map((r) => Object.entries(r));
      const comments = given.map((r) => em.comments.get(r));
      finishVirtualHosts(rc, neutral, em);
      const after: Json[] = rc.virtual_hosts.flatMap((vh: Json) => vh.routes);
      expect(after.length).toBe(given.length);
      for (let i = 0; i < given.length; i++) {
        const entries = Object.entries(given[i]);
        expect(entries.length, `case ${k} route ${i}`).toBe(before[i]!.length);
        for (let j = 0; j < entries.length; j++) {
          expect(entries[j]![0]).toBe(before[i]![j]![0]);
          expect(entries[j]![1]).toBe(before[i]![j]![1]);
        }
        if (after[i] === given[i]) {
          kept++;
          continue;
        }
        remade++;
        // the comment went with the route made anew
        expect(em.comments.get(after[i])).toBe(comments[i]);
        expect(em.comments.has(given[i])).toBe(false);
      }
    }
    expect(remade).toBeGreaterThan(100);
    expect(kept).toBeGreaterThan(10);
  });

  it('a route without per-filter configs that gets the neutral one has it as its last key, as the separate passes give', () => {
    const lua = { 'envoy.filters.http.lua': LUAS[0] };
    const make = (em: Emission): Json => {
      const routes: Json[] = [
        { name: 'v/r0', match: { prefix: '/0' }, direct_response: { status: 200 }, typed_per_filter_config: { ...lua } },
        { name: 'v/r1', match: { prefix: '/1' }, direct_response: { status: 200 }, typed_per_filter_config: { ...lua } },
        { name: 'v/r2', match: { prefix: '/2' }, direct_response: { status: 200 } },
      ];
      routes.forEach((r, i) => em.comment(r, { file: 'n.conf', line: i + 1, col: 1 }));
      return { name: 'rc', virtual_hosts: [{ name: 'v', domains: ['v.test'], routes }] };
    };
    const neutral = neutralPerRouteConfigs(FILTERS);
    const emA = new Emission();
    const emB = new Emission();
    const a = make(emA);
    const b = make(emB);
    hoistPerFilterConfigs(a, neutral);
    compactRoutes(a, emA);
    finishVirtualHosts(b, neutral, emB);
    const last = b.virtual_hosts[0].routes[2];
    expect(Object.keys(last)).toEqual(['name', 'match', 'direct_response', 'typed_per_filter_config']);
    expect(last.typed_per_filter_config['envoy.filters.http.lua'].disabled).toBe(true);
    expect(rendered(b, emB)).toBe(rendered(a, emA));
  });

  it('leaves a virtual host finished by an earlier emission as it is', () => {
    const em = new Emission();
    const rc = randomRouteConfig(prng(99), em);
    const before = JSON.stringify(rc.virtual_hosts[0]);
    const kept = rc.virtual_hosts[0];
    finishVirtualHosts(rc, neutralPerRouteConfigs(FILTERS), em, new Set([kept]));
    expect(rc.virtual_hosts[0]).toBe(kept);
    expect(JSON.stringify(kept)).toBe(before);
  });
});
