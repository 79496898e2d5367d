// The edge settings and the hoisting to virtual hosts take settings off routes by
// setting them to undefined rather than deleting them: V8 turns an object a key is
// deleted from into a slow dictionary object, for every later reader (hoisting,
// validation, the YAML and JSON writers). Once they are done, each such route is
// copied without those keys (a fast object, same key order) and keeps its comment.
//
// Once final, a route's per-filter configs (an object of its own, built up by the
// steps before) are replaced by one frozen object per content: routes of alike
// locations carry alike configs (22,000 objects of 6,000 contents on the benchmark),
// and the validator and the YAML writer then meet each content once.
import type { Emission, Json } from './context.js';

/** `done`: virtual hosts finished by an earlier emission (reuse.ts), left as they are. */
export function compactRoutes(routeConfig: Json, em: Emission, done?: ReadonlySet<Json>): void {
  for (const vh of routeConfig?.virtual_hosts ?? []) {
    const routes: Json[] | undefined = vh.routes;
    if (!routes || done?.has(vh)) continue;
    compactRouteList(routes, em);
  }
}

/** Each route of `routes` with an undefined key replaced by its copy without (in place); per-filter configs shared by content. */
export function compactRouteList(routes: Json[], em: Emission): void {
  finalRouteList(routes, unchangedRoutes(routes), em);
}

/**
 * What the edge settings (edge.ts) and the hoists (hoist.ts) change on the routes of a
 * virtual host, by route index. They record it here rather than write it on the routes: a
 * route is then made again at most once, in its final form (finalRouteList), and no field
 * of a route is written after it is made (a second write turns the field mutable on the
 * route's map, which throws away the optimised code of every function that relied on it,
 * the route builders first).
 */
export interface RouteChanges {
  /** Its per-filter configs (undefined: none; its own object when unchanged). */
  perFilter: (Json | undefined)[];
  /** The edge settings gave it per-filter configs it had none of (they go before a tracing added). */
  perFilterByEdge: boolean[];
  /** Its request_headers_to_add went to the virtual host. */
  headersGone: boolean[];
  /** Its action (`route`; its own when unchanged). */
  action: (Json | undefined)[];
  /** Some of its response_headers_to_add went to a Lua script (edge.ts). */
  headersMoved: boolean[];
  /** Its response_headers_to_add once some moved (undefined: none left). */
  responseHeaders: (Json[] | undefined)[];
  /** The tracing it gets, added last (undefined: none). */
  tracing: (Json | undefined)[];
}

/** No change to any route of `routes` yet. */
export function unchangedRoutes(routes: Json[]): RouteChanges {
  const perFilter: (Json | undefined)[] = [];
  const perFilterByEdge: boolean[] = [];
  const headersGone: boolean[] = [];
  const action: (Json | undefined)[] = [];
  const headersMoved: boolean[] = [];
  const responseHeaders: (Json[] | undefined)[] = [];
  const tracing: (Json | undefined)[] = [];
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    perFilter.push(r.typed_per_filter_config);
    perFilterByEdge.push(false);
    headersGone.push(false);
    action.push(r.route);
    headersMoved.push(false);
    responseHeaders.push(undefined);
    tracing.push(undefined);
  }
  return { perFilter, perFilterByEdge, headersGone, action, headersMoved, responseHeaders, tracing };
}

/**
 * Each route of `routes` in its final form (in place in the list): with `changes`, its
 * per-filter configs shared by content, without undefined keys. A route that stays as it
 * is stays the same object; another is made anew, once, and takes over its comment.
 */
export function finalRouteList(routes: Json[], changes: RouteChanges, em: Emission): void {
  const shared = sharedConfigsOf(em);
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    let perFilter = changes.perFilter[i];
    if (perFilter !== undefined && Object.isExtensible(perFilter)) perFilter = shared.of(perFilter);
    if (isUnchanged(r, changes, i, perFilter)) continue;
    const made = changedRoute(r, changes, i, perFilter);
    routes[i] = made;
    em.moveComment(r, made);
  }
}

function isUnchanged(r: Json, changes: RouteChanges, i: number, perFilter: Json | undefined): boolean {
  return perFilter === r.typed_per_filter_config && !changes.headersGone[i] && changes.action[i] === r.route && !changes.headersMoved[i] && changes.tracing[i] === undefined && !hasUndefined(r);
}

/**
 * Route `i` made anew with its changes. Configs a route had no key for go last, where a
 * write would have put them: per-filter configs the edge settings gave before a tracing,
 * those the hoists gave after it.
 */
function changedRoute(r: Json, changes: RouteChanges, i: number, perFilter: Json | undefined): Json {
  const made = routeWith(r, perFilter, changes.headersGone[i]!, changes.action[i], changes.headersMoved[i]!, changes.responseHeaders[i]);
  const tracing = changes.tracing[i];
  if (perFilter === undefined || 'typed_per_filter_config' in r) return tracing === undefined ? made : withTracingLast(made, tracing);
  if (changes.perFilterByEdge[i]) return tracing === undefined ? withPerFilterLast(made, perFilter) : withTracingLast(withPerFilterLast(made, perFilter), tracing);
  return withPerFilterLast(tracing === undefined ? made : withTracingLast(made, tracing), perFilter);
}

/**
 * `r` with those per-filter configs (in place of its own), request headers, action and response
 * headers (those left, when some moved), in its key order, without undefined keys. Nothing after the loop: it is hot, and code
 * after an optimised loop that had never run would throw the optimised code away.
 */
function routeWith(r: Json, perFilter: Json | undefined, headersGone: boolean, action: Json | undefined, headersMoved: boolean, responseHeaders: Json[] | undefined): Json {
  const out: Json = {};
  for (const k in r) {
    let v = r[k];
    if (k === 'typed_per_filter_config') v = perFilter;
    else if (k === 'route') v = action;
    else if (headersMoved && k === 'response_headers_to_add') v = responseHeaders;
    else if (headersGone && k === 'request_headers_to_add') v = undefined;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** `made` (a route just made, no one else holds it) with a tracing added last. */
function withTracingLast(made: Json, tracing: Json): Json {
  made.tracing = tracing;
  return made;
}

/** `made` (a route just made, no one else holds it) with per-filter configs added last. */
function withPerFilterLast(made: Json, perFilter: Json): Json {
  made.typed_per_filter_config = perFilter;
  return made;
}

/** `own` per-filter configs (a route's or a virtual host's, final) as the one frozen object of their content. */
export function sharedPerFilterConfigs(own: Json, em: Emission): Json {
  return Object.isExtensible(own) ? sharedConfigsOf(em).of(own) : own;
}

function hasUndefined(obj: Json): boolean {
  for (const k in obj) if (obj[k] === undefined) return true;
  return false;
}


/**
 * Route per-filter config objects by content, for one emission. Their values are frozen
 * shared configs (buffer limits, RBAC rules, Lua script references, compressors off), so
 * a content is its filter names and the identities of their values, in order: found by
 * walking a tree of them, no key built, nothing serialised.
 */
class SharedConfigs {
  private readonly root = configNode();

  /** The frozen object of `own`'s content (`own` itself, frozen, the first time); `own` when a value may still change. */
  of(own: Json): Json {
    let node = this.root;
    for (const name in own) {
      const v = own[name];
      // (a value that is not frozen is no shared config: the route keeps its object as it is)
      if (typeof v !== 'object' || v === null || Object.isExtensible(v)) return own;
      let byValue = node.next.get(name);
      if (byValue === undefined) node.next.set(name, (byValue = new Map()));
      let next = byValue.get(v);
      if (next === undefined) byValue.set(v, (next = configNode()));
      node = next;
    }
    return (node.shared ??= Object.freeze(own));
  }
}

/** The contents going on from here (filter name → value → node), and the object of the content ending here. */
interface ConfigNode {
  next: Map<string, Map<object, ConfigNode>>;
  shared: Json | undefined;
}

function configNode(): ConfigNode {
  return { next: new Map(), shared: undefined };
}

const sharedConfigs = new WeakMap<Emission, SharedConfigs>();

function sharedConfigsOf(em: Emission): SharedConfigs {
  let s = sharedConfigs.get(em);
  if (s === undefined) sharedConfigs.set(em, (s = new SharedConfigs()));
  return s;
}
