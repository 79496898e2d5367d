// What every route of a virtual host would repeat, said once on the virtual host.
//
// 1. Per-filter configuration.
// Envoy resolves a filter's per-route configuration to the most specific one:
// the route's, else its virtual host's, else the route configuration's
// (Http::Utility::resolveMostSpecificPerFilterConfig, used by the buffer,
// compressor and Lua filters; their docs: "on the virtual host, route, or
// weighted cluster"). So a configuration most routes of a virtual host share
// moves to the virtual host, and a route keeps its own only where it differs.
// A route that had none must then say explicitly what the filter does without
// one (its "neutral" per-route configuration); a filter without such a form is
// hoisted only when every route of the virtual host has the same configuration.
import type { Emission, Json } from './context.js';
import { finalRouteList, sharedPerFilterConfigs, unchangedRoutes, type RouteChanges } from './compact.js';

const BUFFER = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer';
const COMPRESSOR = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const LUA = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua';
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

/**
 * For each HTTP filter of a connection manager, the per-route configuration that
 * behaves exactly as no per-route configuration does, where one exists.
 */
export function neutralPerRouteConfigs(httpFilters: Json[]): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const f of httpFilters) {
    const c = f.typed_config ?? {};
    const neutral = neutralFor(c);
    if (neutral) out.set(f.name, Object.freeze(neutral));
  }
  return out;
}

function neutralFor(c: Json): Json | null {
  switch (c['@type']) {
    case BUFFER: {
      // BufferPerRoute.buffer replaces the filter's settings: the same settings change nothing.
      const { '@type': _, ...settings } = c;
      return { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute', buffer: settings };
    }
    case COMPRESSOR:
      // An empty response_direction_config override enables response compression, as the
      // filter is when its own `enabled` flag is unset; everything else stays the filter's.
      if (c.response_direction_config?.common_config?.enabled !== undefined) return null;
      return { '@type': 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute', overrides: { response_direction_config: {} } };
    case LUA:
      // Without a default script the filter runs nothing on a route without a per-route config.
      if (c.default_source_code !== undefined || c.inline_code !== undefined) return null;
      return { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute', disabled: true };
    case RBAC:
      // RBACPerRoute without `rbac` turns the filter off on the route: as it is without rules of its own.
      if (c.rules !== undefined || c.matcher !== undefined) return null;
      return { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' };
    default:
      return null;
  }
}

// Configs are mostly shared objects: each is serialised once.
const keys = new WeakMap<object, string>();

function keyOf(config: Json): string {
  let k = keys.get(config);
  if (k === undefined) keys.set(config, (k = JSON.stringify(config)));
  return k;
}

/**
 * Move to each virtual host the per-filter configs most of its routes share (mutates
 * `routeConfig`). A route left without per-filter configs has its typed_per_filter_config
 * set to undefined, not deleted (a delete turns each such route into a slow dictionary
 * object): compactRoutes (compact.ts) drops it.
 */
export function hoistPerFilterConfigs(routeConfig: Json, neutral: Map<string, Json>, done: ReadonlySet<Json> = NONE): void {
  const vhosts: Json[] = routeConfig?.virtual_hosts ?? [];
  for (let i = 0; i < vhosts.length; i++) {
    if (done.has(vhosts[i])) continue;
    const changes = unchangedRoutes(vhosts[i].routes ?? []);
    vhosts[i] = hoistInVirtualHost(vhosts[i], neutral, null, changes);
    changeInPlace(vhosts[i].routes ?? [], changes);
  }
}

/** The separate hoists (hoistPerFilterConfigs…): each route's changes written on it (finishVirtualHosts makes a new route instead). */
function changeInPlace(routes: Json[], changes: RouteChanges): void {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (changes.perFilter[i] !== r.typed_per_filter_config) r.typed_per_filter_config = changes.perFilter[i];
    if (changes.headersGone[i]) r.request_headers_to_add = undefined;
    if (changes.action[i] !== r.route) r.route = changes.action[i];
  }
}

/** No virtual host finished already (`done`: kept from an earlier emission, see reuse.ts). */
const NONE: ReadonlySet<Json> = new Set();

/**
 * `em`: where the hoisted configs become the one frozen object of their content (compact.ts),
 * set as the new virtual host is made (a write after would turn the field mutable on every
 * virtual host's map and throw away the optimised code that relied on it); null: kept as built.
 */
function hoistInVirtualHost(vh: Json, neutral: Map<string, Json>, em: Emission | null, changes: RouteChanges): Json {
  const routes: Json[] = vh.routes ?? [];
  if (vh.typed_per_filter_config) return vh;
  // each filter's config on every route (by index; a hole where a route has none), filters in order of first appearance
  const values = new Map<string, (Json | undefined)[]>();
  for (let i = 0; i < routes.length; i++) {
    // (as the edge settings left them: recorded in `changes`, not written on the route)
    const own = changes.perFilter[i];
    if (!own) continue;
    for (const name in own) {
      let v = values.get(name);
      if (v === undefined) values.set(name, (v = new Array(routes.length)));
      v[i] = own[name];
    }
  }
  if (values.size === 0) return vh;
  const hoisted: Json = {};
  /** per hoisted filter: the key of the config routes no longer repeat, and the neutral one routes without any now need */
  const moves: Move[] = [];
  for (const [name, v] of values) {
    const common = mostCommonOf(v);
    const fill = neutral.get(name);
    // Each route without a config would need the neutral one: worth it only when fewer.
    if (common.absent > 0 && (fill === undefined || common.count <= common.absent)) continue;
    hoisted[name] = common.config;
    moves.push({ name, config: common.config, key: common.key, fill });
  }
  if (moves.length === 0) return vh;
  // (recorded, not written: the route is made again once, with all its changes, see finalRouteList)
  for (let i = 0; i < routes.length; i++) changes.perFilter[i] = routeConfigsAfter(changes.perFilter[i], moves);
  // The virtual host's defaults read before its routes.
  const { routes: _, ...head } = vh;
  return { ...head, typed_per_filter_config: em === null ? hoisted : sharedPerFilterConfigs(hoisted, em), routes };
}

/**
 * A route's per-filter configs once its virtual host has the hoisted ones: its own
 * (in their order) but those equal to the hoisted config, then, in the order the
 * filters were hoisted, the neutral config of each hoisted filter it had none of.
 * The same object when nothing changes; undefined when nothing is left.
 */
function routeConfigsAfter(own: Json | undefined, moves: Move[]): Json | undefined {
  // Most routes keep theirs as they are: find out first, and build a new object only for those that change.
  if (own !== undefined && !changesUnder(own, moves)) {
    for (const _ in own) return own;
    return undefined; // (an empty object of its own goes too)
  }
  let count = 0;
  const next: Json = {};
  if (own) {
    for (const name in own) {
      const config = own[name];
      const m = hoistedAs(moves, name);
      if (m && sameAs(config, m)) continue;
      next[name] = config;
      count++;
    }
  }
  for (const m of moves) {
    if (own?.[m.name] !== undefined) continue;
    next[m.name] = m.fill;
    count++;
  }
  return count ? next : undefined;
}

/** Whether a route's own per-filter configs change when its virtual host takes the hoisted ones. */
function changesUnder(own: Json, moves: Move[]): boolean {
  for (const m of moves) {
    const config = own[m.name];
    // a hoisted filter it has no config for gets the neutral one; the hoisted config itself goes
    if (config === undefined || sameAs(config, m)) return true;
  }
  return false;
}

/** A filter's config moved to the virtual host: the config (and its content key), and the neutral one routes without any now need. */
interface Move {
  name: string;
  config: Json;
  key: string;
  fill: Json;
}

/** Whether a route's config is the hoisted one (mostly the very object). */
function sameAs(config: Json, m: Move): boolean {
  return config === m.config || keyOf(config) === m.key;
}

function hoistedAs<M extends { name: string }>(moves: M[], name: string): M | undefined {
  for (const m of moves) if (m.name === name) return m;
  return undefined;
}

/**
 * The value most entries of `values` have (by content; the first seen on a tie), and how
 * many are undefined. Values are mostly shared objects: they are counted by identity first,
 * and each distinct object's content key is looked up once.
 */
function mostCommonOf(values: (Json | undefined)[]): { config: Json; key: string; count: number; absent: number } {
  const { objects, counts: perObject, absent } = countObjects(values);
  if (objects.length === 1) return { key: keyOf(objects[0]), config: objects[0], count: perObject[0]!, absent };
  // by content, in order of first appearance (a Map keeps the first-seen order of its keys)
  const counts = new Map<string, { config: Json; count: number }>();
  for (let i = 0; i < objects.length; i++) {
    const c = objects[i];
    const n = perObject[i]!;
    const k = keyOf(c);
    const entry = counts.get(k);
    if (entry) entry.count += n;
    else counts.set(k, { config: c, count: n });
  }
  const best = { key: '', config: null as Json, count: 0, absent };
  for (const [key, e] of counts) {
    if (e.count <= best.count) continue;
    best.key = key;
    best.config = e.config;
    best.count = e.count;
  }
  return best;
}

/**
 * The distinct objects of `values` in order of first appearance, how many times each
 * occurs, and how many values are undefined. A virtual host's routes mostly share a
 * few configs: they are compared in a short list; a Map indexes them only when many.
 */
function countObjects(values: (Json | undefined)[]): { objects: Json[]; counts: number[]; absent: number } {
  const objects: Json[] = [];
  const counts: number[] = [];
  let index: Map<Json, number> | null = null;
  let absent = 0;
  for (let i = 0; i < values.length; i++) {
    const c = values[i];
    if (c === undefined) {
      absent++;
      continue;
    }
    let at = -1;
    if (index !== null) at = index.get(c) ?? -1;
    else for (let j = 0; j < objects.length && at < 0; j++) if (objects[j] === c) at = j;
    if (at >= 0) {
      counts[at]!++;
      continue;
    }
    objects.push(c);
    counts.push(1);
    if (index !== null) index.set(c, objects.length - 1);
    else if (objects.length > MANY_OBJECTS) index = new Map(objects.map((o, j) => [o, j]));
  }
  return { objects, counts, absent };
}

const MANY_OBJECTS = 16;

// ------------------------------------------------------------------ request headers

/**
 * 2. request_headers_to_add, when every forwarding route of a virtual host carries
 * the same list (nginx: the server's proxy_set_header list inherited by every
 * proxying location). Moving the list to the virtual host changes nothing a
 * request gets:
 * - Envoy applies request header mutations only to a request it forwards
 *   (Router::decodeHeaders returns for a direct response or a redirect before
 *   finalizeRequestHeaders), so redirect and direct-response routes gain nothing;
 * - on a forwarding route the operations run in the same order: by default the
 *   route level (its removals, then its additions) comes before the virtual host
 *   level (most_specific_header_mutations_wins unset), so the route's own removals
 *   still precede the additions, which keep their order;
 * - no forwarding route has a list of its own left, so nothing runs between them.
 */
export function hoistRequestHeaders(routeConfig: Json, done: ReadonlySet<Json> = NONE): void {
  if (routeConfig?.most_specific_header_mutations_wins) return;
  for (const vh of routeConfig?.virtual_hosts ?? []) {
    if (done.has(vh)) continue;
    const routes: Json[] = vh.routes ?? [];
    const changes = unchangedRoutes(routes);
    if (!hoistRequestHeadersIn(vh, routes, forwardingRoutes(routes), changes)) continue;
    changeInPlace(routes, changes);
    routesLast(vh);
  }
}

/** The indexes of the routes of a virtual host that forward (request header mutations apply only to them). */
function forwardingRoutes(routes: Json[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < routes.length; i++) if (routes[i].route) out.push(i);
  return out;
}

/** Whether the virtual host took its forwarding routes' common request_headers_to_add (added after its routes; the routes' lists go in `changes`). */
function hoistRequestHeadersIn(vh: Json, routes: Json[], forwarding: number[], changes: RouteChanges): boolean {
  if (vh.request_headers_to_add || vh.request_headers_to_remove) return false;
  if (forwarding.length < 2) return false;
  let key: string | null = null;
  for (let i = 0; i < forwarding.length; i++) {
    const r = routes[forwarding[i]!];
    const list = r.request_headers_to_add;
    if (!list?.length || r.route.weighted_clusters) return false;
    const k = listKey(list);
    if (key === null) key = k;
    else if (k !== key) return false;
  }
  vh.request_headers_to_add = routes[forwarding[0]!].request_headers_to_add;
  for (let i = 0; i < forwarding.length; i++) changes.headersGone[forwarding[i]!] = true;
  return true;
}

/** The virtual host's settings read before its routes: `routes` moved to the end (a delete: one object per virtual host). */
function routesLast(vh: Json): void {
  const routes = vh.routes;
  delete vh.routes;
  vh.routes = routes;
}

const listKeys = new WeakMap<object, string>();

function listKey(list: Json[]): string {
  let k = listKeys.get(list);
  if (k === undefined) listKeys.set(list, (k = JSON.stringify(list)));
  return k;
}

// ------------------------------------------------------------------ retry policy

/**
 * 3. The retry policy most forwarding routes of a virtual host share (nginx's retry on
 * the next server of the upstream they all proxy to, the usual one-upstream server),
 * said once on the virtual host. A route's policy replaces its virtual host's entirely
 * (route_components.proto VirtualHost.retry_policy), so a forwarding route that had none
 * now says so with an empty policy (no retry_on: nothing is retried, as without one);
 * worth it only where those are fewer than the routes sharing the policy.
 */
export function hoistRetryPolicies(routeConfig: Json, done: ReadonlySet<Json> = NONE): void {
  for (const vh of routeConfig?.virtual_hosts ?? []) {
    if (done.has(vh)) continue;
    const routes: Json[] = vh.routes ?? [];
    const changes = unchangedRoutes(routes);
    if (!hoistRetryPolicyIn(vh, forwardingRoutes(routes), changes)) continue;
    changeInPlace(routes, changes);
    routesLast(vh);
  }
}

const NO_RETRY: Json = Object.freeze({});

/** Whether the virtual host took the retry policy most of its forwarding routes share (added after its routes; the routes' new actions go in `changes`). */
function hoistRetryPolicyIn(vh: Json, forwarding: number[], changes: RouteChanges): boolean {
  if (vh.retry_policy) return false;
  const policies: (Json | undefined)[] = new Array(forwarding.length);
  for (let i = 0; i < forwarding.length; i++) policies[i] = changes.action[forwarding[i]!].retry_policy;
  const best = mostCommonOf(policies);
  if (best.count < 2 || best.count <= best.absent) return false;
  for (let i = 0; i < forwarding.length; i++) {
    const at = forwarding[i]!;
    const p = policies[i];
    if (p === undefined) changes.action[at] = withRetryPolicy(changes.action[at], NO_RETRY);
    else if (p === best.config || keyOf(p) === best.key) changes.action[at] = withRetryPolicy(changes.action[at], undefined);
  }
  vh.retry_policy = best.config;
  return true;
}

// ------------------------------------------------------------------ all of it, a virtual host at a time

/**
 * What the three hoists and compactRoutes do, one virtual host at a time: per-filter
 * configs, then request headers, then the retry policy, then the routes copied without
 * the keys the hoists left undefined. One walk of each virtual host's routes for what
 * the hoists read (one list of its forwarding routes for both header and retry), and
 * the virtual host's new object made once, where separate passes each moved `routes`
 * to the end with a delete (a dictionary object for every later reader). `edge`: what
 * applyEdge recorded for each virtual host's routes (by index), made on them here too.
 */
export function finishVirtualHosts(routeConfig: Json, neutral: Map<string, Json>, em: Emission, done: ReadonlySet<Json> = NONE, edge: readonly (RouteChanges | undefined)[] = []): void {
  const vhosts: Json[] = routeConfig?.virtual_hosts ?? [];
  const headers = !routeConfig?.most_specific_header_mutations_wins;
  for (let i = 0; i < vhosts.length; i++) {
    if (done.has(vhosts[i])) continue;
    const routes: Json[] = vhosts[i].routes ?? [];
    // what each hoist takes off or changes on a route, applied once by finalRouteList
    // (starting from what the edge settings changed, by virtual host index)
    const changes = edge[i] ?? unchangedRoutes(routes);
    // (the hoisted configs of alike servers: one frozen object per content, as a route's)
    let vh = hoistInVirtualHost(vhosts[i], neutral, em, changes);
    // (a virtual host that came with configs of its own, not hoisted here: shared too)
    const own = vh.typed_per_filter_config;
    if (own && Object.isExtensible(own)) vh.typed_per_filter_config = sharedPerFilterConfigs(own, em);
    const forwarding = forwardingRoutes(routes);
    const movedHeaders = headers && hoistRequestHeadersIn(vh, routes, forwarding, changes);
    const movedRetry = hoistRetryPolicyIn(vh, forwarding, changes);
    if (movedHeaders || movedRetry) {
      // the settings added after `routes`: the same keys, `routes` last
      const { routes: _, ...head } = vh;
      vh = { ...head, routes };
    }
    if (vh.routes) finalRouteList(routes, changes, em);
    vhosts[i] = vh;
  }
}

// A shared (frozen) action's copy is made once, and shared in turn.
const withoutRetry = new WeakMap<Json, Json>();
const withNoRetry = new WeakMap<Json, Json>();

/**
 * The route action with `policy` as its retry_policy (NO_RETRY, appended where it had none),
 * or without one (undefined): a new object, same key order, since actions may be shared.
 */
function withRetryPolicy(action: Json, policy: Json | undefined): Json {
  const frozen = !Object.isExtensible(action);
  const memo = policy === undefined ? withoutRetry : withNoRetry;
  if (frozen) {
    const known = memo.get(action);
    if (known !== undefined) return known;
  }
  let out: Json;
  if (policy === undefined) {
    out = {};
    for (const k in action) if (k !== 'retry_policy') out[k] = action[k];
  } else out = { ...action, retry_policy: policy };
  if (frozen) memo.set(action, Object.freeze(out));
  return out;
}
