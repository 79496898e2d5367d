// Validation of emitted Envoy configuration against Envoy's own protos and
// against what Envoy checks when it loads a configuration.
//
// The walk (walk.ts: each message type compiled once into a plan, over the
// digest schema.ts makes of the protos shipped in @grpc/grpc-js-xds): unknown fields (proto or JSON name), enum names, oneofs
// (at most one member; `(validate.required)` ones exactly one), JSON forms of
// scalars and well-known types, Any resolved by @type against every loaded
// type (and against the extension kind its field takes), (validate.rules)
// (rules.ts), deprecated fields and enum values (warnings).
// The cross-references (crossref.ts, regex.ts): names unique, route/tcp_proxy
// clusters defined, RDS/EDS/SDS names resolved, ADS and API config sources
// consistent, domains unique per route configuration, filter chain matches
// distinct, listener addresses distinct, terminal filters last, no pseudo-
// header/Host mutation, endpoint addresses fit the cluster type, every
// RegexMatcher compiles with RE2.
//
// A finding's path is the JSON path as written, e.g.
// static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix.

import { indexPath, keyPath, type Finding } from './findings.js';
import {
  checkAdsSources,
  checkApiConfigSources,
  checkClusterEndpoints,
  checkClusterReferences,
  checkEdsEndpoints,
  checkEdsClusters,
  checkFilterChains,
  checkListenerAddresses,
  checkListenerFilterKinds,
  checkRouteConfigurations,
  checkTerminalFilters,
  checkUnique,
  checkRouteClusters,
  COLLECTED_TYPES,
  LOCAL_CHECKS,
  edsServiceName,
  get,
  grpcClusterReferences,
  isEdsCluster,
  namesOf,
  rdsReferences,
  secretReferences,
  T,
  type CollectedByType,
} from './crossref.js';
import { isPlainObject } from './scalars.js';
import { envoySchema, protoJsonName } from './schema.js';
import { Walker, type WalkCache } from './walk.js';

export { formatFindings, hasErrors } from './findings.js';
export { WalkCache } from './walk.js';
export type { Finding, Severity } from './findings.js';

function knownType(name: string): boolean {
  return name in envoySchema().messages;
}

export interface ValidateOptions {
  /**
   * Kept by the caller between validations (serve, one per reload): shared frozen objects found
   * clean in one are skipped in the next. Findings are the same with or without it.
   */
  cache?: WalkCache;
}

function walk(typeName: string, json: unknown, opts: ValidateOptions = {}): { findings: Finding[]; collected: CollectedByType } {
  const walker = new Walker(envoySchema(), COLLECTED_TYPES, LOCAL_CHECKS, opts.cache);
  walker.message(typeName, json, '');
  return { findings: walker.findings, collected: walker.collected };
}

/**
 * Check `json` (proto3 JSON / YAML-parsed object) as the Envoy message
 * `typeName`, e.g. 'envoy.config.bootstrap.v3.Bootstrap'. Structural and
 * validate.rules only; no cross-references.
 */
export function validateMessage(typeName: string, json: unknown): Finding[] {
  return walk(typeName, json).findings;
}

/** A static bootstrap: the proto walk plus the cross-references Envoy checks when it loads one. */
export function validateBootstrap(json: unknown, opts: ValidateOptions = {}): Finding[] {
  const { findings, collected } = walk(T.bootstrap, json, opts);
  const lists = staticResources(json);
  findings.push(...checkUnique(namesOf(lists.listeners.items, lists.listeners.path), 'listener name'));
  findings.push(...checkUnique(namesOf(lists.clusters.items, lists.clusters.path), 'cluster name'));
  findings.push(...checkUnique(namesOf(lists.secrets.items, lists.secrets.path), 'secret name'));
  // inline route configurations may share a name (Envoy keys nothing on it); RDS names are checked in xDS sets
  findings.push(...checkListenerAddresses(collected));
  findings.push(...checkListenerFilterKinds(collected));
  findings.push(...checkRouteConfigurations(collected));
  findings.push(...checkFilterChains(collected));
  findings.push(...checkTerminalFilters(collected, knownType));
  findings.push(...bootstrapReferences(json, lists, collected));
  return findings;
}

interface ResourceList {
  items: unknown[];
  /** the list's path as written (snake_case or lowerCamel) */
  path: string;
}

function staticResources(json: unknown): Record<'listeners' | 'clusters' | 'secrets', ResourceList> {
  const sr = get(json, 'static_resources');
  const srPath = isPlainObject(json) && !('static_resources' in json) && 'staticResources' in json ? 'staticResources' : 'static_resources';
  const list = (field: string): ResourceList => {
    const items = get(sr, field);
    const key = isPlainObject(sr) && !(field in sr) && protoJsonName(field) in sr ? protoJsonName(field) : field;
    return { items: Array.isArray(items) ? items : [], path: keyPath(srPath, key) };
  };
  return { listeners: list('listeners'), clusters: list('clusters'), secrets: list('secrets') };
}

/** Routes, xDS/gRPC services and SDS configs of a bootstrap against its static resources. */
function bootstrapReferences(json: unknown, lists: ReturnType<typeof staticResources>, collected: CollectedByType): Finding[] {
  const findings: Finding[] = [];
  const dr = get(json, 'dynamic_resources');
  const clusters = lists.clusters.items.filter(isPlainObject);
  const clusterNames = new Set(clusters.map((c) => get(c, 'name')).filter((n): n is string => typeof n === 'string'));
  // with CDS, a route may name a cluster that arrives later
  const dynamicClusters = get(dr, 'cds_config') !== undefined || get(dr, 'cds_resources_locator') !== undefined;
  if (!dynamicClusters) {
    findings.push(...checkRouteClusters(collected, clusterNames, 'static_resources.clusters'));
  }
  // xDS and gRPC services reach their servers through static, non-EDS clusters
  const staticNonEds = new Set(clusters.filter((c) => !isEdsCluster(c)).map((c) => get(c, 'name')).filter((n): n is string => typeof n === 'string'));
  findings.push(...checkClusterReferences(grpcClusterReferences(collected), staticNonEds, 'static_resources.clusters as a static non-EDS cluster'));
  findings.push(...checkApiConfigSources(collected));
  const staticSecrets = new Set(namesOf(lists.secrets.items, lists.secrets.path).map((n) => n.name));
  for (const ref of secretReferences(collected)) {
    if (!ref.dynamic && !staticSecrets.has(ref.name)) {
      findings.push({ path: ref.at(), message: `SDS secret "${ref.name}" has no sds_config and is not in static_resources.secrets`, severity: 'error' });
    }
  }
  findings.push(...checkAdsSources(collected, get(dr, 'ads_config') !== undefined));
  findings.push(...checkEdsClusters(collected.get(T.cluster) ?? []));
  findings.push(...checkClusterEndpoints(collected.get(T.cluster) ?? []));
  return findings;
}

export interface XdsResources {
  listeners: unknown[];
  routes: unknown[];
  clusters: unknown[];
  endpoints: unknown[];
  secrets?: unknown[];
}

type XdsGroup = 'listeners' | 'routes' | 'clusters' | 'endpoints' | 'secrets';

/** Each xDS resource kind: its v3 type and the field that names a resource. */
const XDS_GROUPS: ReadonlyArray<[XdsGroup, string, string]> = [
  ['listeners', T.listener, 'name'],
  ['routes', T.routeConfiguration, 'name'],
  ['clusters', T.cluster, 'name'],
  ['endpoints', T.clusterLoadAssignment, 'cluster_name'],
  ['secrets', T.secret, 'name'],
];

/**
 * An xDS resource set (what a server would push): each resource against its
 * v3 type, names unique per type, and every reference between them resolved.
 * Paths read like listeners[0].filter_chains[0]....
 */
export function validateXdsResources(res: XdsResources, opts: ValidateOptions = {}): Finding[] {
  const walker = new Walker(envoySchema(), COLLECTED_TYPES, LOCAL_CHECKS, opts.cache);
  const names = new Map<XdsGroup, Set<string>>();
  const unique: Finding[] = [];
  for (const [group, type, nameField] of XDS_GROUPS) {
    const items = Array.isArray(res[group]) ? (res[group] as unknown[]) : [];
    items.forEach((item, i) => {
      walker.message(type, item, indexPath(group, i));
      const name = get(item, nameField);
      if (typeof name !== 'string' || name === '') {
        walker.error(indexPath(group, i), `an xDS ${group.replace(/s$/, '')} resource needs a non-empty ${nameField}`);
      }
    });
    const named = namesOf(items, group, nameField);
    unique.push(...checkUnique(named, `${type.split('.').pop()} name`));
    names.set(group, new Set(named.map((n) => n.name)));
  }
  const collected = walker.collected;
  return [
    ...walker.findings,
    ...unique,
    ...checkListenerAddresses(collected),
    ...checkListenerFilterKinds(collected),
    ...checkRouteConfigurations(collected),
    ...checkFilterChains(collected),
    ...checkTerminalFilters(collected, knownType),
    ...xdsReferences(res, names as ReadonlyMap<XdsGroup, ReadonlySet<string>>, collected),
  ];
}

/** RDS, CDS, EDS and SDS names resolved within the set. */
function xdsReferences(res: XdsResources, names: ReadonlyMap<XdsGroup, ReadonlySet<string>>, collected: CollectedByType): Finding[] {
  const findings = checkRouteClusters(collected, names.get('clusters')!, 'the clusters (CDS)');
  for (const ref of rdsReferences(collected)) {
    if (!names.get('routes')!.has(ref.name)) {
      findings.push({ path: ref.at(), message: `RDS route_config_name "${ref.name}" has no RouteConfiguration among the routes`, severity: 'error' });
    }
  }
  for (const ref of secretReferences(collected)) {
    if (!names.get('secrets')!.has(ref.name)) {
      findings.push({ path: ref.at(), message: `SDS secret "${ref.name}" has no Secret among the secrets`, severity: 'error' });
    }
  }
  findings.push(...checkEdsClusters(collected.get(T.cluster) ?? []));
  findings.push(...checkClusterEndpoints(collected.get(T.cluster) ?? []));
  findings.push(...checkEdsEndpoints(Array.isArray(res.endpoints) ? res.endpoints : [], 'endpoints'));
  (Array.isArray(res.clusters) ? res.clusters : []).forEach((c, i) => {
    if (!isPlainObject(c) || !isEdsCluster(c)) return;
    const service = edsServiceName(c);
    if (service !== undefined && !names.get('endpoints')!.has(service)) {
      findings.push({ path: indexPath('clusters', i), message: `EDS cluster "${String(get(c, 'name'))}" has no ClusterLoadAssignment named "${service}" among the endpoints`, severity: 'error' });
    }
  });
  return findings;
}
