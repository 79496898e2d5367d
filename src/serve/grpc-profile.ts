// The "grpc profile": the compiled resources reshaped for a proxyless gRPC
// client (@grpc/grpc-js-xds and the other gRPC xDS clients, gRFC A27/A28).
// The server picks it per stream when the node's user agent is gRPC (or node
// metadata says `ngx2envoy.profile: grpc`); Envoy always gets the Envoy profile.
//
// What changes, and why:
// - Listeners: gRPC resolves `xds:///<name>` by fetching the Listener <name>,
//   which must be an `api_listener` whose HCM uses RDS and ends with the router
//   filter. One api_listener is served per exact server name of each compiled
//   listener, named `<host>:<port>`, and also `<host>` for the first listener
//   that has it; plus one named after the compiled listener itself
//   (`xds:///listener_0_0_0_0_80`) whose authority only the default server
//   (`*` virtual host) matches. HTTP filters other than the router are left out.
// - Routes: same names and matching, plus `host:port` domains (gRPC matches
//   the target authority with its port); redirect, direct_response and other
//   non-forwarding actions (which gRPC rejects or skips, so the call would
//   fall through to a later route) route to `ngx2envoy_grpc_unroutable`, an
//   EDS cluster without endpoints: the call fails (UNAVAILABLE) where nginx
//   would have answered locally. retry_policy and typed_per_filter_config are
//   dropped (no filters but the router). prefix_rewrite and timeouts stay;
//   gRPC ignores them.
//   Known difference: gRPC matches header matchers against call metadata,
//   which has no pseudo-headers, so routes guarded by `:path` (regex
//   locations nested under a prefix) or `:authority` (regex server names)
//   never match for a gRPC client; its calls go on to the next route (the
//   enclosing prefix location, the default server), as if the regex had not
//   matched.
// - Clusters: lb_policy other than ROUND_ROBIN/RING_HASH becomes ROUND_ROBIN;
//   upstream TLS is dropped (the client uses its own channel credentials);
//   non-EDS clusters (hostname backends) become EDS clusters with no
//   endpoints, since gRPC needs IP endpoints.
// - Endpoints: every locality gets a `locality` (region `ngx2envoy`, zone
//   `p<priority>-<index>`) and a load_balancing_weight (1) when it has none;
//   unix-socket endpoints are dropped.
import {
  TYPE_URLS,
  adsConfigSource,
  resourceName,
  type Json,
  type JsonObject,
  type XdsResources,
} from '../emit/envoy/xds.js';

export const UNROUTABLE_CLUSTER = 'ngx2envoy_grpc_unroutable';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function clone<T extends Json>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The api_listener an `xds:///<name>` target resolves to. */
function apiListener(name: string, routeConfigName: string): JsonObject {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM_TYPE,
        stat_prefix: name.replace(/[^A-Za-z0-9_.-]/g, '_'),
        rds: { config_source: adsConfigSource(), route_config_name: routeConfigName },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      },
    },
  };
}

/** Route configuration names an Envoy listener uses, with the port it listens on. */
function listenerRouteNames(listener: JsonObject): { port: number | null; routes: string[] } {
  const socket = isObject(listener['address']) ? listener['address']['socket_address'] : undefined;
  const port = isObject(socket) && typeof socket['port_value'] === 'number' ? socket['port_value'] : null;
  const routes: string[] = [];
  const chains = [...list(listener['filter_chains'])];
  if (isObject(listener['default_filter_chain'])) chains.push(listener['default_filter_chain']);
  for (const chain of chains) {
    for (const filter of list(chain['filters'])) {
      const hcm = filter['typed_config'];
      if (!isObject(hcm) || hcm['@type'] !== HCM_TYPE || !isObject(hcm['rds'])) continue;
      const name = hcm['rds']['route_config_name'];
      if (typeof name === 'string' && !routes.includes(name)) routes.push(name);
    }
  }
  return { port, routes };
}

function exactDomains(routeConfig: JsonObject): string[] {
  const out: string[] = [];
  for (const vh of list(routeConfig['virtual_hosts'])) {
    for (const d of Array.isArray(vh['domains']) ? vh['domains'] : []) {
      if (typeof d === 'string' && d !== '' && !d.includes('*') && !out.includes(d)) out.push(d);
    }
  }
  return out;
}

function profileListeners(resources: XdsResources): JsonObject[] {
  const byName = new Map<string, JsonObject>();
  const claim = (name: string, route: string) => {
    if (!byName.has(name)) byName.set(name, apiListener(name, route));
  };
  const routesByName = new Map(resources.routes.map((r) => [resourceName(r), r]));
  for (const listener of resources.listeners) {
    const { port, routes } = listenerRouteNames(listener);
    if (routes.length === 0) continue;
    claim(resourceName(listener), routes[0]!);
    for (const routeName of routes) {
      const rc = routesByName.get(routeName);
      if (!rc) continue;
      for (const domain of exactDomains(rc)) {
        const hasPort = /:\d+$/.test(domain);
        if (!hasPort && port !== null) claim(`${domain}:${port}`, routeName);
        claim(domain, routeName);
      }
    }
  }
  return [...byName.keys()].sort().map((n) => byName.get(n)!);
}

/** One route reshaped for gRPC; `unroutable` is set when it had to be sent to the unroutable cluster. */
function profileRoute(route: JsonObject, flags: { unroutable: boolean }): JsonObject {
  const out = clone(route);
  delete out['typed_per_filter_config'];
  if (isObject(out['route'])) {
    delete out['route']['retry_policy'];
    for (const wc of list(isObject(out['route']['weighted_clusters']) ? out['route']['weighted_clusters']['clusters'] : undefined)) {
      delete wc['typed_per_filter_config'];
    }
    return out;
  }
  for (const key of ['redirect', 'direct_response', 'filter_action', 'non_forwarding_action']) delete out[key];
  out['route'] = { cluster: UNROUTABLE_CLUSTER };
  flags.unroutable = true;
  return out;
}

/**
 * gRPC matches the target's authority (`host:port` when the target has a
 * port) against the domains exactly; Envoy's Host header on a default port
 * has none. Add `domain:port` for each port the route configuration is served
 * on, unless some virtual host already lists it.
 */
function addPortDomains(rc: JsonObject, ports: number[]): void {
  const taken = new Set(list(rc['virtual_hosts']).flatMap((vh) => (Array.isArray(vh['domains']) ? vh['domains'] : [])));
  for (const vh of list(rc['virtual_hosts'])) {
    const domains = Array.isArray(vh['domains']) ? vh['domains'].filter((d): d is string => typeof d === 'string') : [];
    const extra: string[] = [];
    for (const d of domains) {
      if (d === '*' || /:\d+$/.test(d)) continue;
      for (const p of ports) {
        const withPort = `${d}:${p}`;
        if (!taken.has(withPort)) {
          taken.add(withPort);
          extra.push(withPort);
        }
      }
    }
    if (extra.length) vh['domains'] = [...domains, ...extra];
  }
}

function profileRouteConfig(rc: JsonObject, ports: number[], flags: { unroutable: boolean }): JsonObject {
  const out = clone(rc);
  addPortDomains(out, ports);
  for (const vh of list(out['virtual_hosts'])) {
    delete vh['typed_per_filter_config'];
    delete vh['retry_policy'];
    vh['routes'] = list(vh['routes']).map((r) => profileRoute(r, flags));
  }
  return out;
}

function profileCluster(cluster: JsonObject): JsonObject {
  const lbPolicy = cluster['lb_policy'];
  const base: JsonObject =
    cluster['type'] === 'EDS'
      ? clone(cluster)
      : { name: resourceName(cluster), type: 'EDS', eds_cluster_config: { eds_config: adsConfigSource() } };
  delete base['transport_socket'];
  delete base['transport_socket_matches'];
  if (lbPolicy !== undefined && lbPolicy !== 'ROUND_ROBIN' && lbPolicy !== 'RING_HASH') {
    base['lb_policy'] = 'ROUND_ROBIN';
    delete base['least_request_lb_config'];
    delete base['maglev_lb_config'];
  }
  if (base['lb_policy'] === 'RING_HASH') base['lb_policy'] = 'ROUND_ROBIN'; // ring hash is opt-in in gRPC
  delete base['ring_hash_lb_config'];
  delete base['load_balancing_policy'];
  return base;
}

function profileEndpoints(cla: JsonObject): JsonObject {
  const out = clone(cla);
  out['endpoints'] = list(out['endpoints']).map((locality, index) => {
    const priority = typeof locality['priority'] === 'number' ? locality['priority'] : 0;
    const lbEndpoints = list(locality['lb_endpoints']).filter((lb) => {
      const endpoint = lb['endpoint'];
      return isObject(endpoint) && isObject(endpoint['address']) && isObject(endpoint['address']['socket_address']);
    });
    return {
      ...locality,
      locality: isObject(locality['locality']) ? locality['locality'] : { region: 'ngx2envoy', zone: `p${priority}-${index}` },
      load_balancing_weight: locality['load_balancing_weight'] ?? 1,
      lb_endpoints: lbEndpoints,
    };
  });
  return out;
}

/** The gRPC-client profile of a resource set (see the header comment). */
export function grpcProfile(resources: XdsResources): XdsResources {
  const flags = { unroutable: false };
  const ports = new Map<string, number[]>();
  for (const listener of resources.listeners) {
    const { port, routes: names } = listenerRouteNames(listener);
    if (port === null) continue;
    for (const name of names) ports.set(name, [...(ports.get(name) ?? []), port].sort((a, b) => a - b));
  }
  const routes = resources.routes.map((rc) => profileRouteConfig(rc, ports.get(resourceName(rc)) ?? [], flags));
  const clusters = resources.clusters.map(profileCluster);
  const edsNames = new Set(resources.endpoints.map(resourceName));
  const endpoints = resources.endpoints.map(profileEndpoints);
  for (const cluster of resources.clusters) {
    const name = resourceName(cluster);
    if (!edsNames.has(name)) endpoints.push({ cluster_name: name, endpoints: [] });
  }
  if (flags.unroutable && !clusters.some((c) => resourceName(c) === UNROUTABLE_CLUSTER)) {
    clusters.push({ name: UNROUTABLE_CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: adsConfigSource() } });
    endpoints.push({ cluster_name: UNROUTABLE_CLUSTER, endpoints: [] });
  }
  return { listeners: profileListeners(resources), routes, clusters, endpoints, secrets: [] };
}

export const GRPC_PROFILE_TYPE_URLS = TYPE_URLS;
