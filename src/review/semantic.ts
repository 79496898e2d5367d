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
    else if (a && b && !same(a, b)) {
      const [was, now] = [describe(a), describe(b)];
      // Same description (a cluster's endpoints), different body: say which settings changed.
      const settings = was.join('\n') === now.join('\n') ? changedSettings(a, b) : null;
      out.push({ name, change: 'changed', before: settings?.before ?? was, after: settings?.after ?? now });
    }
  }
  return out;
}

/** At most this many changed settings are named per listener or cluster. */
const MAX_SETTINGS = 5;

/**
 * The settings (leaf paths) whose values differ between two views' bodies, as `path value`
 * before and after: `connect_timeout "10s"` → `connect_timeout "60s"`. null when the views
 * carry no body to compare.
 */
function changedSettings(a: unknown, b: unknown): { before: string[]; after: string[] } | null {
  const bodyOf = (v: unknown): unknown => {
    const body = (v as { body?: unknown }).body;
    return typeof body === 'string' ? JSON.parse(body) : undefined;
  };
  const [x, y] = [bodyOf(a), bodyOf(b)];
  if (x === undefined || y === undefined) return null;
  // Paths as key lists: some keys hold dots (typed_extension_protocol_options' type names).
  const paths: string[][] = [];
  collectDifferences(x, y, [], paths);
  if (paths.length === 0) return null;
  const shown = paths.slice(0, MAX_SETTINGS);
  const more = paths.length > MAX_SETTINGS ? [`… ${paths.length - MAX_SETTINGS} more`] : [];
  return {
    before: [...shown.map((path) => setting(path, valueAt(x, path))), ...more],
    after: [...shown.map((path) => setting(path, valueAt(y, path))), ...more],
  };
}

function collectDifferences(x: unknown, y: unknown, path: string[], out: string[][]): void {
  if (out.length > MAX_SETTINGS) return;
  const container = (v: unknown) => v !== null && typeof v === 'object';
  if (container(x) && container(y) && Array.isArray(x) === Array.isArray(y)) {
    const keys = [...new Set([...Object.keys(x as object), ...Object.keys(y as object)])].sort();
    for (const k of keys) collectDifferences((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], [...path, k], out);
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y)) out.push(path);
}

function valueAt(v: unknown, path: string[]): unknown {
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function setting(path: string[], value: unknown): string {
  const text = value === undefined ? '(unset)' : JSON.stringify(value);
  return `${path.join('.')} ${text.length > 80 ? text.slice(0, 77) + '…' : text}`;
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
        // Same destination, other settings (timeouts, headers, allow/deny…): name the settings.
        const settings = ra.action === rb.action ? changedSettings(ra, rb) : null;
        const before = settings ? `${ra.action}; ${settings.before.join('; ')}` : ra.action;
        const after = settings ? `${rb.action}; ${settings.after.join('; ')}` : rb.action;
        out.push({ virtualHost: key, match, route, change: 'changed', before, after });
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
