// The Envoy route evaluator: given an Envoy configuration (Bootstrap or xDS set)
// and a request, what would Envoy do with it? Written from Envoy's documented
// behaviour (each step cites its page), independent of the compiler, so that it
// can check the compiler's output against nginx's behaviour.

import { forward, directResponse, redirect, type WeightedClusterChoice } from './action.js';
import { boolValue, durationValue, EnvoyConfigError, enumValue, loadConfig, numValue, typeOf, type EnvoyConfigInput, type LoadedConfig, type Obj } from './config.js';
import { effectiveHeaders, type FormatContext, type HeaderAddition, type HeaderRemoval, type HeaderSource } from './headers.js';
import { chainTerminatesTls, detectConnection, selectFilterChain, selectListener, type ConnectionInfo } from './listener.js';
import { portStart, routeMatches, selectVirtualHost, type RouteRequest } from './match.js';
import { mergeSlashes, normalizePath, unescapeSlashes, type EscapedSlashesAction } from './path.js';
import { trustedClientAddress } from './client-address.js';
import { perFilterConfigs, type FilterConfigChoice } from './filters.js';
import { rbacAllows, type RbacAddresses } from './rbac.js';
import { basicAuthDenial } from './basic-auth.js';
import { upstreamOutcomes, type UpstreamConditions, type UpstreamOutcome, type UpstreamResult } from './retry.js';
import { localReply, type LocalReply } from './local-reply.js';

export { EnvoyConfigError, type EnvoyConfigInput } from './config.js';
export { evaluateConnection, type StreamConnection, type StreamDecision } from './stream.js';
export type { HeaderAddition, HeaderRemoval } from './headers.js';
export { requestHeadersSent, responseHeadersSent } from './headers.js';
export type { WeightedClusterChoice } from './action.js';
export type { UpstreamConditions, UpstreamOutcome, UpstreamResult } from './retry.js';
export type { FilterConfigChoice, PerFilterLevel } from './filters.js';
export type { LocalReply } from './local-reply.js';

export interface EvaluateOptions {
  /** also resolve each HTTP filter's per-route configuration (decision.filters) */
  filters?: boolean;
  /** The directory relative DataSource filenames (basic_auth users files) are read from: Envoy's working directory (default: this process's). */
  filesFrom?: string;
}

export interface EnvoyRequest {
  /** destination port of the connection */
  port: number;
  /** destination IP (default 127.0.0.1) */
  address?: string;
  /** client IP (default 127.0.0.1), for source matches and %DOWNSTREAM_REMOTE_ADDRESS…% */
  remoteAddress?: string;
  remotePort?: number;
  sni?: string;
  alpn?: string[];
  /** default: 'tls' when sni or alpn is given, else 'raw_buffer' */
  transport?: 'raw_buffer' | 'tls';
  /** the Host / :authority header, maybe with a port */
  host: string;
  /** the raw request target, query included */
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** How the chosen cluster's endpoints behave (refusing connections, answering a status): decision.upstream says what the request may get. */
  upstream?: UpstreamConditions;
  /** The request body's length (for the buffer filter's limit); absent: no body. */
  bodyLength?: number;
}

export type DecisionKind =
  | 'route'
  | 'redirect'
  | 'direct_response'
  | 'no_listener'
  | 'no_filter_chain'
  | 'no_virtual_host'
  | 'no_route'
  | 'rejected';

export interface EnvoyDecision {
  kind: DecisionKind;
  listener?: string;
  filterChain?: number | string;
  virtualHost?: string;
  routeName?: string;
  routeIndex?: number;
  cluster?: string;
  weightedClusters?: WeightedClusterChoice[];
  upstreamPath?: string;
  upstreamHost?: string;
  /** The SNI of the upstream TLS connection (absent: plain, or no SNI). */
  upstreamSni?: string;
  redirectLocation?: string;
  status?: number;
  body?: string;
  requestHeadersToAdd?: HeaderAddition[];
  requestHeadersToRemove?: HeaderRemoval[];
  responseHeadersToAdd?: HeaderAddition[];
  responseHeadersToRemove?: HeaderRemoval[];
  /**
   * The connection manager's Server header handling, written after every route list
   * (server_header_transformation: OVERWRITE writes server_name, APPEND_IF_ABSENT only
   * where the response has none, PASS_THROUGH leaves the response's). Absent: neither
   * field is set (OVERWRITE with `envoy`).
   */
  serverHeader?: { transformation: string; name: string };
  timeout?: string;
  idleTimeout?: string;
  maxStreamDuration?: string;
  /** With request.upstream, for a forwarded request: what it may end with under the route's retry policy. */
  upstream?: UpstreamResult;
  /** with `filters: true`: each HTTP filter (router excepted) → the per-route config it uses */
  filters?: Record<string, FilterConfigChoice>;
  /**
   * When Envoy answers itself (direct response, redirect, a filter's reply, no route, a
   * rejected request): the status, body and Content-Type the client gets, local_reply_config
   * applied. `status` above stays the action's own.
   */
  reply?: LocalReply;
  notes?: string[];
}

const HCM_NAME = 'envoy.filters.network.http_connection_manager';
const HCM_TYPE = '.HttpConnectionManager';

function findNetworkFilter(chain: Obj, name: string, typeSuffix: string): Obj | undefined {
  const f = (chain.filters ?? []).find((x: Obj) => x.name === name || typeOf(x).endsWith(typeSuffix));
  return f?.typed_config ?? f?.config;
}

function result(d: EnvoyDecision, notes: string[]): EnvoyDecision {
  if (notes.length) d.notes = [...new Set(notes)];
  return d;
}

// ------------------------------------------------------------ the request as the HCM sees it

interface Prepared {
  req: RouteRequest;
  /** set when the HCM answers by itself (reject, or the escaped-slashes redirect) */
  early?: EnvoyDecision;
}

/** An HTTP/1 absolute-form target (`GET http://h/p`) gives :authority and :path. */
function splitAbsolute(host: string, path: string, notes: string[]): { host: string; path: string } {
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(path);
  if (!m) return { host, path };
  notes.push('absolute-form request target: its authority replaces the Host header');
  return { host: m[1]!, path: m[2] === '' ? '/' : m[2]!.startsWith('/') ? m[2]! : '/' + m[2]! };
}

/**
 * HCM: strip_any_host_port / strip_matching_host_port (the port is removed "only
 * if it is equal to the listener's local port"), then strip_trailing_host_dot
 * (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto).
 */
function normaliseHost(hcm: Obj, host: string, listenerPort: number): string {
  let h = host;
  const strip = boolValue(hcm.strip_any_host_port, false) ? 'any' : boolValue(hcm.strip_matching_host_port, false) ? 'matching' : 'none';
  const p = portStart(h);
  if (strip !== 'none' && p >= 0) {
    const port = h.slice(p + 1);
    if (/^\d+$/.test(port) && (strip === 'any' || Number(port) === listenerPort)) h = h.slice(0, p);
  }
  if (boolValue(hcm.strip_trailing_host_dot, false)) {
    const dot = h.lastIndexOf('.');
    if (dot >= 0 && dot === h.length - 1) h = h.slice(0, -1);
    else if (dot >= 0 && h[dot + 1] === ':') h = h.slice(0, dot) + h.slice(dot + 1);
  }
  return h;
}

function prepareRequest(hcm: Obj, r: EnvoyRequest, conn: ConnectionInfo, tls: boolean, notes: string[]): Prepared {
  const method = (r.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  const abs = splitAbsolute(r.host, r.path, notes);
  let path = abs.path;
  const authority = normaliseHost(hcm, abs.host, conn.port);
  // x-forwarded-proto is overwritten unless the previous hop is trusted (xff_num_trusted_hops > 0)
  // (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-proto);
  // for HTTP/1 :scheme follows it.
  const trusted = (numValue(hcm.xff_num_trusted_hops) ?? 0) > 0;
  const scheme = trusted && headers['x-forwarded-proto'] ? headers['x-forwarded-proto'] : tls ? 'https' : 'http';
  headers['x-forwarded-proto'] = scheme;
  // use_remote_address: Envoy appends the peer address to x-forwarded-for
  // (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-for).
  // skip_xff_append: "If set, Envoy will not append the remote address to the x-forwarded-for HTTP header."
  if (boolValue(hcm.use_remote_address, false) && !boolValue(hcm.skip_xff_append, false)) {
    const xff = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${xff},${conn.remoteAddress}` : conn.remoteAddress;
  }
  const base = (p: string): RouteRequest => {
    const h: Record<string, string> = { ...headers, ':authority': authority, ':path': p, ':method': method, ':scheme': scheme };
    delete h['host'];
    return { authority, path: p, method, scheme, headers: h, tls };
  };
  const reject = (why: string): Prepared => {
    notes.push(why);
    return { req: base(path), early: { kind: 'rejected', status: 400 } };
  };
  if (authority === '') return reject('no Host/:authority: Envoy answers 400');
  if (path.includes('#')) return reject('a fragment (#) in the request path: Envoy rejects it (400)');
  if (method !== 'CONNECT' && !path.startsWith('/')) return reject(`request target ${JSON.stringify(path)} is not a path`);
  // path_with_escaped_slashes_action
  const esc = enumValue(
    hcm.path_with_escaped_slashes_action,
    ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'],
    'IMPLEMENTATION_SPECIFIC_DEFAULT',
  );
  const action = (esc === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : esc) as EscapedSlashesAction;
  let redirectAfter = false;
  if (action !== 'KEEP_UNCHANGED') {
    const unescaped = unescapeSlashes(path);
    if (unescaped !== null) {
      if (action === 'REJECT_REQUEST') return reject('escaped slash (%2F/%5C) in the path: REJECT_REQUEST');
      redirectAfter = action === 'UNESCAPE_AND_REDIRECT';
      path = unescaped;
    }
  }
  if (boolValue(hcm.normalize_path, false)) {
    const n = normalizePath(path);
    if (n === null) return reject('normalize_path: the path cannot be canonicalised (400)');
    path = n;
  }
  if (boolValue(hcm.merge_slashes, false)) path = mergeSlashes(path);
  if (redirectAfter) {
    // UNESCAPE_AND_REDIRECT: "Envoy responds with a redirect to the unescaped path" (307 with the path as Location)
    notes.push('escaped slashes unescaped: UNESCAPE_AND_REDIRECT answers with a redirect to the normalised path');
    return { req: base(path), early: { kind: 'redirect', status: 307, redirectLocation: path } };
  }
  return { req: base(path) };
}

// ------------------------------------------------------------ evaluation

function routeConfigOf(hcm: Obj, cfg: LoadedConfig, notes: string[]): Obj | undefined {
  if (hcm.route_config) return hcm.route_config;
  if (hcm.rds) {
    const name = String(hcm.rds.route_config_name ?? '');
    const rc = cfg.routeConfigs.get(name);
    if (!rc) notes.push(`RDS route configuration ${JSON.stringify(name)} is not in the given xDS routes: Envoy has no routes for it`);
    return rc;
  }
  if (hcm.scoped_routes) notes.push('scoped_routes is not simulated');
  return undefined;
}

const isRouter = (f: Obj): boolean => f.name === 'envoy.filters.http.router' || typeOf(f).endsWith('.Router');
const isHttpRbac = (f: Obj): boolean => typeOf(f) === 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const isBasicAuth = (f: Obj): boolean => typeOf(f) === 'type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth';

const isBuffer = (f: Obj): boolean => typeOf(f) === 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer';

/**
 * The reply of the first HTTP filter, in decoding order, that answers the request itself:
 * an RBAC filter uses the route's most specific RBACPerRoute (its `rbac`; without one the
 * filter is off on the route), else its own rules (none: everything passes), and denies
 * with 403 "RBAC: access denied"; the buffer filter (BufferPerRoute `disabled`, or its
 * `buffer`, else the filter's max_request_bytes) answers 413 "Payload Too Large" to a
 * body over the limit.
 */
function filterReply(
  hcm: Obj,
  rc: Obj,
  vh: Obj,
  route: Obj,
  addrs: RbacAddresses,
  req: RouteRequest,
  bodyLength: number | undefined,
  notes: string[],
  filesFrom: string | undefined,
): { status: number; body: string; responseHeadersToAdd?: HeaderAddition[] } | null {
  // in their order in the chain: the first refusing answers
  const filters: Obj[] = (hcm.http_filters ?? []).filter((f: Obj) => isHttpRbac(f) || isBuffer(f) || isBasicAuth(f));
  if (filters.length === 0) return null;
  const choices = perFilterConfigs(hcm, rc, vh, route, []);
  for (const f of filters) {
    if (isBasicAuth(f)) {
      const denied = basicAuthDenial(hcm, rc, vh, route, req, notes, filesFrom);
      if (!denied) continue;
      const headers = Object.entries(denied.headers).map(([key, value]) => ({ key, value, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', level: 'route' as const }));
      return { status: denied.status, body: denied.body, responseHeadersToAdd: headers };
    }
    const perRoute = choices[String(f.name ?? '')]?.config ?? null;
    if (isBuffer(f)) {
      if (bodyLength === undefined || perRoute?.disabled === true) continue;
      const max = numValue((perRoute?.buffer ?? f.typed_config)?.max_request_bytes) ?? Infinity;
      if (bodyLength > max) return { status: 413, body: 'Payload Too Large' };
      continue;
    }
    const config = perRoute ? (perRoute.rbac ?? null) : (f.typed_config ?? {});
    if (config !== null && !rbacAllows(config, addrs, notes, req.headers)) return { status: 403, body: 'RBAC: access denied' };
  }
  return null;
}

/** A filter's local reply after the connection manager's mappers, their headers added to the ones it sends. */
function withFilterReply(hcm: Obj, d: EnvoyDecision, notes: string[]): EnvoyDecision {
  const out = withReply(hcm, d, notes);
  const added = out.reply?.headers;
  if (!added?.length) return out;
  const mapped = added.map((h) => ({ key: h.key, value: h.value, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', level: 'route' as const }));
  // a mapper's headers_to_add overwrite the filter's own (OVERWRITE_IF_EXISTS_OR_ADD)
  const kept = (out.responseHeadersToAdd ?? []).filter((h) => !mapped.some((m) => m.key === h.key.toLowerCase()));
  return { ...out, responseHeadersToAdd: [...kept, ...mapped] };
}

function httpFilterNotes(hcm: Obj, notes: string[]): void {
  const filters: Obj[] = hcm.http_filters ?? [];
  const last = filters[filters.length - 1];
  if (!last || !(last.name === 'envoy.filters.http.router' || typeOf(last).endsWith('.Router'))) {
    notes.push('the router filter is not the last HTTP filter: Envoy rejects such a connection manager');
  }
  const others = filters.filter((f) => !isRouter(f) && !isHttpRbac(f) && !isBuffer(f) && !isBasicAuth(f)).map((f) => String(f.name ?? typeOf(f)));
  if (others.length) notes.push(`HTTP filters not simulated (they may answer first): ${others.join(', ')}`);
}

/**
 * VirtualHost.require_tls: ALL or EXTERNAL_ONLY — "If a request is not using TLS,
 * a 301 should be sent for the request to use HTTPS" (the request is taken as
 * external, there is no trusted x-envoy-internal here).
 */
function requireTlsRedirect(vh: Obj, req: RouteRequest): EnvoyDecision | undefined {
  const rt = enumValue(vh.require_tls, ['NONE', 'EXTERNAL_ONLY', 'ALL'], 'NONE');
  if (rt === 'NONE' || req.tls) return undefined;
  const p = portStart(req.authority);
  const host = p >= 0 && req.authority.slice(p) === ':80' ? req.authority.slice(0, p) : req.authority;
  return { kind: 'redirect', status: 301, redirectLocation: `https://${host}${req.path}` };
}

/**
 * HCM server_name (default "envoy") and server_header_transformation (default OVERWRITE)
 * (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto).
 */
function serverHeaderOf(hcm: Obj): EnvoyDecision['serverHeader'] | null {
  if (hcm.server_name === undefined && hcm.server_header_transformation === undefined) return null;
  const transformation = enumValue(hcm.server_header_transformation, ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'], 'OVERWRITE');
  return { transformation, name: hcm.server_name === undefined ? 'envoy' : String(hcm.server_name) };
}

function decide(cfg: LoadedConfig, r: EnvoyRequest, notes: string[], opts: EvaluateOptions): EnvoyDecision {
  const address = r.address ?? '127.0.0.1';
  const listener = selectListener(cfg.listeners, address, r.port, notes);
  if (!listener) return { kind: 'no_listener' };
  const out: EnvoyDecision = { kind: 'no_filter_chain', listener: String(listener.name ?? '') };
  const conn = detectConnection(listener, { ...r, address, remoteAddress: r.remoteAddress ?? '127.0.0.1' }, notes);
  const choice = selectFilterChain(listener, conn, notes);
  if (!choice.chain) return out;
  out.filterChain = choice.id;
  const hcm = findNetworkFilter(choice.chain, HCM_NAME, HCM_TYPE);
  if (!hcm) {
    // A tcp_proxy forwards the bytes as they come, TLS included (SNI passthrough).
    const tcp = findNetworkFilter(choice.chain, 'envoy.filters.network.tcp_proxy', '.TcpProxy');
    if (tcp) {
      notes.push('the filter chain is a tcp_proxy: the connection is forwarded as is');
      return { ...out, kind: 'route', cluster: tcp.cluster ? String(tcp.cluster) : undefined };
    }
  }
  const clientTls = r.transport ? r.transport === 'tls' : Boolean(r.sni || r.alpn?.length);
  const chainTls = chainTerminatesTls(choice.chain);
  if (clientTls !== chainTls) {
    notes.push(chainTls ? 'plaintext request on a filter chain that terminates TLS: the handshake fails' : 'TLS request on a plaintext filter chain: the bytes are not HTTP');
    return { ...out, kind: 'rejected' };
  }
  if (!hcm) {
    notes.push('the filter chain has no http_connection_manager');
    return { ...out, kind: 'rejected' };
  }
  httpFilterNotes(hcm, notes);
  const server = serverHeaderOf(hcm);
  if (server) out.serverHeader = server;
  const { req, early } = prepareRequest(hcm, r, conn, chainTls, notes);
  if (early) return withReply(hcm, { ...out, ...early }, notes);
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) own[k.toLowerCase()] = v;
  const client: ConnectionInfo = { ...conn, remoteAddress: trustedClientAddress(hcm, own, conn.remoteAddress, notes) };
  const rc = routeConfigOf(hcm, cfg, notes);
  const vh = rc ? selectVirtualHost(rc, req.authority) : undefined;
  if (!rc || !vh) return withReply(hcm, { ...out, kind: 'no_virtual_host', status: 404 }, notes, ['NR']);
  out.virtualHost = String(vh.name ?? '');
  const tlsRedirect = requireTlsRedirect(vh, req);
  if (tlsRedirect) {
    notes.push(`virtual host require_tls: plaintext request redirected to https`);
    return withReply(hcm, { ...out, ...tlsRedirect }, notes);
  }
  const routes: Obj[] = vh.routes ?? [];
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    const pm = routeMatches(route.match ?? {}, req, notes);
    if (!pm) continue;
    const d: EnvoyDecision = { ...out, ...actOn(cfg, rc, vh, route, i, req, pm, client, notes) };
    if (opts.filters) d.filters = perFilterConfigs(hcm, rc, vh, route, notes);
    // The HTTP filters decode before the router: a request one of them answers never reaches the route's action.
    const answered = filterReply(hcm, rc, vh, route, { direct: conn.remoteAddress, remote: client.remoteAddress }, req, r.bodyLength, notes, opts.filesFrom);
    if (answered) {
      const denied: EnvoyDecision = { ...out, kind: 'direct_response', ...answered, routeIndex: i, ...(route.name === undefined ? {} : { routeName: String(route.name) }) };
      return withFilterReply(hcm, denied, notes);
    }
    if (r.upstream && d.kind === 'route' && route.route && d.cluster !== undefined && d.status === undefined) {
      d.upstream = upstreamOutcomes(cfg, route, vh, d.cluster, r.upstream, notes, durationValue(hcm.stream_idle_timeout));
      d.upstream.outcomes = d.upstream.outcomes.map((o) => (o.kind === 'failed' ? failedReply(hcm, o, d.routeName, notes) : o));
    }
    return d.kind === 'route' ? d : withReply(hcm, d, notes);
  }
  return withReply(hcm, { ...out, kind: 'no_route', status: 404 }, notes, ['NR']);
}

/** Envoy's own text for a failed upstream request, by response flag (the router's local replies). */
const FAILURE_BODIES: Record<string, string> = {
  UF: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  UH: 'no healthy upstream',
  NC: 'cluster not found',
  UT: 'upstream request timeout',
  SI: 'stream timeout',
};

/** A failed upstream outcome as the client gets it: local_reply_config applied to Envoy's reply. */
function failedReply(hcm: Obj, o: Extract<UpstreamOutcome, { kind: 'failed' }>, routeName: string | undefined, notes: string[]): UpstreamOutcome {
  const flags = o.flags ?? [];
  const reply = localReply(hcm, { status: o.status, body: FAILURE_BODIES[flags[0] ?? ''] ?? '', flags, ...(routeName === undefined ? {} : { routeName }) }, notes);
  return { ...o, status: reply.status, reply };
}

/** A decision Envoy answers itself, with the reply the client gets. */
function withReply(hcm: Obj, d: EnvoyDecision, notes: string[], flags: string[] = []): EnvoyDecision {
  if (d.status === undefined) return d;
  const type = d.responseHeadersToAdd?.filter((h) => h.key.toLowerCase() === 'content-type').pop()?.value;
  const input = { status: d.status, body: d.body ?? '', flags, ...(d.routeName === undefined ? {} : { routeName: d.routeName }), ...(type === undefined ? {} : { contentType: type }) };
  return { ...d, reply: localReply(hcm, input, notes) };
}

function actOn(
  cfg: LoadedConfig,
  rc: Obj,
  vh: Obj,
  route: Obj,
  index: number,
  req: RouteRequest,
  pm: { matched: string },
  conn: ConnectionInfo,
  notes: string[],
): EnvoyDecision {
  const d: EnvoyDecision = { kind: 'route', routeIndex: index };
  if (route.name !== undefined) d.routeName = String(route.name);
  if (route.route) {
    const f = forward(route.route, cfg, req, pm, notes);
    Object.assign(d, {
      cluster: f.cluster,
      weightedClusters: f.weightedClusters,
      upstreamPath: f.upstreamPath,
      upstreamHost: f.upstreamHost,
      upstreamSni: f.upstreamSni,
      status: f.status,
      timeout: f.timeout,
      idleTimeout: f.idleTimeout,
      maxStreamDuration: f.maxStreamDuration,
    });
  } else if (route.redirect) {
    const rd = redirect(route.redirect, req, pm, req.scheme);
    Object.assign(d, { kind: 'redirect', redirectLocation: rd.location, status: rd.status });
  } else if (route.direct_response) {
    const dr = directResponse(route.direct_response, notes);
    Object.assign(d, { kind: 'direct_response', status: dr.status, body: dr.body });
  } else {
    notes.push('route has no route/redirect/direct_response action (filter_action or non_forwarding_action)');
  }
  addHeaders(d, rc, vh, route, req, conn, notes);
  for (const k of Object.keys(d) as (keyof EnvoyDecision)[]) if (d[k] === undefined) delete d[k];
  return d;
}

function addHeaders(d: EnvoyDecision, rc: Obj, vh: Obj, route: Obj, req: RouteRequest, conn: ConnectionInfo, notes: string[]): void {
  const ctx: FormatContext = {
    headers: req.headers,
    remoteAddress: conn.remoteAddress,
    remotePort: conn.remotePort,
    localAddress: conn.address,
    localPort: conn.port,
    sni: conn.sni,
    protocol: conn.alpn.includes('h2') ? 'HTTP/2' : 'HTTP/1.1',
  };
  const sources: HeaderSource[] = [];
  // Only a weighted cluster with all of the weight is known to be chosen.
  const wc: Obj[] = route.route?.weighted_clusters?.clusters ?? [];
  const chosen = wc.find((c) => c.name === d.cluster);
  if (chosen) sources.push({ level: 'weighted_cluster', obj: chosen });
  else if (wc.length > 1) notes.push('weighted clusters: the per-cluster header mutations depend on the random pick and are not listed');
  sources.push({ level: 'route', obj: route }, { level: 'virtual_host', obj: vh }, { level: 'route_configuration', obj: rc });
  const wins = boolValue(rc.most_specific_header_mutations_wins, false);
  // Request headers are mutated only on a request Envoy forwards: the router answers a
  // direct response or a redirect before it finalises the request headers
  // (Router::Filter::decodeHeaders, source/common/router/router.cc).
  if (route.route) {
    const reqH = effectiveHeaders(sources, 'request', wins, ctx, notes);
    if (reqH.add.length) d.requestHeadersToAdd = reqH.add;
    if (reqH.remove.length) d.requestHeadersToRemove = reqH.remove;
  }
  const resH = effectiveHeaders(sources, 'response', wins, ctx, notes);
  if (resH.add.length) d.responseHeadersToAdd = resH.add;
  if (resH.remove.length) d.responseHeadersToRemove = resH.remove;
}

/**
 * What Envoy would do with `req` under `config`. Throws EnvoyConfigError when the
 * configuration is one Envoy would refuse to load (bad regex, duplicate domain…).
 */
export function evaluate(config: EnvoyConfigInput, req: EnvoyRequest, opts: EvaluateOptions = {}): EnvoyDecision {
  const notes: string[] = [];
  const cfg = loadConfig(config);
  return result(decide(cfg, req, notes, opts), notes);
}

/** The same, for many requests against one configuration (loads it once). */
export function evaluator(config: EnvoyConfigInput, opts: EvaluateOptions = {}): (req: EnvoyRequest) => EnvoyDecision {
  const cfg = loadConfig(config);
  return (req) => {
    const notes: string[] = [];
    return result(decide(cfg, req, notes, opts), notes);
  };
}
