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
  const shared = sharedConfigsOf(em);
  for (let i = 0; i < routes.length; i++) {
    let r = routes[i];
    if (hasUndefined(r)) {
      const copy = withoutUndefined(r);
      routes[i] = copy;
      em.moveComment(r, copy);
      r = copy;
    }
    const own = r.typed_per_filter_config;
    if (own !== undefined && Object.isExtensible(own)) r.typed_per_filter_config = shared.of(own);
  }
}

/** `own` per-filter configs (a route's or a virtual host's, final) as the one frozen object of their content. */
export function sharedPerFilterConfigs(own: Json, em: Emission): Json {
  return Object.isExtensible(own) ? sharedConfigsOf(em).of(own) : own;
}

function hasUndefined(obj: Json): boolean {
  for (const k in obj) if (obj[k] === undefined) return true;
  return false;
}

function withoutUndefined(obj: Json): Json {
  const out: Json = {};
  for (const k in obj) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
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
