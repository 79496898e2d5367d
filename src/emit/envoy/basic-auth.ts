// auth_basic → Envoy's basic_auth HTTP filter (envoy.extensions.filters.http.basic_auth.v3).
// The filter is disabled by default (HttpFilter.disabled: "must be explicitly enabled by
// setting per filter configuration in the route configuration"); each route nginx guards
// enables it with a BasicAuthPerRoute naming its users file by `filename` (the hashes never
// enter the emitted configuration). It sits after the RBAC filter: nginx's access module
// answers 403 before auth_basic asks for credentials. Envoy's 401 carries
// `WWW-Authenticate: Basic realm="<request URI>"` and its own text: a local reply mapper per
// realm (401 on the routes of that realm) makes it nginx's 401 (local-replies.ts).
import type { AuthGate, BasicAuth, ClosedGate } from '../../ir/types.js';
import { RBAC_AFTER_AUTH_FILTER } from './route-access.js';
import type { Json } from './context.js';

export const BASIC_AUTH_FILTER = 'envoy.filters.http.basic_auth';
const BASIC_AUTH = 'type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth';
const BASIC_AUTH_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute';

// One per users file and realm (shared by the routes guarded alike); the realm each stands for.
const perRouteConfigs = new Map<string, Json>();
const realms = new WeakMap<Json, string>();

/** The per-route config enabling the filter with `b`'s users file. */
export function basicAuthPerRoute(b: BasicAuth): Json {
  const key = `${b.file}\u0000${b.realm}`;
  let c = perRouteConfigs.get(key);
  if (!c) {
    c = Object.freeze({ '@type': BASIC_AUTH_PER_ROUTE, users: Object.freeze({ filename: b.file }) });
    perRouteConfigs.set(key, c);
    realms.set(c, b.realm);
  }
  return c;
}

/** The closed gate of a gate, if it is one. */
export function closedOf(gate: AuthGate | null | undefined): ClosedGate | null {
  return gate?.kind === 'closed' ? gate.closed : null;
}

/** Whether a route or virtual host enables the basic_auth filter. */
function realmOf(obj: Json): string | undefined {
  const c = obj.typed_per_filter_config?.[BASIC_AUTH_FILTER];
  return c ? realms.get(c) : undefined;
}

/**
 * The basic_auth filter, after RBAC (just before the router, or the RBAC filter checking
 * what nginx checks after the credentials), when some route enables it.
 * Its own users are a comment only (Envoy requires a non-empty source and skips `#` lines):
 * it is disabled by default and every route that enables it names its own file.
 */
export function insertBasicAuthFilter(hcm: Json): boolean {
  const vhosts: Json[] = hcm.route_config?.virtual_hosts ?? [];
  if (!vhosts.some((vh) => realmOf(vh) !== undefined || (vh.routes ?? []).some((r: Json) => realmOf(r) !== undefined))) return false;
  const list: Json[] = hcm.http_filters;
  // before the RBAC filter of the rules nginx checks after the credentials, else just before the router
  const after = list.findIndex((f) => f.name === RBAC_AFTER_AUTH_FILTER);
  list.splice(after >= 0 ? after : list.length - 1, 0, {
    name: BASIC_AUTH_FILTER,
    typed_config: { '@type': BASIC_AUTH, users: { inline_string: '# no users here: each route names its users file (BasicAuthPerRoute)\n' } },
    disabled: true,
  });
  return true;
}

/**
 * The realm of the basic_auth filter on a route: its own per-route config's, else its virtual
 * host's (a kept virtual host is hoisted already); undefined where the filter is off. The
 * connection manager's local replies give the filter's 401 nginx's challenge and page
 * (local-replies.ts): Envoy's own says `Basic realm="<request URI>"` with its text.
 */
export function realmOfRoute(route: Json, vh: Json): string | undefined {
  return realmOf(route) ?? (route.typed_per_filter_config?.[BASIC_AUTH_FILTER] === undefined ? realmOf(vh) : undefined);
}
