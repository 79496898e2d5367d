// IR backends → Envoy clusters with load assignments, one per transport the
// backend is used with (plain, TLS with its settings, HTTP/2). nginx's defaults
// that differ from Envoy's are set explicitly (connect timeout, circuit
// breakers, connection reuse, DNS families).
import type { Backend, BackendCluster, BackendServer, UpstreamTls } from '../../ir/types.js';
import { isIp } from '../../lower/upstream.js';
import { formatMs } from '../../lower/util.js';
import type { Emission, Json } from './context.js';
import { tlsParams } from './tls.js';

export interface BackendUse {
  /** proxy_connect_timeout of every location using the cluster (ms). */
  connectTimeoutsMs: number[];
}

export const UNLIMITED = 4294967295;

const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** The clusters of a backend (`uses` by cluster name). */
export function emitClusters(b: Backend, uses: Map<string, BackendUse>, em: Emission): Json[] {
  return b.clusters.map((c) => emitCluster(b, c, uses.get(c.name), em));
}

export function emitCluster(b: Backend, cluster: BackendCluster, use: BackendUse | undefined, em: Emission): Json {
  const name = cluster.name;
  const servers = b.servers.filter((s) => !s.down);
  const dns = servers.some((s) => !s.unix && !isIp(s.host));
  const timeouts = use?.connectTimeoutsMs.length ? use.connectTimeoutsMs : [60000];
  const connect = Math.max(...timeouts);
  if (new Set(timeouts).size > 1) {
    em.note(b.source, 'proxy_connect_timeout', 'approximated', `cluster ${name}: locations use different proxy_connect_timeout values; Envoy has one per cluster: ${formatMs(connect)} (the longest) used`);
  }
  const c: Json = {
    name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    connect_timeout: formatMs(connect),
    lb_policy: lbPolicy(b),
  };
  if (dns) c.dns_lookup_family = 'ALL';
  if (b.balance.kind === 'random' && b.balance.two) c.least_request_lb_config = { choice_count: 2 };
  c.load_assignment = { cluster_name: name, endpoints: localities(servers) };
  // nginx has no connection/request caps per upstream; Envoy's default is 1024 each.
  c.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED }] };
  c.typed_extension_protocol_options = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': protocolOptions(b, cluster.transport.http2, cluster.transport.tls) };
  const od = outlierDetection(b, servers);
  if (od) c.outlier_detection = od;
  // proxy_socket_keepalive on: SO_KEEPALIVE with the OS's probe timings (an empty TcpKeepalive leaves them to the OS, as nginx does)
  if (cluster.transport.tcpKeepalive) c.upstream_connection_options = { tcp_keepalive: {} };
  const tls = cluster.transport.tls;
  if (tls) c.transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: upstreamTlsContext(tls) };
  if (servers.length === 0) em.note(b.source, 'upstream', 'approximated', `cluster ${name} has no usable server (all down): Envoy answers 503 where nginx answers 502`);
  em.comment(c, b.source);
  return c;
}

/** The cluster lb_policy of a balancing method (stream clusters too). */
export function lbPolicy(b: Pick<Backend, 'balance'>): string {
  switch (b.balance.kind) {
    case 'least_conn':
      return 'LEAST_REQUEST';
    case 'ip_hash':
      return 'RING_HASH';
    case 'hash':
      return b.balance.consistent ? 'RING_HASH' : 'MAGLEV';
    case 'random':
      return b.balance.two ? 'LEAST_REQUEST' : 'RANDOM';
    default:
      return 'ROUND_ROBIN';
  }
}

/** Endpoints by priority: the primary servers, then `backup` ones at priority 1 (stream clusters too). */
export function localities(servers: BackendServer[]): Json[] {
  const primary = servers.filter((s) => !s.backup);
  const backup = servers.filter((s) => s.backup);
  const out: Json[] = [];
  if (primary.length) out.push({ lb_endpoints: primary.map(endpoint) });
  if (backup.length) out.push({ priority: 1, lb_endpoints: backup.map(endpoint) });
  return out;
}

function endpoint(s: BackendServer): Json {
  const address = s.unix ? { pipe: { path: s.host } } : { socket_address: { address: s.host, port_value: s.port } };
  const e: Json = { endpoint: { address } };
  if (s.weight !== 1) e.load_balancing_weight = s.weight;
  return e;
}

/**
 * The UpstreamTlsContext of a TLS transport. nginx's defaults: no SNI, no verification, and
 * TLS up to 1.3. Envoy's client side stops at TLS 1.2 unless told otherwise (TlsParameters:
 * "TLSv1_2 for clients"), which an upstream accepting only TLS 1.3 refuses: the maximum is
 * always set.
 */
export function upstreamTlsContext(tls: UpstreamTls): Json {
  const ctx: Json = { '@type': UPSTREAM_TLS };
  const common: Json = {};
  const params = tlsParams(tls.protocols, tls.ciphers) ?? {};
  params.tls_maximum_protocol_version ??= 'TLSv1_3';
  common.tls_params = params;
  if (tls.certificate) common.tls_certificates = [{ certificate_chain: { filename: tls.certificate.cert }, private_key: { filename: tls.certificate.key } }];
  if (tls.verify) {
    const v: Json = { trusted_ca: { filename: tls.verify.trustedCa } };
    // nginx checks the certificate against proxy_ssl_name (X509_check_host: DNS SANs, wildcards included).
    if (tls.verify.name) v.match_typed_subject_alt_names = [{ san_type: 'DNS', matcher: { exact: tls.verify.name } }];
    if (tls.verify.crl) v.crl = { filename: tls.verify.crl };
    // OpenSSL's depth leaves the trust anchor out, Envoy's counts it.
    v.max_verify_depth = Math.min(tls.verify.depth + 1, 100);
    common.validation_context = v;
  }
  if (Object.keys(common).length) ctx.common_tls_context = common;
  if (tls.sni) ctx.sni = tls.sni;
  if (tls.noSessionReuse) ctx.max_session_keys = 0;
  return ctx;
}

function protocolOptions(b: Backend, http2: boolean, tls: UpstreamTls | null): Json {
  const o: Json = { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions' };
  // proxy_ssl_name $host: SNI and name checked from the Host the router forwards (port
  // stripped; none for an IP literal, as nginx), connections pooled per name.
  if (tls?.sniFromHost || tls?.verify?.nameFromHost) {
    const auto: Json = {};
    if (tls.sniFromHost) auto.auto_sni = true;
    if (tls.verify?.nameFromHost) auto.auto_san_validation = true;
    o.upstream_http_protocol_options = auto;
  }
  o.explicit_http_config = http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} };
  // Without `keepalive` nginx opens a new upstream connection per request.
  o.common_http_protocol_options = b.keepalive ? { idle_timeout: '60s', max_requests_per_connection: 1000 } : { max_requests_per_connection: 1 };
  return o;
}

/** nginx's passive checks (max_fails within fail_timeout) as consecutive local-origin failures. */
export function outlierDetection(b: Pick<Backend, 'kind'>, servers: BackendServer[]): Json | null {
  if (b.kind !== 'upstream' || servers.length < 2) return null;
  const first = servers[0]!;
  if (first.maxFails === 0) return null;
  const t = formatMs(first.failTimeoutMs || 10000);
  return {
    split_external_local_origin_errors: true,
    consecutive_local_origin_failure: first.maxFails,
    enforcing_consecutive_local_origin_failure: 100,
    enforcing_consecutive_5xx: 0,
    enforcing_consecutive_gateway_failure: 0,
    enforcing_success_rate: 0,
    enforcing_local_origin_success_rate: 0,
    interval: t,
    base_ejection_time: t,
    max_ejection_time: t,
    max_ejection_percent: 100,
  };
}
