// Listener and filter-chain selection.
//
// Listener: the socket a connection arrives on — the listener bound to the exact
// destination address:port, else the one bound to the wildcard address on that port
// (the kernel's choice; 0.0.0.0 for IPv4, `::` for IPv6, and `::` for IPv4 too only
// with ipv4_compat). https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener.proto
// (address, bind_to_port, additional_addresses) and
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/address.proto (ipv4_compat).
//
// Filter chain: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#config-listener-v3-filterchainmatch
// "The following order applies: destination port, destination IP address, server
// name (SNI), transport protocol, application protocols (ALPN), directly connected
// source IP, source type, source IP, source port. For criteria that allow ranges or
// wildcards, the most specific value in any of the configured filter chains that
// matches the incoming connection is going to be used … In each step, filter chains
// which most specifically match the attributes continue to the next step." There is
// no backtracking: if the most specific group fails a later step, no chain matches
// and `default_filter_chain` is used, else the connection is closed.

import { boolValue, enumValue, numValue, typeOf, type Obj } from './config.js';

export interface ConnectionInfo {
  port: number;
  address: string;
  remoteAddress: string;
  remotePort?: number;
  sni: string;
  alpn: string[];
  transport: string;
}

function socketAddresses(l: Obj): Obj[] {
  const out: Obj[] = [];
  const main = l.address?.socket_address;
  if (main) out.push(main);
  for (const a of l.additional_addresses ?? []) if (a?.address?.socket_address) out.push(a.address.socket_address);
  return out;
}

function isV6(a: string): boolean {
  return a.includes(':');
}

function isWildcard(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '[::]' || a === '';
}

/** How well a bound socket address takes a connection to `dest:port`: 2 exact, 1 wildcard, 0 not. */
function bindScore(sa: Obj, dest: string, port: number): number {
  if (numValue(sa.port_value) !== port) return 0;
  const addr = String(sa.address ?? '');
  if (addr === dest) return 2;
  if (!isWildcard(addr)) return 0;
  if (addr === '0.0.0.0' || addr === '') return isV6(dest) ? 0 : 1;
  // `::` takes IPv6, and IPv4 only when the socket is dual-stack (ipv4_compat).
  return isV6(dest) || boolValue(sa.ipv4_compat, false) ? 1 : 0;
}

export function selectListener(listeners: Obj[], dest: string, port: number, notes: string[]): Obj | undefined {
  let best: Obj | undefined;
  let bestScore = 0;
  for (const l of listeners) {
    if (l.api_listener) continue;
    if (!boolValue(l.bind_to_port, true)) {
      notes.push(`listener ${l.name} has bind_to_port: false (reachable only by original_dst redirection); skipped`);
      continue;
    }
    for (const sa of socketAddresses(l)) {
      const s = bindScore(sa, dest, port);
      if (s > bestScore) {
        best = l;
        bestScore = s;
      }
    }
  }
  return best;
}

// ------------------------------------------------------------------ CIDR helpers

function ipToBits(ip: string): string | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
    return ip
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  }
  if (!ip.includes(':')) return undefined;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16).toString(2).padStart(16, '0')).join('');
}

/** Length of the longest configured CidrRange containing `ip`, -1 if none; `empty` (no ranges) counts as length 0. */
function cidrSpecificity(ranges: Obj[] | undefined, ip: string): number {
  if (!ranges || ranges.length === 0) return 0;
  const bits = ipToBits(ip);
  let best = -1;
  for (const r of ranges) {
    const pfx = ipToBits(String(r.address_prefix ?? ''));
    if (!bits || !pfx || pfx.length !== bits.length) continue;
    const len = numValue(r.prefix_len) ?? pfx.length;
    if (bits.slice(0, len) === pfx.slice(0, len)) best = Math.max(best, len + 1); // +1: any range beats none
  }
  return best;
}

// ------------------------------------------------------------ the nine steps

type Step = (m: Obj, c: ConnectionInfo) => number; // -1: does not match; higher: more specific

const stepDestinationPort: Step = (m, c) => {
  const p = numValue(m.destination_port);
  if (p === undefined || p === 0) return 0;
  return p === c.port ? 1 : -1;
};

const stepDestinationIp: Step = (m, c) => cidrSpecificity(m.prefix_ranges, c.address);

/** "www.example.com" → exact, then "*.example.com", then "*.com", then chains without server_names. */
const stepServerName: Step = (m, c) => {
  const names: string[] = m.server_names ?? [];
  if (names.length === 0) return 0;
  const sni = c.sni;
  if (sni === '') return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) best = Math.max(best, Number.MAX_SAFE_INTEGER);
    else if (n.startsWith('*.')) {
      // Envoy tries "*" + sni.substr(pos) for each dot after the first character.
      const suffix = n.slice(1);
      if (sni.length > suffix.length && sni.endsWith(suffix)) {
        best = Math.max(best, suffix.length);
      }
    }
  }
  return best;
};

const stepTransport: Step = (m, c) => {
  const t = m.transport_protocol ?? '';
  if (t === '') return 0;
  return t === c.transport ? 1 : -1;
};

/** The client's ALPN list is tried in its order; the first protocol some chain names wins. */
function alpnStep(chains: Obj[], c: ConnectionInfo): Obj[] {
  const matchOf = (ch: Obj): Obj => ch.filter_chain_match ?? {};
  for (const proto of c.alpn) {
    const hit = chains.filter((ch) => (matchOf(ch).application_protocols ?? []).includes(proto));
    if (hit.length) return hit;
  }
  return chains.filter((ch) => (matchOf(ch).application_protocols ?? []).length === 0);
}

const stepDirectSourceIp: Step = (m, c) => cidrSpecificity(m.direct_source_prefix_ranges, c.remoteAddress);

function isLocal(c: ConnectionInfo): boolean {
  return c.remoteAddress === c.address || c.remoteAddress.startsWith('127.') || c.remoteAddress === '::1';
}

const stepSourceType: Step = (m, c) => {
  const t = enumValue(m.source_type, ['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'], 'ANY');
  if (t === 'ANY') return 0;
  const local = isLocal(c);
  if (t === 'SAME_IP_OR_LOOPBACK') return local ? 1 : -1;
  return local ? -1 : 1;
};

const stepSourceIp: Step = (m, c) => cidrSpecificity(m.source_prefix_ranges, c.remoteAddress);

const stepSourcePort: Step = (m, c) => {
  const ports: unknown[] = m.source_ports ?? [];
  if (ports.length === 0) return 0;
  if (c.remotePort === undefined) return -1;
  return ports.some((p) => numValue(p) === c.remotePort) ? 1 : -1;
};

function keepMostSpecific(chains: Obj[], step: Step, c: ConnectionInfo): Obj[] {
  const scored = chains.map((ch) => ({ ch, s: step(ch.filter_chain_match ?? {}, c) })).filter((x) => x.s >= 0);
  if (scored.length === 0) return [];
  const top = Math.max(...scored.map((x) => x.s));
  return scored.filter((x) => x.s === top).map((x) => x.ch);
}

export interface ChainChoice {
  chain?: Obj;
  id?: number | string;
}

export function selectFilterChain(listener: Obj, c: ConnectionInfo, notes: string[]): ChainChoice {
  const chains: Obj[] = listener.filter_chains ?? [];
  if (listener.filter_chain_matcher) {
    notes.push('listener uses filter_chain_matcher (unified matcher API): not simulated, the filter_chain_match fields are used');
  }
  let cands = chains;
  for (const step of [stepDestinationPort, stepDestinationIp, stepServerName, stepTransport]) {
    cands = keepMostSpecific(cands, step, c);
  }
  cands = alpnStep(cands, c);
  for (const step of [stepDirectSourceIp, stepSourceType, stepSourceIp, stepSourcePort]) {
    cands = keepMostSpecific(cands, step, c);
  }
  if (cands.length > 1) {
    notes.push('several filter chains have identical matching rules (Envoy rejects such a listener); the first is used');
  }
  const chosen = cands[0];
  if (chosen) {
    const idx = chains.indexOf(chosen);
    return { chain: chosen, id: chosen.name ? String(chosen.name) : idx };
  }
  if (listener.default_filter_chain) {
    const d = listener.default_filter_chain;
    return { chain: d, id: d.name ? String(d.name) : 'default_filter_chain' };
  }
  return {};
}

// --------------------------------------------------- what the listener filters see

function hasListenerFilter(listener: Obj, short: string, typeSuffix: string): boolean {
  return (listener.listener_filters ?? []).some(
    (f: Obj) => f.name === `envoy.filters.listener.${short}` || typeOf(f).endsWith(typeSuffix),
  );
}

/**
 * SNI, ALPN and the transport protocol are known only when the tls_inspector
 * listener filter runs; otherwise the transport protocol is "raw_buffer" (the
 * default "used when no transport protocol is detected", FilterChainMatch docs).
 */
export function detectConnection(
  listener: Obj,
  req: { port: number; address: string; remoteAddress: string; remotePort?: number; sni?: string; alpn?: string[]; transport?: string },
  notes: string[],
): ConnectionInfo {
  const isTls = req.transport ? req.transport === 'tls' : Boolean(req.sni || req.alpn?.length);
  const base = { port: req.port, address: req.address, remoteAddress: req.remoteAddress, remotePort: req.remotePort };
  if (hasListenerFilter(listener, 'tls_inspector', '.TlsInspector')) {
    return { ...base, sni: req.sni ?? '', alpn: isTls ? (req.alpn ?? []) : [], transport: isTls ? 'tls' : 'raw_buffer' };
  }
  if (isTls && (req.sni || req.alpn?.length)) {
    notes.push('the listener has no tls_inspector: SNI and ALPN are not seen by filter-chain matching');
  }
  if (hasListenerFilter(listener, 'http_inspector', '.HttpInspector')) {
    notes.push('http_inspector is not simulated (its ALPN of plaintext HTTP is not set)');
  }
  return { ...base, sni: '', alpn: [], transport: 'raw_buffer' };
}

/** Does the chain terminate TLS (a DownstreamTlsContext transport socket)? */
export function chainTerminatesTls(chain: Obj): boolean {
  const ts = chain.transport_socket;
  if (!ts) return false;
  return ts.name === 'envoy.transport_sockets.tls' || typeOf(ts).endsWith('.DownstreamTlsContext');
}
