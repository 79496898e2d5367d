// The canonical form: what check and diff treat as "no change".
import { describe, expect, it } from 'vitest';
import { canonicalDocument, canonicalRoutes, exclusive, stableStringify } from '../../src/review/canonical.js';

const prefix = (p: string, cluster = 'c') => ({ name: `r${p}`, match: { prefix: p }, route: { cluster } });
const path = (p: string, cluster = 'c') => ({ name: `r${p}`, match: { path: p }, route: { cluster } });
const regex = (r: string) => ({ name: `re${r}`, match: { safe_regex: { regex: r } }, route: { cluster: 'c' } });

describe('canonical routes', () => {
  it('exclusive: same-length prefixes, distinct paths, a path outside a prefix', () => {
    expect(exclusive({ prefix: '/api/' }, { prefix: '/doc/' })).toBe(true);
    expect(exclusive({ prefix: '/api/' }, { prefix: '/api/v1/' })).toBe(false);
    expect(exclusive({ path: '/a' }, { path: '/b' })).toBe(true);
    expect(exclusive({ path: '/api/x' }, { prefix: '/api/' })).toBe(false);
    expect(exclusive({ path: '/x' }, { prefix: '/api/' })).toBe(true);
    // A header guard or case-insensitivity makes the match more than a path: keep order.
    expect(exclusive({ prefix: '/a/', headers: [{ name: ':authority' }] }, { prefix: '/b/' })).toBe(false);
    expect(exclusive({ prefix: '/a/', case_sensitive: false }, { prefix: '/b/' })).toBe(false);
  });

  it('sorts runs of exclusive routes and keeps every other route where it is', () => {
    const a = [path('/b'), path('/a'), regex('.*x'), prefix('/img/'), prefix('/doc/'), prefix('/api/'), prefix('/')];
    const b = [path('/a'), path('/b'), regex('.*x'), prefix('/api/'), prefix('/img/'), prefix('/doc/'), prefix('/')];
    expect(canonicalRoutes(a).map((r) => r.name)).toEqual(canonicalRoutes(b).map((r) => r.name));
    expect(canonicalRoutes(a).map((r) => r.name)).toEqual(['r/a', 'r/b', 're.*x', 'r/api/', 'r/doc/', 'r/img/', 'r/']);
  });

  it('keeps the order of overlapping routes: moving a regex past a prefix is a change', () => {
    const a = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [regex('.*\\.php'), prefix('/')] }] };
    const b = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [prefix('/'), regex('.*\\.php')] }] };
    expect(stableStringify(canonicalDocument(a))).not.toBe(stableStringify(canonicalDocument(b)));
  });

  it('ignores route and virtual host names, and the order of clusters and listeners', () => {
    const a = {
      static_resources: {
        clusters: [{ name: 'b' }, { name: 'a' }],
        listeners: [{ name: 'l', route_config: { virtual_hosts: [{ name: 'server_0', domains: ['x'], routes: [{ ...prefix('/'), name: 'server_0/loc_0' }] }] } }],
      },
    };
    const b = {
      static_resources: {
        clusters: [{ name: 'a' }, { name: 'b' }],
        listeners: [{ name: 'l', route_config: { virtual_hosts: [{ name: 'server_3', domains: ['x'], routes: [{ ...prefix('/'), name: 'server_3/loc_7' }] }] } }],
      },
    };
    expect(stableStringify(canonicalDocument(a))).toBe(stableStringify(canonicalDocument(b)));
    const c = structuredClone(b);
    c.static_resources.listeners[0]!.route_config.virtual_hosts[0]!.routes[0]!.route.cluster = 'other';
    expect(stableStringify(canonicalDocument(a))).not.toBe(stableStringify(canonicalDocument(c)));
  });
});
