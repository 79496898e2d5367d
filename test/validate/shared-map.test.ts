// A map field's object shared by many places (a route's per-filter configs, frozen by the
// emitter: one object per content) is walked once when found clean, as shared messages and
// lists are; the findings stay exactly those of a walk over unshared copies.
import { describe, expect, it } from 'vitest';
import { validateBootstrap, WalkCache, type Finding } from '../../src/validate/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const LUA_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';

/** A bootstrap whose route configuration has `n` routes, each with the per-filter configs `tpfc(i)`. */
function bootstrapWith(n: number, tpfc: (i: number) => Json): Json {
  const routes = Array.from({ length: n }, (_, i) => ({ name: `r${i}`, match: { prefix: `/${i}` }, direct_response: { status: 200 }, typed_per_filter_config: tpfc(i) }));
  return {
    static_resources: {
      listeners: [
        {
          name: 'l',
          address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'l',
                    route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes }] },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

function triples(findings: Finding[]): Array<[string, string, string]> {
  return findings.map((f) => [f.severity, f.path, f.message]);
}

describe('a shared map field', () => {
  it('found clean is walked once, with the findings of unshared copies', () => {
    const shared = Object.freeze({ 'envoy.filters.http.lua': Object.freeze({ '@type': LUA_PER_ROUTE, name: 'a' }), 'x.lua': Object.freeze({ '@type': LUA_PER_ROUTE, name: 'b' }) });
    const cache = new WalkCache();
    const findings = validateBootstrap(bootstrapWith(5, () => shared), { cache });
    // the map is skipped at the four routes after the first (not each of the two configs in it)
    expect(cache.skipped).toBe(4);
    const copies = validateBootstrap(bootstrapWith(5, () => ({ 'envoy.filters.http.lua': { '@type': LUA_PER_ROUTE, name: 'a' }, 'x.lua': { '@type': LUA_PER_ROUTE, name: 'b' } })));
    expect(triples(findings)).toEqual(triples(copies));
  });

  it('with a finding is reported wherever it is', () => {
    const bad = Object.freeze({ 'envoy.filters.http.lua': Object.freeze({ '@type': LUA_PER_ROUTE, name: 'a', no_such_field: 1 }) });
    const findings = validateBootstrap(bootstrapWith(3, () => bad));
    const at = findings.filter((f) => f.message.includes('no_such_field')).map((f) => f.path);
    expect(at).toHaveLength(3);
    expect(at.map((p) => p.match(/routes\[(\d)\]/)?.[1])).toEqual(['0', '1', '2']);
    const copies = validateBootstrap(bootstrapWith(3, () => ({ 'envoy.filters.http.lua': { '@type': LUA_PER_ROUTE, name: 'a', no_such_field: 1 } })));
    expect(triples(findings)).toEqual(triples(copies));
  });
});
