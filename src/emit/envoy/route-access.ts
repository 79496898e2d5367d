// allow/deny on http routes: RBACPerRoute configs of the connection manager's RBAC
// filters, letting in exactly the clients nginx's access phase lets in (403 for the others).
// A route taking a named location's handling by try_files checks both locations' rules, as
// nginx runs the access phase in the location (before try_files) and again in the named
// location (after the internal redirect). Two RBAC filters keep nginx's order where it
// matters: the first runs before basic_auth, the second after it, for a named location's
// rules that nginx checks only once the first location's credentials passed.
import type { AuthGate, LimitExcept, Policy } from '../../ir/types.js';
import { bothGates } from '../../lower/auth.js';
import { accessPrincipal } from './access.js';
import type { Json } from './context.js';

type Access = NonNullable<Policy['access']>;

/** The RBAC filter checking allow/deny before the credentials (nginx's access module runs before auth_basic). */
export const RBAC_FILTER = 'envoy.filters.http.rbac';
/** The RBAC filter after basic_auth: a named location's allow/deny, checked once the credentials the first location asked for passed. */
export const RBAC_AFTER_AUTH_FILTER = 'envoy.filters.http.rbac.after_credentials';
const RBAC_HTTP = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';

/** The credentials a route asks for: its own, or, after a try_files hand-over, both locations' as one gate. */
export function gateOf(policy: Policy): AuthGate | null {
  const h = policy.handedFrom;
  return (h ? bothGates(h.auth, policy.auth) : policy.auth) ?? null;
}

/**
 * The rule sets a route's two RBAC filters check, in nginx's order: the handing location's
 * allow/deny, then the named location's, before its credentials unless the handing location
 * asked for credentials first. Under `satisfy any` a location's credentials stand for its
 * rules (reported: only the credentials are checked).
 */
export function accessChecks(policy: Policy): { before: Access[]; after: Access[] } {
  const h = policy.handedFrom;
  const first = h?.access && !h.satisfyAny ? h.access : undefined;
  // the same rules (inherited by both): the second check lets in whomever the first did
  const own = policy.access && !policy.satisfyAny && policy.access !== first ? policy.access : undefined;
  if (!own) return { before: first ? [first] : [], after: [] };
  if (h?.auth !== undefined) return { before: first ? [first] : [], after: [own] };
  return { before: first ? [first, own] : [own], after: [] };
}

/** The RBACPerRoute of each filter for a route of `policy` (limit_except: its own config on the first filter). */
export function routeAccessConfigs(policy: Policy, le: LimitExcept | undefined): { [filter: string]: Json } {
  const out: { [filter: string]: Json } = {};
  if (le) {
    const c = limitExceptConfig(le, policy);
    if (c) out[RBAC_FILTER] = c;
    return out;
  }
  const { before, after } = accessChecks(policy);
  if (before.length) out[RBAC_FILTER] = allOf(before);
  if (after.length) out[RBAC_AFTER_AUTH_FILTER] = allOf(after);
  return out;
}

// One per rule set: locations inheriting their rules share the object.
const accessConfigs = new WeakMap<Access, Json>();
// One per pair of rule sets checked one after the other.
const pairConfigs = new WeakMap<Access, WeakMap<Access, Json>>();

/** allow/deny as an RBACPerRoute letting in exactly the clients nginx lets in (403 for the others). */
export function accessConfig(access: Access): Json {
  let c = accessConfigs.get(access);
  if (!c) accessConfigs.set(access, (c = rbacConfig({ nginx_allow_deny: { permissions: [{ any: true }], principals: [principalOf(access)] } })));
  return c;
}

/** Rule sets nginx checks one after the other: a client passes only when each lets it in (each keeps its first-match order and its address). */
function allOf(list: Access[]): Json {
  if (list.length === 1) return accessConfig(list[0]!);
  const [a, b] = list as [Access, Access];
  let byB = pairConfigs.get(a);
  if (!byB) pairConfigs.set(a, (byB = new WeakMap()));
  let c = byB.get(b);
  if (!c) {
    const principals = [principalOf(a), principalOf(b)];
    const same = JSON.stringify(principals[0]) === JSON.stringify(principals[1]);
    c = same ? accessConfig(a) : rbacConfig({ nginx_allow_deny: { permissions: [{ any: true }], principals: [{ and_ids: { ids: principals } }] } });
    byB.set(b, c);
  }
  return c;
}

/**
 * An RBACPerRoute, frozen and shared by every config of the same content: locations hold
 * their own copies of rules written alike (2,000 objects of one content on the benchmark), and
 * as one object it is compared, validated and laid out in YAML once, not per location.
 */
function rbacConfig(policies: Json): Json {
  const key = JSON.stringify(policies);
  let c = rbacConfigs.get(key);
  if (c === undefined) {
    c = deepFreeze({ '@type': RBAC_PER_ROUTE, rbac: { rules: { action: 'ALLOW', policies } } });
    // (a bound: a long-running serve meets new rule sets with each reload)
    if (rbacConfigs.size >= MAX_SHARED_CONFIGS) rbacConfigs.clear();
    rbacConfigs.set(key, c);
  }
  return c;
}

const rbacConfigs = new Map<string, Json>();
const MAX_SHARED_CONFIGS = 10_000;

/** `value` and everything in it frozen: shared output is never changed afterwards. */
function deepFreeze(value: Json): Json {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const k of Object.keys(value)) deepFreeze(value[k]);
  return Object.freeze(value);
}

// One per location with limit_except (null: nobody is kept out).
const limitExceptConfigs = new WeakMap<LimitExcept, Json | null>();

/**
 * limit_except as an RBACPerRoute: the listed methods let in whom the location's rules
 * let in, the other methods whom the block's rules (else the location's) let in. A
 * method class letting nobody in has no policy (ALLOW without a matching policy: 403).
 */
function limitExceptConfig(le: LimitExcept, policy: Policy): Json | null {
  let c = limitExceptConfigs.get(le);
  if (c !== undefined) return c;
  // the listed methods: the location's rules (after a try_files hand-over, both locations')
  const checks = policy.handedFrom ? [...new Set([policy.handedFrom.access, policy.access].filter((a) => a !== undefined))] : policy.access ? [policy.access] : [];
  const listed = checks.length === 0 ? { any: true } : checks.length === 1 ? principalOf(checks[0]!) : { and_ids: { ids: checks.map(principalOf) } };
  const other = accessPrincipalOf(le.access);
  if (JSON.stringify(listed) === JSON.stringify(other)) {
    // Every method lets in the same clients (a block without rules of its own): the plain allow/deny config.
    c = checks.length ? allOf(checks) : null;
    limitExceptConfigs.set(le, c);
    return c;
  }
  const methods = { or_rules: { rules: le.methods.map((m) => ({ header: { name: ':method', string_match: { exact: m } } })) } };
  const policies: Json = {};
  if (!isNobody(listed)) policies.nginx_limit_except_listed = { permissions: [methods], principals: [listed] };
  if (!isNobody(other)) policies.nginx_limit_except_other = { permissions: [{ not_rule: methods }], principals: [other] };
  c = rbacConfig(policies);
  limitExceptConfigs.set(le, c);
  return c;
}

function principalOf(access: Access): Json {
  return accessPrincipal(access.rules, access.client === 'real_ip' ? 'remote_ip' : 'direct_remote_ip');
}

/** The principal of a rule set; everyone (`any`) without rules. */
function accessPrincipalOf(access: Policy['access'] | undefined): Json {
  return access ? principalOf(access) : { any: true };
}

/** accessPrincipal's form for rules letting no client in. */
function isNobody(principal: Json): boolean {
  return principal.not_id?.any === true;
}

/** Whether a route (or virtual host) of the configuration configures filter `name`. */
function configures(rc: Json, name: string): boolean {
  for (const vh of rc?.virtual_hosts ?? []) {
    if (vh.typed_per_filter_config?.[name]) return true;
    for (const r of vh.routes ?? []) if (r.typed_per_filter_config?.[name]) return true;
  }
  return false;
}

/**
 * The RBAC filters the routes' allow/deny configure, last before the router (nginx's access
 * phase comes after the request is read, and its 403 gets the response filters). Without
 * rules of their own they let every request through where a route has none. The second
 * one goes after basic_auth, which insertBasicAuthFilter places before it.
 */
export function insertAccessFilters(hcm: Json): void {
  const list: Json[] = hcm.http_filters;
  for (const name of [RBAC_FILTER, RBAC_AFTER_AUTH_FILTER]) {
    if (configures(hcm.route_config, name)) list.splice(list.length - 1, 0, { name, typed_config: { '@type': RBAC_HTTP } });
  }
}
