// TLS termination: one listener's servers → filter chains selected by SNI.
//
// nginx picks the certificate by SNI (the server the SNI names, by its own
// server-name rules) but routes by Host. So every chain of a port carries the
// same connection manager with the complete route table of the port, and only
// the transport socket differs: a chain per distinct TLS context with the
// server_names of the servers using it, and a chain without server_names for
// clients without (or with an unknown) SNI, carrying the default server's
// context. The contexts reference files only; xds.ts lifts them to SDS.
import type { Listener, ServerTls, VirtualServer } from '../../ir/types.js';
import { protocolRange, splitCiphers, splitCurves } from '../../lower/tls.js';
import { formatMs } from '../../lower/util.js';
import type { Emission, Json } from './context.js';

export const TLS_INSPECTOR = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/** Listener-wide TLS settings nginx takes from the address:port (the default server) rather than the SNI server. */
export interface PortTls {
  http2: boolean;
  /** ssl_ciphers of the default server: OpenSSL keeps the cipher list of the first SSL_CTX. */
  ciphers?: string;
  /** ssl_ecdh_curve of the default server (BoringSSL names), likewise per port. */
  curves?: string[];
  session?: { timeout?: string; noTickets?: boolean; noCache?: boolean };
}

/** The DownstreamTlsContext for one server's TLS settings on a port. */
export function downstreamTlsContext(tls: ServerTls, port: PortTls): Json {
  const common: Json = {
    tls_certificates: tls.certificates.map((c) => ({ certificate_chain: { filename: c.cert }, private_key: { filename: c.key } })),
  };
  const params = tlsParams(tls.protocols, port.ciphers, port.curves);
  if (params) common.tls_params = params;
  const validation = validationContext(tls);
  if (validation) common.validation_context = validation;
  common.alpn_protocols = port.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  const ctx: Json = { '@type': DOWNSTREAM_TLS, common_tls_context: common };
  if (tls.verifyClient === 'on') ctx.require_client_certificate = true;
  if (port.session?.noTickets) ctx.disable_stateless_session_resumption = true;
  if (port.session?.noCache) ctx.disable_stateful_session_resumption = true;
  if (port.session?.timeout) ctx.session_timeout = port.session.timeout;
  return ctx;
}

/** TlsParameters from nginx's protocol list and OpenSSL cipher string (server and upstream sides alike); null when all are Envoy's defaults. */
export function tlsParams(protocols: string[] | undefined, ciphers: string | undefined, curves?: string[]): Json | null {
  const params: Json = {};
  const range = protocols ? protocolRange(protocols) : null;
  if (range) {
    params.tls_minimum_protocol_version = range.min;
    params.tls_maximum_protocol_version = range.max;
  }
  if (ciphers) {
    const { suites } = splitCiphers(ciphers);
    if (suites.length) params.cipher_suites = suites;
  }
  if (curves?.length) params.ecdh_curves = curves;
  return Object.keys(params).length ? params : null;
}

function validationContext(tls: ServerTls): Json | null {
  const verify = tls.verifyClient ?? 'off';
  if (verify === 'off') return null;
  const ca = tls.clientCa ?? tls.trustedCa;
  const v: Json = {};
  if (ca) v.trusted_ca = { filename: ca };
  if (tls.crl) v.crl = { filename: tls.crl };
  if (verify === 'optional_no_ca') v.trust_chain_verification = 'ACCEPT_UNTRUSTED';
  // nginx's default ssl_verify_depth is 1; Envoy's is 100. OpenSSL's depth counts the CAs
  // above the client's certificate without the trust anchor (depth 1: one intermediate),
  // Envoy's counts the anchor too (1: the root alone): one more.
  v.max_verify_depth = Math.min((tls.verifyDepth ?? 1) + 1, 100);
  return v;
}

export function transportSocket(context: Json): Json {
  return { name: 'envoy.transport_sockets.tls', typed_config: context };
}

/** Session settings written at http or server level, as the default server sees them. */
export function portTls(l: Listener, dflt: VirtualServer): PortTls {
  const out: PortTls = { http2: l.http2 };
  const t = dflt.tls;
  if (t?.ciphers) out.ciphers = t.ciphers;
  if (t?.ecdhCurves) {
    const { curves } = splitCurves(t.ecdhCurves.join(':'));
    if (curves.length) out.curves = curves;
  }
  if (t && (t.sessionTimeoutMs !== undefined || t.sessionTickets === false || t.sessionCacheOff)) {
    out.session = {};
    if (t.sessionTimeoutMs !== undefined) out.session.timeout = formatMs(t.sessionTimeoutMs);
    if (t.sessionTickets === false) out.session.noTickets = true;
    if (t.sessionCacheOff) out.session.noCache = true;
  }
  return out;
}

/** SNI names Envoy can match for a server: exact names and `*.x` wildcards. */
function sniNames(server: VirtualServer, claimed: Map<string, string>): { names: string[]; unmatchable: string[] } {
  const names: string[] = [];
  const unmatchable: string[] = [];
  for (const n of server.names) {
    if (n.kind === 'empty') continue;
    if (n.kind === 'wildcard-suffix' || n.kind === 'regex') {
      unmatchable.push(n.kind === 'regex' ? `~${n.value}` : n.value);
      continue;
    }
    // nginx keeps the first server for a name claimed twice on one address:port.
    if (claimed.has(n.value)) continue;
    claimed.set(n.value, server.id);
    names.push(n.value);
  }
  return { names, unmatchable };
}

/**
 * The filter chains of one TLS listener, built around `base` (a chain with its
 * name, optional filter_chain_match and the connection manager, shared by all).
 * The first chain keeps base's name and has no server_names: it answers clients
 * without SNI. Returns null when the listener is not TLS.
 */
export function tlsFilterChains(l: Listener, base: Json, servers: Map<string, VirtualServer>, em: Emission): Json[] | null {
  if (!l.ssl) return null;
  const dflt = servers.get(l.defaultServerId)!;
  const port = portTls(l, dflt);
  const contexts = new Map<string, { ctx: Json; names: string[] }>();
  const claimed = new Map<string, string>();
  const dfltCtx = dflt.tls && !dflt.tls.rejectHandshake && dflt.tls.certificates.length ? downstreamTlsContext(dflt.tls, port) : null;
  for (const id of l.serverIds) {
    const server = servers.get(id)!;
    const { names, unmatchable } = sniNames(server, claimed);
    const tls = server.tls;
    if (!tls || tls.rejectHandshake || tls.certificates.length === 0) {
      if (names.length && server !== dflt) {
        const why = tls?.rejectHandshake ? 'ssl_reject_handshake: nginx refuses the handshake for its names' : 'it has no ssl_certificate: nginx fails the handshake for its names';
        em.note(server.source, 'server', 'approximated', `${server.id} on ${l.address}:${l.port}: ${why}; Envoy presents the default server's certificate`);
      }
      continue;
    }
    const ctx = downstreamTlsContext(tls, port);
    const key = JSON.stringify(ctx);
    if (unmatchable.length && key !== JSON.stringify(dfltCtx)) {
      em.note(server.source, 'server_name', 'approximated', `${server.id}: ${unmatchable.join(', ')} cannot be matched against SNI by Envoy (exact and *.x names only): such clients get the default server's certificate (routing by Host is unchanged)`);
    }
    const group = contexts.get(key) ?? { ctx, names: [] };
    group.names.push(...names);
    contexts.set(key, group);
  }
  noteDifferingCiphers(l, servers, dflt, em);
  const distinct = [...contexts.keys()];
  const single = dfltCtx !== null && distinct.length === 1 && distinct[0] === JSON.stringify(dfltCtx);
  if (single || (dfltCtx === null && distinct.length === 0)) {
    if (!dfltCtx) {
      em.note(l.sources[0]!, 'listen', 'unsupported', `${l.address}:${l.port} is ssl but no server on it has ssl_certificate: listener emitted without TLS`);
      return [base];
    }
    return [{ ...base, transport_socket: transportSocket(dfltCtx) }];
  }
  const chains: Json[] = [];
  if (dfltCtx) chains.push({ ...base, transport_socket: transportSocket(dfltCtx) });
  else em.note(l.sources[0]!, 'listen', 'translated', `${l.address}:${l.port}: the default server has no certificate (or rejects the handshake): clients without a known SNI are refused, as nginx does`);
  let i = 0;
  for (const { ctx, names } of contexts.values()) {
    if (names.length === 0) continue;
    const match = { ...(base.filter_chain_match ?? {}), server_names: names };
    chains.push({ name: `${base.name}/sni_${i++}`, filter_chain_match: match, filters: base.filters, transport_socket: transportSocket(ctx) });
  }
  return chains;
}

function noteDifferingCiphers(l: Listener, servers: Map<string, VirtualServer>, dflt: VirtualServer, em: Emission): void {
  for (const id of l.serverIds) {
    const s = servers.get(id)!;
    if (s === dflt || !s.tls || s.tls.ciphers === dflt.tls?.ciphers) continue;
    em.noteOnce(`ciphers:${l.name}:${id}`, s.source, 'ssl_ciphers', 'translated', `${s.id}: nginx negotiates with the cipher list of the default server of ${l.address}:${l.port} (the SNI switch keeps it); Envoy is given the same list on every chain`);
  }
}
