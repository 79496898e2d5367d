// The validator as it was before the compiled walk (kept verbatim for the
// differential test: test/validate/differential.test.ts): the reference the
// fast validator in src/validate must agree with, finding for finding.

// Cross-reference checks Envoy performs when it loads a configuration, over
// the messages the structural walk collected (wherever they sit, typed_config
// included): names unique, references resolvable, domains and filter chain
// matches unambiguous.

import { isIP } from 'node:net';
import { indexPath, keyPath, type Finding } from '../../../src/validate/findings.js';
import { isPlainObject } from '../../../src/validate/scalars.js';
import { protoJsonName } from '../../../src/validate/schema.js';
import { NO_FINDINGS, type Collected, type LocalCheck, type Site } from './walk.js';
import { regexCheck } from './regex.js';

export const T = {
  listener: 'envoy.config.listener.v3.Listener',
  routeConfiguration: 'envoy.config.route.v3.RouteConfiguration',
  routeAction: 'envoy.config.route.v3.RouteAction',
  rds: 'envoy.extensions.filters.network.http_connection_manager.v3.Rds',
  configSource: 'envoy.config.core.v3.ConfigSource',
  sdsSecretConfig: 'envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig',
  cluster: 'envoy.config.cluster.v3.Cluster',
  tcpProxy: 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  udpProxy: 'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig',
  udpRoute: 'envoy.extensions.filters.udp.udp_proxy.v3.Route',
  envoyGrpc: 'envoy.config.core.v3.GrpcService.EnvoyGrpc',
  apiConfigSource: 'envoy.config.core.v3.ApiConfigSource',
  headerValueOption: 'envoy.config.core.v3.HeaderValueOption',
  virtualHost: 'envoy.config.route.v3.VirtualHost',
  route: 'envoy.config.route.v3.Route',
  clusterWeight: 'envoy.config.route.v3.WeightedCluster.ClusterWeight',
  regexMatcher: 'envoy.type.matcher.v3.RegexMatcher',
  clusterLoadAssignment: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'envoy.extensions.transport_sockets.tls.v3.Secret',
  bootstrap: 'envoy.config.bootstrap.v3.Bootstrap',
  hcm: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  filterChain: 'envoy.config.listener.v3.FilterChain',
  router: 'envoy.extensions.filters.http.router.v3.Router',
} as const;

/** The message types the walk must collect for these checks. */
export const COLLECTED_TYPES: ReadonlySet<string> = new Set([
  T.listener, T.routeConfiguration, T.routeAction, T.rds, T.configSource, T.sdsSecretConfig, T.cluster, T.tcpProxy, T.envoyGrpc,
  T.hcm, T.filterChain, T.apiConfigSource, T.udpProxy, T.udpRoute,
]);

export type CollectedByType = ReadonlyMap<string, Collected[]>;

const jsonNames = new Map<string, string>();

function jsonName(name: string): string {
  let j = jsonNames.get(name);
  if (j === undefined) {
    j = protoJsonName(name);
    jsonNames.set(name, j);
  }
  return j;
}

/** A field by its proto name or its JSON name, as the parser accepts either. */
export function get(obj: unknown, name: string): unknown {
  if (!isPlainObject(obj)) return undefined;
  const v = obj[name];
  if (v !== undefined && v !== null) return v;
  const j = obj[jsonName(name)];
  return j === null ? undefined : j;
}

function keyOf(obj: Record<string, unknown>, name: string): string {
  return name in obj ? name : jsonName(name) in obj ? jsonName(name) : name;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function all(collected: CollectedByType, type: string): Collected[] {
  return collected.get(type) ?? [];
}

interface Named {
  name: string;
  path: string;
}

/** Report every name seen before: `kind` says what the names are. */
export function checkUnique(items: Named[], kind: string, severity: Finding['severity'] = 'error'): Finding[] {
  const first = new Map<string, string>();
  const out: Finding[] = [];
  for (const item of items) {
    const prev = first.get(item.name);
    if (prev !== undefined) out.push({ path: item.path, message: `duplicate ${kind} "${item.name}" (first at ${prev})`, severity });
    else first.set(item.name, item.path);
  }
  return out;
}

/** Names of a list of resources at `path` (e.g. static_resources.clusters), with their paths. */
export function namesOf(list: unknown[], basePath: string, field = 'name'): Named[] {
  const out: Named[] = [];
  list.forEach((item, i) => {
    const name = str(get(item, field));
    if (name !== undefined && name !== '') {
      out.push({ name, path: keyPath(indexPath(basePath, i), isPlainObject(item) ? keyOf(item, field) : field) });
    }
  });
  return out;
}

/**
 * Within one route configuration: virtual host names unique, and every
 * domain (case-insensitive, as Envoy lower-cases them) claimed once, `*`
 * included ("Only unique values for domains are permitted").
 */
export function checkRouteConfigurations(collected: CollectedByType): Finding[] {
  const out: Finding[] = [];
  for (const rc of all(collected, T.routeConfiguration)) {
    const vhostsKey = keyOf(rc.value, 'virtual_hosts');
    const vhosts = arr(rc.value[vhostsKey]);
    const vhostPath = keyPath(rc.path, vhostsKey);
    out.push(...checkUnique(namesOf(vhosts, vhostPath), 'virtual host name'));
    const routeName = String(get(rc.value, 'name') ?? '');
    const domainOwner = new Map<string, string>();
    vhosts.forEach((vh, i) => {
      if (!isPlainObject(vh)) return;
      const dKey = keyOf(vh, 'domains');
      arr(vh[dKey]).forEach((d, j) => {
        if (typeof d !== 'string') return;
        const domain = d.toLowerCase();
        const at = indexPath(keyPath(indexPath(vhostPath, i), dKey), j);
        if (literalStar(domain)) {
          out.push({ path: at, message: `"${d}": Envoy takes '*' as a wildcard only as the whole domain or at its start or end (not both); here it matches a literal '*'`, severity: 'warning' });
        }
        const prev = domainOwner.get(domain);
        if (prev === undefined) domainOwner.set(domain, at);
        else if (domain === '*') out.push({ path: at, message: `Only a single wildcard domain is permitted in route ${routeName} (first at ${prev})`, severity: 'error' });
        else out.push({ path: at, message: `Only unique values for domains are permitted. Duplicate entry of domain ${domain} in route ${routeName} (first at ${prev})`, severity: 'error' });
      });
    });
  }
  return out;
}

/** A '*' that Envoy's domain matcher will not treat as a wildcard. */
function literalStar(domain: string): boolean {
  if (domain === '*' || !domain.includes('*')) return false;
  const inner = domain.startsWith('*') ? domain.slice(1) : domain.endsWith('*') ? domain.slice(0, -1) : domain;
  return inner.includes('*');
}

interface ClusterRef {
  name: string;
  /** where the reference is, joined only for a finding */
  at: () => string;
  what: string;
}

/** Every cluster a route (cluster, weighted_clusters, request mirrors) or a tcp_proxy names. */
export function clusterReferences(collected: CollectedByType): ClusterRef[] {
  const refs: ClusterRef[] = [];
  const push = (obj: Record<string, unknown>, path: () => string, field: string, what: string): void => {
    const name = str(get(obj, field));
    if (name !== undefined) refs.push({ name, at: () => keyPath(path(), keyOf(obj, field)), what });
  };
  const weighted = (obj: Record<string, unknown>, path: () => string, what: string): void => {
    const wc = get(obj, 'weighted_clusters');
    if (!isPlainObject(wc)) return;
    const wcPath = (): string => keyPath(path(), keyOf(obj, 'weighted_clusters'));
    arr(wc.clusters).forEach((c, i) => {
      if (isPlainObject(c)) push(c, () => indexPath(keyPath(wcPath(), 'clusters'), i), 'name', what);
    });
  };
  for (const ra of all(collected, T.routeAction)) {
    const raPath = (): string => ra.path;
    push(ra.value, raPath, 'cluster', 'route');
    weighted(ra.value, raPath, 'route weighted_clusters');
    const mirrorsKey = keyOf(ra.value, 'request_mirror_policies');
    arr(ra.value[mirrorsKey]).forEach((m, i) => {
      if (isPlainObject(m)) push(m, () => indexPath(keyPath(ra.path, mirrorsKey), i), 'cluster', 'request mirror');
    });
  }
  for (const tp of all(collected, T.tcpProxy)) {
    const tpPath = (): string => tp.path;
    push(tp.value, tpPath, 'cluster', 'tcp_proxy');
    weighted(tp.value, tpPath, 'tcp_proxy weighted_clusters');
  }
  for (const up of all(collected, T.udpProxy)) push(up.value, () => up.path, 'cluster', 'udp_proxy');
  for (const ur of all(collected, T.udpRoute)) push(ur.value, () => ur.path, 'cluster', 'udp_proxy route');
  return refs;
}

export function checkClusterReferences(refs: ClusterRef[], clusters: ReadonlySet<string>, where: string): Finding[] {
  return refs
    .filter((r) => !clusters.has(r.name))
    .map((r) => ({ path: r.at(), message: `${r.what} references cluster "${r.name}", which is not defined in ${where}`, severity: 'error' as const }));
}

const MAX_MATCH_TUPLES = 100_000;

/**
 * Envoy expands each filter_chain_match into every combination of its list
 * criteria and rejects a listener where two filter chains share one
 * ("multiple filter chains with the same matching rules are defined").
 */
export function checkFilterChains(collected: CollectedByType): Finding[] {
  const out: Finding[] = [];
  for (const l of all(collected, T.listener)) {
    const chainsKey = keyOf(l.value, 'filter_chains');
    const owner = new Map<string, number>();
    arr(l.value[chainsKey]).forEach((chain, i) => {
      const match = get(chain, 'filter_chain_match') ?? {};
      const tuples = matchTuples(match);
      const at = indexPath(keyPath(l.path, chainsKey), i);
      for (const t of tuples) {
        const prev = owner.get(t);
        if (prev !== undefined && prev !== i) {
          out.push({
            path: at,
            message: `filter chain ${i} has the same matching rules as filter chain ${prev} (${t}); Envoy rejects the listener: multiple filter chains with the same matching rules are defined`,
            severity: 'error',
          });
          return;
        }
        owner.set(t, i);
      }
    });
  }
  return out;
}

function cidr(v: unknown): string {
  const prefix = str(get(v, 'address_prefix')) ?? '';
  const len = get(v, 'prefix_len');
  return len === undefined ? prefix : `${prefix}/${String(len)}`;
}

function matchTuples(match: unknown): string[] {
  const dims: string[][] = [
    [String(get(match, 'destination_port') ?? '*')],
    arr(get(match, 'prefix_ranges')).map(cidr),
    arr(get(match, 'direct_source_prefix_ranges')).map(cidr),
    arr(get(match, 'server_names')).map((s) => String(s).toLowerCase()),
    [String(get(match, 'transport_protocol') ?? '*')],
    arr(get(match, 'application_protocols')).map(String),
    [String(get(match, 'source_type') ?? 'ANY')],
    arr(get(match, 'source_prefix_ranges')).map(cidr),
    arr(get(match, 'source_ports')).map(String),
  ].map((d) => (d.length === 0 ? ['*'] : [...new Set(d)]));
  let tuples = [''];
  for (const dim of dims) {
    if (tuples.length * dim.length > MAX_MATCH_TUPLES) return [JSON.stringify(dims)];
    tuples = tuples.flatMap((t) => dim.map((v) => (t === '' ? v : `${t}|${v}`)));
  }
  return tuples;
}

/** Route configuration names an HCM asks RDS for. */
export function rdsReferences(collected: CollectedByType): ClusterRef[] {
  return all(collected, T.rds).flatMap((r) => {
    const name = str(get(r.value, 'route_config_name'));
    return name === undefined ? [] : [{ name, at: () => keyPath(r.path, keyOf(r.value, 'route_config_name')), what: 'rds' }];
  });
}

/** SDS secret names, split by whether they come from static secrets (no sds_config) or a config source. */
export function secretReferences(collected: CollectedByType): Array<ClusterRef & { dynamic: boolean }> {
  return all(collected, T.sdsSecretConfig).flatMap((s) => {
    const name = str(get(s.value, 'name'));
    if (name === undefined) return [];
    return [{ name, at: () => keyPath(s.path, keyOf(s.value, 'name')), what: 'sds', dynamic: get(s.value, 'sds_config') !== undefined }];
  });
}

/** Clusters that management servers are reached through: gRPC services (ADS, xDS, access logs…) and REST API sources. */
export function grpcClusterReferences(collected: CollectedByType): ClusterRef[] {
  const grpc = all(collected, T.envoyGrpc).flatMap((g) => {
    const name = str(get(g.value, 'cluster_name'));
    return name === undefined ? [] : [{ name, at: () => keyPath(g.path, keyOf(g.value, 'cluster_name')), what: 'envoy_grpc' }];
  });
  const rest = all(collected, T.apiConfigSource).flatMap((a) => {
    const key = keyOf(a.value, 'cluster_names');
    return arr(a.value[key]).flatMap((name, i) =>
      typeof name === 'string' ? [{ name, at: () => indexPath(keyPath(a.path, key), i), what: 'api_config_source' }] : [],
    );
  });
  return [...grpc, ...rest];
}

/** The name an EDS cluster asks for: eds_cluster_config.service_name, else its own name. */
export function edsServiceName(cluster: Record<string, unknown>): string | undefined {
  const service = str(get(get(cluster, 'eds_cluster_config'), 'service_name'));
  return service !== undefined && service !== '' ? service : str(get(cluster, 'name'));
}

export function isEdsCluster(cluster: Record<string, unknown>): boolean {
  return get(cluster, 'type') === 'EDS' || get(cluster, 'type') === 3;
}

/** EDS clusters must say where their endpoints come from. */
export function checkEdsClusters(clusters: Collected[]): Finding[] {
  const out: Finding[] = [];
  for (const c of clusters) {
    if (!isEdsCluster(c.value)) continue;
    const eds = get(c.value, 'eds_cluster_config');
    if (get(eds, 'eds_config') === undefined) {
      out.push({ path: c.path, message: `EDS cluster "${String(get(c.value, 'name') ?? '')}" has no eds_cluster_config.eds_config`, severity: 'error' });
    }
  }
  return out;
}

/** ConfigSources that use ADS need the bootstrap's dynamic_resources.ads_config. */
export function checkAdsSources(collected: CollectedByType, hasAdsConfig: boolean): Finding[] {
  if (hasAdsConfig) return [];
  return all(collected, T.configSource)
    .filter((cs) => get(cs.value, 'ads') !== undefined)
    .map((cs) => ({
      path: keyPath(cs.path, keyOf(cs.value, 'ads')),
      message: 'config source uses ADS but the bootstrap has no dynamic_resources.ads_config',
      severity: 'error' as const,
    }));
}

/** The message name a filter's typed_config holds (TypedStruct: the type it names), if any. */
function filterType(filter: unknown): string | undefined {
  const cfg = get(filter, 'typed_config');
  const url = str(get(cfg, '@type'));
  if (url === undefined) return undefined;
  let name = url.slice(url.lastIndexOf('/') + 1);
  if (name === 'udpa.type.v1.TypedStruct' || name === 'xds.type.v3.TypedStruct') {
    const inner = str(get(cfg, 'type_url'));
    if (inner !== undefined) name = inner.slice(inner.lastIndexOf('/') + 1);
  }
  return name;
}

/** HTTP filters that end a chain (Envoy's terminal filters). */
const TERMINAL_HTTP = new Set([T.router, 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec']);

/** Network filters that end a chain. */
const TERMINAL_NETWORK = new Set([
  T.hcm,
  T.tcpProxy,
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy',
  'envoy.extensions.filters.network.direct_response.v3.Config',
  'envoy.extensions.filters.network.echo.v3.Echo',
  'envoy.extensions.filters.network.dubbo_proxy.v3.DubboProxy',
  'envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy',
]);

/**
 * Envoy rejects a filter chain whose terminal filter is not last
 * ("terminal filter named X ... must be the last filter in a http filter
 * chain") and an HTTP chain that does not end in one.
 */
export function checkTerminalFilters(collected: CollectedByType, knownType: (name: string) => boolean): Finding[] {
  const out: Finding[] = [];
  const check = (filters: unknown[], base: () => string, chain: 'http' | 'network', terminal: ReadonlySet<string>): void => {
    filters.forEach((f, i) => {
      const type = filterType(f);
      const name = str(get(f, 'name')) ?? '';
      const last = i === filters.length - 1;
      if (type !== undefined && terminal.has(type) && !last) {
        out.push({ path: indexPath(base(), i), message: `terminal filter named ${name} of type ${type} must be the last filter in a ${chain} filter chain`, severity: 'error' });
      }
      // an unknown @type is reported by the walk; it says nothing about order
      if (chain === 'http' && last && type !== undefined && knownType(type) && !terminal.has(type)) {
        out.push({ path: indexPath(base(), i), message: `non-terminal filter named ${name} of type ${type} is the last filter in a http filter chain (the router filter must be last)`, severity: 'error' });
      }
    });
  };
  for (const h of all(collected, T.hcm)) {
    const key = keyOf(h.value, 'http_filters');
    check(arr(h.value[key]), () => keyPath(h.path, key), 'http', TERMINAL_HTTP);
  }
  for (const fc of all(collected, T.filterChain)) {
    const key = keyOf(fc.value, 'filters');
    check(arr(fc.value[key]), () => keyPath(fc.path, key), 'network', TERMINAL_NETWORK);
  }
  return out;
}

const GRPC_API_TYPES = new Set(['GRPC', 'DELTA_GRPC', 'AGGREGATED_GRPC', 'AGGREGATED_DELTA_GRPC', 2, 3, 5, 6]);

/**
 * How an API config source names its server, as Envoy's
 * checkApiConfigSourceNames wants it: gRPC kinds through one grpc_services
 * entry and no cluster_names, REST through exactly one cluster name.
 */
export function checkApiConfigSources(collected: CollectedByType): Finding[] {
  const out: Finding[] = [];
  for (const a of all(collected, T.apiConfigSource)) {
    const apiType = get(a.value, 'api_type') ?? 'LEGACY_REST';
    const clusters = arr(get(a.value, 'cluster_names'));
    const services = arr(get(a.value, 'grpc_services'));
    const err = (field: string, message: string): void => {
      out.push({ path: keyPath(a.path, keyOf(a.value, field)), message, severity: 'error' });
    };
    if (GRPC_API_TYPES.has(apiType as string)) {
      if (clusters.length > 0) err('cluster_names', `an API config source of type ${String(apiType)} must not have a cluster name specified (name the cluster in grpc_services)`);
      if (services.length === 0) err('grpc_services', `an API config source of type ${String(apiType)} needs a gRPC service`);
      if (services.length > 1) {
        out.push({ path: keyPath(a.path, keyOf(a.value, 'grpc_services')), message: `an API config source of type ${String(apiType)} must have a single gRPC service specified (a second one needs Envoy's xDS failover)`, severity: 'warning' });
      }
    } else {
      if (services.length > 0) err('grpc_services', `an API config source of type ${String(apiType)}, if not a gRPC type, must not have a gRPC service specified`);
      if (clusters.length !== 1) err('cluster_names', `an API config source of type ${String(apiType)} must have a singleton cluster name specified`);
    }
  }
  return out;
}

/** Envoy's isModifiableHeader / isRemovableHeader: no pseudo-header, no Host. */
function protectedHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

/**
 * Header mutations Envoy refuses at load time (HeaderParser): adding a
 * `:`-prefixed header or Host. nginx's `proxy_set_header Host` belongs in the
 * route's host rewrite, not in request_headers_to_add.
 */
const protectedHeaderAdded: LocalCheck = (site) => {
  const headerKey = keyOf(site.value, 'header');
  const key = str(get(site.value[headerKey], 'key'));
  if (key === undefined || !protectedHeader(key)) return NO_FINDINGS;
  return [{ path: keyPath(keyPath(site.path, headerKey), 'key'), message: `${JSON.stringify(key)}: :-prefixed or host headers may not be modified`, severity: 'error' }];
};

/** ... and removing one (request/response_headers_to_remove of route configs, virtual hosts, routes, weighted clusters). */
const protectedHeaderRemoved: LocalCheck = (site: Site) => {
  let out: Finding[] | undefined;
  for (const field of ['request_headers_to_remove', 'response_headers_to_remove']) {
    const key = keyOf(site.value, field);
    arr(site.value[key]).forEach((name, i) => {
      if (typeof name === 'string' && protectedHeader(name)) {
        (out ??= []).push({ path: indexPath(keyPath(site.path, key), i), message: `${JSON.stringify(name)}: :-prefixed or host headers may not be removed`, severity: 'error' });
      }
    });
  }
  return out ?? NO_FINDINGS;
};

/** Checks of one message on its own, run during the walk. */
export const LOCAL_CHECKS: ReadonlyMap<string, LocalCheck> = new Map([
  [T.headerValueOption, protectedHeaderAdded],
  [T.routeConfiguration, protectedHeaderRemoved],
  [T.virtualHost, protectedHeaderRemoved],
  [T.route, protectedHeaderRemoved],
  [T.clusterWeight, protectedHeaderRemoved],
  [T.regexMatcher, regexCheck],
]);

/** A listener's bound address as Envoy compares them, or undefined when it binds none. */
function listenerAddress(listener: Record<string, unknown>): string | undefined {
  if (get(listener, 'bind_to_port') === false || get(listener, 'api_listener') !== undefined || get(listener, 'internal_listener') !== undefined) {
    return undefined;
  }
  const address = get(listener, 'address');
  const socket = get(address, 'socket_address');
  if (socket !== undefined) {
    const port = get(socket, 'port_value') ?? get(socket, 'named_port') ?? 0;
    const host = String(get(socket, 'address') ?? '').toLowerCase();
    const protocol = String(get(socket, 'protocol') ?? 'TCP');
    return `${protocol} ${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
  }
  const pipe = str(get(get(address, 'pipe'), 'path'));
  return pipe === undefined ? undefined : `pipe ${pipe}`;
}

/** Two listeners bound to one address: "error adding listener: 'x' has duplicate address ... as existing listener". */
export function checkListenerAddresses(collected: CollectedByType): Finding[] {
  const first = new Map<string, Collected>();
  const out: Finding[] = [];
  for (const l of all(collected, T.listener)) {
    const address = listenerAddress(l.value);
    if (address === undefined) continue;
    const host = str(get(get(get(l.value, 'address'), 'socket_address'), 'address'));
    if (host !== undefined && isIP(host) === 0) {
      out.push({ path: keyPath(keyPath(keyPath(l.path, keyOf(l.value, 'address')), 'socket_address'), 'address'), message: `malformed IP address: ${host} (a listener binds an IP address, not a name)`, severity: 'error' });
    }
    const prev = first.get(address);
    if (prev === undefined) {
      first.set(address, l);
      continue;
    }
    out.push({
      path: keyPath(l.path, keyOf(l.value, 'address')),
      message: `listener '${String(get(l.value, 'name') ?? '')}' has duplicate address '${address}' as existing listener '${String(get(prev.value, 'name') ?? '')}' (at ${prev.path})`,
      severity: 'error',
    });
  }
  return out;
}

/** An endpoint's socket address (address text and where it sits), if it has one. */
function endpointAddresses(cla: unknown, claPath: () => string): Array<{ address: string; at: () => string; resolver: boolean }> {
  const out: Array<{ address: string; at: () => string; resolver: boolean }> = [];
  arr(get(cla, 'endpoints')).forEach((locality, i) => {
    arr(get(locality, 'lb_endpoints')).forEach((lbe, j) => {
      const socket = get(get(get(lbe, 'endpoint'), 'address'), 'socket_address');
      const address = str(get(socket, 'address'));
      if (address === undefined || !isPlainObject(cla) || !isPlainObject(locality) || !isPlainObject(lbe)) return;
      out.push({
        address,
        resolver: str(get(socket, 'resolver_name')) !== undefined,
        at: () => keyPath(keyPath(keyPath(keyPath(indexPath(keyPath(indexPath(keyPath(claPath(), keyOf(cla, 'endpoints')), i), keyOf(locality, 'lb_endpoints')), j), 'endpoint'), 'address'), 'socket_address'), 'address'),
      });
    });
  });
  return out;
}

function malformedAddress(address: string): string {
  return `malformed IP address: ${address}. Consider setting resolver_name or setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'`;
}

/**
 * Endpoint addresses as the cluster type needs them: STATIC (and EDS)
 * endpoints are IP literals, a LOGICAL_DNS cluster has exactly one endpoint.
 */
export function checkClusterEndpoints(clusters: readonly Collected[]): Finding[] {
  const out: Finding[] = [];
  for (const c of clusters) {
    const type = get(c.value, 'type') ?? (get(c.value, 'cluster_type') === undefined ? 'STATIC' : undefined);
    const claKey = keyOf(c.value, 'load_assignment');
    const cla = c.value[claKey];
    if (!isPlainObject(cla)) continue;
    if (type === 'STATIC' || type === 0) {
      for (const e of endpointAddresses(cla, () => keyPath(c.path, claKey))) {
        if (!e.resolver && isIP(e.address) === 0) out.push({ path: e.at(), message: malformedAddress(e.address), severity: 'error' });
      }
    } else if (type === 'LOGICAL_DNS' || type === 2) {
      const localities = arr(get(cla, 'endpoints'));
      if (localities.length !== 1 || arr(get(localities[0], 'lb_endpoints')).length !== 1) {
        out.push({ path: keyPath(c.path, claKey), message: 'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint', severity: 'error' });
      }
    }
  }
  return out;
}

/** EDS load assignments carry IP literals only (Envoy resolves no names for EDS). */
export function checkEdsEndpoints(assignments: readonly unknown[], basePath: string): Finding[] {
  const out: Finding[] = [];
  assignments.forEach((cla, i) => {
    for (const e of endpointAddresses(cla, () => indexPath(basePath, i))) {
      if (!e.resolver && isIP(e.address) === 0) out.push({ path: e.at(), message: malformedAddress(e.address), severity: 'error' });
    }
  });
  return out;
}

/** A UDP listener takes UDP listener filters (envoy.extensions.filters.udp.*), a TCP one the others. */
export function checkListenerFilterKinds(collected: CollectedByType): Finding[] {
  const out: Finding[] = [];
  for (const l of all(collected, T.listener)) {
    const socket = get(get(l.value, 'address'), 'socket_address');
    const udp = String(get(socket, 'protocol') ?? 'TCP') === 'UDP';
    const key = keyOf(l.value, 'listener_filters');
    arr(l.value[key]).forEach((f, i) => {
      const type = filterType(f);
      if (type === undefined) return;
      const isUdpFilter = type.startsWith('envoy.extensions.filters.udp.');
      if (isUdpFilter === udp) return;
      out.push({
        path: indexPath(keyPath(l.path, key), i),
        message: `${type} is ${isUdpFilter ? 'a UDP' : 'a TCP'} listener filter on a ${udp ? 'UDP' : 'TCP'} listener: Envoy finds no such ${udp ? 'UDP' : 'TCP'} listener filter`,
        severity: 'error',
      });
    });
  }
  return out;
}
