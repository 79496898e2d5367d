// Stream backends: stream `upstream` blocks and inline `host:port` targets, and
// the clusters they become. nginx keeps stream upstreams in a namespace of their
// own, so their clusters are named `stream_<upstream>` / `stream_<host>_<port>`
// (`stream_unix_<path>`), made unique against the http clusters (and each other)
// with a `.<n>` suffix in file order; a server's use adds `/proxy_protocol` or
// `/udp` to the cluster (src/ir/types.ts StreamBackend.clusters).
import type { Directive } from '../parse/ast.js';
import type { BackendServer, Src, StreamBackend, StreamCluster, StreamSettings, UpstreamTls } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { lowerUpstream, inlineBackendName, isIp, tlsSettingsHash } from './upstream.js';
import { errorAt, srcOf } from './util.js';

export interface StreamBackends {
  /** Stream upstream blocks by lowercased name (nginx finds them case-insensitively). */
  upstreams: Map<string, StreamBackend>;
  inline: Map<string, StreamBackend>;
  /** Cluster names taken: every http cluster, then the stream backends as they are made. */
  taken: Set<string>;
  r: Reporter;
}

export function streamBackends(httpClusters: Iterable<string>, r: Reporter): StreamBackends {
  return { upstreams: new Map(), inline: new Map(), taken: new Set(httpClusters), r };
}

/** `stream_<base>`, or `stream_<base>.<n>` when an http cluster (or an earlier stream one) has the name. */
function claimName(reg: StreamBackends, base: string, at: Src, directive: string): string {
  let name = `stream_${base}`;
  if (reg.taken.has(name)) {
    let n = 1;
    while (reg.taken.has(`${name}.${n}`)) n++;
    reg.r.note(at, directive, 'translated', `cluster \`${name}\` is taken by another cluster: this stream backend is \`${name}.${n}\``);
    name = `${name}.${n}`;
  }
  reg.taken.add(name);
  return name;
}

/** A stream `upstream` block: the http upstream reading, then what differs in the stream module. */
export function lowerStreamUpstream(d: Directive, reg: StreamBackends): StreamBackend {
  const r = reg.r;
  const b = lowerUpstream(d, r);
  const key = b.name.toLowerCase();
  if (reg.upstreams.has(key)) throw errorAt(d.source, `duplicate upstream "${b.name}"`, 'duplicate-upstream');
  for (const c of d.block ?? []) {
    if (c.kind !== 'directive') continue;
    if (c.name === 'hash') markStreamHash(c, r);
    else if (c.name === 'least_conn') r.override(c, 'approximated', 'lb_policy LEAST_REQUEST: Envoy weighs hosts by active requests, which its documentation does not equate with tcp_proxy connections; nginx counts active connections, so the choice of server may differ');
    else if (c.name === 'ip_hash' || c.name === 'keepalive' || c.name === 'keepalive_timeout' || c.name === 'keepalive_requests') {
      r.override(c, 'unsupported', `\`${c.name}\` is not a stream upstream directive (nginx rejects it): not translated`);
    }
  }
  const backend: StreamBackend = { name: claimName(reg, b.name, srcOf(d), 'upstream'), nginxName: b.name, kind: 'upstream', balance: b.balance, servers: b.servers, clusters: [], source: b.source };
  r.override(d, 'translated', `cluster \`${backend.name}\` (stream upstream ${b.name})`);
  reg.upstreams.set(key, backend);
  return backend;
}

/** Stream `hash`: only the client address has an Envoy form in tcp_proxy (hash_policy source_ip). */
function markStreamHash(c: Directive, r: Reporter): void {
  const key = c.args[0]?.value ?? '';
  const consistent = c.args[1]?.value === 'consistent';
  if (key === '$remote_addr' || key === '$binary_remote_addr') {
    r.override(c, 'approximated', `${consistent ? 'RING_HASH (ketama-like)' : 'MAGLEV'} with hash_policy source_ip (tcp_proxy, udp_proxy): the same client keeps its server, but the client→server mapping differs from nginx's`);
  } else {
    r.override(c, 'unsupported', `stream hash key \`${key}\`: tcp_proxy can hash only the client address (source_ip): connections are spread without this stickiness`);
  }
}

export type TargetResult = { backend: StreamBackend } | { closed: string } | { untranslated: string };

/**
 * What a proxy_pass value names. `fixed`: written in proxy_pass (nginx resolves
 * it at startup); else a map value (nginx looks it up per connection: an upstream
 * name without a port, else host:port, resolved with the `resolver`).
 */
export function resolveStreamTarget(value: string, d: Directive, reg: StreamBackends, fixed: boolean, resolver: boolean): TargetResult {
  if (value === '') return { closed: 'an empty value: nginx has no upstream and closes the connection' };
  if (value.includes('$')) return { untranslated: `value \`${value}\` has variables: evaluated per connection by nginx, not translated` };
  const up = reg.upstreams.get(value.toLowerCase());
  if (up) return { backend: up };
  const t = parseHostPort(value);
  if (!t) {
    if (fixed) throw errorAt(d.source, `no port in upstream "${value}"`, 'stream-no-port');
    return { closed: `\`${value}\` is no stream upstream and has no port: nginx closes the connection` };
  }
  if (!t.unix && !isIp(t.host) && !fixed && !resolver) return { closed: `\`${value}\` needs a \`resolver\` in nginx (none is set): nginx closes the connection` };
  const key = inlineBackendName(t.host, t.port, t.unix);
  let b = reg.inline.get(key);
  if (!b) {
    const server: BackendServer = { host: t.host, port: t.port, unix: t.unix, weight: 1, maxFails: 1, failTimeoutMs: 10000, backup: false, down: false, source: srcOf(d) };
    b = { name: claimName(reg, key, srcOf(d), d.name), nginxName: value, kind: 'inline', balance: { kind: 'round_robin' }, servers: [server], clusters: [], source: srcOf(d) };
    reg.inline.set(key, b);
  }
  return { backend: b };
}

function parseHostPort(value: string): { host: string; port: number; unix: boolean } | null {
  if (value.startsWith('unix:')) return { host: value.slice(5), port: 0, unix: true };
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(value);
  if (v6) return { host: v6[1]!.toLowerCase(), port: Number(v6[2]), unix: false };
  const m = /^([^:/\s]+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return { host: m[1]!.toLowerCase(), port: Number(m[2]), unix: false };
}

/**
 * The cluster a server reaches `b` through: plain TCP, TCP sending the PROXY
 * header (`proxy_protocol on`), TLS (`proxy_ssl on`, TCP only), or UDP. Each keeps
 * the longest connect timeout and the most connect attempts of its users (Envoy
 * has one per cluster).
 */
export function useStreamCluster(b: StreamBackend, settings: StreamSettings, udp: boolean): string {
  const proxyProtocol = settings.proxyProtocolUpstream && !udp;
  const tls = udp ? null : (settings.upstreamTls?.[b.name] ?? null);
  const keepalive = !udp && settings.tcpKeepalive === true;
  const name = streamClusterName(b.name, udp, proxyProtocol, tls, keepalive);
  const attempts = connectAttempts(b, settings);
  let c = b.clusters.find((x) => x.name === name);
  if (!c) {
    c = { name, udp, proxyProtocol, tls, connectTimeoutMs: settings.connectTimeoutMs, connectAttempts: attempts };
    if (keepalive) c.tcpKeepalive = true;
    b.clusters.push(c);
    b.clusters.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }
  c.connectTimeoutMs = Math.max(c.connectTimeoutMs, settings.connectTimeoutMs);
  c.connectAttempts = Math.max(c.connectAttempts, attempts);
  return name;
}

/**
 * The cluster of backend `base` for a transport: `base`, `base/udp`, `base/proxy_protocol`, `base/tls-<hash>` or
 * `base/proxy_protocol/tls-<hash>`, each TCP one followed by `/keepalive` with proxy_socket_keepalive on.
 */
export function streamClusterName(base: string, udp: boolean, proxyProtocol: boolean, tls: UpstreamTls | null = null, keepalive = false): string {
  if (udp) return `${base}/udp`;
  const pp = proxyProtocol ? `${base}/proxy_protocol` : base;
  const named = tls ? `${pp}/tls-${tlsSettingsHash(tls)}` : pp;
  return keepalive ? `${named}/keepalive` : named;
}

/** nginx tries each live server once per connection (proxy_next_upstream on), up to proxy_next_upstream_tries. */
function connectAttempts(b: StreamBackend, s: StreamSettings): number {
  if (!s.nextUpstream) return 1;
  const live = b.servers.filter((x) => !x.down).length;
  return Math.max(1, s.nextUpstreamTries > 0 ? Math.min(s.nextUpstreamTries, live) : live);
}

/** Every stream cluster, for the checks that need them. */
export function allStreamClusters(backends: StreamBackend[]): StreamCluster[] {
  return backends.flatMap((b) => b.clusters);
}
