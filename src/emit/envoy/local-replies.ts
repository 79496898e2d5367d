// The replies Envoy makes itself, made as nginx makes them: one local_reply_config per
// connection manager (http_connection_manager.proto LocalReplyConfig: mappers are tried
// in order, the first whose filter matches rewrites the reply; a filter sees Envoy's own
// status and response flags; without a body_format_override the body is kept).
//
// Order of the mappers, each group only where needed:
// 0. auth_basic: the basic_auth filter's 401, with nginx's challenge, page or error_page;
// 1. keep: `return CODE "text"` answers with its text in nginx, never with a page or an
//    error_page: a mapper matching its routes and status that changes nothing;
// 2. error_page for 502: nginx applies it to its own 502, which is what Envoy's upstream
//    failures become (their response flags, or a 502);
// 3. upstream failures → 502 with nginx's page (Envoy answers 503 for a refused or reset
//    connection, no healthy host, exhausted retries);
// 4. the other error_page mappers (before the pages: they replace them);
// 5. nginx's page for each status Envoy may answer itself here (400 bad request, 404 no
//    route or `return 404;`, 413 body too large, 504 upstream timeout, 403 access denied,
//    redirects, the status of every `return CODE;`).
// A page depends on server_tokens, which nginx takes from the location: routes whose
// value is not the listener's default server's get mappers of their own, by route name.
import type { ErrorPage } from '../../ir/types.js';
import { isRedirectTarget, redirectStatus } from '../../lower/error-page.js';
import { nginxPage, PAGE_CONTENT_TYPE, type ServerTokens } from '../../lower/special-response.js';
import { routeNameFilter } from './access-log.js';
import { challengeOf } from '../../lower/auth.js';
import type { Json } from './context.js';

/** What the mappers need to know of one route of the connection manager. */
export interface ReplyRoute {
  name: string;
  pages: ErrorPage[];
  tokens: ServerTokens;
  /** a direct_response: its status, and whether it carries its own body */
  direct?: { status: number; body: boolean };
  /** a redirect's status, 0 when the route does not redirect (a number either way: one field
   *  representation for V8, where undefined after a Smi would recompile the code built on it) */
  redirect: number;
  /** the route forwards to a cluster */
  forwards: boolean;
  /** the realm of the basic_auth filter enabled on the route (its 401 is made nginx's) */
  realm?: string;
}

export interface ReplyScope {
  routes: ReplyRoute[];
  /** server_tokens of the listener's default server: for replies made before a route is chosen */
  defaultTokens: ServerTokens;
  /** the connection manager has the RBAC filter (allow/deny, limit_except): its 403 */
  rbac: boolean;
}

/**
 * Envoy's response flags for an upstream failure nginx answers with 502: UF connection
 * failure (refused; a connect timeout too, which nginx answers with 504), URX retries
 * exhausted, UH no healthy host (nginx: no live upstreams), UC/UR/LR a connection or stream
 * reset before the response, UPE an invalid response.
 */
export const FAILURE_FLAGS: readonly string[] = ['UF', 'URX', 'UH', 'UC', 'UR', 'LR', 'UPE'];

function pushAll(into: Json[], items: readonly Json[]): void {
  for (const x of items) into.push(x);
}

/** Statuses every connection manager may answer itself: a bad request, no route, a body over the limit. */
const ALWAYS = [400, 404, 413];

/** The connection manager's local_reply_config (null when nothing needs mapping), and the first error_page mapped (for its report note). */
export function localReplyConfig(scope: ReplyScope): { config: Json | null; firstPage: ErrorPage | null } {
  const errorPages = errorPageMappers(scope);
  const statuses = pageStatuses(scope);
  const mapped = new Set([...statuses, ...errorPages.map((m) => m.code)]);
  // pushed, not spread into a literal: a literal of spreads is a holey array, an array kind the
  // YAML writer and the validator meet nowhere before the connection manager's end
  const mappers: Json[] = [];
  pushAll(mappers, realmMappers(scope));
  pushAll(mappers, keepMappers(scope, mapped));
  for (const m of errorPages) if (m.code === 502) mappers.push(m.mapper);
  pushAll(mappers, byTokens(scope, scope.routes.filter((r) => r.forwards), (tokens) => failureMapper(tokens), { response_flag_filter: { flags: [...FAILURE_FLAGS] } }));
  for (const m of errorPages) if (m.code !== 502) mappers.push(m.mapper);
  for (const code of statuses) pushAll(mappers, byTokens(scope, scope.routes, (tokens) => pageMapper(code, tokens), statusFilter(code, 'page')));
  return { config: mappers.length ? { mappers } : null, firstPage: errorPages[0]?.page ?? null };
}

/** The statuses given nginx's page, ascending. */
function pageStatuses(scope: ReplyScope): number[] {
  const out = new Set(ALWAYS);
  if (scope.rbac) out.add(403);
  addRouteStatuses(scope.routes, out);
  return [...out].filter((s) => nginxPage(s) !== null).sort((a, b) => a - b);
}

/** The statuses the routes answer themselves (a loop of its own: see mergePages). */
function addRouteStatuses(routes: ReplyRoute[], out: Set<number>): void {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.forwards) out.add(504); // upstream timeout (UT), or the route's idle timeout once the request is in (SI)
    if (r.direct && !r.direct.body) out.add(r.direct.status);
    if (r.redirect !== 0) out.add(r.redirect);
  }
}

function statusFilter(code: number, key: string): Json {
  return { status_code_filter: { comparison: { op: 'EQ', value: { default_value: code, runtime_key: `ngx2envoy.${key}.${code}` } } } };
}

/** The page as a body format (it holds no `%`; one would be doubled to stay literal). */
function pageFormat(status: number, tokens: ServerTokens): Json {
  return { text_format_source: { inline_string: nginxPage(status, tokens)!.replace(/%/g, '%%') }, content_type: PAGE_CONTENT_TYPE };
}

function pageMapper(status: number, tokens: ServerTokens): Json {
  return { body_format_override: pageFormat(status, tokens) };
}

function failureMapper(tokens: ServerTokens): Json {
  return { status_code: 502, body_format_override: pageFormat(502, tokens) };
}

/**
 * One mapper per server_tokens value among `routes`: the ones differing from the default
 * server's match their routes by name, first; the default's matches any reply last.
 */
function byTokens(scope: ReplyScope, routes: ReplyRoute[], make: (tokens: ServerTokens) => Json, filter: Json): Json[] {
  if (routes.length === 0) return [];
  const others = new Map<ServerTokens, Set<string>>();
  for (const r of routes) {
    if (r.tokens === scope.defaultTokens) continue;
    let names = others.get(r.tokens);
    if (!names) others.set(r.tokens, (names = new Set()));
    names.add(r.name);
  }
  const out: Json[] = [];
  for (const tokens of [...others.keys()].sort()) {
    out.push({ filter: { and_filter: { filters: [filter, routeNameFilter([...others.get(tokens)!].sort())] } }, ...make(tokens) });
  }
  out.push({ filter, ...make(scope.defaultTokens) });
  return out;
}

/** `return CODE "text"` routes whose status some mapper would rewrite: matched first, left as they are. */
function keepMappers(scope: ReplyScope, mapped: Set<number>): Json[] {
  const byStatus = new Map<number, Set<string>>();
  for (const r of scope.routes) {
    if (!r.direct?.body || !mapped.has(r.direct.status)) continue;
    let names = byStatus.get(r.direct.status);
    if (!names) byStatus.set(r.direct.status, (names = new Set()));
    names.add(r.name);
  }
  return [...byStatus.keys()].sort((a, b) => a - b).map((status) => ({
    filter: { and_filter: { filters: [statusFilter(status, 'page'), routeNameFilter([...byStatus.get(status)!].sort())] } },
  }));
}

// ------------------------------------------------------------------ error_page

interface ErrorPageMapper {
  code: number;
  page: ErrorPage;
  mapper: Json;
}

/** The error_page mappers, merged by (code, target, status, tokens), in order of first use. */
function errorPageMappers(scope: ReplyScope): ErrorPageMapper[] {
  const merged = new Map<string, MergedPage>();
  mergePages(scope.routes, merged);
  const out: ErrorPageMapper[] = [];
  for (const m of merged.values()) out.push(errorPageMapper(m, scope.routes.length));
  return out;
}

/** One merged page's mapper; `total`: how many routes the listener has. */
function errorPageMapper({ page, code, tokens, names, routes }: MergedPage, total: number): ErrorPageMapper {
  const codeFilter = code === 502 ? { or_filter: { filters: [statusFilter(code, 'error_page'), { response_flag_filter: { flags: [...FAILURE_FLAGS] } }] } } : statusFilter(code, 'error_page');
  // replies made before a route is chosen (no route name) are mapped only by a page every route has
  const filter = routes.size === total ? codeFilter : { and_filter: { filters: [codeFilter, routeNameFilter([...names].sort())] } };
  return { code, page, mapper: page.file ? fileMapper(filter, page, code) : redirectMapper(filter, page, tokens) };
}

// The loop over every route of a listener is a function of its own, started on a map its caller
// made: it runs a few times per emission, and V8 keeps type feedback for a function only from
// some way into its first call; what it runs before its loop would have none once optimised.
function mergePages(routes: ReplyRoute[], merged: Map<string, MergedPage>): void {
  // A location's routes come one after the other with the same pages and server_tokens:
  // the mappers they belong to are found once for them.
  let pages: ErrorPage[] | null = null;
  let tokens: ServerTokens | null = null;
  let mine: MergedPage[] = [];
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.pages !== pages || r.tokens !== tokens) {
      pages = r.pages;
      tokens = r.tokens;
      mine = mergedPagesOf(r, merged);
    }
    for (const m of mine) {
      m.names.add(r.name);
      m.routes.add(i);
    }
  }
}

interface MergedPage {
  page: ErrorPage;
  code: number;
  tokens: ServerTokens;
  names: Set<string>;
  routes: Set<number>;
}

/** The mappers (by code, target, status and tokens) a route's pages belong to, made in `merged` on first use. */
function mergedPagesOf(r: ReplyRoute, merged: Map<string, MergedPage>): MergedPage[] {
  const out: MergedPage[] = [];
  for (const page of r.pages) {
    for (const { code, key } of pageCodesOf(page)) {
      const k = `${key}|${isRedirectTarget(page) ? r.tokens : ''}`;
      let m = merged.get(k);
      if (!m) merged.set(k, (m = { page, code, tokens: r.tokens, names: new Set(), routes: new Set() }));
      out.push(m);
    }
  }
  return out;
}

const pageCodes = new WeakMap<ErrorPage, { code: number; key: string }[]>();

/** An error page's mappers by status code (none when lowering reported it untranslatable), worked out once per page. */
function pageCodesOf(page: ErrorPage): { code: number; key: string }[] {
  let codes = pageCodes.get(page);
  if (!codes) {
    const redirect = isRedirectTarget(page) && !page.target.parts.some((p) => 'var' in p);
    codes = !redirect && !page.file ? [] : page.codes.map((code) => ({ code, key: `${code}|${page.target.raw}|${page.file ?? ''}|${redirect ? redirectStatus(page) : page.override}` }));
    pageCodes.set(page, codes);
  }
  return codes;
}

/** A redirect: the status, the Location, and nginx's page for that status. */
function redirectMapper(filter: Json, page: ErrorPage, tokens: ServerTokens): Json {
  return { filter, ...redirectReply(page, tokens) };
}

function redirectReply(page: ErrorPage, tokens: ServerTokens): Json {
  const status = redirectStatus(page);
  return { status_code: status, headers_to_add: [overwrite('location', page.target.raw)], body_format_override: pageFormat(status, tokens) };
}

/** A mapper's header, set over the reply's own of that name (`%` doubled: header values are formatted). */
function overwrite(key: string, value: string): Json {
  return { header: { key, value: value.replace(/%/g, '%%') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

/** The error page file as the body of the local reply (status kept, or `=code`); %LOCAL_REPLY_BODY% keeps its bytes out of the formatter. */
function fileMapper(filter: Json, page: ErrorPage, code: number): Json {
  return { filter, ...fileReply(page, code) };
}

function fileReply(page: ErrorPage, code: number): Json {
  const m: Json = {};
  if (typeof page.override === 'number') m.status_code = page.override;
  else if (page.override === 'target') m.status_code = 200; // the static file answers 200
  else if (code === 502) m.status_code = 502; // an upstream failure matched by its flags has Envoy's 503
  m.body = { filename: page.file };
  m.body_format_override = { text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'text/html' };
  return m;
}

// ------------------------------------------------------------------ auth_basic's 401

/**
 * The basic_auth filter's 401 made nginx's, one mapper per (realm, server_tokens, error_page
 * for 401) among the routes enabling the filter, first of all mappers: nginx's challenge
 * `WWW-Authenticate: Basic realm="…"` (over Envoy's, which names the request URI), and the
 * reply nginx sends with it (checked with nginx 1.22, the challenge stays in each case):
 * the error_page for 401 in effect (a file, with its `=code`; a URL, redirected with that
 * status's page), else nginx's 401 page. An error_page Envoy cannot follow (a named location,
 * a URI that is not a known file) gets nginx's page, as reported for that error_page.
 * (A 401 is the only reply Envoy makes itself on these routes: upstream 401s are not local
 * replies and pass unchanged, as in nginx.)
 */
function realmMappers(scope: ReplyScope): Json[] {
  const groups = new Map<string, { realm: string; tokens: ServerTokens; page: ErrorPage | null; names: Set<string> }>();
  for (const r of scope.routes) {
    if (r.realm === undefined) continue;
    const page = pageFor401(r.pages);
    const key = JSON.stringify([r.realm, r.tokens, page ? pageCodesOf(page).find((c) => c.code === 401)!.key : '']);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { realm: r.realm, tokens: r.tokens, page, names: new Set() }));
    g.names.add(r.name);
  }
  return [...groups.keys()].sort().map((key) => {
    const { realm, tokens, page, names } = groups.get(key)!;
    const filter = { and_filter: { filters: [statusFilter(401, 'auth_basic'), routeNameFilter([...names].sort())] } };
    const reply: Json = page === null ? { body_format_override: pageFormat(401, tokens) } : page.file ? fileReply(page, 401) : redirectReply(page, tokens);
    reply.headers_to_add = [overwrite('www-authenticate', challengeOf(realm)), ...(reply.headers_to_add ?? [])];
    return { filter, ...reply };
  });
}

/** The error_page nginx follows for a 401 (the first listing it), when Envoy can make its reply; null: nginx's page. */
function pageFor401(pages: ErrorPage[]): ErrorPage | null {
  const page = pages.find((p) => p.codes.includes(401));
  return page && pageCodesOf(page).length > 0 ? page : null;
}
