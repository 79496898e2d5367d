// The edge settings and the hoisting to virtual hosts take settings off routes by
// setting them to undefined rather than deleting them: V8 turns an object a key is
// deleted from into a slow dictionary object, for every later reader (hoisting,
// validation, the YAML and JSON writers). Once they are done, each such route is
// copied without those keys (a fast object, same key order) and keeps its comment.
import type { Emission, Json } from './context.js';

/** `done`: virtual hosts finished by an earlier emission (reuse.ts), left as they are. */
export function compactRoutes(routeConfig: Json, em: Emission, done?: ReadonlySet<Json>): void {
  for (const vh of routeConfig?.virtual_hosts ?? []) {
    const routes: Json[] | undefined = vh.routes;
    if (!routes || done?.has(vh)) continue;
    compactRouteList(routes, em);
  }
}

/** Each route of `routes` with an undefined key replaced by its copy without (in place). */
export function compactRouteList(routes: Json[], em: Emission): void {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (!hasUndefined(r)) continue;
    const copy = withoutUndefined(r);
    routes[i] = copy;
    em.moveComment(r, copy);
  }
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
