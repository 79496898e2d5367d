// IR stream servers → Envoy TCP listeners (tcp_proxy filter chains; an SNI
// selection as chains matched on server_names behind a tls_inspector) and the
// stream clusters. As in nginx, a wildcard address and specific addresses of the
// same port share one socket: the specific ones become chains of the wildcard
// listener matched on the destination address (checked before the server name,
// as nginx picks the server by address first).
import type { Src, StreamBackend, StreamCluster, StreamConfig, StreamListen, StreamServer, StreamTls } from '../../ir/types.js';
import { isIp } from '../../lower/upstream.js';
import { formatMs } from '../../lower/util.js';
import { streamClusterName } from '../../lower/stream-backends.js';
import { accessPrincipal } from './access.js';
import { lbPolicy, localities, outlierDetection, UNLIMITED, upstreamTlsContext } from './clusters.js';
import { downstreamTlsContext, type PortTls, TLS_INSPECTOR, transportSocket } from './tls.js';
import { splitCurves } from '../../lower/tls.js';
import type { Emission, Json } from './context.js';

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const DIRECT_RESPONSE = 'type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config';
const PROXY_PROTOCOL_LISTENER = 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol';
const UPSTREAM_PROXY_PROTOCOL = 'type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport';
const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

export interface StreamEmission {
  listeners: Json[];
  clusters: Json[];
}

/** The listener name of a stream address:port: `stream_tcp_<address>_<port>` (`[v6]` addresses). */
export function streamListenerName(l: { address: string; port: number; udp: boolean }): string {
  return `stream_${l.udp ? 'udp' : 'tcp'}_${l.address.includes(':') ? `[${l.address}]` : l.address}_${l.port}`;
}

export function emitStream(stream: StreamConfig, em: Emission): StreamEmission {
  const backends = new Map(stream.backends.map((b) => [b.name, b]));
  const listeners = [...tcpListeners(stream.servers, backends, em), ...udpListeners(stream.servers, backends, em)];
  const clusters = stream.backends.flatMap((b) => b.clusters.map((c) => streamCluster(b, c, em)));
  return { listeners, clusters };
}

// ---------------------------------------------------------------- listeners

interface Bound {
  server: StreamServer;
  listen: StreamListen;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function tcpListeners(servers: StreamServer[], backends: Map<string, StreamBackend>, em: Emission): Json[] {
  // Per family and port, the listens of translated servers, in file order.
  const groups = new Map<string, Bound[]>();
  for (const server of servers) {
    if (server.routing.kind === 'untranslated') continue;
    for (const listen of server.listens) {
      if (listen.udp) continue;
      const key = `${listen.address.includes(':') ? 'v6' : 'v4'}:${listen.port}`;
      const g = groups.get(key) ?? [];
      g.push({ server, listen });
      groups.set(key, g);
    }
  }
  const out: Json[] = [];
  for (const group of groups.values()) {
    const wildcard = group.find((b) => isWildcard(b.listen.address));
    const sockets = wildcard ? [group] : [...new Set(group.map((b) => b.listen.address))].map((a) => group.filter((b) => b.listen.address === a));
    for (const members of sockets) out.push(tcpListener(members, wildcard !== undefined && members.length > 1, backends, em));
  }
  out.sort((a, b) => (a.address.socket_address.address < b.address.socket_address.address ? -1 : a.address.socket_address.address > b.address.socket_address.address ? 1 : a.address.socket_address.port_value - b.address.socket_address.port_value));
  return out;
}

function tcpListener(members: Bound[], byAddress: boolean, backends: Map<string, StreamBackend>, em: Emission): Json {
  const first = members.find((b) => isWildcard(b.listen.address)) ?? members[0]!;
  const chains = members.flatMap((b) => serverChains(b, byAddress && !isWildcard(b.listen.address), backends, em));
  const listener: Json = {
    name: streamListenerName(first.listen),
    address: { socket_address: { address: first.listen.address, port_value: first.listen.port } },
  };
  const filters: Json[] = [];
  if (members.some((b) => b.listen.proxyProtocol)) {
    filters.push({ name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': PROXY_PROTOCOL_LISTENER } });
    if (members.some((b) => !b.listen.proxyProtocol)) {
      em.note(first.listen.source, 'listen', 'approximated', `proxy_protocol on ${first.listen.address}:${first.listen.port}: Envoy's listener filter applies to every address of the port`);
    }
  }
  // ssl_preread makes nginx wait for the client's first bytes, name selection or not: so does a tls_inspector.
  const sni = members.filter((b) => b.server.settings.sslPreread);
  if (sni.length) {
    filters.push(TLS_INSPECTOR);
    // nginx waits preread_timeout for the client's first bytes, then closes the connection
    // (checked with nginx 1.22), as Envoy does when listener filters time out
    // (continue_on_listener_filters_timeout false, its default).
    const timeouts = [...new Set(sni.map((b) => b.server.settings.prereadTimeoutMs))];
    const timeout = Math.max(...timeouts);
    if (timeouts.length > 1) em.note(first.listen.source, 'preread_timeout', 'approximated', `servers on ${first.listen.address}:${first.listen.port} use different preread_timeout values; Envoy has one per listener: ${formatMs(timeout)} (the longest)`);
    listener.listener_filters_timeout = formatMs(timeout);
  }
  if (filters.length) listener.listener_filters = filters;
  listener.filter_chains = chains;
  em.commentList(listener, members.map((b) => b.listen.source));
  return listener;
}

/** A server's filter chains on one of its addresses. */
function serverChains(b: Bound, matchAddress: boolean, backends: Map<string, StreamBackend>, em: Emission): Json[] {
  const { server, listen } = b;
  const routing = server.routing;
  const prefix = matchAddress ? { prefix_ranges: [{ address_prefix: listen.address, prefix_len: listen.address.includes(':') ? 128 : 32 }] } : null;
  const chain = (suffix: string, names: string[] | null, cluster: string | null, at: Src): Json => {
    const c: Json = { name: `${server.id}${suffix}${matchAddress ? `@${listen.address}` : ''}` };
    const match: Json = { ...(prefix ?? {}) };
    if (names) match.server_names = names;
    if (Object.keys(match).length) c.filter_chain_match = match;
    c.filters = [...accessFilters(server), cluster === null ? closeFilter() : tcpProxy(server, cluster, backends)];
    terminateTls(c, server, listen);
    em.comment(c, at);
    return c;
  };
  if (routing.kind === 'backend') return [chain('', null, routing.cluster, routing.source)];
  if (routing.kind === 'return') {
    const c: Json = { name: `${server.id}${matchAddress ? `@${listen.address}` : ''}` };
    if (prefix) c.filter_chain_match = prefix;
    c.filters = [...accessFilters(server), closeFilter(routing.text)];
    terminateTls(c, server, listen);
    em.comment(c, routing.source);
    return [c];
  }
  if (routing.kind !== 'sni') return [];
  const out: Json[] = [];
  // One chain per target, in the order the map first names it.
  const targets: (string | null)[] = [];
  for (const e of routing.entries) if (!targets.includes(e.cluster)) targets.push(e.cluster);
  targets.forEach((target, i) => {
    const entries = routing.entries.filter((e) => e.cluster === target);
    out.push(chain(`/sni_${i}`, entries.map((e) => e.name), target, entries[0]!.source));
  });
  out.push(chain('/default', null, routing.default, routing.map));
  return out;
}

const RBAC = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

/** allow/deny as an RBAC network filter letting in exactly the clients nginx lets in (none when there are no rules). */
function accessFilters(server: StreamServer): Json[] {
  if (!server.access) return [];
  const principal = accessPrincipal(server.access, 'direct_remote_ip');
  const rbac = { '@type': RBAC, stat_prefix: `${server.id}_access`, rules: { action: 'ALLOW', policies: { nginx_allow_deny: { permissions: [{ any: true }], principals: [principal] } } } };
  return [{ name: 'envoy.filters.network.rbac', typed_config: rbac }];
}

/** On a `listen … ssl` socket the chain terminates TLS as nginx does (its handshake time limit included). */
function terminateTls(chain: Json, server: StreamServer, listen: StreamListen): void {
  if (!listen.ssl || !server.tls) return;
  chain.transport_socket = transportSocket(streamTlsContext(server.tls));
  // nginx's ssl_handshake_timeout (default 60s); Envoy sets no limit by default.
  chain.transport_socket_connect_timeout = formatMs(server.tls.handshakeTimeoutMs);
}

/** The DownstreamTlsContext of a stream server: its own settings are the port's (one server per address:port). */
function streamTlsContext(tls: StreamTls): Json {
  const t = tls.server;
  const port: PortTls = { http2: false };
  if (t.ciphers) port.ciphers = t.ciphers;
  if (t.ecdhCurves) {
    const { curves } = splitCurves(t.ecdhCurves.join(':'));
    if (curves.length) port.curves = curves;
  }
  if (t.sessionTimeoutMs !== undefined || t.sessionTickets === false || t.sessionCacheOff) {
    port.session = {};
    if (t.sessionTimeoutMs !== undefined) port.session.timeout = formatMs(t.sessionTimeoutMs);
    if (t.sessionTickets === false) port.session.noTickets = true;
    if (t.sessionCacheOff) port.session.noCache = true;
  }
  const ctx = downstreamTlsContext(t, port);
  // nginx's stream module offers no ALPN unless ssl_alpn says so.
  if (tls.alpn) ctx.common_tls_context.alpn_protocols = tls.alpn;
  else delete ctx.common_tls_context.alpn_protocols;
  return ctx;
}

function tcpProxy(server: StreamServer, base: string, backends: Map<string, StreamBackend>): Json {
  const backend = backends.get(base)!;
  const name = streamClusterName(base, false, server.settings.proxyProtocolUpstream, server.settings.upstreamTls?.[base] ?? null, server.settings.tcpKeepalive === true);
  const cluster = backend.clusters.find((c) => c.name === name)!;
  const t: Json = { '@type': TCP_PROXY, stat_prefix: server.id, cluster: name };
  // nginx's proxy_timeout (default 10m); Envoy's default idle timeout is 1h.
  t.idle_timeout = formatMs(server.settings.idleTimeoutMs);
  // nginx tries the next server when a connect fails (proxy_next_upstream on); Envoy tries once by default.
  if (cluster.connectAttempts > 1) t.max_connect_attempts = cluster.connectAttempts;
  if (backend.balance.kind === 'hash' && /^\$(binary_)?remote_addr$/.test(backend.balance.key.raw)) t.hash_policy = [{ source_ip: {} }];
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: t };
}

/** nginx closes the connection (no upstream for the name), or sends `return`'s text first: a direct response, then close. */
function closeFilter(text = ''): Json {
  const config: Json = { '@type': DIRECT_RESPONSE };
  if (text !== '') config.response = { inline_string: text };
  return { name: 'envoy.filters.network.direct_response', typed_config: config };
}

// ---------------------------------------------------------------- UDP

const UDP_PROXY = 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig';
const UDP_ROUTE = 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route';

/**
 * One UDP listener per address:port with the udp_proxy listener filter. The
 * kernel gives a datagram to the most specific bound address, as nginx picks
 * the server by address, so a wildcard and a specific address stay two listeners.
 */
function udpListeners(servers: StreamServer[], backends: Map<string, StreamBackend>, em: Emission): Json[] {
  const out: Json[] = [];
  for (const server of servers) {
    if (server.routing.kind !== 'backend') continue;
    for (const listen of server.listens) {
      if (!listen.udp) continue;
      if (server.access) em.note(listen.source, 'allow', 'unsupported', `${server.id}: allow/deny on UDP (udp ${listen.address}:${listen.port}) is not translated: udp_proxy has no RBAC, every client is answered`);
      if (listen.proxyProtocol || server.settings.proxyProtocolUpstream) {
        em.note(listen.source, 'listen', 'unsupported', `${server.id}: PROXY protocol on UDP (udp ${listen.address}:${listen.port}) is not translated: Envoy's udp_proxy neither reads nor sends it`);
      }
      const cluster = streamClusterName(server.routing.cluster, true, false);
      const backend = backends.get(server.routing.cluster)!;
      const proxy: Json = {
        '@type': UDP_PROXY,
        stat_prefix: server.id,
        matcher: { on_no_match: { action: { name: 'route', typed_config: { '@type': UDP_ROUTE, cluster } } } },
        // nginx's proxy_timeout (default 10m) ends an idle session; udp_proxy's default is 1m.
        idle_timeout: formatMs(server.settings.idleTimeoutMs),
      };
      if (backend.balance.kind === 'hash' && /^\$(binary_)?remote_addr$/.test(backend.balance.key.raw)) proxy.hash_policies = [{ source_ip: true }];
      const listener: Json = {
        name: streamListenerName(listen),
        address: { socket_address: { protocol: 'UDP', address: listen.address, port_value: listen.port } },
        udp_listener_config: {},
        listener_filters: [{ name: 'envoy.filters.udp_listener.udp_proxy', typed_config: proxy }],
      };
      em.commentList(listener, [listen.source, server.routing.source]);
      out.push(listener);
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---------------------------------------------------------------- clusters

function streamCluster(b: StreamBackend, c: StreamCluster, em: Emission): Json {
  const servers = b.servers.filter((s) => !s.down);
  const dns = servers.some((s) => !s.unix && !isIp(s.host));
  const out: Json = {
    name: c.name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    connect_timeout: formatMs(c.connectTimeoutMs),
    lb_policy: lbPolicy(b),
  };
  if (dns) out.dns_lookup_family = 'ALL';
  if (b.balance.kind === 'random' && b.balance.two) out.least_request_lb_config = { choice_count: 2 };
  out.load_assignment = { cluster_name: c.name, endpoints: localities(servers) };
  // nginx has no connection cap per upstream (max_conns unset); Envoy's default is 1024.
  out.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED }] };
  const od = outlierDetection(b, servers);
  if (od) out.outlier_detection = od;
  // proxy_socket_keepalive on: SO_KEEPALIVE with the OS's probe timings (an empty TcpKeepalive leaves them to the OS, as nginx does)
  if (c.tcpKeepalive) out.upstream_connection_options = { tcp_keepalive: {} };
  // proxy_ssl on: TLS; with proxy_protocol on the PROXY header goes first, in the clear, as nginx sends it.
  const tls = c.tls ? { name: 'envoy.transport_sockets.tls', typed_config: upstreamTlsContext(c.tls) } : null;
  if (c.proxyProtocol) {
    out.transport_socket = {
      name: 'envoy.transport_sockets.upstream_proxy_protocol',
      typed_config: { '@type': UPSTREAM_PROXY_PROTOCOL, config: { version: 'V1' }, transport_socket: tls ?? { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': RAW_BUFFER } } },
    };
  } else if (tls) out.transport_socket = tls;
  if (servers.length === 0) em.note(b.source, 'upstream', 'approximated', `cluster ${c.name} has no usable server (all down): Envoy closes the connection, as nginx does`);
  em.comment(out, b.source);
  return out;
}
