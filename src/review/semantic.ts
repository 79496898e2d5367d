// Route-level differences between two Envoy views: what a reviewer needs to see
// first. The JSON shape of `ReviewChanges` is part of the documented `diff
// --json` schema (README, "Reviewing changes"): keep it stable.
import type { ClusterView, EnvoyView, RouteView, VirtualHostView } from './envoy-view.js';

export interface RouteChange {
  /** Virtual host key: `<listener> <domains,…>`. */
  virtualHost: string;
  match: string;
  /** Route name (the nginx location id) in the new version, else the old one. */
  route: string | null;
  change: 'added' | 'removed' | 'changed';
  before: string | null;
  after: string | null;
}

export interface NamedChange {
  name: string;
  change: 'added' | 'removed' | 'changed';
  /** For clusters: endpoints before and after; for listeners/virtual hosts: a short description. */
  before: string[] | null;
  after: string[] | null;
}

export interface ReviewChanges {
  listeners: NamedChange[];
  virtualHosts: NamedChange[];
  /** Virtual hosts present in both whose route order changed where order matters. */
  reordered: string[];
  routes: RouteChange[];
  clusters: NamedChange[];
}

export function compareViews(before: EnvoyView, after: EnvoyView): ReviewChanges {
  return {
    listeners: compareNamed(
      before.listeners,
      after.listeners,
      (l) => l.name,
      (l) => [`${l.address}:${l.port}`],
      (a, b) => a.body === b.body,
    ),
    virtualHosts: compareNamed(
      before.virtualHosts,
      after.virtualHosts,
      (v) => v.key,
      (v) => [`${v.routes.length} routes`],
      () => true, // their routes are compared one by one below
    ),
    reordered: reorderedHosts(before.virtualHosts, after.virtualHosts),
    routes: compareRoutes(before.virtualHosts, after.virtualHosts),
    clusters: compareNamed(
      before.clusters,
      after.clusters,
      (c) => c.name,
      (c: ClusterView) => c.endpoints,
      (a, b) => a.body === b.body,
    ),
  };
}

export function isEmpty(c: ReviewChanges): boolean {
  return !c.listeners.length && !c.virtualHosts.length && !c.reordered.length && !c.routes.length && !c.clusters.length;
}

function compareNamed<T>(
  before: T[],
  after: T[],
  key: (t: T) => string,
  describe: (t: T) => string[],
  same: (a: T, b: T) => boolean,
): NamedChange[] {
  const old = new Map(before.map((t) => [key(t), t] as const));
  const now = new Map(after.map((t) => [key(t), t] as const));
  const out: NamedChange[] = [];
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = old.get(name);
    const b = now.get(name);
    if (a && !b) out.push({ name, change: 'removed', before: describe(a), after: null });
    else if (!a && b) out.push({ name, change: 'added', before: null, after: describe(b) });
    else if (a && b && !same(a, b)) out.push({ name, change: 'changed', before: describe(a), after: describe(b) });
  }
  return out;
}

function compareRoutes(before: VirtualHostView[], after: VirtualHostView[]): RouteChange[] {
  const out: RouteChange[] = [];
  const old = new Map(before.map((v) => [v.key, v] as const));
  const now = new Map(after.map((v) => [v.key, v] as const));
  for (const key of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = routeMap(old.get(key));
    const b = routeMap(now.get(key));
    const order = [...(now.get(key)?.routes ?? []), ...(old.get(key)?.routes ?? [])].map((r) => r.key);
    for (const match of [...new Set(order)]) {
      const ra = a.get(match);
      const rb = b.get(match);
      const route = rb?.name ?? ra?.name ?? null;
      if (ra && !rb) out.push({ virtualHost: key, match, route, change: 'removed', before: ra.action, after: null });
      else if (!ra && rb) out.push({ virtualHost: key, match, route, change: 'added', before: null, after: rb.action });
      else if (ra && rb && ra.body !== rb.body) {
        out.push({ virtualHost: key, match, route, change: 'changed', before: ra.action, after: rb.action });
      }
    }
  }
  return out;
}

function routeMap(v: VirtualHostView | undefined): Map<string, RouteView> {
  const m = new Map<string, RouteView>();
  // A match that appears twice keeps its first (the one Envoy uses).
  for (const r of v?.routes ?? []) if (!m.has(r.key)) m.set(r.key, r);
  return m;
}

function reorderedHosts(before: VirtualHostView[], after: VirtualHostView[]): string[] {
  const now = new Map(after.map((v) => [v.key, v] as const));
  const out: string[] = [];
  for (const a of before) {
    const b = now.get(a.key);
    if (!b) continue;
    const common = new Set(b.routes.map((r) => r.key).filter((k) => a.routes.some((r) => r.key === k)));
    const seqA = a.routes.map((r) => r.key).filter((k) => common.has(k));
    const seqB = b.routes.map((r) => r.key).filter((k) => common.has(k));
    if (seqA.join('\n') !== seqB.join('\n')) out.push(a.key);
  }
  return out.sort();
}
