// Where Envoy sends a TCP connection (or UDP datagrams): the listener bound to
// the destination, its filter chain (FilterChainMatch, listener.ts), and the
// chain's terminal network filter. Written from Envoy's documentation:
// - tcp_proxy: "the cluster to connect to"
//   (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto);
// - direct_response: "respond immediately to new downstream connections with an
//   optional canned response" and close
//   (https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/network_filters/direct_response_filter);
// - the SNI the tls_inspector records is kept lowercased (ConnectionSocket
//   setRequestedServerName: "Always keep the server_name_ as lower case");
// - UDP: a listener whose socket_address.protocol is UDP, with the udp_proxy
//   listener filter naming the cluster (its `cluster`, or its matcher's
//   on_no_match Route action)
//   (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/udp/udp_proxy/v3/udp_proxy.proto).
// - rbac network filter: "If the action is ALLOW … the connection is allowed
//   only if one of the policies matches"; DENY closes on a match
//   (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto);
//   a policy matches when one permission and one principal match.
// Independent of the compiler: it reads only the Envoy configuration.
import { loadConfig, typeOf, type EnvoyConfigInput, type Obj } from './config.js';
import { chainTerminatesTls, detectConnection, selectFilterChain, selectListener } from './listener.js';
import { upstreamTlsContext } from './action.js';
import { rbacAllows } from './rbac.js';

export interface StreamConnection {
  port: number;
  /** destination IP (default 127.0.0.1) */
  address?: string;
  protocol?: 'tcp' | 'udp';
  /** the client's address (default 127.0.0.1) */
  remoteAddress?: string;
  /** the client's TLS ClientHello server name; absent: no SNI (or not TLS at all) */
  sni?: string;
  alpn?: string[];
  /** the client starts with a TLS ClientHello (default: when sni or alpn is given) */
  tls?: boolean;
}

export interface StreamDecision {
  /** `cluster`: forwarded; `closed`: the chain closes it; `no_listener` / `no_filter_chain`: Envoy refuses or closes it. */
  kind: 'cluster' | 'closed' | 'no_listener' | 'no_filter_chain' | 'not_stream';
  /** `closed` by a direct_response with a canned response: its text (sent before closing) */
  response?: string;
  listener?: string;
  filterChain?: number | string;
  cluster?: string;
  /** TCP to a cluster speaking TLS: the SNI it sends ('' for none). Absent: plain TCP or UDP. */
  upstreamSni?: string;
  notes: string[];
}

function isUdp(l: Obj): boolean {
  return String(l.address?.socket_address?.protocol ?? 'TCP').toUpperCase() === 'UDP';
}

export function evaluateConnection(config: EnvoyConfigInput, c: StreamConnection): StreamDecision {
  const cfg = loadConfig(config);
  const notes: string[] = [];
  const udp = c.protocol === 'udp';
  const address = c.address ?? '127.0.0.1';
  const candidates = cfg.listeners.filter((l: Obj) => isUdp(l) === udp);
  const listener = selectListener(candidates, address, c.port, notes);
  if (!listener) return { kind: 'no_listener', notes };
  const name = String(listener.name ?? '');
  if (udp) return udpDecision(listener, name, notes);
  const tls = c.tls ?? Boolean(c.sni || c.alpn?.length);
  const sni = c.sni === undefined ? undefined : c.sni.toLowerCase();
  const remote = c.remoteAddress ?? '127.0.0.1';
  const conn = detectConnection(listener, { port: c.port, address, remoteAddress: remote, sni, alpn: c.alpn, transport: tls ? 'tls' : 'raw_buffer' }, notes);
  const choice = selectFilterChain(listener, conn, notes);
  if (!choice.chain) return { kind: 'no_filter_chain', listener: name, notes };
  const out = { listener: name, filterChain: choice.id, notes };
  // A chain with a DownstreamTlsContext does the handshake: a client that does not speak TLS fails it.
  if (chainTerminatesTls(choice.chain) && !tls) {
    notes.push('plaintext client on a filter chain that terminates TLS: the handshake fails and the connection is closed');
    return { kind: 'closed', ...out };
  }
  const filters: Obj[] = choice.chain.filters ?? [];
  for (const f of filters.slice(0, -1)) {
    if (f.name === 'envoy.filters.network.rbac' || typeOf(f).endsWith('.rbac.v3.RBAC')) {
      if (!rbacAllows(f.typed_config ?? {}, { direct: remote, remote }, notes)) return { kind: 'closed', ...out };
    } else notes.push(`network filter ${String(f.name ?? typeOf(f))} is not simulated`);
  }
  const terminal = filters[filters.length - 1];
  if (!terminal) return { kind: 'no_filter_chain', ...out };
  const type = typeOf(terminal);
  if (terminal.name === 'envoy.filters.network.tcp_proxy' || type.endsWith('.TcpProxy')) {
    const tp = terminal.typed_config ?? {};
    if (tp.cluster === undefined) notes.push('tcp_proxy without a single cluster (weighted_clusters) is not simulated');
    if (tp.cluster === undefined) return { kind: 'cluster', cluster: undefined, ...out };
    const tls = upstreamTlsContext(cfg.clusters.get(String(tp.cluster)));
    const decision: StreamDecision = { kind: 'cluster', cluster: String(tp.cluster), ...out };
    if (tls) decision.upstreamSni = tls.sni ? String(tls.sni) : '';
    return decision;
  }
  if (terminal.name === 'envoy.filters.network.direct_response' || type.endsWith('.direct_response.v3.Config')) {
    const response = terminal.typed_config?.response;
    if (!response) return { kind: 'closed', ...out };
    if (response.inline_string !== undefined) return { kind: 'closed', response: String(response.inline_string), ...out };
    if (response.inline_bytes !== undefined) return { kind: 'closed', response: Buffer.from(String(response.inline_bytes), 'base64').toString('latin1'), ...out };
    notes.push('direct_response reads its response from a file: not simulated');
    return { kind: 'closed', ...out };
  }
  return { kind: 'not_stream', ...out };
}

function udpDecision(listener: Obj, name: string, notes: string[]): StreamDecision {
  const f = (listener.listener_filters ?? []).find((x: Obj) => x.name === 'envoy.filters.udp_listener.udp_proxy' || typeOf(x).endsWith('.UdpProxyConfig'));
  if (!f) return { kind: 'no_filter_chain', listener: name, notes };
  const cfg = f.typed_config ?? {};
  if (cfg.cluster !== undefined) return { kind: 'cluster', listener: name, cluster: String(cfg.cluster), notes };
  const action = cfg.matcher?.on_no_match?.action?.typed_config;
  if (cfg.matcher?.matcher_list || cfg.matcher?.matcher_tree) notes.push('udp_proxy matcher lists/trees are not simulated: on_no_match is used');
  if (action?.cluster !== undefined) return { kind: 'cluster', listener: name, cluster: String(action.cluster), notes };
  return { kind: 'no_filter_chain', listener: name, notes };
}

// ------------------------------------------------------------ rbac

