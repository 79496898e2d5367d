// nginx's `stream {}` context → IR (StreamConfig): TCP/UDP listeners, the
// routing of each server (one backend, or a selection by SNI through a
// `map $ssl_preread_server_name`), its proxy settings, and the stream backends.
// What cannot be kept exactly is reported and left out (routing `untranslated`).
import type { Directive, ParsedConfig, SourcePos } from '../parse/ast.js';
import type { ReportClass, StreamConfig, StreamListen, StreamTls, StreamRouting, StreamServer, StreamSettings, StreamSniEntry, UpstreamTls } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { directivesOf, errorAt, type Level, levelOf, parseTimeMs, srcOf } from './util.js';
import { effectiveSimple } from './limits.js';
import { lowerServerTls } from './tls.js';
import { markStreamSslLevel, sslDirectivesAt, upstreamTls } from './proxy-ssl.js';
import { streamAccess } from './stream-access.js';
import { readMap, lookupStatic, type MapBlock } from './map-block.js';
import { lowerStreamUpstream, resolveStreamTarget, streamBackends, type StreamBackends, type TargetResult, useStreamCluster } from './stream-backends.js';

/** An http `listen`, for nginx's bind() conflict with a stream one. */
export interface HttpListen {
  address: string;
  port: number;
  pos: SourcePos;
}

export interface HttpSide {
  /** Every http cluster name (stream clusters never take one). */
  clusters: Iterable<string>;
  listens: HttpListen[];
}

const DEFAULTS = { connectTimeoutMs: 60000, idleTimeoutMs: 600000, prereadTimeoutMs: 30000 };

/** Stream-level and server-level directives whose meaning this module states (others: classify.ts). */
const STREAM_REASONS: Record<string, [cls: ReportClass, reason: string]> = {
  proxy_connect_timeout: ['translated', 'the clusters\' connect_timeout'],
  proxy_timeout: ['translated', 'idle_timeout of tcp_proxy / udp_proxy (no data in either direction for this long ends the session, as in nginx)'],
  preread_timeout: ['translated', 'listener_filters_timeout: a client sending nothing for this long is closed, as nginx closes it'],
  ssl_preread: ['translated', 'tls_inspector listener filter: it reads the ClientHello (the SNI selects the filter chain) and, like nginx\'s preread phase, waits for the client\'s first bytes'],
  proxy_next_upstream: ['translated', 'tcp_proxy max_connect_attempts'],
  proxy_next_upstream_tries: ['translated', 'tcp_proxy max_connect_attempts'],
  proxy_protocol: ['translated', 'PROXY protocol v1 header sent to the upstream (upstream_proxy_protocol transport socket)'],
  proxy_buffer_size: ['ignored', 'buffer tuning: no effect on where connections go'],
  preread_buffer_size: ['ignored', 'buffer tuning: no effect on where connections go'],
  tcp_nodelay: ['ignored', 'socket tuning (Envoy sets TCP_NODELAY)'],
  resolver: ['ignored', 'nginx resolves names with it; Envoy resolves DNS clusters itself'],
  resolver_timeout: ['ignored', 'DNS tuning'],
  error_log: ['ignored', 'logging: Envoy logs through its own admin/log options'],
  access_log: ['unsupported', 'stream access logs are not translated (no tcp_proxy access_log is configured)'],
  log_format: ['unsupported', 'stream access logs are not translated (no tcp_proxy access_log is configured)'],
  open_log_file_cache: ['ignored', 'logging'],
  limit_conn: ['unsupported', 'connection limiting per key is not translated (Envoy\'s connection_limit filter counts all connections of a chain, not per client)'],
  limit_conn_zone: ['unsupported', 'connection limiting per key is not translated (Envoy\'s connection_limit filter counts all connections of a chain, not per client)'],
  limit_conn_log_level: ['unsupported', 'connection limiting is not translated'],
  proxy_download_rate: ['unsupported', 'stream bandwidth limits are not translated (Envoy has none for tcp_proxy)'],
  proxy_upload_rate: ['unsupported', 'stream bandwidth limits are not translated (Envoy has none for tcp_proxy)'],
  proxy_bind: ['unsupported', 'the upstream source address is not translated'],
  proxy_socket_keepalive: ['translated', 'cluster upstream_connection_options.tcp_keepalive (SO_KEEPALIVE, probe timings left to the OS as nginx leaves them) on the TCP clusters of the servers it applies to (`…/keepalive` where a backend is also reached without it); UDP has no keepalive'],
  proxy_next_upstream_timeout: ['unsupported', 'a time limit on trying the next upstream is not translated (Envoy bounds the attempts, not their total time)'],
  proxy_requests: ['unsupported', 'UDP: the number of datagrams per session is not translated'],
  proxy_responses: ['approximated', 'UDP: nginx ends a session after this many responses, Envoy\'s udp_proxy at idle_timeout: a client\'s next datagrams may go to another server of a multi-server upstream (to the same one with a single server)'],
};

interface Ctx {
  r: Reporter;
  reg: StreamBackends;
  maps: Map<string, MapBlock>;
  /** Maps whose selection a server translated (the rest are reported as untranslated variables). */
  usedMaps: Set<MapBlock>;
  servers: StreamServer[];
  /** Where each listen was written (duplicate and bind() checks). */
  listenPos: Map<StreamListen, SourcePos>;
}

/** The stream context of a configuration; undefined when it has none. */
export function lowerStreamContext(parsed: ParsedConfig, r: Reporter, http: HttpSide): StreamConfig | undefined {
  const blocks = streamBlocks(parsed, r);
  if (blocks.length === 0) return undefined;
  const ctx: Ctx = { r, reg: streamBackends(http.clusters, r), maps: new Map(), usedMaps: new Set(), servers: [], listenPos: new Map() };
  for (const level of blocks) {
    for (const d of level.byName.get('upstream') ?? []) lowerStreamUpstream(d, ctx.reg);
    for (const d of level.byName.get('map') ?? []) {
      const m = readMap(d);
      ctx.maps.set(m.to.toLowerCase(), m);
    }
  }
  for (const level of blocks) {
    markStreamLevel(level.ds, r);
    for (const d of level.byName.get('server') ?? []) ctx.servers.push(lowerStreamServer(d, level, ctx));
  }
  for (const m of ctx.maps.values()) if (!ctx.usedMaps.has(m)) markUnusedMap(m, r);
  checkDuplicateListens(ctx);
  checkHttpConflicts(ctx, http.listens, parsed);
  const backends = [...ctx.reg.upstreams.values(), ...ctx.reg.inline.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const b of backends) if (b.clusters.length === 0) r.note(b.source, 'upstream', 'translated', `stream upstream ${b.nginxName} is used by no translated server: no cluster emitted`);
  return { servers: ctx.servers, backends: backends.filter((b) => b.clusters.length > 0) };
}

function streamBlocks(parsed: ParsedConfig, r: Reporter): Level[] {
  const context = parsed.context || 'main';
  if (context === 'stream') return [levelOf(directivesOf(parsed.root))];
  if (context !== 'main') return [];
  const out: Level[] = [];
  for (const d of directivesOf(parsed.root)) {
    if (d.name !== 'stream') continue;
    r.mark(d, 'translated', 'stream context: TCP/UDP listeners (tcp_proxy, udp_proxy) and their clusters');
    out.push(levelOf(directivesOf(d.block)));
  }
  return out;
}

function markStreamLevel(ds: Directive[], r: Reporter): void {
  for (const d of ds) {
    const known = STREAM_REASONS[d.name];
    if (known) r.mark(d, known[0], known[1]);
  }
}

function markUnusedMap(m: MapBlock, r: Reporter): void {
  r.markTree(m.directive, 'unsupported', `stream \`map\` defining ${m.to}: used by no translated proxy_pass (variables are not translated elsewhere)`, 'entry of an untranslated `map`');
}

// ---------------------------------------------------------------- servers

function lowerStreamServer(d: Directive, stream: Level, ctx: Ctx): StreamServer {
  const r = ctx.r;
  const id = `stream_server_${ctx.servers.length}`;
  const own = levelOf(directivesOf(d.block));
  const levels = [stream, own];
  markStreamLevel(own.ds, r);
  const listens: StreamListen[] = [];
  for (const c of own.byName.get('listen') ?? []) {
    const l = lowerStreamListen(c, r);
    ctx.listenPos.set(l, c.source);
    listens.push(l);
  }
  const settings = streamSettings(levels, own, r);
  const passes = own.byName.get('proxy_pass') ?? [];
  if (passes.length > 1) throw errorAt(passes[1]!.source, '"proxy_pass" directive is duplicate', 'duplicate-directive');
  const pass = passes[0];
  const ret = own.byName.get('return')?.[0];
  if (!pass && !ret) {
    const handler = own.ds.find((c) => c.name.startsWith('js_') || c.name.includes('_by_lua'));
    if (!handler) throw errorAt(d.source, 'no handler for server', 'stream-no-handler');
  }
  const routing: StreamRouting = pass
    ? routingOf(pass, settings, levels, listens, ctx)
    : ret
      ? returnRouting(ret, listens, r)
      : { kind: 'untranslated', reason: 'no proxy_pass: the server\'s content handler (njs, Lua) is not translated', source: srcOf(d) };
  const tls = listens.some((l) => l.ssl) ? streamTls(levels, listens, ctx, r) : undefined;
  if (routing.kind === 'sni') dropUdpListens(listens, r);
  if (routing.kind === 'untranslated') {
    if (pass) r.mark(pass, 'unsupported', routing.reason);
    if (ret && !pass) r.mark(ret, 'unsupported', routing.reason);
    // Its listens and settings have no effect in the output: nothing is emitted for the server.
    r.markTree(d, 'unsupported', `${id}: not translated: ${routing.reason}`, `part of ${id}, which is not translated`);
    const map = pass ? mapOf(pass, ctx) : undefined;
    if (map && !ctx.usedMaps.has(map)) {
      ctx.usedMaps.add(map);
      r.markTree(map.directive, 'unsupported', `stream \`map\` defining ${map.to}, used by ${id}'s proxy_pass: ${routing.reason}`, 'entry of an untranslated `map`');
    }
  } else {
    r.mark(d, 'translated', `${id}: ${listens.map((l) => `${l.udp ? 'udp' : 'tcp'} ${l.address}:${l.port}`).join(', ')}`);
    const upstreamTls = upstreamTlsOf(routing, levels, listens, ctx);
    if (upstreamTls) settings.upstreamTls = upstreamTls;
    useClusters(routing, listens, settings, ctx);
  }
  const server: StreamServer = { id, listens, routing, settings, source: srcOf(d) };
  if (tls) server.tls = tls;
  const access = streamAccess(levels, r);
  if (access) server.access = access;
  return server;
}

/**
 * TLS termination by nginx (`listen … ssl`): the ssl_* directives read as for
 * http servers. nginx refuses to start without a certificate.
 */
function streamTls(levels: Level[], listens: StreamListen[], ctx: Ctx, r: Reporter): StreamTls {
  const tls = lowerServerTls(levels, r);
  const listen = listens.find((l) => l.ssl)!;
  if (!tls || tls.certificates.length === 0) {
    throw errorAt(ctx.listenPos.get(listen)!, 'no "ssl_certificate" is defined for the "listen ... ssl" directive', 'no-ssl-certificate');
  }
  const handshake = effectiveSimple(levels, 'ssl_handshake_timeout');
  const ms = handshake ? parseTimeMs(handshake.args[0]?.value ?? '') : 60000;
  if (ms === null) throw errorAt(handshake!.source, '"ssl_handshake_timeout" directive invalid value', 'time-value');
  if (handshake) r.mark(handshake, 'translated', 'the filter chain\'s transport_socket_connect_timeout');
  const out: StreamTls = { server: tls, handshakeTimeoutMs: ms };
  const alpn = effectiveSimple(levels, 'ssl_alpn');
  if (alpn) {
    out.alpn = alpn.args.map((a) => a.value);
    r.mark(alpn, 'translated', 'common_tls_context.alpn_protocols');
  }
  return out;
}

/** `return text`: a direct_response of the text on TCP; UDP and variables have no Envoy form. */
function returnRouting(d: Directive, listens: StreamListen[], r: Reporter): StreamRouting {
  if (d.args.length !== 1) throw errorAt(d.source, 'invalid number of arguments in "return" directive', 'arity');
  const text = d.args[0]!.value;
  const at = srcOf(d);
  if (text.includes('$')) return { kind: 'untranslated', reason: `\`return\` of \`${text}\` has variables: Envoy's direct_response sends fixed text only`, source: at };
  if (listens.some((l) => l.udp)) return { kind: 'untranslated', reason: '`return` on a UDP listen: Envoy\'s udp_proxy cannot answer by itself', source: at };
  r.mark(d, 'translated', 'direct_response: the text is sent, then the connection is closed, as nginx does');
  return { kind: 'return', text, source: at };
}

/** The stream map defining a `proxy_pass $var`'s variable. */
function mapOf(pass: Directive, ctx: Ctx): MapBlock | undefined {
  const m = /^\$(\w+)$|^\$\{(\w+)\}$/.exec(pass.args[0]?.value ?? '');
  return m ? ctx.maps.get('$' + (m[1] ?? m[2]!).toLowerCase()) : undefined;
}

/** The backends a routing names (StreamBackend.name), in order, once each. */
function backendNames(routing: StreamRouting): string[] {
  const names = routing.kind === 'backend' ? [routing.cluster] : routing.kind === 'sni' ? [...routing.entries.map((e) => e.cluster), routing.default] : [];
  return [...new Set(names)].filter((n): n is string => n !== null);
}

/**
 * proxy_ssl on: the TLS of each backend the server reaches over TCP (the proxy_ssl_*
 * settings in effect; proxy_ssl_name defaults to the name written in proxy_pass or the
 * map value, port stripped). The proxy_ssl_* directives are reported either way.
 */
function upstreamTlsOf(routing: StreamRouting, levels: Level[], listens: StreamListen[], ctx: Ctx): Record<string, UpstreamTls> | undefined {
  const on = effectiveSimple(levels, 'proxy_ssl')?.args[0]?.value === 'on';
  for (const level of levels) markStreamSslLevel(level, on, ctx.r);
  if (!on || listens.every((l) => l.udp)) return undefined;
  const ssl = sslDirectivesAt(levels, 'proxy');
  const backends = new Map([...ctx.reg.upstreams.values(), ...ctx.reg.inline.values()].map((b) => [b.name, b]));
  const out: Record<string, UpstreamTls> = {};
  for (const name of backendNames(routing)) out[name] = upstreamTls(ssl, backends.get(name)!.nginxName, 'proxy');
  return out;
}

/**
 * Registers the clusters a server uses: the routing names backends (their plain
 * TCP cluster's name); a UDP listen or `proxy_protocol on` uses a cluster of its own.
 */
function useClusters(routing: StreamRouting, listens: StreamListen[], settings: StreamSettings, ctx: Ctx): void {
  const backends = new Map([...ctx.reg.upstreams.values(), ...ctx.reg.inline.values()].map((b) => [b.name, b]));
  for (const name of backendNames(routing)) {
    for (const udp of new Set(listens.map((l) => l.udp))) useStreamCluster(backends.get(name)!, settings, udp);
  }
}

/** ssl_preread reads a TLS ClientHello: on a UDP listen the server name is always empty. */
function dropUdpListens(listens: StreamListen[], r: Reporter): void {
  for (let i = listens.length - 1; i >= 0; i--) {
    if (!listens[i]!.udp) continue;
    r.note(listens[i]!.source, 'listen', 'unsupported', 'udp listen of a server selecting by SNI: the map\'s value for an empty name applies to its datagrams; not translated (the TCP listens are)');
    listens.splice(i, 1);
  }
}

function streamSettings(levels: Level[], own: Level, r: Reporter): StreamSettings {
  const time = (name: string, dflt: number): number => {
    const d = effectiveSimple(levels, name);
    if (!d) return dflt;
    const ms = parseTimeMs(d.args[0]?.value ?? '');
    if (ms === null) throw errorAt(d.source, `"${name}" directive invalid value`, 'time-value');
    return ms;
  };
  const flag = (name: string, dflt: boolean): boolean => {
    const d = effectiveSimple(levels, name);
    return d ? d.args[0]?.value === 'on' : dflt;
  };
  const tries = effectiveSimple(levels, 'proxy_next_upstream_tries');
  const responses = effectiveSimple(levels, 'proxy_responses');
  void own;
  void r;
  return {
    connectTimeoutMs: time('proxy_connect_timeout', DEFAULTS.connectTimeoutMs),
    idleTimeoutMs: time('proxy_timeout', DEFAULTS.idleTimeoutMs),
    prereadTimeoutMs: time('preread_timeout', DEFAULTS.prereadTimeoutMs),
    sslPreread: flag('ssl_preread', false),
    nextUpstream: flag('proxy_next_upstream', true),
    nextUpstreamTries: tries ? Number(tries.args[0]?.value ?? 0) || 0 : 0,
    proxyProtocolUpstream: flag('proxy_protocol', false),
    udpResponses: responses ? Number(responses.args[0]?.value ?? 0) : null,
    ...(flag('proxy_socket_keepalive', false) ? { tcpKeepalive: true as const } : {}),
  };
}

// ---------------------------------------------------------------- listen

const SOCKET_PARAMS = /^(reuseport|deferred|bind|ipv6only=|backlog=|rcvbuf=|sndbuf=|so_keepalive=|fastopen=|accept_filter=|setfib=)/;

function lowerStreamListen(d: Directive, r: Reporter): StreamListen {
  const [first, ...params] = d.args.map((a) => a.value);
  if (first === undefined) throw errorAt(d.source, 'invalid number of arguments in "listen" directive', 'arity');
  if (first.startsWith('unix:')) throw errorAt(d.args[0]!.source, `unix sockets are not translated: "${first}" of the "listen" directive`, 'listen-unix');
  const addr = parseListenAddress(first);
  if (!addr) throw errorAt(d.args[0]!.source, `invalid host in "${first}" of the "listen" directive`, 'listen-address');
  if (addr.port === null) throw errorAt(d.args[0]!.source, `no port in "${first}" of the "listen" directive`, 'listen-port');
  const l: StreamListen = { address: addr.address, port: addr.port, udp: false, ssl: false, proxyProtocol: false, source: srcOf(d) };
  const notes: string[] = [];
  let cls: 'translated' | 'approximated' = 'translated';
  if (addr.resolved) {
    notes.push(`"${addr.resolved}" resolved to ${addr.address} at compile time, as nginx does at startup`);
    cls = 'approximated';
  }
  for (const p of params) {
    if (p === 'udp') l.udp = true;
    else if (p === 'ssl') l.ssl = true;
    else if (p === 'proxy_protocol') l.proxyProtocol = true;
    else if (SOCKET_PARAMS.test(p)) notes.push(`socket option \`${p}\` not translated (no routing effect)`);
    else throw errorAt(d.source, `invalid parameter "${p}"`, 'listen-param');
  }
  if (l.ssl) notes.push('TLS terminated by the filter chain (DownstreamTlsContext)');
  if (l.proxyProtocol) notes.push('PROXY protocol header expected: proxy_protocol listener filter');
  r.mark(d, cls, [`${l.udp ? 'udp' : 'tcp'} listener ${l.address}:${l.port}`, ...notes].join('; '));
  return l;
}

function parseListenAddress(text: string): { address: string; port: number | null; resolved?: string } | null {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { address: v6[1]!.toLowerCase(), port: portOf(v6[2]) };
  if (/^\d+$/.test(text)) return { address: '0.0.0.0', port: portOf(text) };
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  const port = portOf(m[2]);
  const host = m[1]!;
  if (host === '*') return { address: '0.0.0.0', port };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { address: host, port };
  if (host.toLowerCase() === 'localhost') return { address: '127.0.0.1', port, resolved: host };
  return null;
}

function portOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

// ---------------------------------------------------------------- routing

function routingOf(pass: Directive, settings: StreamSettings, levels: Level[], listens: StreamListen[], ctx: Ctx): StreamRouting {
  const r = ctx.r;
  if (pass.args.length !== 1) throw errorAt(pass.source, 'invalid number of arguments in "proxy_pass" directive', 'arity');
  const value = pass.args[0]!.value;
  const at = srcOf(pass);
  const resolver = effectiveSimple(levels, 'resolver') !== undefined;
  if (!value.includes('$')) {
    const t = resolveStreamTarget(value, pass, ctx.reg, true, resolver);
    if (!('backend' in t)) return { kind: 'untranslated', reason: 'closed' in t ? t.closed : t.untranslated, source: at };
    const b = t.backend;
    const dns = b.servers.some((s) => !s.unix && !/^[\d.]+$|:/.test(s.host));
    const via = listens.every((l) => l.udp) ? 'udp_proxy' : listens.some((l) => l.udp) ? 'tcp_proxy and udp_proxy' : 'tcp_proxy';
    r.mark(pass, dns && b.kind === 'inline' ? 'approximated' : 'translated', `${via} to cluster \`${b.name}\`${dns && b.kind === 'inline' ? ` (${value}: nginx resolves the name once at startup, Envoy's STRICT_DNS cluster re-resolves it)` : ''}`);
    return { kind: 'backend', cluster: b.name, source: at };
  }
  const m = /^\$(\w+)$|^\$\{(\w+)\}$/.exec(value);
  if (!m) return { kind: 'untranslated', reason: `proxy_pass \`${value}\` mixes text and variables: evaluated per connection by nginx, not translated`, source: at };
  const variable = '$' + (m[1] ?? m[2]!).toLowerCase();
  const map = ctx.maps.get(variable);
  if (!map) return { kind: 'untranslated', reason: `proxy_pass ${variable}: only a stream \`map\` of $ssl_preread_server_name is translated`, source: at };
  if (map.from === '$ssl_preread_alpn_protocols') {
    return { kind: 'untranslated', reason: `${variable} maps $ssl_preread_alpn_protocols: nginx compares the client's whole comma-joined ALPN list with each key, Envoy's application_protocols match any one protocol of the list, so no filter chain selects the same connections`, source: at };
  }
  if (map.from !== '$ssl_preread_server_name') return { kind: 'untranslated', reason: `${variable} maps ${map.from}: only $ssl_preread_server_name selections are translated`, source: at };
  return sniRouting(map, pass, settings, listens, resolver, ctx);
}

/** A `map $ssl_preread_server_name` selection as filter-chain server names, or why it cannot be one. */
function sniRouting(map: MapBlock, pass: Directive, settings: StreamSettings, listens: StreamListen[], resolver: boolean, ctx: Ctx): StreamRouting {
  const r = ctx.r;
  const at = srcOf(pass);
  const inexact = map.entries.find((e) => e.kind === 'regex' || e.kind === 'wildcard-suffix');
  if (inexact) {
    const why = inexact.kind === 'regex' ? `regex key \`${inexact.written}\`` : `suffix wildcard \`${inexact.key}\``;
    return { kind: 'untranslated', reason: `the SNI selection of ${map.to} has a ${why}: Envoy's server_names match exact names and \`*.\` wildcards only, so the selection cannot be kept exactly`, source: at };
  }
  const resolve = (value: string, e: Directive): TargetResult => resolveStreamTarget(value, e, ctx.reg, false, resolver);
  if (!settings.sslPreread || listens.every((l) => l.udp)) {
    // $ssl_preread_server_name is empty: every connection gets the map's value for "".
    const value = lookupStatic(map, '');
    const t = resolve(value, map.defaultDirective ?? map.directive);
    if ('untranslated' in t) return { kind: 'untranslated', reason: t.untranslated, source: at };
    ctx.usedMaps.add(map);
    r.markTree(map.directive, 'translated', `stream \`map\` defining ${map.to}: without \`ssl_preread on\` the server name is empty, so nginx always takes ${value === '' ? 'no value' : `\`${value}\``}`, 'entry of a translated `map`');
    if ('closed' in t) return { kind: 'sni', entries: [], default: null, source: at, map: map.source };
    r.mark(pass, 'translated', `tcp_proxy to cluster \`${t.backend.name}\` (${map.to} without ssl_preread: the map's value for an empty name)`);
    return { kind: 'backend', cluster: t.backend.name, source: at };
  }
  const entries: StreamSniEntry[] = [];
  const marks: [Directive, string, ReportClass?][] = []; // made once the whole selection is known to translate
  for (const e of map.entries) {
    const t = resolve(e.value, e.directive);
    if ('untranslated' in t) return { kind: 'untranslated', reason: `${map.to}: ${t.untranslated}`, source: at };
    if (e.kind === 'exact' && e.key === '') continue; // no SNI: the chain without server_names
    if (e.kind === 'exact' && e.key.startsWith('*')) {
      // Without `hostnames` nginx compares `*.x` as a literal name; Envoy would read it as a wildcard.
      marks.push([e.directive, `the literal name \`${e.key}\` (no \`hostnames\`: not a wildcard in nginx) is left out: Envoy's server_names would read it as a wildcard; only a client sending exactly this name is routed differently (by the default)`, 'approximated']);
      continue;
    }
    entries.push({ kind: e.kind as 'exact' | 'wildcard-prefix', name: e.key, cluster: 'backend' in t ? t.backend.name : null, source: e.source });
    marks.push([e.directive, 'backend' in t ? `server_names of the filter chain to \`${t.backend.name}\`` : `server_names of a filter chain that closes the connection: ${t.closed}`]);
  }
  const emptyValue = lookupStatic(map, '');
  const dflt = resolve(map.defaultValue, map.defaultDirective ?? map.directive);
  if ('untranslated' in dflt) return { kind: 'untranslated', reason: `${map.to} default: ${dflt.untranslated}`, source: at };
  if (emptyValue !== map.defaultValue) {
    return { kind: 'untranslated', reason: `${map.to} has an entry for the empty name (clients sending no SNI) that differs from its default: Envoy sends both to the chain without server_names`, source: at };
  }
  ctx.usedMaps.add(map);
  for (const [e, reason, cls] of marks) r.mark(e, cls ?? 'translated', reason);
  r.mark(map.directive, 'translated', `SNI selection: filter chains matched on server_names (tls_inspector)`);
  if (map.defaultDirective) {
    r.mark(map.defaultDirective, 'translated', 'backend' in dflt ? `the filter chain without server_names (no SNI, or a name no entry matches) to \`${dflt.backend.name}\`` : `no filter chain without server_names: ${dflt.closed}`);
  } else {
    r.note(map.source, 'map', 'translated', `${map.to} has no default: nginx closes connections whose name no entry matches (or without SNI); the filter chain without server_names closes them too (direct_response with nothing to send)`);
  }
  for (const e of directivesOf(map.directive.block)) if ((e.name === 'hostnames' || e.name === 'volatile') && e.args.length === 0) r.mark(e, 'translated', e.name === 'hostnames' ? 'wildcard names become `*.` server_names' : 'no effect on the translation');
  r.mark(pass, 'translated', `selection by SNI (${map.to}, map at ${map.source.file}:${map.source.line})`);
  return { kind: 'sni', entries, default: 'backend' in dflt ? dflt.backend.name : null, source: at, map: map.source };
}

// ---------------------------------------------------------------- checks

function listenText(l: { address: string; port: number }): string {
  return l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

/** nginx: `duplicate "addr:port" address and port pair` at the second listen (per protocol). */
function checkDuplicateListens(ctx: Ctx): void {
  const seen = new Set<string>();
  for (const s of ctx.servers) {
    for (const l of s.listens) {
      const key = `${l.udp ? 'udp' : 'tcp'} ${listenText(l)}`;
      if (seen.has(key)) throw errorAt(ctx.listenPos.get(l)!, `duplicate "${listenText(l)}" address and port pair`, 'duplicate-listen');
      seen.add(key);
    }
  }
}

function overlaps(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  if (a.port !== b.port || a.address.includes(':') !== b.address.includes(':')) return false;
  const any = (x: string): boolean => x === '0.0.0.0' || x === '::';
  return a.address === b.address || any(a.address) || any(b.address);
}

/**
 * An http and a stream TCP socket on one address:port (or a wildcard and an
 * address of it): nginx's startup fails binding the later block's socket.
 */
function checkHttpConflicts(ctx: Ctx, httpListens: HttpListen[], parsed: ParsedConfig): void {
  if (httpListens.length === 0) return;
  const top = directivesOf(parsed.root);
  const httpFirst = top.findIndex((d) => d.name === 'http') < top.findIndex((d) => d.name === 'stream');
  for (const s of ctx.servers) {
    for (const l of s.listens) {
      if (l.udp) continue;
      const h = httpListens.find((x) => overlaps(x, l));
      if (!h) continue;
      if (httpFirst) throw errorAt(ctx.listenPos.get(l)!, `bind() to ${listenText(l)} failed (98: Address already in use)`, 'listen-conflict');
      throw errorAt(h.pos, `bind() to ${listenText(h)} failed (98: Address already in use)`, 'listen-conflict');
    }
  }
}
