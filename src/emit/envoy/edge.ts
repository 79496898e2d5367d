// The connection manager's edge settings for one listener (issue 7): client
// limits, client-IP detection, request ids, compression, access logs and local
// reply mapping. Settings nginx keeps per address:port come from the listener's
// default server; settings nginx keeps per location are resolved per route (by
// route name → location) and expressed per route where Envoy can.
import type { AccessLog, CompiledConfig, Compression, ErrorPage, HeaderOp, Listener, Location, VirtualServer } from '../../ir/types.js';
import { otelEndpoint } from '../../lower/tracing.js';
import { isIp } from '../../lower/upstream.js';
import type { ServerTokens } from '../../lower/special-response.js';
import { localReplyConfig, type ReplyRoute } from './local-replies.js';
import { realmOfRoute } from './basic-auth.js';
import { routeOwnersOf } from './routes.js';
import { RBAC_AFTER_AUTH_FILTER, RBAC_FILTER } from './route-access.js';
import { realIpVerdict } from '../../lower/real-ip.js';
import { formatMs } from '../../lower/util.js';
import { accessLogKey, fileAccessLog, routeNameFilter } from './access-log.js';
import type { Emission, Json } from './context.js';
import { unchangedRoutes, type RouteChanges } from './compact.js';
import { COMPRESSOR, compressionKey, compressorDisabled, compressorFilters, LUA, luaFilter, luaScriptRef, statusGatedScript, statusGatedScriptName } from './http-filters.js';

export interface RouteSettings {
  compression: Compression | null;
  accessLogs: AccessLog[];
  errorPages: ErrorPage[];
  addHeaders: HeaderOp[];
  traced: boolean;
  tokens: ServerTokens;
  /** addHeaders' values a Lua script may add (see gatedHeadersOf): found when the settings are made,
   *  not on a route's first ask (a field written after creation recompiles the code built on it) */
  gated: GatedHeaders;
}

export interface EdgeScope {
  servers: Map<string, VirtualServer>;
  em: Emission;
}

/**
 * Virtual hosts of the route configuration that an earlier emission finished (serve's
 * reloads, see reuse.ts): their routes count for the listener's settings but are not
 * changed again.
 */
export interface KeptVhosts {
  vhosts: ReadonlySet<Json>;
  /** the Lua scripts each one's routes name, [name, text] in order of first use */
  scripts: ReadonlyMap<Json, [string, string][]>;
}

/** What applying the edge settings decided for the whole listener, and what each virtual host's routes use. */
export interface EdgeOutcome {
  /** the listener-wide choices the routes were changed by, as text (a kept virtual host needs the same) */
  decisions: string;
  /** per virtual host (by index): the Lua scripts its routes name, in order of first use */
  scripts: [string, string][][];
  /** each route's settings, in the listener's order (applyLocalReplies reads them again) */
  settings: RouteSettings[];
  /** per virtual host (by index; none for a kept one): what the settings change on its routes, for finishVirtualHosts to make each changed route once */
  changes: (RouteChanges | undefined)[];
}

/** The routes' changes (per virtual host), and where each route of the listener's list has its own. */
interface EdgeChanges {
  byVhost: (RouteChanges | undefined)[];
  /** by the route's index in the listener's list: its virtual host's changes (null for a kept one's) and its index there */
  of: (RouteChanges | null)[];
  at: number[];
}

function edgeChangesOf(vhosts: Json[], kept: KeptVhosts): EdgeChanges {
  const byVhost: (RouteChanges | undefined)[] = [];
  const of: (RouteChanges | null)[] = [];
  const at: number[] = [];
  for (let v = 0; v < vhosts.length; v++) {
    const routes: Json[] = vhosts[v].routes ?? [];
    const changes = kept.vhosts.has(vhosts[v]) ? undefined : unchangedRoutes(routes);
    byVhost.push(changes);
    for (let i = 0; i < routes.length; i++) {
      of.push(changes ?? null);
      at.push(i);
    }
  }
  return { byVhost, of, at };
}

const NO_KEPT: KeptVhosts = { vhosts: new Set(), scripts: new Map() };

/** Apply the edge settings of listener `l` to its connection manager `hcm` (mutated). */
export function applyEdge(hcm: Json, l: Listener, scope: EdgeScope, kept: KeptVhosts = NO_KEPT): EdgeOutcome {
  const dflt = scope.servers.get(l.defaultServerId);
  if (!dflt?.edge) return { decisions: 'none', scripts: [], settings: [], changes: [] };
  const servers = l.serverIds.map((id) => scope.servers.get(id)!).filter((s) => s.edge);
  applyLimits(hcm, l, dflt, servers, scope.em);
  if (l.http2) {
    // nginx allows 128 concurrent streams per HTTP/2 connection by default; Envoy 2^31-1.
    hcm.http2_protocol_options = { max_concurrent_streams: dflt.edge.limits.http2MaxConcurrentStreams ?? 128 };
  }
  applyRealIp(hcm, l, dflt, scope.em);
  applyRequestId(hcm, l, servers, scope.em);
  noteDefaultLog(servers, scope.em);
  const vhosts: Json[] = hcm.route_config?.virtual_hosts ?? [];
  const routes = allRoutes(hcm.route_config);
  // Routes of kept virtual hosts are final: the steps below only read them.
  const fresh: boolean[] = [];
  for (const vh of vhosts) {
    const isFresh = !kept.vhosts.has(vh); // (asked once per virtual host, not per route)
    for (let i = (vh.routes ?? []).length; i > 0; i--) fresh.push(isFresh);
  }
  // (recorded, not written on the routes: finishVirtualHosts makes each changed route once)
  const changes = edgeChangesOf(vhosts, kept);
  // Every step below reads each route's settings: resolve each route once.
  const memo = edgeMemoOf(scope);
  const settings = settingsOfRoutes(vhosts, memo);
  const compression = applyCompression(hcm, settings, fresh, changes);
  applyAccessLogs(hcm, routes, settings);
  const scripts = applyStatusGatedHeaders(hcm, vhosts, settings, memo, kept, changes);
  const traced = applyTracing(hcm, routes, settings, servers, fresh, changes);
  return { decisions: JSON.stringify({ compression, traced }), scripts, settings, changes: changes.byVhost };
}

/** The settings of every route of `vhosts`, in order. */
function settingsOfRoutes(vhosts: Json[], memo: EdgeMemo): RouteSettings[] {
  const out: RouteSettings[] = [];
  for (const vh of vhosts) memo.settingsOf(vh.routes ?? [], out);
  return out;
}

/**
 * The connection manager's local replies as nginx makes them (local-replies.ts): run once
 * its routes and HTTP filters are final (the RBAC filter is added after applyEdge).
 * `settings`: the routes' settings applyEdge resolved (the routes are the same, in order).
 */
export function applyLocalReplies(hcm: Json, l: Listener, scope: EdgeScope, settings?: RouteSettings[]): void {
  const dflt = scope.servers.get(l.defaultServerId);
  if (!dflt?.edge) return;
  const vhosts: Json[] = hcm.route_config?.virtual_hosts ?? [];
  const st = settings ?? settingsOfRoutes(vhosts, edgeMemoOf(scope));
  const routes: ReplyRoute[] = [];
  for (const vh of vhosts) for (const r of vh.routes ?? []) routes.push(replyRoute(r, st[routes.length]!, realmOfRoute(r, vh)));
  const rbac = hasRbacFilter(hcm.http_filters ?? []);
  const { config, firstPage } = localReplyConfig({ routes, defaultTokens: dflt.edge.serverTokens ?? 'on', rbac });
  if (config) hcm.local_reply_config = config;
  if (firstPage) scope.em.noteOnce(`errpage:${l.name}`, firstPage.source, 'error_page', 'approximated', `error_page on ${l.address}:${l.port} → local_reply_config mappers (only replies Envoy generates itself are mapped, as nginx without proxy_intercept_errors)`);
}

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

// The name is read first: every filter has one (one shape for V8), while the filters' configs are
// objects of many shapes (a shape met late would recompile applyLocalReplies and all it inlined).
function hasRbacFilter(filters: Json[]): boolean {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i];
    if ((f.name === RBAC_FILTER || f.name === RBAC_AFTER_AUTH_FILTER) && f.typed_config?.['@type'] === RBAC_TYPE) return true;
  }
  return false;
}

const REDIRECT_CODES: Record<string, number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

function replyRoute(r: Json, st: RouteSettings, realm: string | undefined): ReplyRoute {
  const dr = r.direct_response;
  // built with every field, in one order (undefined when absent): one shape for V8
  return {
    name: String(r.name ?? ''),
    pages: st.errorPages,
    tokens: st.tokens,
    direct: dr ? { status: Number(dr.status), body: dr.body !== undefined } : undefined,
    redirect: r.redirect ? redirectStatus(r.redirect) : 0,
    forwards: r.route !== undefined,
    realm,
  };
}

function redirectStatus(redirect: Json): number {
  return REDIRECT_CODES[String(redirect.response_code ?? 'MOVED_PERMANENTLY')] ?? 301;
}

/**
 * What one emission works out once for all its listeners (a server is emitted on
 * each of its listeners, and in the default virtual host); nothing outlives the
 * emitBootstrap call.
 */
interface EdgeMemo {
  /** appends the settings of each route of a virtual host's list (by the location or server it is named after, see routeSettings) */
  settingsOf: (routes: Json[], out: RouteSettings[]) => void;
  /** Lua script by its moved headers (StatusGatedSplit.key) */
  scripts: Map<string, StatusGatedScript>;
}

const edgeMemos = new WeakMap<Emission, EdgeMemo>();

function edgeMemoOf(scope: EdgeScope): EdgeMemo {
  let m = edgeMemos.get(scope.em);
  if (!m) {
    // Every server with edge settings: a listener's routes are named after its own servers only.
    // add_header lists by the values a Lua script may add (see gatedHeadersOf), for every settings made
    const settingsOf = routeSettings([...scope.servers.values()].filter((s) => s.edge), scope.em, gatedNode());
    edgeMemos.set(scope.em, (m = { settingsOf, scripts: new Map() }));
  }
  return m;
}


// ------------------------------------------------------------------ route → settings

function allRoutes(rc: Json): Json[] {
  // (a loop: flatMap's callback and spreading cost more over tens of thousands of routes)
  const out: Json[] = [];
  for (const vh of rc?.virtual_hosts ?? []) {
    const routes: Json[] = vh.routes ?? [];
    for (let i = 0; i < routes.length; i++) out.push(routes[i]);
  }
  return out;
}

/**
 * Route → the settings of the location (or server) it was emitted for: routes are
 * named after their location's id (`server_0/loc_1`), or an id and a suffix
 * (`server_0/loc_1/rewrite_0`, `…/slash`), or their server's id and a suffix. Settings
 * are made once per location and server, and shared by their routes. The routes of this
 * emission are looked up by the owners serverRoutes recorded for their list
 * (routeOwnersOf: no name taken apart, no string hashed per route); others (a kept
 * virtual host's) by their name.
 */
function routeSettings(servers: VirtualServer[], em: Emission, gatedRoot: GatedNode): (routes: Json[], out: RouteSettings[]) => void {
  const byId = new Map(servers.map((s) => [s.id, s]));
  const ofLocation = new Map<Location, RouteSettings>();
  const ofServer = new Map<string, RouteSettings>();
  const locationSettings = (loc: Location, server: VirtualServer): RouteSettings => {
    let st = ofLocation.get(loc);
    if (!st) {
      st = { compression: loc.policy.compression ?? null, accessLogs: loc.policy.accessLogs ?? server.edge!.accessLogs, errorPages: loc.policy.errorPages ?? [], addHeaders: loc.policy.addHeaders, traced: server.edge!.tracing !== null, tokens: loc.policy.serverTokens ?? 'on', gated: gatedHeadersOf(loc.policy.addHeaders, gatedRoot) };
      ofLocation.set(loc, st);
    }
    return st;
  };
  const ofServerId = (serverId: string): RouteSettings => {
    let st = ofServer.get(serverId);
    if (!st) {
      const e = byId.get(serverId)?.edge;
      st = { compression: e?.compression ?? null, accessLogs: e?.accessLogs ?? [], errorPages: e?.errorPages ?? [], addHeaders: [], traced: (e?.tracing ?? null) !== null, tokens: e?.serverTokens ?? 'on', gated: gatedHeadersOf([], gatedRoot) };
      ofServer.set(serverId, st);
    }
    return st;
  };
  // location id → location and its server, made only when a route is looked up by name
  let locs: Map<string, [Location, VirtualServer]> | null = null;
  const locationsById = (): Map<string, [Location, VirtualServer]> => {
    const m = new Map<string, [Location, VirtualServer]>();
    for (const s of servers) {
      const visit = (l: Location): void => {
        m.set(l.id, [l, s]);
        l.children.forEach(visit);
      };
      s.locations.forEach(visit);
    }
    return m;
  };
  const byName = (name: string): RouteSettings => {
    const slash = name.indexOf('/');
    // the longest prefix of whole segments that is a location id (most names are one)
    if (slash > 0) {
      locs ??= locationsById();
      for (let id = name; id.length > slash; id = id.slice(0, id.lastIndexOf('/'))) {
        const found = locs.get(id);
        if (found) return locationSettings(found[0], found[1]);
      }
    }
    return ofServerId(slash < 0 ? name : name.slice(0, slash));
  };
  const byOwner = (loc: Location | null, server: VirtualServer): RouteSettings =>
    // (a location of a server without edge settings: its routes have the server's, as by name)
    loc !== null && server.edge ? locationSettings(loc, server) : ofServerId(server.id);
  return (routes, out) => {
    const owners = routeOwnersOf(routes, em);
    if (owners === undefined) {
      for (const r of routes) out.push(byName(String(r.name ?? '')));
      return;
    }
    // a location's routes are next to each other: its settings are looked up once for them
    let last: RouteSettings | null = null;
    let lastLoc: Location | null = null;
    let lastServer: VirtualServer | null = null;
    for (let i = 0; i < routes.length; i++) {
      const loc = owners.locations[i] ?? null;
      const server = owners.servers[i]!;
      if (last === null || loc !== lastLoc || server !== lastServer) {
        last = byOwner(loc, server);
        lastLoc = loc;
        lastServer = server;
      }
      out.push(last);
    }
  };
}

function insertBeforeRouter(hcm: Json, filters: Json[]): void {
  const list: Json[] = hcm.http_filters;
  list.splice(list.length - 1, 0, ...filters);
}

/** Route `k` of the listener gets `config` for filter `name`. */
function perFilter(changes: EdgeChanges, k: number, name: string, config: Json): void {
  addPerFilter(changes.of[k]!, changes.at[k]!, name, config);
}

/** Route `i` of a virtual host gets `config` for filter `name`: in its own configs object, or a new one recorded for it. */
function addPerFilter(changes: RouteChanges, i: number, name: string, config: Json): void {
  let own = changes.perFilter[i];
  if (own === undefined) {
    own = {};
    changes.perFilter[i] = own;
    changes.perFilterByEdge[i] = true;
  }
  own[name] = config;
}

// ------------------------------------------------------------------ client limits

function applyLimits(hcm: Json, l: Listener, dflt: VirtualServer, servers: VirtualServer[], em: Emission): void {
  const lim = dflt.edge!.limits;
  // Only configs that set a client limit somewhere get nginx's values (all of them, so the set is coherent).
  if (!servers.some((s) => s.edge!.limits.sources.length)) return;
  const common: Json = {};
  if (lim.keepaliveTimeoutMs === 0) common.max_requests_per_connection = 1;
  else {
    common.idle_timeout = formatMs(lim.keepaliveTimeoutMs);
    common.max_requests_per_connection = lim.keepaliveRequests;
  }
  hcm.common_http_protocol_options = common;
  hcm.request_headers_timeout = formatMs(lim.clientHeaderTimeoutMs);
  hcm.stream_idle_timeout = formatMs(Math.max(lim.clientBodyTimeoutMs, lim.sendTimeoutMs));
  hcm.max_request_headers_kb = Math.min(8192, Math.max(1, Math.ceil((lim.largeHeaderBuffers.number * lim.largeHeaderBuffers.size) / 1024)));
  const key = JSON.stringify({ ...lim, sources: [] });
  for (const s of servers) {
    if (s === dflt || JSON.stringify({ ...s.edge!.limits, sources: [] }) === key) continue;
    em.noteOnce(`limits:${l.name}:${s.id}`, s.source, 'keepalive_timeout', 'approximated', `${s.id}: client timeouts/limits differ from the default server of ${l.address}:${l.port}; Envoy has one set per listener: the default server's is used`);
  }
}

// ------------------------------------------------------------------ client IPs

/**
 * nginx's $remote_addr is the peer (or the PROXY protocol / realip address).
 * Envoy's default (use_remote_address false) takes the client address from the
 * client's own X-Forwarded-For, so every listener sets use_remote_address, and
 * skip_xff_append because nginx leaves X-Forwarded-For alone unless
 * proxy_set_header says otherwise (routes append it then).
 */
function peerAddress(hcm: Json): void {
  hcm.use_remote_address = true;
  hcm.skip_xff_append = true;
}

function applyRealIp(hcm: Json, l: Listener, dflt: VirtualServer, em: Emission): void {
  const ri = dflt.edge!.realIp;
  if (!ri) {
    peerAddress(hcm);
    return;
  }
  const header = ri.header.toLowerCase();
  if (header === 'proxy_protocol') {
    if (!l.proxyProtocol) em.note(ri.source, 'real_ip_header', 'unsupported', `real_ip_header proxy_protocol on ${l.address}:${l.port}, which has no \`listen … proxy_protocol\``);
    peerAddress(hcm);
    return;
  }
  realIpVerdict(ri); // class and reason are on the directives
  if (header === 'x-forwarded-for') {
    hcm.use_remote_address = true;
    hcm.xff_num_trusted_hops = 1;
    // routes add X-Forwarded-For themselves where nginx's proxy_set_header says so
    hcm.skip_xff_append = true;
  } else {
    hcm.original_ip_detection_extensions = [
      {
        name: 'envoy.http.original_ip_detection.custom_header',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig', header_name: header },
      },
    ];
  }
}

// ------------------------------------------------------------------ nginx's default access log

/** A server without any access_log is logged by nginx to its compiled-in default; Envoy logs nothing. */
function noteDefaultLog(servers: VirtualServer[], em: Emission): void {
  const s = servers.find((x) => x.edge!.accessLogDefault);
  if (!s) return;
  em.noteOnce('default-access-log', s.source, 'access_log', 'approximated', 'no access_log: nginx writes each request to its default access log (logs/access.log or the path it was built with, combined format); Envoy writes no access log for these servers: add access_log to have one');
}

// ------------------------------------------------------------------ request ids

function applyRequestId(hcm: Json, l: Listener, servers: VirtualServer[], em: Emission): void {
  const user = servers.find((s) => s.edge!.usesRequestId);
  if (!user) return;
  // nginx's $request_id is always generated by nginx, never taken from the client.
  hcm.generate_request_id = true;
  hcm.preserve_external_request_id = false;
  em.noteOnce(`reqid:${l.name}`, user.source, 'request_id', 'approximated', `$request_id → x-request-id generated by Envoy on ${l.address}:${l.port} (a UUID; nginx: 32 hex digits); Envoy keeps a client-sent x-request-id on requests it considers internal`);
}

// ------------------------------------------------------------------ compression

/** A compression configuration: its compressor filters' names, and the compressors its routes turn off. */
interface CompressionConfig {
  c: Compression;
  names: string[];
  off: string[];
}

/**
 * Returns the compressor filters by configuration (what the routes' per-filter configs were chosen by).
 * Split in small steps: each runs once per listener, and only the route loop is hot.
 */
function applyCompression(hcm: Json, settings: RouteSettings[], fresh: boolean[], changes: EdgeChanges): [string, string[]][] {
  const configs = compressionConfigs(settings);
  if (configs.size === 0) return [];
  const all = addCompressors(hcm, configs);
  disableOtherCompressors(settings, fresh, configs, all, compressorDisabled(), changes);
  return [...configs].map(([key, e]) => [key, e.names]);
}

/** The distinct compression configurations of the routes, by key, in order of first use. */
function compressionConfigs(settings: RouteSettings[]): Map<string, CompressionConfig> {
  const configs = new Map<string, CompressionConfig>();
  let last: Compression | null = null; // (a location's routes are next to each other and share one)
  for (let k = 0; k < settings.length; k++) {
    const c = settings[k]!.compression;
    if (!c || c === last) continue;
    last = c;
    const key = compressionKey(c);
    if (!configs.has(key)) configs.set(key, { c, names: [], off: [] });
  }
  return configs;
}

/** Adds each configuration's compressor filters before the router; returns every compressor's name. */
function addCompressors(hcm: Json, configs: Map<string, CompressionConfig>): string[] {
  let i = 0;
  const filters: Json[] = [];
  for (const entry of configs.values()) {
    const base = i++ === 0 ? COMPRESSOR : `${COMPRESSOR}.${i - 1}`;
    const fs = compressorFilters(entry.c, base);
    entry.names = fs.map((f) => f.name);
    filters.push(...fs);
  }
  insertBeforeRouter(hcm, filters);
  const all = [...configs.values()].flatMap((e) => e.names);
  for (const entry of configs.values()) entry.off = all.filter((name) => !entry.names.includes(name));
  return all;
}

/** A route disables every compressor that is not its own (all of them without gzip). */
// (`off` is the caller's: this runs once per listener, and what runs before its loop the first
// times, before V8 keeps type feedback for it, would have none when the optimised loop is entered)
function disableOtherCompressors(settings: RouteSettings[], fresh: boolean[], configs: Map<string, CompressionConfig>, all: string[], off: Json, changes: EdgeChanges): void {
  // (a location's routes are next to each other: the compressors they turn off are looked up once for them)
  let last: RouteSettings | null = null;
  let lastOff: string[] = all;
  for (let k = 0; k < settings.length; k++) {
    if (!fresh[k]) continue;
    const st = settings[k]!;
    if (st !== last) {
      last = st;
      lastOff = st.compression ? configs.get(compressionKey(st.compression))!.off : all;
    }
    for (let i = 0; i < lastOff.length; i++) perFilter(changes, k, lastOff[i]!, off);
  }
}

// ------------------------------------------------------------------ access logs

function applyAccessLogs(hcm: Json, routes: Json[], settings: RouteSettings[]): void {
  const sinks = new Map<string, { log: AccessLog; routes: RouteSet }>();
  for (let k = 0; k < routes.length; k++) {
    const logs = settings[k]!.accessLogs;
    for (let i = 0; i < logs.length; i++) {
      const a = logs[i]!;
      const key = accessLogKey(a);
      let s = sinks.get(key);
      if (!s) sinks.set(key, (s = { log: a, routes: routeSet() }));
      addRoute(s.routes, k);
    }
  }
  if (sinks.size === 0) return;
  hcm.access_log = [...sinks.values()].map(({ log, routes: rs }) => {
    // requests answered before routing (no route) are logged only by logs every route has
    return fileAccessLog(log, rs.indexes.length === routes.length ? null : routeNameFilter(namesOf(routes, rs)));
  });
}

/**
 * The routes (by index in the listener's list) a log or a local reply mapper applies to.
 * Whether it applies to every route is a count: routes of one name (a server's routes
 * emitted twice, in its own virtual host and the default one) have the same settings,
 * since settings are resolved from the name, so it applies to all of them or none.
 */
interface RouteSet {
  indexes: number[];
}

function routeSet(): RouteSet {
  return { indexes: [] };
}

/** Add route `k` (routes are added in order: a repeat is the last one). */
function addRoute(set: RouteSet, k: number): void {
  const ix = set.indexes;
  if (ix.length === 0 || ix[ix.length - 1] !== k) ix.push(k);
}

/** The distinct names of a set's routes, sorted (for a route name filter). */
function namesOf(routes: Json[], set: RouteSet): string[] {
  const names = new Set<string>();
  for (const k of set.indexes) names.add(String(routes[k].name ?? ''));
  return [...names].sort();
}

// ------------------------------------------------------------------ add_header without `always`

/**
 * nginx adds a header without `always` only to 200, 201, 204, 206, 301, 302,
 * 303, 304, 307 and 308 responses. Literal values move from the route's
 * unconditional response_headers_to_add to a Lua script that checks the status;
 * values with variables stay (reported as approximated). Each distinct header
 * list is one named script of the connection manager's Lua filter; routes refer
 * to it by name.
 */
/** Records `own`'s scripts in `scripts` (name → text); returns `own`. */
function useScripts(scripts: Map<string, string>, own: [string, string][]): [string, string][] {
  for (const [name, text] of own) useScript(scripts, name, text);
  return own;
}

function useScript(scripts: Map<string, string>, name: string, text: string): void {
  const other = scripts.get(name);
  if (other !== undefined && other !== text) throw new Error(`Lua script name ${name} given to two scripts`);
  scripts.set(name, text);
}

/**
 * The scripts the routes of a fresh virtual host name, in order of first use (recorded in
 * `scripts` too); `k`: the index of its first route among the listener's. A plain function
 * (not a callback made per listener): it is hot, one graph for V8.
 */
function scriptsOfRoutes(routes: Json[], settings: RouteSettings[], k: number, memo: EdgeMemo, scripts: Map<string, string>, changes: RouteChanges): [string, string][] {
  const mine = new Map<string, string>();
  // (a location's routes come one after the other, mostly with the same script: it is recorded once for them)
  let last: StatusGatedScript | null = null;
  for (let i = 0; i < routes.length; i++) {
    const script = statusGatedScriptFor(routes[i], settings[k + i]!, memo, changes, i);
    if (!script || script === last) continue;
    last = script;
    useScript(scripts, script.name, script.text);
    mine.set(script.name, script.text);
  }
  return [...mine];
}

function applyStatusGatedHeaders(hcm: Json, vhosts: Json[], settings: RouteSettings[], memo: EdgeMemo, kept: KeptVhosts, changes: EdgeChanges): [string, string][][] {
  const scripts = new Map<string, string>(); // name → text, in order of first use
  const byVhost: [string, string][][] = [];
  let k = 0;
  for (let v = 0; v < vhosts.length; v++) {
    const vh = vhosts[v];
    const routes: Json[] = vh.routes ?? [];
    const own = kept.scripts.get(vh);
    const mine = changes.byVhost[v];
    // a kept virtual host's routes name the scripts they named (in the same order: its routes are contiguous)
    byVhost.push(own ? useScripts(scripts, own) : mine === undefined ? [] : scriptsOfRoutes(routes, settings, k, memo, scripts, mine));
    k += routes.length;
  }
  if (scripts.size) insertBeforeRouter(hcm, [luaFilter(scripts)]);
  return byVhost;
}

/** Move a route's literal add_header values without `always` to their Lua script (recorded in `changes` at `i`); the script, or null when none moves. */
function statusGatedScriptFor(r: Json, st: RouteSettings, memo: EdgeMemo, changes: RouteChanges, i: number): StatusGatedScript | null {
  const added: Json[] | undefined = r.response_headers_to_add;
  if (!added?.length) return null;
  // Locations hold their own copies of add_header lists, alike in content: each content's values
  // are found once per location, and split off each response header list once.
  const gated = st.gated;
  if (gated.headers.length === 0) return null;
  let split = gated.splits.get(added);
  if (!split) gated.splits.set(added, (split = splitStatusGated(added, gated.headers)));
  if (split.moved.length === 0) return null;
  // (none left: finalRouteList makes the route without the key)
  changes.headersMoved[i] = true;
  changes.responseHeaders[i] = split.rest.length === 0 ? undefined : split.rest;
  const script = (split.script ??= scriptOf(split, memo));
  addPerFilter(changes, i, LUA, script.ref);
  return script;
}

/** An add_header value a Lua script may add: literal, not empty, without `always`. */
interface GatedHeader {
  name: string;
  raw: string;
  /** as response_headers_to_add has it (`%` doubled) */
  rendered: string;
}

/** The gated values of an add_header list (in its order), one object per distinct content. */
interface GatedHeaders {
  headers: GatedHeader[];
  /** the split of each response header list a route of such a list carries */
  splits: Map<readonly Json[], StatusGatedSplit>;
}

/** Gated values by content, a value at a time: name → raw value → the node of the lists going on from there. */
interface GatedNode {
  next: Map<string, Map<string, GatedNode>>;
  /** the lists whose gated values end here */
  gated: GatedHeaders | undefined;
  /** the path from the root to here */
  headers: GatedHeader[];
}

function gatedNode(headers: GatedHeader[] = []): GatedNode {
  return { next: new Map(), gated: undefined, headers };
}

/** The gated values of `list`, found by walking their content from `root` (no text built of them). */
function gatedHeadersOf(list: HeaderOp[], root: GatedNode): GatedHeaders {
  let node = root;
  for (const h of list) {
    if (h.always || h.value.raw === '' || h.value.parts.some((p) => 'var' in p)) continue;
    let byValue = node.next.get(h.name);
    if (!byValue) node.next.set(h.name, (byValue = new Map()));
    let next = byValue.get(h.value.raw);
    if (!next) byValue.set(h.value.raw, (next = gatedNode([...node.headers, { name: h.name, raw: h.value.raw, rendered: h.value.raw.replace(/%/g, '%%') }])));
    node = next;
  }
  return (node.gated ??= { headers: node.headers, splits: new Map() });
}

interface StatusGatedScript {
  name: string;
  text: string;
  /** the per-route config naming it, shared by every route using it */
  ref: Json;
}

/** The Lua script of a header set: built, hashed and named once per emission. */
function scriptOf(split: StatusGatedSplit, memo: EdgeMemo): StatusGatedScript {
  let script = memo.scripts.get(split.key);
  if (!script) {
    const text = statusGatedScript(split.moved);
    const name = statusGatedScriptName(text);
    memo.scripts.set(split.key, (script = { name, text, ref: luaScriptRef(name) }));
  }
  return script;
}

interface StatusGatedSplit {
  /** the headers left unconditional */
  rest: Json[];
  /** [name, value] of the headers the Lua script adds for nginx's statuses */
  moved: [string, string][];
  /** `moved` as text, to find its script */
  key: string;
  /** its script, once a route used it */
  script?: StatusGatedScript;
}

/** Literal add_header values without `always` leave the route's unconditional list for the script. */
function splitStatusGated(added: Json[], gated: GatedHeader[]): StatusGatedSplit {
  const rest = [...added];
  const moved: [string, string][] = [];
  for (const h of gated) {
    const i = rest.findIndex((a) => a.header?.key === h.name && a.header?.value === h.rendered);
    if (i < 0) continue;
    rest.splice(i, 1);
    moved.push([h.name, h.raw]);
  }
  return { rest: moved.length ? rest : added, moved, key: JSON.stringify(moved) };
}

// ------------------------------------------------------------------ tracing

export const OTEL_CLUSTER = 'otel_collector';

/** Connection manager tracing when a server on the listener is traced; untraced routes sample nothing. */
function applyTracing(hcm: Json, routes: Json[], settings: RouteSettings[], servers: VirtualServer[], fresh: boolean[], changes: EdgeChanges): boolean {
  const t = servers.map((s) => s.edge!.tracing).find((x) => x && x.endpoint && otelEndpoint(x.endpoint));
  if (!t) return false;
  const otel: Json = { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', grpc_service: { envoy_grpc: { cluster_name: OTEL_CLUSTER } } };
  if (t.serviceName) otel.service_name = t.serviceName;
  hcm.tracing = { provider: { name: 'envoy.tracers.opentelemetry', typed_config: otel } };
  for (let k = 0; k < routes.length; k++) {
    if (fresh[k] && !settings[k]!.traced) changes.of[k]!.tracing[changes.at[k]!] = { overall_sampling: { numerator: 0 } };
  }
  return true;
}

/** Clusters the edge settings need (the OpenTelemetry collector), for the bootstrap. */
export function edgeClusters(ir: CompiledConfig): Json[] {
  const t = ir.servers.map((s) => s.edge?.tracing).find((x) => x && x.endpoint && otelEndpoint(x.endpoint));
  if (!t) return [];
  const ep = otelEndpoint(t.endpoint!)!;
  const c: Json = {
    name: OTEL_CLUSTER,
    type: isIp(ep.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: OTEL_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ep.host, port_value: ep.port } } } }] }] },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } },
    },
  };
  if (ep.tls) c.transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: ep.host } };
  return [c];
}
