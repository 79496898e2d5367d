// WalkCache: the validator's memory across walks (serve validates every
// reload, and a reload hands it the same frozen virtual hosts again). A walk
// with a cache must give exactly what a walk without one gives: the same
// findings in the same order, and the same collected messages (type, order,
// value by identity, path, parent) wherever the reused objects now sit.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { COLLECTED_TYPES, LOCAL_CHECKS, T } from '../../src/validate/crossref.js';
import { validateBootstrap, validateXdsResources, WalkCache, type Finding, type XdsResources } from '../../src/validate/index.js';
import { envoySchema } from '../../src/validate/schema.js';
import { Walker, type Collected } from '../../src/validate/walk.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

type Obj = Record<string, any>;

interface Compiled {
  name: string;
  bootstrap: Obj;
  res: XdsResources;
}

/** Every fixture that compiles: its bootstrap and xDS resources. */
function compiledFixtures(): Compiled[] {
  return readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'nginx.conf')))
    .sort()
    .flatMap((name) => {
      const r = compile(join(FIXTURES, name, 'nginx.conf'));
      return r.ok ? [{ name, bootstrap: r.bootstrap as Obj, res: toXdsResources(r.bootstrap) as XdsResources }] : [];
    });
}

function routeConfigs(res: XdsResources): Obj[] {
  return res.routes as Obj[];
}

/** Freeze every virtual host object (shallow), as the emitter does with the ones it reuses. */
function freezeVirtualHosts(res: XdsResources): number {
  let n = 0;
  for (const rc of routeConfigs(res)) for (const vh of rc.virtual_hosts ?? []) (Object.freeze(vh), n++);
  return n;
}

/** The same resources with new RouteConfiguration objects whose virtual host lists `edit` rewrites (same vhost objects). */
function withVirtualHosts(res: XdsResources, edit: (vhosts: Obj[], rcIndex: number) => Obj[]): XdsResources {
  return { ...res, routes: routeConfigs(res).map((rc, i) => ({ ...rc, virtual_hosts: edit(rc.virtual_hosts ?? [], i) })) };
}

/** What validateXdsResources walks, with the walker kept: its findings and collected messages. */
function walkXds(res: XdsResources, cache?: WalkCache): Walker {
  const walker = new Walker(envoySchema(), COLLECTED_TYPES, LOCAL_CHECKS, cache);
  const groups: Array<[keyof XdsResources, string]> = [
    ['listeners', T.listener],
    ['routes', T.routeConfiguration],
    ['clusters', T.cluster],
    ['endpoints', T.clusterLoadAssignment],
    ['secrets', T.secret],
  ];
  for (const [group, type] of groups) (res[group] ?? []).forEach((item, i) => walker.message(type, item, `${group}[${i}]`));
  return walker;
}

interface CollectedShape {
  type: string;
  value: unknown;
  path: string;
  parentPath: string | null;
}

function shape(collected: ReadonlyMap<string, Collected[]>): Array<[string, CollectedShape[]]> {
  return [...collected].map(([type, list]) => [
    type,
    list.map((c) => ({ type: c.type, value: c.value, path: c.path, parentPath: c.parent === null ? null : c.parent.path })),
  ]);
}

/** The walks' collected messages are the same: types in order, and per type the entries (values by identity). */
function expectSameCollected(actual: Walker, expected: Walker): void {
  const a = shape(actual.collected);
  const e = shape(expected.collected);
  expect(a.map(([t, l]) => [t, l.length])).toEqual(e.map(([t, l]) => [t, l.length]));
  a.forEach(([, list], i) => {
    const want = e[i]![1];
    list.forEach((c, j) => {
      expect(c.value).toBe(want[j]!.value);
      expect({ ...c, value: null }).toEqual({ ...want[j]!, value: null });
    });
  });
}

function triples(findings: Finding[]): Array<[string, string, string]> {
  return findings.map((f) => [f.severity, f.path, f.message]);
}

/** A cached walk and validation of `res` against uncached ones; the cache's skips during the cached walk. */
function sameWithCache(res: XdsResources, cache: WalkCache): number {
  const before = cache.skipped;
  const cached = walkXds(res, cache);
  const skipped = cache.skipped - before;
  const fresh = walkXds(res);
  expect(triples(cached.findings)).toEqual(triples(fresh.findings));
  expectSameCollected(cached, fresh);
  expect(triples(validateXdsResources(res, { cache }))).toEqual(triples(validateXdsResources(res)));
  return skipped;
}

const compiled = compiledFixtures();

function fixtureNamed(name: string): Compiled {
  const c = compiled.find((f) => f.name === name);
  if (!c) throw new Error(`fixture ${name} did not compile`);
  return c;
}

/** A fixture with more than one virtual host in one route configuration. */
function multiHost(): Compiled {
  const c = compiled.find((f) => routeConfigs(f.res).some((rc) => (rc.virtual_hosts ?? []).length >= 3));
  if (!c) throw new Error('no fixture with three virtual hosts in one route configuration');
  return c;
}

describe('validation with a WalkCache = without', () => {
  it('has compiled fixtures to compare on', () => {
    expect(compiled.length).toBeGreaterThan(30);
  });

  it.each(compiled.map((c) => [c.name, c] as const))('%s: twice with one cache, reordered, one removed, moved', (_name, c) => {
    const res = c.res;
    const vhosts = freezeVirtualHosts(res);
    const cache = new WalkCache();
    sameWithCache(res, cache);
    // the second walk skips every virtual host: each was clean the first time (the fixtures validate)
    expect(sameWithCache(res, cache)).toBeGreaterThanOrEqual(vhosts);
    // the same virtual hosts in new route configurations, at new indexes: paths follow them
    expect(sameWithCache(withVirtualHosts(res, (v) => [...v].reverse()), cache)).toBeGreaterThanOrEqual(vhosts);
    sameWithCache(withVirtualHosts(res, (v) => v.slice(1)), cache);
    // every virtual host moved into the last route configuration
    const all = routeConfigs(res).flatMap((rc) => rc.virtual_hosts ?? []);
    const last = routeConfigs(res).length - 1;
    sameWithCache(withVirtualHosts(res, (v, i) => (i === last ? [...all].reverse() : [])), cache);
  });

  it.each(compiled.map((c) => [c.name, c] as const))('%s: frozen routes replayed inside a frozen virtual host', (_name, c) => {
    // first only the routes are frozen (remembered each with its RouteAction); then new frozen
    // virtual hosts around them are remembered from those replays; then skipped whole
    const routesFrozen = withVirtualHosts(c.res, (v) => v.map((vh) => ({ ...vh, routes: (vh.routes ?? []).map((r: Obj) => Object.freeze({ ...r })) })));
    const cache = new WalkCache();
    sameWithCache(routesFrozen, cache);
    const hostsFrozen = withVirtualHosts(routesFrozen, (v) => v.map((vh) => Object.freeze({ ...vh })));
    sameWithCache(hostsFrozen, cache);
    sameWithCache(hostsFrozen, cache);
    sameWithCache(withVirtualHosts(hostsFrozen, (v) => [...v].reverse()), cache);
  });

  it.each(compiled.map((c) => [c.name, c] as const))('%s: frozen listeners, filter chains and clusters (collected within collected)', (_name, c) => {
    // a listener holds filter chains, connection managers, RDS config sources: each collected, inside the other
    const res: XdsResources = {
      ...c.res,
      listeners: (c.res.listeners as Obj[]).map((l) => Object.freeze({ ...l, filter_chains: (l.filter_chains ?? []).map((fc: Obj) => Object.freeze({ ...fc })) })),
      clusters: (c.res.clusters as Obj[]).map((cl) => Object.freeze({ ...cl })),
    };
    const cache = new WalkCache();
    sameWithCache(res, cache);
    expect(sameWithCache(res, cache)).toBeGreaterThanOrEqual(res.listeners.length + res.clusters.length);
    sameWithCache({ ...res, listeners: [...res.listeners].reverse(), clusters: [...res.clusters].reverse() }, cache);
  });

  it('a bootstrap with frozen virtual hosts: the same findings, and the second validation skips them', () => {
    const c = multiHost();
    const doc = structuredClone(c.bootstrap);
    let vhosts = 0;
    for (const l of doc.static_resources.listeners) {
      for (const fc of l.filter_chains ?? []) {
        for (const f of fc.filters ?? []) for (const vh of f.typed_config?.route_config?.virtual_hosts ?? []) (Object.freeze(vh), vhosts++);
      }
    }
    expect(vhosts).toBeGreaterThanOrEqual(3);
    const cache = new WalkCache();
    const fresh = triples(validateBootstrap(doc));
    expect(triples(validateBootstrap(doc, { cache }))).toEqual(fresh);
    const before = cache.skipped;
    expect(triples(validateBootstrap(doc, { cache }))).toEqual(fresh);
    expect(cache.skipped - before).toBeGreaterThanOrEqual(vhosts);
  });
});

describe('what a WalkCache remembers', () => {
  it('a remembered virtual host is not walked again (a probe breaking the no-modification contract on purpose)', () => {
    // its own copy: the probe writes into it
    const res = toXdsResources(structuredClone(multiHost().bootstrap)) as XdsResources;
    freezeVirtualHosts(res);
    const rc = routeConfigs(res).find((r) => r.virtual_hosts.length >= 3)!;
    const cache = new WalkCache();
    expect(validateXdsResources(res, { cache }).filter((f) => f.message.startsWith('unknown field'))).toEqual([]);
    // the freeze is shallow: the routes list can still be written to. A walk that went into the
    // virtual host would find this route's unknown field; one that skips it does not
    rc.virtual_hosts[1].routes.push({ match: { prefix: '/' }, direct_response: { status: 200 }, probe_field: 1 });
    const unknown = (findings: Finding[]) => findings.filter((f) => f.message.startsWith('unknown field')).map((f) => f.path);
    expect(unknown(validateXdsResources(res))).toHaveLength(1);
    expect(unknown(validateXdsResources(res, { cache: new WalkCache() }))).toHaveLength(1);
    expect(unknown(validateXdsResources(res, { cache }))).toEqual([]);
  });

  it('a virtual host with an invalid field is reported on every call, at its current path', () => {
    const { res } = multiHost();
    const rc = routeConfigs(res).find((r) => r.virtual_hosts.length >= 3)!;
    const rcIndex = routeConfigs(res).indexOf(rc);
    const bad = Object.freeze({ ...rc.virtual_hosts[1], bogus_field: 1 });
    const firstRoute = rc.virtual_hosts[2].routes[0];
    const badRoute = Object.freeze({ ...rc.virtual_hosts[2], routes: [{ ...firstRoute, match: { ...firstRoute.match, not_a_match_field: true } }, ...rc.virtual_hosts[2].routes.slice(1)] });
    const planted = withVirtualHosts(res, (v, i) => (i === rcIndex ? [v[0], bad, badRoute, ...v.slice(3)] : v));
    freezeVirtualHosts(planted);
    const cache = new WalkCache();
    const expected = [
      `routes[${rcIndex}].virtual_hosts[1].bogus_field`,
      `routes[${rcIndex}].virtual_hosts[2].routes[0].match.not_a_match_field`,
    ];
    for (let call = 0; call < 3; call++) {
      const findings = validateXdsResources(planted, { cache }).filter((f) => f.message.startsWith('unknown field'));
      expect(findings.map((f) => f.path)).toEqual(expected);
      expect(findings[0]!.message).toContain('"bogus_field"');
    }
    // moved: the finding follows the virtual host
    const moved = withVirtualHosts(planted, (v, i) => (i === rcIndex ? [v[1]!, v[0]!, ...v.slice(3)] : v));
    const findings = validateXdsResources(moved, { cache }).filter((f) => f.message.startsWith('unknown field'));
    expect(findings.map((f) => f.path)).toEqual([`routes[${rcIndex}].virtual_hosts[0].bogus_field`]);
    expect(triples(validateXdsResources(moved, { cache }))).toEqual(triples(validateXdsResources(moved)));
  });

  it('a reused virtual host naming a cluster that is gone gives "not defined" on the next call', () => {
    const { res } = fixtureNamed('11-inline-vs-upstream');
    freezeVirtualHosts(res);
    const cache = new WalkCache();
    expect(validateXdsResources(res, { cache }).filter((f) => f.severity === 'error')).toEqual([]);
    // the cluster the first route of the first virtual host names
    const rcIndex = routeConfigs(res).findIndex((rc) => (rc.virtual_hosts ?? []).some((vh: Obj) => vh.routes?.some((r: Obj) => r.route?.cluster)));
    const vhIndex = routeConfigs(res)[rcIndex]!.virtual_hosts.findIndex((vh: Obj) => vh.routes?.some((r: Obj) => r.route?.cluster));
    const vh = routeConfigs(res)[rcIndex]!.virtual_hosts[vhIndex];
    const routeIndex = vh.routes.findIndex((r: Obj) => r.route?.cluster);
    const gone = vh.routes[routeIndex].route.cluster as string;
    const withoutCluster: XdsResources = { ...res, clusters: (res.clusters as Obj[]).filter((c) => c.name !== gone) };
    const before = cache.skipped;
    const findings = validateXdsResources(withoutCluster, { cache });
    expect(cache.skipped - before).toBeGreaterThan(0);
    const missing = findings.filter((f) => f.message.includes(`cluster "${gone}", which is not defined`));
    expect(missing.map((f) => f.path)).toContain(`routes[${rcIndex}].virtual_hosts[${vhIndex}].routes[${routeIndex}].route.cluster`);
    expect(triples(findings)).toEqual(triples(validateXdsResources(withoutCluster)));
  });
});
