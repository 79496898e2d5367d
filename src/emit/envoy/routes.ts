// IR server + listener → Envoy routes (first match), following design.md §3.
import type { Action, AuthGate, Backend, HeaderOp, IfCondition, LimitExcept, Listener, Location, Policy, RewriteStep, Src, Template, TemplatePart, VirtualServer } from '../../ir/types.js';
import { linearise, type Linearised, type RouteEntry } from './linearize.js';
import { pcreToRe2, re2Test, searchWrap, wholeMatchWrap, assertRe2 } from '../../lower/regex.js';
import { planRedirect, type RedirectContext, type RedirectPlan, type RedirectUnsupported } from '../../lower/redirect.js';
import { ALWAYS_MATCHES } from '../../lower/rewrite.js';
import { HeaderLists, listenerContext, type ListenerContext, type MoreLists, type RequestHeaders } from './header-lists.js';
import { NGINX_DEFAULT_BODY_SIZE } from '../../lower/limits.js';
import { formatMs } from '../../lower/util.js';
import type { Emission, Json } from './context.js';
import { accessConfig, gateOf, RBAC_FILTER, routeAccessConfigs } from './route-access.js';
import { dispatchRoutes, guardMatchers, type MapRoute } from './map-routes.js';
import { retryPolicyOf } from './retry.js';
import { BASIC_AUTH_FILTER, basicAuthPerRoute, closedOf } from './basic-auth.js';

const REDIRECT_CODES: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };

export { NGINX_HIDDEN } from './header-lists.js';

export const BUFFER_FILTER = 'envoy.filters.http.buffer';

export interface RouteScope {
  server: VirtualServer;
  listener: Listener;
  backends: Map<string, Backend>;
  em: Emission;
  /** Extra header matchers every route of this server carries (regex server names). */
  authority: Json | null;
}

/** A RouteScope with what every route of the server on this listener shares, worked out once. */
interface Scope extends RouteScope {
  memo: RouteMemo;
  /** The server's primary name (server_name_in_redirect, $server_name). */
  primary: string;
  /** The listener and server values header lists may read. */
  context: ListenerContext;
}

/**
 * What one emission works out once and reuses: most of it is the same for every
 * route of a location, a server or a whole configuration (servers are emitted on
 * each of their listeners, locations inherit their lists). Kept per Emission, so
 * nothing outlives one emitBootstrap call.
 */
interface RouteMemo {
  linearised: Map<VirtualServer, Linearised>;
  /** The location whose `/` routes are repeated for `//`, per server (null: none needed). */
  slashEntry: Map<VirtualServer, RouteEntry | null>;
  locationIndex: Map<VirtualServer, Map<string, Location>>;
  /** pattern → path → whether the pattern takes the path */
  regexTakes: Map<string, Map<string, boolean>>;
  /** A regex location's search pattern (RE2, compile-checked). */
  searchRegex: Map<Location, string | null>;
  /** The `Host` entry of a proxy_set_header list (null: none). */
  hostHeader: Map<HeaderOp[], HeaderOp | null>;
  headers: HeaderLists;
  /** Route matches (frozen, shared by every route with the same one), see entryMatch. */
  pathMatches: Map<string, Json>;
  prefixMatches: Map<string, Json>;
  /** regex → guard ('' for none) → match */
  regexMatches: Map<string, Map<string, Json>>;
  /** path regexes under a prefix location (frozen, shared): regex → prefix → guard ('' for none) → match, see sharedRegexUnder */
  regexUnder: Map<string, Map<string, Map<string, Json>>>;
  /** `:path` prefix header matchers (frozen, shared) by prefix */
  pathPrefixHeaders: Map<string, Json>;
  /** redirect plans by the target's text, capture regex and server name (when read), see plannedRedirect */
  redirects: Map<string, Map<string | null, Map<string, PlannedRedirect[]>>>;
  /** a route list serverRoutes made (or one recordRouteOwners was given) → its routes' owners, see routeOwnersOf */
  owners: Map<Json[], RouteOwners>;
  /** the RBAC per-route configs of a policy (and its limit_except, null: none), see accessConfigsOf */
  accessConfigs: Map<Policy, Map<LimitExcept | null, readonly [string, Json][]>>;
  /** a location's route actions (frozen) by IR action, see sharedProxyAction */
  proxyActions: Map<Location, SharedProxyActions[]>;
  /** redirect actions (frozen) by status, target, host and port, see sharedRedirect */
  redirectActions: Map<number, Map<RedirectPlan | string, Map<string, Map<number, Json>>>>;
}

const memos = new WeakMap<Emission, RouteMemo>();

function memoOf(em: Emission): RouteMemo {
  let m = memos.get(em);
  if (!m) {
    m = {
      linearised: new Map(),
      slashEntry: new Map(),
      locationIndex: new Map(),
      regexTakes: new Map(),
      searchRegex: new Map(),
      hostHeader: new Map(),
      headers: new HeaderLists(),
      pathMatches: new Map(),
      prefixMatches: new Map(),
      regexMatches: new Map(),
      regexUnder: new Map(),
      pathPrefixHeaders: new Map(),
      redirects: new Map(),
      owners: new Map(),
      accessConfigs: new Map(),
      proxyActions: new Map(),
      redirectActions: new Map(),
    };
    memos.set(em, m);
  }
  return m;
}

export function lineariseServer(server: VirtualServer, em: Emission): Linearised {
  const memo = memoOf(em);
  let lin = memo.linearised.get(server);
  if (!lin) {
    lin = linearise(server.locations);
    memo.linearised.set(server, lin);
    for (const u of lin.unreachable) em.note(u.location.source, 'location', 'approximated', `${u.location.id}: ${u.reason}; no route emitted`);
  }
  return lin;
}

export function serverRoutes(rs: RouteScope): Json[] {
  const { server } = rs;
  const memo = memoOf(rs.em);
  const primary = primaryName(server);
  const context = listenerContext(rs.listener.ssl ? 'https' : 'http', rs.listener.port, primary);
  // spelled out, not spread: one object shape for every server (a spread of the caller's object measured ~5 µs a call)
  const s: Scope = { server, listener: rs.listener, backends: rs.backends, em: rs.em, authority: rs.authority, memo, primary, context };
  const routes: Json[] = [];
  const owners: RouteOwners = { locations: [], servers: [] };
  memo.owners.set(routes, owners);
  stepRoutes(routes, server.rewrites, null, `${server.id}/rewrite`, s, null);
  if (server.fallback.kind === 'return' || server.fallback.kind === 'redirect') {
    routes.push(finish(s, { name: `${server.id}/return`, match: { prefix: '/' } }, server.fallback, null, server.fallback.source));
    ownedBy(owners, routes, null, server);
    return routes;
  }
  ownedBy(owners, routes, null, server);
  const lin = lineariseServer(server, s.em);
  slashOnlyRoutes(routes, owners, lin.entries, s);
  let catchAll = false;
  for (const e of lin.entries) {
    entryRoutes(routes, e, s);
    ownedBy(owners, routes, e.location, server);
    if (e.match.kind === 'prefix' && e.match.value === '/' && e.guard === null) catchAll = true;
  }
  if (!catchAll) {
    const fallback = finish(s, { name: `${server.id}/fallback`, match: { prefix: '/' } }, server.fallback, null, server.source, undefined, true, server.fallbackAuth ?? null);
    if (server.fallbackAccess) (fallback.typed_per_filter_config ??= {})[RBAC_FILTER] = accessConfig(server.fallbackAccess);
    routes.push(fallback);
    ownedBy(owners, routes, null, server);
  }
  return routes;
}

/**
 * Whom each route of a list belongs to, by index: the location (null: the server itself)
 * whose id its name starts with, and its server. Every route entryRoutes makes for an entry
 * is named after its location's id (its own, `…/slash`, `…/rewrite_N`, `…/map_N`,
 * `…/limit_except`), the other routes of serverRoutes after the server's id. The edge
 * settings read the owners instead of taking names apart again (edge.ts routeSettings).
 * Two arrays of references, filled as the routes are: no entry, key or object per route.
 */
export interface RouteOwners {
  locations: (Location | null)[];
  servers: VirtualServer[];
}

/** Record `location` (null: the server) and `server` as the owners of the routes not owned yet. */
function ownedBy(owners: RouteOwners, routes: Json[], location: Location | null, server: VirtualServer): void {
  for (let i = owners.locations.length; i < routes.length; i++) {
    owners.locations.push(location);
    owners.servers.push(server);
  }
}

/**
 * The owners of the routes of `routes`, a list serverRoutes made in this emission (or one
 * recordRouteOwners was given); undefined for another list (a kept virtual host's).
 */
export function routeOwnersOf(routes: Json[], em: Emission): RouteOwners | undefined {
  return memos.get(em)?.owners.get(routes);
}

/** `routes`, made of lists serverRoutes made (in order), has the owners of theirs, in that order. */
export function recordRouteOwners(routes: Json[], parts: Json[][], em: Emission): void {
  const owners: RouteOwners = { locations: [], servers: [] };
  for (const part of parts) {
    const own = routeOwnersOf(part, em);
    if (!own) return; // (never: every part is serverRoutes')
    for (let i = 0; i < own.locations.length; i++) {
      owners.locations.push(own.locations[i]!);
      owners.servers.push(own.servers[i]!);
    }
  }
  memoOf(em).owners.set(routes, owners);
}

/**
 * A path made only of slashes: nginx merges `//` and `///` to `/`, but Envoy's
 * merge_slashes leaves them as `//` (a leading and a trailing slash around nothing),
 * so `path: /` misses, a regex sees `//`, and prefix_rewrite keeps a slash nginx
 * does not send. Where that changes the outcome, the routes of the location nginx
 * uses for `/` are repeated for `//`, built as for `/` (conditions decided on `/`).
 */
function slashOnlyRoutes(out: Json[], owners: RouteOwners, entries: RouteEntry[], s: Scope): void {
  const e = slashEntryOf(entries, s);
  if (!e) return;
  const routes: Json[] = [];
  entryRoutes(routes, e, s);
  for (const r of routes) {
    if (r.match?.path !== '/') continue;
    // in place: the route keeps its nginx source comment (its match is shared: replaced, not changed)
    r.name = `${r.name}/slashes`;
    r.match = { ...r.match, path: '//' };
    out.push(r);
  }
  ownedBy(owners, out, e.location, s.server);
}

/** The entry (as an exact `/`) whose routes a slash-only path needs, or null; the same on each listener of a server. */
function slashEntryOf(entries: RouteEntry[], s: Scope): RouteEntry | null {
  const known = s.memo.slashEntry.get(s.server);
  if (known !== undefined) return known;
  const at = entries.findIndex((e) => entryMatches(e, '/', s.memo));
  let entry: RouteEntry | null = null;
  if (at >= 0) {
    // (at < 0: no location; the server's fallback route matches `//` as it does `/`)
    const e = entries[at]!;
    const loc = e.location;
    const sameForSlashes =
      e.match.kind === 'prefix' &&
      loc.rewrites.every((st) => st.kind === 'return' || st.kind === 'unsupported') && // no routes of their own
      !(loc.action.kind === 'proxy' && loc.action.uri) &&
      !entries.slice(0, at).some((x) => entryMatches(x, '//', s.memo));
    if (!sameForSlashes) entry = { location: loc, match: { kind: 'path', value: '/' }, guard: null };
  }
  s.memo.slashEntry.set(s.server, entry);
  return entry;
}

/** Whether an entry's route takes this (normalised) path. */
function entryMatches(e: RouteEntry, path: string, memo: RouteMemo): boolean {
  switch (e.match.kind) {
    case 'path':
    case 'slash-redirect':
      return e.match.value === path;
    case 'prefix':
      return path.startsWith(e.match.value);
    case 'regex': {
      if (e.guard !== null && !path.startsWith(e.guard)) return false;
      const regex = searchRegexOf(e.match.location, memo);
      return regex !== null && regexTakes(regex, path, memo);
    }
  }
}

/**
 * A server-level path regex (before any location's `//` routes): Envoy tests `//`
 * where nginx tests the merged `/`, so a regex taking `/` but not `//` takes `//` too.
 */
function rootAware(regex: string, memo: RouteMemo): string {
  return regexTakes(regex, '/', memo) && !regexTakes(regex, '//', memo) ? `(?:${regex})|//` : regex;
}

/** Whether RE2 matches `pattern` in `path` (re2Test), remembered per emission. */
function regexTakes(pattern: string, path: string, memo: RouteMemo): boolean {
  // by pattern, then path: both are strings already made (and hashed) once, no key built per call
  let byPath = memo.regexTakes.get(pattern);
  if (byPath === undefined) memo.regexTakes.set(pattern, (byPath = new Map()));
  let hit = byPath.get(path);
  if (hit === undefined) {
    hit = re2Test(pattern, path);
    byPath.set(path, hit);
  }
  return hit;
}

function entryRoutes(out: Json[], e: RouteEntry, s: Scope): void {
  const loc = e.location;
  if (loc.internal) {
    out.push(internalRoute(e, s));
    return;
  }
  if (e.match.kind === 'slash-redirect') {
    // nginx answers 301 to the location name, keeping the query string, made absolute with this connection's port.
    const route: Json = { name: `${loc.id}/slash`, match: sharedMatch(s.memo.pathMatches, e.match.value, 'path') };
    if (s.authority) addHeaderMatcher(route, s.authority);
    s.em.comment(route, loc.source);
    const r: Json = {};
    addOwnRedirectAuthority(r, loc.policy, s);
    r.path_redirect = loc.pattern;
    r.response_code = 'MOVED_PERMANENTLY';
    route.redirect = sharedRedirect(s.memo, 301, loc.pattern, r);
    // the 301 goes through nginx's header filters with the location's settings: headers-more's run
    if (loc.policy.moreHeaders) addMoreResponseHeaders(route, null, s.memo.headers.more(loc.policy.moreHeaders, s.context, ''));
    // nginx checks the location's client_max_body_size before it sends this 301 (ngx_http_core_find_config_phase).
    if (loc.policy) addBodyLimit(route, loc.policy, false);
    out.push(route);
    return;
  }
  const match = entryMatch(e, s.memo);
  const le = loc.limitExcept;
  if (!le) {
    stepRoutes(out, loc.rewrites, e, `${loc.id}/rewrite`, s, loc);
    for (const v of contentRoutes(loc)) out.push(finish(s, { name: loc.id + v.suffix, match: withHeaders(match, v.headers) }, v.action, loc, loc.source, e));
    return;
  }
  // limit_except: the location's rewrite phase (its return, rewrite, if) runs only for the listed methods.
  const first = out.length;
  stepRoutes(out, loc.rewrites, e, `${loc.id}/rewrite`, s, loc);
  for (let i = first; i < out.length; i++) addHeaderMatcher(out[i]!, listedMethodsHeader(le.methods));
  if (!le.action && le.auth !== undefined) {
    // The other methods are checked as the block says (auth_basic inside limit_except): a route each.
    for (const v of contentRoutes(loc)) {
      out.push(finish(s, { name: loc.id + v.suffix, match: withHeaders(match, [...v.headers, listedMethodsHeader(le.methods)]) }, v.action, loc, loc.source, e));
      out.push(finish(s, { name: `${loc.id}${v.suffix}/limit_except`, match: withHeaders(match, v.headers) }, v.action, loc, le.source, e, true, le.auth));
    }
    return;
  }
  if (!le.action) {
    for (const v of contentRoutes(loc)) out.push(finish(s, { name: loc.id + v.suffix, match: withHeaders(match, v.headers) }, v.action, loc, loc.source, e));
    return;
  }
  const main = finish(s, { name: loc.id, match }, loc.action, loc, loc.source, e);
  addHeaderMatcher(main, listedMethodsHeader(le.methods));
  out.push(main);
  // What the route above leaves: the other methods, which reach the content phase.
  out.push(finish(s, { name: `${loc.id}/limit_except`, match }, le.action, loc, le.source, e, true, le.auth));
}

/**
 * An `internal` location's route: nginx answers 404 to every external request for it (its
 * slash redirect included), before its rewrites, access checks and body size limit; the
 * answer goes through the location's header filters. Internal redirects to it are the
 * routes of the locations making them (rewrittenTo).
 */
function internalRoute(e: RouteEntry, s: Scope): Json {
  const loc = e.location;
  const slash = e.match.kind === 'slash-redirect';
  const route: Json = { name: slash ? `${loc.id}/slash` : loc.id, match: entryMatch(e, s.memo) };
  if (s.authority) addHeaderMatcher(route, s.authority);
  s.em.comment(route, loc.source);
  route.direct_response = statusOnly(404);
  addPolicyHeaders(route, loc.policy, s, '');
  route.typed_per_filter_config = { [BUFFER_FILTER]: BUFFER_OFF };
  return route;
}

/** The routes of a location's content phase: one, or one per target of a proxy_pass to a map variable (the default's last). */
function contentRoutes(loc: Location): MapRoute[] {
  return loc.dispatch ? dispatchRoutes(loc) : [{ suffix: '', headers: [], action: loc.action }];
}

/** A match with more header matchers (a new object: matches are shared and frozen). */
function withHeaders(match: Json, headers: Json[]): Json {
  return headers.length ? { ...match, headers: [...(match.headers ?? []), ...headers] } : match;
}

/** The route header matcher taking the methods a limit_except lists. */
function listedMethodsHeader(methods: string[]): Json {
  return { name: ':method', string_match: { safe_regex: { regex: checked(methods.join('|')) } } };
}

/**
 * An entry's route match. Matches are frozen and shared by every route with the same one
 * (the same patterns recur in server after server): the validator walks each once and the
 * YAML writer lays each out once. A caller wanting another match makes a new object.
 */
function entryMatch(e: RouteEntry, memo: RouteMemo): Json {
  if (e.match.kind === 'path' || e.match.kind === 'slash-redirect') return sharedMatch(memo.pathMatches, e.match.value, 'path');
  if (e.match.kind === 'prefix') return sharedMatch(memo.prefixMatches, e.match.value, 'prefix');
  const regex = searchRegexOf(e.match.location, memo);
  if (regex === null) throw new Error(`unreachable: regex ${e.match.location.pattern} was validated in lowering`);
  let byGuard = memo.regexMatches.get(regex);
  if (!byGuard) memo.regexMatches.set(regex, (byGuard = new Map()));
  const guard = e.guard ?? '';
  let m = byGuard.get(guard);
  if (!m) {
    m = { safe_regex: Object.freeze({ regex: checked(regex) }) };
    // (a guard is never '': every prefix location's pattern has a character)
    if (e.guard !== null) m.headers = Object.freeze([sharedPathPrefixHeader(e.guard, memo)]);
    byGuard.set(guard, Object.freeze(m));
  }
  return m;
}

function sharedMatch(matches: Map<string, Json>, value: string, kind: 'path' | 'prefix'): Json {
  let m = matches.get(value);
  if (!m) matches.set(value, (m = Object.freeze(kind === 'path' ? { path: value } : { prefix: value })));
  return m;
}

/**
 * A path regex under a prefix location (and its guard, if any): `safe_regex` with the
 * `:path` prefix header matchers, frozen and shared (a server's rewrite and `if` regexes
 * recur in server after server). The regex is compile-checked when first made.
 */
function sharedRegexUnder(regex: string, prefix: string, guard: string | null, memo: RouteMemo): Json {
  let byPrefix = memo.regexUnder.get(regex);
  if (!byPrefix) memo.regexUnder.set(regex, (byPrefix = new Map()));
  let byGuard = byPrefix.get(prefix);
  if (!byGuard) byPrefix.set(prefix, (byGuard = new Map()));
  let m = byGuard.get(guard ?? '');
  if (!m) {
    const headers = guard ? [sharedPathPrefixHeader(prefix, memo), sharedPathPrefixHeader(guard, memo)] : [sharedPathPrefixHeader(prefix, memo)];
    m = Object.freeze({ safe_regex: Object.freeze({ regex: checked(regex) }), headers: Object.freeze(headers) });
    byGuard.set(guard ?? '', m);
  }
  return m;
}

function sharedPathPrefixHeader(prefix: string, memo: RouteMemo): Json {
  let h = memo.pathPrefixHeaders.get(prefix);
  if (!h) memo.pathPrefixHeaders.set(prefix, (h = Object.freeze({ name: ':path', string_match: Object.freeze({ prefix }) })));
  return h;
}

/** A regex location's pattern with nginx's search semantics, in RE2 (null: not RE2, reported in lowering). */
function searchRegexOf(loc: Location, memo: RouteMemo): string | null {
  let regex = memo.searchRegex.get(loc);
  if (regex === undefined) {
    const conv = pcreToRe2(loc.pattern, loc.modifier === 'regex-icase');
    memo.searchRegex.set(loc, (regex = conv.ok ? searchWrap(conv.re2) : null));
  }
  return regex;
}

/** Conditional rewrite-phase steps of a level → routes placed before the level's own route. */
function stepRoutes(out: Json[], steps: RewriteStep[], e: RouteEntry | null, base: string, s: Scope, loc: Location | null): void {
  for (let i = 0; i < steps.length; i++) stepRoute(out, steps[i]!, i, e, base, s, loc);
}

/** The routes of step `i` of a level (none for most steps). A function of its own, not a callback made per level: one graph for V8. */
function stepRoute(out: Json[], step: RewriteStep, i: number, e: RouteEntry | null, base: string, s: Scope, loc: Location | null): void {
  if (step.kind === 'if') {
    if (step.condition.kind === 'map') mapIfRoutes(out, step, step.condition, e, `${base}_${i}`, s, loc);
    else {
      const route = ifRoute(step, e, `${base}_${i}`, s, loc);
      if (route) out.push(route);
    }
    return;
  }
  if (step.kind !== 'rewrite') return;
  const absolute = /^(https?:\/\/|\$scheme)/.test(step.replacement.raw);
  const redirect = step.flag === 'redirect' || step.flag === 'permanent' || absolute;
  const target = !redirect && step.flag !== 'break' && step.target ? locationById(s.server, step.target, s.memo) : null;
  if (!redirect && step.flag !== 'break' && !target) return; // last / no flag to a URI not known statically: reported in lowering
  if (!redirect && !target && (loc === null || loc.action.kind !== 'proxy')) return;
  if (!redirect && step.replacement.parts.some((p) => 'var' in p && !/^[0-9]$/.test(p.var))) return; // reported in lowering
  if (!redirect && step.replacement.raw.includes('?')) return; // reported in lowering
  const conv = pcreToRe2(step.regex);
  if (!conv.ok) return;
  let match: Json;
  if (ALWAYS_MATCHES.has(step.regex)) match = e === null ? { prefix: '/' } : entryMatch(e, s.memo); // every URI starts with `/`
  else if (e === null) match = { safe_regex: { regex: checked(rootAware(searchWrap(conv.re2), s.memo)) } };
  else if (e.match.kind === 'prefix') match = sharedRegexUnder(searchWrap(conv.re2), e.match.value, e.guard, s.memo);
  else if (e.match.kind === 'path') {
    if (!re2Test(searchWrap(conv.re2), e.match.value)) return; // never matches this exact URI
    match = { path: e.match.value };
  } else {
    s.em.note(step.source, 'rewrite', 'unsupported', `rewrite inside regex location ${e.location.id}: Envoy cannot match two regexes on one route; not applied`);
    return;
  }
  const name = `${base}_${i}`;
  if (target) {
    out.push(rewrittenTo(s, { name, match }, target, step.replacement.raw, step.source));
    return;
  }
  if (redirect) {
    const status = step.flag === 'permanent' ? 301 : 302;
    const plan = plannedRedirect(step.replacement, { captureRegex: conv.re2, rewrite: true, serverName: s.primary }, s.memo);
    if (!plan.ok) return; // reported in lowering
    const route: Json = { name, match };
    if (s.authority) addHeaderMatcher(route, s.authority);
    s.em.comment(route, step.source);
    out.push(finishRedirect(s, route, plan, status, loc, step.source));
  } else {
    // the rewrite replaces the path: no prefix_rewrite (it would run first)
    for (const v of contentRoutes(loc!)) {
      const route = finish(s, { name: name + v.suffix, match: withHeaders(match, v.headers) }, v.action, loc, step.source, e ?? undefined, false);
      const action = route.route as Json | undefined;
      if (action) action.regex_rewrite = { pattern: { regex: checked(wholeMatchWrap(conv.re2)) }, substitution: substitution(step.replacement.parts) };
      out.push(route);
    }
  }
}

/** `if ($map_var …) { return …; }` → the level's match plus each header matcher list taking the requests whose value passes. */
function mapIfRoutes(out: Json[], step: Extract<RewriteStep, { kind: 'if' }>, c: Extract<IfCondition, { kind: 'map' }>, e: RouteEntry | null, name: string, s: Scope, loc: Location | null): void {
  const match: Json = e === null ? { prefix: '/' } : entryMatch(e, s.memo);
  guardMatchers(c.map, c.test).forEach((headers, k) => {
    out.push(finish(s, { name: `${name}/map_${k}`, match: withHeaders(match, headers) }, step.action, loc, step.source, e ?? undefined));
  });
}

/** `if (…) { return …; }` → the level's match plus the condition, then the return; null when it never holds here. */
function ifRoute(step: Extract<RewriteStep, { kind: 'if' }>, e: RouteEntry | null, name: string, s: Scope, loc: Location | null): Json | null {
  const c = step.condition;
  let match: Json = e === null ? { prefix: '/' } : entryMatch(e, s.memo);
  if (c.kind === 'map') return null; // mapIfRoutes
  if (c.kind === 'compare') {
    const test = compareMatcher(c, s.listener);
    if (test === false) return null;
    if (test !== true) match = { ...match, headers: [...(match.headers ?? []), test] };
  } else {
    const conv = pcreToRe2(c.regex, c.caseless);
    if (!conv.ok) return null; // reported in lowering
    const regex = checked(searchWrap(conv.re2));
    if (c.variable !== 'uri') {
      // $request_uri includes the query, as :path does.
      const header = c.variable === 'request_uri' ? ':path' : ':method';
      match = { ...match, headers: [...(match.headers ?? []), { name: header, string_match: { safe_regex: { regex } }, ...(c.negate ? { invert_match: true } : {}) }] };
    } else if (e === null) match = { safe_regex: { regex: checked(rootAware(regex, s.memo)) } };
    else if (e.match.kind === 'prefix') match = sharedRegexUnder(regex, e.match.value, e.guard, s.memo);
    else if (e.match.kind !== 'path' || !re2Test(regex, e.match.value)) return null; // exact URI decided now; regex locations reported in lowering
  }
  return finish(s, { name, match }, step.action, loc, step.source, e ?? undefined);
}

/** The header matcher an `if` comparison needs, or the comparison's value when it is fixed on this listener. */
function compareMatcher(c: Extract<IfCondition, { kind: 'compare' }>, listener: Listener): Json | boolean {
  const invert = c.negate ? { invert_match: true } : {};
  switch (c.variable) {
    case 'scheme':
      return ((listener.ssl ? 'https' : 'http') === c.value) !== c.negate;
    case 'host':
      // nginx's $host is lowercased: a literal with capitals never equals it.
      if (c.value !== c.value.toLowerCase()) return c.negate;
      return { name: ':authority', string_match: { exact: c.value, ignore_case: true }, ...invert };
    case 'http_host':
      return { name: ':authority', string_match: { exact: c.value }, ...invert };
    case 'request_method':
      return { name: ':method', string_match: { exact: c.value }, ...invert };
  }
}

function locationById(server: VirtualServer, id: string, memo: RouteMemo): Location | null {
  let m = memo.locationIndex.get(server);
  if (!m) {
    m = new Map();
    const add = (l: Location): void => {
      m!.set(l.id, l);
      l.children.forEach(add);
    };
    server.locations.forEach(add);
    memo.locationIndex.set(server, m);
  }
  return m.get(id) ?? null;
}

/** `rewrite … last` to the fixed URI `uri`: the target location's action, with the path nginx sends for it. */
function rewrittenTo(s: Scope, base: Json, target: Location, uri: string, source: Src): Json {
  // (no RouteEntry: the action has no prefix_rewrite)
  const route = finish(s, base, target.action, target, source);
  const action = route.route as Json | undefined;
  if (action && target.action.kind === 'proxy') {
    const part = target.action.uri;
    const upstreamPath = part && (target.modifier === 'prefix' || target.modifier === 'prefix-stop' || target.modifier === 'exact') ? part.raw + uri.slice(target.pattern.length) : uri;
    action.regex_rewrite = { pattern: { regex: checked('^.*$') }, substitution: upstreamPath.replace(/\\/g, '\\\\') };
  }
  return route;
}

function substitution(parts: ({ text: string } | { var: string })[]): string {
  return parts.map((p) => ('text' in p ? p.text.replace(/\\/g, '\\\\') : `\\${p.var}`)).join('');
}

function primaryName(server: VirtualServer): string {
  return server.names.find((n) => n.kind !== 'empty')?.value ?? '';
}

/**
 * Complete a route with its action, headers and per-route settings. `base` ({ name, match })
 * becomes the route. Without `prefixRewrite` the caller rewrites the path itself.
 */
function finish(s: Scope, base: Json, action: Action, loc: Location | null, source: Src | null, e?: RouteEntry, prefixRewrite = true, gate?: AuthGate | null): Json {
  const route: Json = base;
  // nginx's access phase guards what the content phase serves: a check Envoy cannot run refuses it instead (fails closed).
  const auth = action.kind === 'proxy' || action.kind === 'static' ? (gate === undefined ? (loc ? gateOf(loc.policy) : null) : gate) : null;
  const closed = closedOf(auth);
  if (closed) action = { kind: 'static', status: closed.status, reason: closed.reason, source: closed.source };
  if (s.authority) addHeaderMatcher(route, s.authority);
  if (source) s.em.comment(route, source);
  const policy = loc?.policy ?? null;
  switch (action.kind) {
    case 'proxy':
      // (a route of a location's entry: its action is final, shared by the entry's guarded copies; others may be changed below)
      route.route = prefixRewrite && e !== undefined && loc !== null ? sharedProxyAction(s, action, loc, e) : proxyAction(s, action, loc, prefixRewrite ? e : undefined);
      break;
    case 'return':
      route.direct_response = directResponse(action.status, action.body && !action.body.parts.some((p) => 'var' in p) ? action.body.raw : null);
      break;
    case 'redirect': {
      const plan = plannedRedirect(action.location, { captureRegex: loc && isRegexLoc(loc) ? regexOf(loc) : null, rewrite: false, serverName: s.primary }, s.memo);
      if (!plan.ok) route.direct_response = statusOnly(500);
      else return finishRedirect(s, route, plan, action.status, loc, source);
      break;
    }
    case 'static':
      route.direct_response = statusOnly(action.status);
      break;
  }
  if (policy) addPolicyHeaders(route, policy, s, action.kind === 'proxy' ? action.proxyHost : '');
  else addServerMoreHeaders(route, s);
  if (policy) addBodyLimit(route, policy, action.kind === 'proxy' && policy.websocket);
  // nginx's access phase comes after the rewrite phase (return, redirects): it guards only what the content phase serves.
  // satisfy any: Envoy cannot let a client in on either check; the credentials alone refuse everyone nginx refuses (reported).
  const access = policy !== null && (action.kind === 'proxy' || action.kind === 'static') ? accessConfigsOf(policy, loc?.limitExcept, s.memo) : NO_CONFIGS;
  const basic = !closed && auth?.kind === 'basic' ? basicAuthPerRoute(auth.basic) : undefined;
  if (access.length > 0 || basic !== undefined) addPerFilterConfigs(route, access, basic);
  if (closed) addClosedHeaders(route, closed.headers);
  return route;
}

const NO_CONFIGS: readonly [string, Json][] = [];

/**
 * The route's access and basic-auth per-filter configs, after its body limit's: its configs
 * object is set once (the body limit's, added to, or a new one), not made by `??=` per key
 * (a key written now here, now there, gave finish a "wrong map" bailout).
 */
function addPerFilterConfigs(route: Json, access: readonly [string, Json][], basic: Json | undefined): void {
  const own: Json | undefined = route.typed_per_filter_config;
  const configs: Json = own ?? {};
  for (let i = 0; i < access.length; i++) configs[access[i]![0]] = access[i]![1];
  if (basic !== undefined) configs[BASIC_AUTH_FILTER] = basic;
  if (own === undefined) route.typed_per_filter_config = configs;
}

/** routeAccessConfigs as [filter, config] pairs, remembered per policy and limit_except (a location's routes share them). */
function accessConfigsOf(policy: Policy, le: LimitExcept | undefined, memo: RouteMemo): readonly [string, Json][] {
  let byLimit = memo.accessConfigs.get(policy);
  if (!byLimit) memo.accessConfigs.set(policy, (byLimit = new Map()));
  let configs = byLimit.get(le ?? null);
  if (!configs) byLimit.set(le ?? null, (configs = Object.entries(routeAccessConfigs(policy, le))));
  return configs;
}

/** A failed-closed route's own headers (nginx's WWW-Authenticate), set over anything else of that name. */
function addClosedHeaders(route: Json, headers: { name: string; value: string }[]): void {
  if (headers.length === 0) return;
  const add = headers.map((h) => ({ header: { key: h.name.toLowerCase(), value: h.value.replace(/%/g, '%%') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));
  route.response_headers_to_add = [...(route.response_headers_to_add ?? []), ...add];
}

export { RBAC_FILTER } from './route-access.js';

interface PlannedRedirect {
  parts: TemplatePart[];
  rewrite: boolean;
  plan: RedirectPlan | RedirectUnsupported;
}

/**
 * planRedirect, remembered per emission: the same targets recur in location after location
 * and server after server. planRedirect is a pure function of the target (its text and parts)
 * and of the context, and reads the server name only for a `$server_name` host: a plan is
 * used again for a target of the same text and parts in the same context.
 */
function plannedRedirect(url: Template, ctx: RedirectContext, memo: RouteMemo): RedirectPlan | RedirectUnsupported {
  let byRegex = memo.redirects.get(url.raw);
  if (byRegex === undefined) memo.redirects.set(url.raw, (byRegex = new Map()));
  let byServer = byRegex.get(ctx.captureRegex);
  if (byServer === undefined) byRegex.set(ctx.captureRegex, (byServer = new Map()));
  const serverName = url.parts.some((p) => 'var' in p && p.var === 'server_name') ? ctx.serverName : '';
  let known = byServer.get(serverName);
  if (known === undefined) byServer.set(serverName, (known = []));
  for (const k of known) if (k.rewrite === ctx.rewrite && sameParts(k.parts, url.parts)) return k.plan;
  const plan = planRedirect(url, ctx);
  known.push({ parts: url.parts, rewrite: ctx.rewrite, plan });
  return plan;
}

function sameParts(a: TemplatePart[], b: TemplatePart[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if ('text' in x ? !('text' in y) || x.text !== y.text : !('var' in y) || x.var !== y.var) return false;
  }
  return true;
}

/** A redirect route's action and headers; the route has its authority matcher and comment already (finish, stepRoutes). */
function finishRedirect(s: Scope, route: Json, plan: RedirectPlan, status: number, loc: Location | null, source: Src | null): Json {
  const r: Json = {};
  if (plan.scheme === 'https') r.https_redirect = true;
  else if (plan.scheme === 'http') r.scheme_redirect = 'http';
  if (plan.host !== null) r.host_redirect = plan.host;
  if (plan.port !== null) r.port_redirect = plan.port;
  else if (plan.relative) addOwnRedirectAuthority(r, loc?.policy ?? null, s);
  const p = plan.path;
  if (p.kind === 'literal') {
    r.path_redirect = p.path;
    r.strip_query = true;
  } else if (p.kind === 'regex') {
    r.regex_rewrite = { pattern: { regex: checked(p.pattern) }, substitution: p.substitution };
    if (p.stripQuery) r.strip_query = true;
  } else if (p.stripQuery) r.strip_query = true;
  r.response_code = REDIRECT_CODES[status] ?? 'FOUND';
  route.redirect = sharedRedirect(s.memo, status, plan, r);
  if (!REDIRECT_CODES[status]) s.em.note(source ?? s.server.source, 'return', 'approximated', `redirect status ${status} is not one Envoy can send: 302 used`);
  if (loc) addPolicyHeaders(route, loc.policy, s, '');
  else addServerMoreHeaders(route, s);
  return route;
}

/**
 * nginx makes its own relative redirects absolute with the request's Host (or,
 * with server_name_in_redirect on, the primary server name) and the listener's
 * port when it is not the scheme's default (unless port_in_redirect is off).
 */
/**
 * A redirect action, frozen and shared by every route with the same one (the slash redirect
 * of a path recurs in server after server). `r` is what `target` (a plan, or a slash
 * redirect's path) and `status` make with the host and port it got: those four decide it.
 */
function sharedRedirect(memo: RouteMemo, status: number, target: RedirectPlan | string, r: Json): Json {
  let byTarget = memo.redirectActions.get(status);
  if (!byTarget) memo.redirectActions.set(status, (byTarget = new Map()));
  let byHost = byTarget.get(target);
  if (!byHost) byTarget.set(target, (byHost = new Map()));
  const host: string = r.host_redirect ?? '';
  let byPort = byHost.get(host);
  if (!byPort) byHost.set(host, (byPort = new Map()));
  const port: number = r.port_redirect ?? 0;
  let shared = byPort.get(port);
  if (!shared) byPort.set(port, (shared = Object.freeze(r)));
  return shared;
}

function addOwnRedirectAuthority(r: Json, policy: Policy | null, s: Scope): void {
  const settings = policy?.redirects ?? DEFAULT_REDIRECTS;
  if (settings.serverName && s.primary) r.host_redirect = s.primary;
  if (settings.port && s.listener.port !== (s.listener.ssl ? 443 : 80)) r.port_redirect = s.listener.port;
}

const DEFAULT_REDIRECTS = { absolute: true, port: true, serverName: false };

function isRegexLoc(l: Location): boolean {
  return l.modifier === 'regex' || l.modifier === 'regex-icase';
}

function regexOf(l: Location): string | null {
  const c = pcreToRe2(l.pattern, l.modifier === 'regex-icase');
  return c.ok ? c.re2 : null;
}

function addHeaderMatcher(route: Json, matcher: Json): void {
  route.match = { ...route.match, headers: [...(route.match.headers ?? []), matcher] };
}

function directResponse(status: number, body: string | null): Json {
  const ok = status >= 200 && status < 600;
  if (body === null || body === '') return statusOnly(ok ? status : 500);
  return { status: ok ? status : 500, body: { inline_string: body } };
}

/** `{ status }` direct responses, frozen and shared (most routes answering directly have no body). */
const statusOnlyResponses = new Map<number, Json>();

function statusOnly(status: number): Json {
  let r = statusOnlyResponses.get(status);
  if (!r) statusOnlyResponses.set(status, (r = Object.freeze({ status })));
  return r;
}

function proxyAction(s: Scope, action: Extract<Action, { kind: 'proxy' }>, loc: Location | null, e?: RouteEntry): Json {
  const policy = loc?.policy;
  const r: Json = { cluster: action.cluster, timeout: '0s' };
  if (policy) r.idle_timeout = formatMs(policy.proxyReadTimeoutMs);
  if (action.uri && e && (e.match.kind === 'prefix' || e.match.kind === 'path')) r.prefix_rewrite = action.uri.raw;
  const host = policy ? hostHeaderOf(policy.proxySetHeaders, s.memo) : null;
  if (!host) r.host_rewrite_literal = action.proxyHost;
  else if (host.value.raw === '$proxy_host') r.host_rewrite_literal = action.proxyHost;
  else if (!host.value.parts.some((p) => 'var' in p)) r.host_rewrite_literal = host.value.raw;
  // $host / $http_host / unsupported: the client's Host is forwarded (reported in lowering)
  if (policy?.websocket) r.upgrade_configs = [{ upgrade_type: 'websocket' }];
  const backend = s.backends.get(action.backend);
  const hp = backend ? hashPolicy(backend, s) : null;
  if (hp) r.hash_policy = hp;
  const retry = backend ? retryPolicyOf(action.retry, backend, s.em) : null;
  if (retry) r.retry_policy = retry;
  return r;
}

/**
 * proxyAction for a route nothing changes afterwards, frozen and shared: a location's
 * action is the same on each of its routes (a regex location's guarded copies, each
 * listener of the server) but for prefix_rewrite, which only prefix and exact matches get.
 * Shared, it is allocated once, and hoisting makes its copy once (hoist.ts).
 */
function sharedProxyAction(s: Scope, action: Extract<Action, { kind: 'proxy' }>, loc: Location, e: RouteEntry): Json {
  const rewrites = Boolean(action.uri) && (e.match.kind === 'prefix' || e.match.kind === 'path');
  let known = s.memo.proxyActions.get(loc);
  if (!known) s.memo.proxyActions.set(loc, (known = []));
  // (a location has one proxy action, or one per target of a proxy_pass to a map variable: a short list)
  let shared: SharedProxyActions | undefined;
  for (let i = 0; i < known.length && !shared; i++) if (known[i]!.action === action) shared = known[i];
  if (!shared) known.push((shared = { action, plain: undefined, rewriting: undefined }));
  if (rewrites) return (shared.rewriting ??= Object.freeze(proxyAction(s, action, loc, e)));
  return (shared.plain ??= Object.freeze(proxyAction(s, action, loc, e)));
}

/** The route actions made for one IR action of a location: without and with prefix_rewrite. */
interface SharedProxyActions {
  action: Action;
  plain: Json | undefined;
  rewriting: Json | undefined;
}

/** The `Host` entry of a proxy_set_header list (lists are shared by locations: searched once each). */
function hostHeaderOf(list: HeaderOp[], memo: RouteMemo): HeaderOp | null {
  let host = memo.hostHeader.get(list);
  // (a name of another length never lowercases to `host`: only the 4-letter ones are lowercased)
  if (host === undefined) memo.hostHeader.set(list, (host = list.find((h) => h.name.length === 4 && h.name.toLowerCase() === 'host') ?? null));
  return host;
}

function hashPolicy(b: Backend, s: Scope): Json[] | null {
  const bal = b.balance;
  if (bal.kind === 'ip_hash') return [{ connection_properties: { source_ip: true } }];
  if (bal.kind !== 'hash') return null;
  const parts = bal.key.parts;
  if (parts.length === 1 && 'var' in parts[0]!) {
    const v = parts[0].var;
    if (v === 'remote_addr' || v === 'binary_remote_addr') return [{ connection_properties: { source_ip: true } }];
    if (v === 'request_uri') return [{ header: { header_name: ':path' } }];
    if (v === 'host' || v === 'http_host') return [{ header: { header_name: ':authority' } }];
    if (v.startsWith('http_')) return [{ header: { header_name: v.slice(5).replace(/_/g, '-') } }];
    if (v.startsWith('cookie_')) return [{ cookie: { name: v.slice(7) } }];
    if (v.startsWith('arg_')) return [{ query_parameter: { name: v.slice(4) } }];
  }
  s.em.noteOnce(`hash:${b.name}`, b.source, 'hash', 'unsupported', `hash key \`${bal.key.raw}\` of ${b.name} has no Envoy hash policy: requests are spread without stickiness`);
  return null;
}

function addPolicyHeaders(route: Json, policy: Policy, s: Scope, proxyHost: string): void {
  const lists = s.memo.headers;
  const more = policy.moreHeaders ? lists.more(policy.moreHeaders, s.context, proxyHost) : null;
  if (route.route) {
    const req = lists.request(policy.proxySetHeaders, policy.websocket, s.context, proxyHost);
    if (more) addMoreRequestHeaders(route, req, more, policy);
    else {
      if (req.add) route.request_headers_to_add = req.add;
      if (req.remove) route.request_headers_to_remove = req.remove;
    }
    // nginx's own hidden headers are removed once for the whole route configuration.
    const hide = lists.hide(policy.proxyHideHeaders);
    if (hide) route.response_headers_to_remove = hide;
  }
  const resp = lists.response(policy.addHeaders, s.context, proxyHost);
  if (more) addMoreResponseHeaders(route, resp, more);
  else if (resp) route.response_headers_to_add = resp;
}

/**
 * headers-more's response headers before add_header's: nginx runs its filter first, so
 * add_header adds to what it set and a clear does not remove add_header's (Envoy removes
 * before it adds, in list order).
 */
function addMoreResponseHeaders(route: Json, addHeaders: readonly Json[] | null, more: MoreLists): void {
  if (more.responseRemove) route.response_headers_to_remove = [...new Set([...(route.response_headers_to_remove ?? []), ...more.responseRemove])];
  const add = [...(more.responseAdd ?? []), ...(addHeaders ?? [])];
  if (add.length) route.response_headers_to_add = add;
}

/**
 * headers-more's request headers, changed at the end of nginx's rewrite phase, before the
 * proxy module builds the upstream request: a proxy_set_header of the same name (nginx's
 * implicit Host and Connection included) replaces the client's header, whatever it became.
 */
function addMoreRequestHeaders(route: Json, req: RequestHeaders, more: MoreLists, policy: Policy): void {
  const own = new Set(['host', 'connection', ...policy.proxySetHeaders.map((h) => h.name.toLowerCase())]);
  const add = [...more.requestAdd.filter((h) => !own.has(h.name)).map((h) => h.header), ...(req.add ?? [])];
  const remove = [...new Set([...more.requestRemove.filter((n) => !own.has(n)), ...(req.remove ?? [])])];
  if (add.length) route.request_headers_to_add = add;
  if (remove.length) route.request_headers_to_remove = remove;
}

/** A server-level route (no location: the fallback, a server-level return or redirect): the server's headers-more response headers. */
function addServerMoreHeaders(route: Json, s: Scope): void {
  const m = s.server.edge?.moreHeaders;
  if (!m) return;
  addMoreResponseHeaders(route, null, s.memo.headers.more(m, s.context, ''));
}

const BUFFER_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute';
const BUFFER_OFF: Json = Object.freeze({ '@type': BUFFER_PER_ROUTE, disabled: true });
const bufferLimits = new Map<number, Json>();

/** The body limit of a route, as a per-filter config shared by every route with that limit. */
function addBodyLimit(route: Json, policy: Policy, websocket: boolean): void {
  const size = policy.clientMaxBodySize;
  if (websocket || size === 0) {
    route.typed_per_filter_config = { 'envoy.filters.http.buffer': BUFFER_OFF }; // BUFFER_FILTER
  } else if (size !== NGINX_DEFAULT_BODY_SIZE) {
    const max = Math.min(size, 4294967295);
    let config = bufferLimits.get(max);
    if (!config) bufferLimits.set(max, (config = Object.freeze({ '@type': BUFFER_PER_ROUTE, buffer: Object.freeze({ max_request_bytes: max }) })));
    route.typed_per_filter_config = { 'envoy.filters.http.buffer': config }; // BUFFER_FILTER
  }
}

/** Every regex leaving the compiler is compiled by real RE2 first. */
function checked(pattern: string): string {
  assertRe2(pattern);
  return pattern;
}

/** `:authority` matcher for a server's regex names (case-insensitive, search semantics). */
export function authorityMatcher(server: VirtualServer): Json | null {
  const res = server.names.filter((n) => n.kind === 'regex').map((n) => pcreToRe2(n.value));
  const alts = res.filter((c): c is { ok: true; re2: string } => c.ok).map((c) => searchWrap(c.re2).replace(/^\(\?i\)/, ''));
  if (alts.length === 0) return null;
  const regex = `(?i)${alts.length === 1 ? alts[0] : alts.map((a) => `(?:${a})`).join('|')}`;
  assertRe2(regex);
  return { name: ':authority', string_match: { safe_regex: { regex } } };
}
