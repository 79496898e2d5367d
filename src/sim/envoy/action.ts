// What a matched route does: forward (RouteAction), redirect (RedirectAction) or
// answer directly (DirectResponseAction).
// Docs: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto
// (RouteAction, WeightedCluster, RedirectAction, DirectResponseAction).

import { boolValue, durationValue, enumValue, numValue, type LoadedConfig, type Obj } from './config.js';
import { portStart, redirectCode, type PathMatchResult, type RouteRequest } from './match.js';
import { pathOnly, splitQuery } from './path.js';
import { re2GlobalReplace } from './regex.js';

export interface WeightedClusterChoice {
  cluster: string;
  weight: number;
}

export interface ForwardResult {
  cluster?: string;
  weightedClusters?: WeightedClusterChoice[];
  upstreamPath: string;
  upstreamHost: string;
  /** The SNI of the upstream TLS connection (undefined: plain, or TLS without SNI). */
  upstreamSni?: string;
  status?: number;
  timeout?: string;
  idleTimeout?: string;
  maxStreamDuration?: string;
}

/**
 * prefix_rewrite: "the matched prefix (or path) should be swapped with this value";
 * for `path` and `safe_regex` matches the whole path (without query) is the matched
 * part. The query string is kept.
 * regex_rewrite: "rewrite the path portion of the URL (without query)" with every
 * match of `pattern` substituted (RE2 GlobalReplace, `\1` groups), query kept.
 */
export function rewritePath(action: Obj, fullPath: string, pm: PathMatchResult): string {
  if (action.prefix_rewrite !== undefined) {
    return String(action.prefix_rewrite) + fullPath.slice(pm.matched.length);
  }
  if (action.regex_rewrite !== undefined) {
    const { path, query } = splitQuery(fullPath);
    const rr = action.regex_rewrite;
    return re2GlobalReplace(String(rr.pattern?.regex ?? ''), path, String(rr.substitution ?? '')) + query;
  }
  return fullPath;
}

function clusterEndpoints(cfg: LoadedConfig, cluster: Obj): Obj[] {
  const cla = cluster.load_assignment ?? cfg.endpoints.get(String(cluster.eds_cluster_config?.service_name ?? cluster.name));
  const out: Obj[] = [];
  for (const group of cla?.endpoints ?? []) for (const lb of group.lb_endpoints ?? []) if (lb.endpoint) out.push(lb.endpoint);
  return out;
}

/**
 * auto_host_rewrite: "the host header will be swapped with the hostname of the
 * upstream host chosen by the cluster manager. This option is applicable only when
 * the destination cluster for a route is of type strict_dns or logical_dns, or when
 * hostname field in clusters endpoint is set." The DNS name is used without port.
 */
function autoHost(cfg: LoadedConfig, clusterName: string | undefined, notes: string[]): string | undefined {
  if (!clusterName) return undefined;
  const cluster = cfg.clusters.get(clusterName);
  if (!cluster) return undefined;
  const type = enumValue(cluster.type, ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'], cluster.cluster_type ? 'CUSTOM' : 'STATIC');
  const names = clusterEndpoints(cfg, cluster).map((e) => {
    if (e.hostname) return String(e.hostname);
    if (type === 'STRICT_DNS' || type === 'LOGICAL_DNS') return String(e.address?.socket_address?.address ?? '');
    return '';
  });
  const distinct = [...new Set(names)];
  if (distinct.length > 1) notes.push(`auto_host_rewrite: cluster ${clusterName} has endpoints with different hostnames (${distinct.join(', ')}); the first is reported`);
  if (!distinct[0]) {
    notes.push(`auto_host_rewrite has no effect: cluster ${clusterName} is ${type} and its endpoint has no hostname`);
    return undefined;
  }
  return distinct[0];
}

function rewriteHost(action: Obj, cfg: LoadedConfig, req: RouteRequest, cluster: string | undefined, notes: string[]): string {
  if (action.host_rewrite_literal !== undefined) return String(action.host_rewrite_literal);
  if (boolValue(action.auto_host_rewrite, false)) return autoHost(cfg, cluster, notes) ?? req.authority;
  if (action.host_rewrite_header !== undefined) {
    // "the host header will be swapped with the content of given downstream or custom header"; empty → unchanged
    const v = req.headers[String(action.host_rewrite_header).toLowerCase()];
    return v ? v : req.authority;
  }
  if (action.host_rewrite_path_regex !== undefined) {
    const r = action.host_rewrite_path_regex;
    return re2GlobalReplace(String(r.pattern?.regex ?? ''), pathOnly(req.path), String(r.substitution ?? ''));
  }
  return req.authority;
}

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * The SNI a cluster's TLS transport socket sends for a request forwarded with `host`.
 * UpstreamHttpProtocolOptions.auto_sni: "set transport socket SNI for new upstream
 * connections based on the downstream HTTP host/authority header", as the router sends it
 * (after host rewrites), without its port and not for an IP address (Envoy's router:
 * parseAuthority, is_ip_address_); otherwise UpstreamTlsContext.sni.
 */
export function upstreamSni(cluster: Obj | undefined, host: string): string | undefined {
  const tls = upstreamTlsContext(cluster);
  if (!tls) return undefined;
  const http = cluster!.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS];
  if (boolValue(http?.upstream_http_protocol_options?.auto_sni, false)) {
    const name = authorityHost(host);
    if (name !== '' && !ipLiteral(name)) return name;
  }
  return tls.sni ? String(tls.sni) : undefined;
}

/**
 * A cluster's UpstreamTlsContext: its transport_socket's, or the one wrapped by an
 * upstream_proxy_protocol socket (the PROXY header is sent, then that socket runs). null: plain.
 */
export function upstreamTlsContext(cluster: Obj | undefined): Obj | null {
  let socket = cluster?.transport_socket;
  while (socket) {
    const type = String(socket.typed_config?.['@type'] ?? '');
    if (type.endsWith('.UpstreamTlsContext')) return socket.typed_config;
    if (!type.endsWith('.ProxyProtocolUpstreamTransport')) return null;
    socket = socket.typed_config.transport_socket;
  }
  return null;
}

/** The host part of an authority: `[v6]` without brackets, else up to the port's colon. */
function authorityHost(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(1, end);
  }
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

function ipLiteral(host: string): boolean {
  return host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

const NOT_FOUND_CODES: Record<string, number> = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 };

export function forward(action: Obj, cfg: LoadedConfig, req: RouteRequest, pm: PathMatchResult, notes: string[]): ForwardResult {
  const res: ForwardResult = { upstreamPath: rewritePath(action, req.path, pm), upstreamHost: req.authority };
  const notFound = NOT_FOUND_CODES[enumValue(action.cluster_not_found_response_code, Object.keys(NOT_FOUND_CODES), 'SERVICE_UNAVAILABLE')] ?? 503;
  if (action.cluster !== undefined) {
    res.cluster = String(action.cluster);
  } else if (action.cluster_header !== undefined) {
    const v = req.headers[String(action.cluster_header).toLowerCase()];
    if (v) res.cluster = v;
    else {
      notes.push(`cluster_header ${action.cluster_header} is absent from the request`);
      res.status = notFound;
    }
  } else if (action.weighted_clusters !== undefined) {
    const list: Obj[] = action.weighted_clusters.clusters ?? [];
    res.weightedClusters = list.map((c) => ({ cluster: String(c.name ?? c.cluster_header ?? ''), weight: numValue(c.weight) ?? 0 }));
    const live = res.weightedClusters.filter((w) => w.weight > 0);
    if (live.length === 1) res.cluster = live[0]!.cluster;
  } else {
    notes.push('RouteAction has no cluster specifier this evaluator knows (cluster_specifier_plugin / inline_cluster_specifier_plugin)');
  }
  if (res.cluster !== undefined && !cfg.clusters.has(res.cluster)) {
    notes.push(`cluster ${res.cluster} does not exist: Envoy answers cluster_not_found_response_code`);
    res.status = notFound;
  }
  res.upstreamHost = rewriteHost(action, cfg, req, res.cluster, notes);
  if (res.cluster !== undefined) res.upstreamSni = upstreamSni(cfg.clusters.get(res.cluster), res.upstreamHost);
  res.timeout = durationValue(action.timeout);
  if (res.timeout === undefined) notes.push('route timeout not set: Envoy applies its default of 15s');
  res.idleTimeout = durationValue(action.idle_timeout);
  res.maxStreamDuration = durationValue(action.max_stream_duration?.max_stream_duration);
  return res;
}

// ------------------------------------------------------------ redirects

/**
 * The Host of a redirect when host_redirect is not set: the request's Host, with
 * its port removed when a port_redirect is given, or when the scheme changes and
 * the port is the default of the original scheme (Envoy's Http::Utility::newUri /
 * processRequestHost: ":80" for http, ":443" for https, judged by x-forwarded-proto).
 */
function redirectHost(requestHost: string, newScheme: string, newPort: string, forwardedProto: string): string {
  const p = portStart(requestHost);
  if (p < 0) return requestHost;
  const port = requestHost.slice(p);
  let remove = newPort !== '';
  if (newScheme !== forwardedProto) {
    remove ||= forwardedProto === 'https' && port === ':443';
    remove ||= forwardedProto === 'http' && port === ':80';
  }
  return remove ? requestHost.slice(0, p) : requestHost;
}

/**
 * RedirectAction → the Location header. scheme_redirect / https_redirect, else the
 * request's scheme; host_redirect, else the request Host (see redirectHost);
 * port_redirect appended as ":port"; path_redirect (its own query, if it has one,
 * wins and is never stripped; otherwise the request's query is kept) or
 * prefix_rewrite / regex_rewrite applied to the request path; strip_query removes
 * the query. Status from response_code (default MOVED_PERMANENTLY, 301).
 */
export function redirect(r: Obj, req: RouteRequest, pm: PathMatchResult, forwardedProto: string): { location: string; status: number } {
  const scheme = r.scheme_redirect ? String(r.scheme_redirect) : boolValue(r.https_redirect, false) ? 'https' : req.scheme;
  const portNum = numValue(r.port_redirect);
  const port = portNum ? `:${portNum}` : '';
  const host = r.host_redirect ? String(r.host_redirect) : redirectHost(req.authority, scheme, port, forwardedProto);
  let path: string;
  let pathHasQuery = false;
  if (r.path_redirect !== undefined && r.path_redirect !== '') {
    const pr = String(r.path_redirect);
    pathHasQuery = pr.includes('?');
    path = pathHasQuery ? pr : pr + splitQuery(req.path).query;
  } else if (r.prefix_rewrite !== undefined || r.regex_rewrite !== undefined) {
    path = rewritePath(r, req.path, pm);
  } else {
    path = req.path;
  }
  if (!path.startsWith('/')) path = '/' + path;
  if (!pathHasQuery && boolValue(r.strip_query, false)) path = splitQuery(path).path;
  return { location: `${scheme}://${host}${port}${path}`, status: redirectCode(r.response_code) };
}

// ------------------------------------------------------------ direct responses

/** DirectResponseAction: status and body (inline_string, inline_bytes base64; filename not read). */
export function directResponse(d: Obj, notes: string[]): { status: number; body?: string } {
  const status = numValue(d.status) ?? 200;
  const b = d.body;
  if (!b) return { status };
  if (b.inline_string !== undefined) return { status, body: String(b.inline_string) };
  if (b.inline_bytes !== undefined) return { status, body: Buffer.from(String(b.inline_bytes), 'base64').toString('utf8') };
  if (b.filename !== undefined) notes.push(`direct_response body is read from file ${b.filename} (not read here)`);
  if (b.environment_variable !== undefined) notes.push(`direct_response body comes from environment variable ${b.environment_variable}`);
  return { status };
}
