// IR listeners → Envoy listeners. Each nginx address:port gets its own HTTP
// connection manager and route configuration; a specific address sharing a
// port with a wildcard one becomes a filter chain of the wildcard listener
// (matched on the destination IP), as nginx dispatches one socket by address.
import type { Backend, Listener, ServerName, VirtualServer } from '../../ir/types.js';
import { authorityMatcher, BUFFER_FILTER, recordRouteOwners, serverRoutes } from './routes.js';
import { insertAccessFilters } from './route-access.js';
import { NGINX_HIDDEN } from './header-lists.js';
import type { Emission, Json } from './context.js';
import { NGINX_DEFAULT_BODY_SIZE } from '../../lower/limits.js';
import { TLS_INSPECTOR, tlsFilterChains } from './tls.js';
import { applyEdge, applyLocalReplies } from './edge.js';
import { insertBasicAuthFilter } from './basic-auth.js';
import { finishVirtualHosts, neutralPerRouteConfigs } from './hoist.js';
import { applyServerHeader } from './server-header.js';
import { clusterNamesOf, type EmissionReuse, type KeptVhost, type VhostInputs } from './reuse.js';

export interface ListenerScope {
  servers: Map<string, VirtualServer>;
  backends: Map<string, Backend>;
  em: Emission;
  /** Virtual hosts of earlier emissions to use again where nothing they are made of changed (serve). */
  reuse?: EmissionReuse;
}

/** A virtual host of a route configuration being emitted: what it is made from, and the kept one used for it. */
interface VhostSlot {
  inputs: VhostInputs;
  kept: KeptVhost | null;
}

/** The Host Envoy routes an HTTP/1.0 request without one by (a reserved, never real name). */
export const NO_HOST = 'no-host.ngx2envoy.invalid';

export function routeConfigName(l: Listener): string {
  return l.name.replace(/^listener_/, 'route_');
}

export function emitListeners(listeners: Listener[], scope: ListenerScope): Json[] {
  const out: Json[] = [];
  const groups = new Map<string, Listener[]>();
  for (const l of listeners) {
    const key = `${l.address.includes(':') ? 'v6' : 'v4'}:${l.port}`;
    const g = groups.get(key) ?? [];
    g.push(l);
    groups.set(key, g);
  }
  for (const l of listeners) {
    const key = `${l.address.includes(':') ? 'v6' : 'v4'}:${l.port}`;
    const group = groups.get(key)!;
    const wildcard = group.find((x) => x.address === '0.0.0.0' || x.address === '::');
    if (wildcard && wildcard !== l) continue; // emitted as a filter chain of the wildcard listener
    const members = wildcard ? group : [l];
    // pushed, not flatMap'ed: a packed array, as every other list the YAML writer and the validator walk
    const chains: Json[] = [];
    for (const m of members) {
      const base = filterChain(m, m !== l || (wildcard !== undefined && members.length > 1 && m !== wildcard), scope);
      const tls = tlsFilterChains(m, base, scope.servers, scope.em);
      if (tls === null || tls === undefined) chains.push(base);
      else for (const c of tls) chains.push(c);
    }
    const listener: Json = {
      name: l.name,
      address: { socket_address: { address: l.address, port_value: l.port } },
    };
    if (members.some((m) => m.proxyProtocol)) {
      listener.listener_filters = [{ name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } }];
      scope.em.note(l.sources[0]!, 'listen', 'approximated', `proxy_protocol on ${l.address}:${l.port}: Envoy takes the client address from the PROXY header (nginx keeps it in $proxy_protocol_addr unless real_ip is set)`);
      if (members.some((m) => !m.proxyProtocol)) scope.em.note(l.sources[0]!, 'listen', 'approximated', 'proxy_protocol is per listener in Envoy: applied to every address on this port');
    }
    if (chains.some((c) => c.filter_chain_match?.server_names)) listener.listener_filters = [...(listener.listener_filters ?? []), TLS_INSPECTOR];
    listener.filter_chains = chains;
    scope.em.commentList(listener, members.flatMap((m) => m.sources));
    out.push(listener);
  }
  return out;
}

function filterChain(l: Listener, matchAddress: boolean, scope: ListenerScope): Json {
  const chain: Json = { name: l.name };
  if (matchAddress) chain.filter_chain_match = { prefix_ranges: [{ address_prefix: l.address, prefix_len: l.address.includes(':') ? 128 : 32 }] };
  chain.filters = [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm(l, scope) }];
  return chain;
}

/**
 * The connection manager of listener `l`. With `scope.reuse`, virtual hosts kept from an
 * earlier emission are used where their inputs and the listener's decisions are the same;
 * when a decision changed, the listener is emitted again without them (`reuseVhosts` false).
 */
function hcm(l: Listener, scope: ListenerScope, reuseVhosts = true): Json {
  const slots: VhostSlot[] | null = scope.reuse ? [] : null;
  const out: Json = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: l.name,
    codec_type: 'AUTO',
    // nginx matches locations on the normalised URI: merged slashes, resolved dot segments, decoded %2F.
    merge_slashes: true,
    normalize_path: true,
    path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD',
    // nginx selects the server on the Host without port and trailing dot.
    strip_any_host_port: true,
    strip_trailing_host_dot: true,
    // nginx serves HTTP/1.0; a request without Host goes to the first server named "" (else the default).
    http_protocol_options: { accept_http_10: true, default_host_for_http_10: NO_HOST },
    route_config: routeConfig(l, scope, slots, reuseVhosts),
    http_filters: [
      {
        name: BUFFER_FILTER,
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: NGINX_DEFAULT_BODY_SIZE },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
    ],
  };
  // Virtual hosts used as they were: their routes are final, no pass below changes them.
  const kept = new Set<Json>();
  const keptScripts = new Map<Json, [string, string][]>();
  for (const slot of slots ?? []) {
    if (!slot.kept) continue;
    kept.add(slot.kept.vhost);
    keptScripts.set(slot.kept.vhost, slot.kept.scripts);
  }
  const edge = applyEdge(out, l, scope, { vhosts: kept, scripts: keptScripts });
  insertAccessFilters(out);
  applyLocalReplies(out, l, scope, edge.settings);
  // after RBAC: nginx's access module answers 403 before auth_basic asks for credentials
  insertBasicAuthFilter(out);
  const neutral = neutralPerRouteConfigs(out.http_filters);
  const decisions = slots ? `${edge.decisions}\n${JSON.stringify([...neutral])}` : '';
  if (slots?.some((s) => s.kept && s.kept.decisions !== decisions)) return hcm(l, scope, false);
  finishVirtualHosts(out.route_config, neutral, scope.em, kept, edge.changes);
  if (slots) keepVhosts(slots, out.route_config.virtual_hosts, edge.scripts, decisions, scope);
  out.common_http_protocol_options = { ...out.common_http_protocol_options, headers_with_underscores_action: underscoreAction(l, scope) };
  applyServerHeader(out, l, scope);
  return out;
}

/** Use the kept virtual hosts (their comments too), keep the ones emitted now for the next emission. */
function keepVhosts(slots: VhostSlot[], vhosts: Json[], scripts: [string, string][][], decisions: string, scope: ListenerScope): void {
  const reuse = scope.reuse!;
  const comments = scope.em.comments;
  slots.forEach((slot, i) => {
    if (slot.kept) {
      reuse.take(slot.kept);
      for (const [route, text] of slot.kept.comments) comments.set(route, text);
      return;
    }
    const vhost = vhosts[i];
    const own: [object, string][] = [];
    for (const route of vhost.routes ?? []) {
      const text = comments.get(route);
      if (text !== undefined) own.push([route, text]);
    }
    reuse.keep({ inputs: slot.inputs, decisions, vhost, scripts: scripts[i] ?? [], comments: own });
  });
}

/**
 * nginx ignores request headers named with `_` unless underscores_in_headers is on (or
 * ignore_invalid_headers off). nginx reads the setting of the default server until the
 * Host header picks another; Envoy has one per listener: the default server's.
 */
function underscoreAction(l: Listener, scope: ListenerScope): 'DROP_HEADER' | 'ALLOW' {
  const of = (id: string) => scope.servers.get(id)!.edge?.underscoreHeaders ?? 'drop';
  const mine = of(l.defaultServerId);
  for (const id of l.serverIds) {
    if (of(id) === mine) continue;
    const s = scope.servers.get(id)!;
    scope.em.noteOnce(`underscores:${l.name}:${id}`, s.source, 'underscores_in_headers', 'approximated', `${id}: headers named with \`_\` are ${of(id) === 'drop' ? 'dropped' : 'passed'} by nginx for its Host; Envoy has one setting per listener: the default server's (${mine === 'drop' ? 'dropped' : 'passed'}) on ${l.address}:${l.port}`);
  }
  return mine === 'drop' ? 'DROP_HEADER' : 'ALLOW';
}

function domainOf(n: ServerName): string | null {
  return n.kind === 'exact' || n.kind === 'wildcard-prefix' || n.kind === 'wildcard-suffix' ? n.value : null;
}

/** Whether another server on the listener claimed this name first (keys `serverId|kind:value`). */
function isShadowed(shadowed: ReadonlySet<string>, id: string, n: ServerName): boolean {
  // (most listeners have none: no key is built for them)
  return shadowed.size > 0 && shadowed.has(`${id}|${n.kind}:${n.value}`);
}

/** A server's Envoy domains on the listener: its exact and wildcard names not claimed first by another server, once each. */
function domainsOf(server: VirtualServer, shadowed: ReadonlySet<string>): string[] {
  const domains: string[] = [];
  for (const n of server.names) {
    const d = domainOf(n);
    if (d !== null && !domains.includes(d) && !isShadowed(shadowed, server.id, n)) domains.push(d);
  }
  return domains;
}

/**
 * The route configuration of listener `l`: a virtual host per server with names, then the
 * default one (regex names, the default server). With `slots`, each virtual host's inputs
 * are recorded there, and a kept one made from the same inputs is used (when `reuseVhosts`).
 */
export function routeConfig(l: Listener, scope: ListenerScope, slots: VhostSlot[] | null = null, reuseVhosts = true): Json {
  const shadowed = new Set((l.shadowedNames ?? []).map((s) => `${s.serverId}|${s.kind}:${s.value}`));
  const vhosts: Json[] = [];
  const regexServers: VirtualServer[] = [];
  // nginx looks the empty name up for requests without Host: the first server named "" has it.
  const noHostServer = l.serverIds.find((id) => scope.servers.get(id)!.names.some((n) => n.kind === 'empty'));
  // What routes read of the listener (the scheme and the port: $scheme, redirects, `if ($scheme …)`).
  const listenerText = `${l.ssl ? 'https' : 'http'}:${l.port}`;
  for (const id of l.serverIds) {
    const server = scope.servers.get(id)!;
    const domains = domainsOf(server, shadowed);
    if (id === noHostServer && id !== l.defaultServerId) domains.push(NO_HOST);
    if (domains.length) {
      const kept = slots && keptFor(slots, { key: `${l.name}|${id}`, servers: [server], text: `${listenerText}|${JSON.stringify(domains)}|${clusterNamesOf(server)}` }, scope, reuseVhosts);
      vhosts.push(kept ?? { name: id, domains, routes: serverRoutes({ server, listener: l, backends: scope.backends, em: scope.em, authority: null }) });
    }
    if (server.names.some((n) => n.kind === 'regex' && !isShadowed(shadowed, id, n))) regexServers.push(server);
  }
  const dflt = scope.servers.get(l.defaultServerId)!;
  const starServers = [...regexServers, dflt];
  const kept = slots && keptFor(slots, { key: `${l.name}|*`, servers: starServers, text: `${listenerText}|${starServers.map((s) => `${s.id}:${clusterNamesOf(s)}`).join('|')}` }, scope, reuseVhosts);
  if (kept) vhosts.push(kept);
  else {
    const parts: Json[][] = [];
    for (const server of regexServers) {
      parts.push(serverRoutes({ server, listener: l, backends: scope.backends, em: scope.em, authority: authorityMatcher(server) }));
    }
    parts.push(serverRoutes({ server: dflt, listener: l, backends: scope.backends, em: scope.em, authority: null }));
    const star = parts.length === 1 ? parts[0]! : parts.flat();
    if (parts.length > 1) recordRouteOwners(star, parts, scope.em);
    vhosts.push({ name: `${dflt.id}_default`, domains: ['*'], routes: star });
  }
  // Upstream headers nginx never passes to clients (X-Accel-*, X-Pad); direct responses have none.
  return { name: routeConfigName(l), virtual_hosts: vhosts, response_headers_to_remove: NGINX_HIDDEN };
}

/** Record a virtual host's inputs; the kept virtual host made from the same inputs, or null. */
function keptFor(slots: VhostSlot[], inputs: VhostInputs, scope: ListenerScope, reuseVhosts: boolean): Json | null {
  const kept = reuseVhosts ? (scope.reuse!.find(inputs) ?? null) : null;
  slots.push({ inputs, kept });
  return kept ? kept.vhost : null;
}

