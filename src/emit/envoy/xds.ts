// The xDS form of a compiled configuration: the static bootstrap's listeners,
// routes and clusters split into LDS/RDS/CDS/EDS/SDS resources that an ADS
// server (src/serve) or Envoy's file-based xDS can serve, and the Envoy
// bootstrap that points Envoy at the ADS server.
//
// Shape of the split (stable, so versions only move when content does):
// - every HttpConnectionManager's inline `route_config` becomes a
//   RouteConfiguration; the HCM gets `rds` over ADS with that name. The name is
//   the route_config's own name when it has one and it is unambiguous, else
//   `<listener>/<filter chain index>`;
// - every cluster whose endpoints are all IP (or pipe) addresses becomes type
//   EDS over ADS and its load_assignment becomes a ClusterLoadAssignment named
//   after the cluster. Clusters with hostname endpoints (STRICT_DNS,
//   LOGICAL_DNS) stay as they are: EDS endpoints must be addresses, Envoy
//   resolves names only for DNS clusters;
// - static secrets become SDS Secrets unchanged.
//
// For `convert --mode xds -o DIR`: xdsConvertFiles(bootstrap, DIR, {}, result.comments)
// returns the {path, text} list to write (one DiscoveryResponse file per type,
// with the nginx file:line comments, and bootstrap-ads.yaml /
// bootstrap-ads-delta.yaml pointing Envoy at `serve`).
import { Document, isMap, isSeq, type Node as YamlNode } from 'yaml';
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../hash.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface XdsResources {
  listeners: JsonObject[];
  routes: JsonObject[];
  clusters: JsonObject[];
  endpoints: JsonObject[];
  secrets: JsonObject[];
}

export const TYPE_URLS = {
  listeners: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routes: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  clusters: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secrets: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export type ResourceKind = keyof typeof TYPE_URLS;
export const RESOURCE_KINDS: ResourceKind[] = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets'];

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The ConfigSource every dynamic resource uses: the ADS stream, v3. */
export function adsConfigSource(): JsonObject {
  return { ads: {}, resource_api_version: 'V3' };
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The name of a resource (`name`, or `cluster_name` for a ClusterLoadAssignment). */
export function resourceName(resource: JsonObject): string {
  const name = resource['name'] ?? resource['cluster_name'];
  return typeof name === 'string' ? name : '';
}

/** The HCM filters of a filter chain (network filters whose typed_config is an HCM). */
function hcmFilters(chain: JsonObject): JsonObject[] {
  const filters = Array.isArray(chain['filters']) ? chain['filters'] : [];
  return filters.filter(
    (f): f is JsonObject => isObject(f) && isObject(f['typed_config']) && f['typed_config']['@type'] === HCM_TYPE,
  );
}

interface RouteNamer {
  claim(preferred: string | null, fallback: string, content: JsonObject): string;
}

/**
 * Names route configurations: the preferred name unless already taken by
 * different content. Contents are compared (as JSON text) only when a name is
 * claimed twice, which most configurations never do.
 */
function routeNamer(): RouteNamer {
  const byName = new Map<string, JsonObject>();
  const same = (a: JsonObject, b: JsonObject) => a === b || JSON.stringify(a) === JSON.stringify(b);
  return {
    claim(preferred, fallback, content) {
      for (const candidate of [preferred, fallback]) {
        if (!candidate) continue;
        const taken = byName.get(candidate);
        if (taken === undefined || same(taken, content)) {
          byName.set(candidate, content);
          return candidate;
        }
      }
      let n = 1;
      while (byName.has(`${fallback}.${n}`)) n++;
      byName.set(`${fallback}.${n}`, content);
      return `${fallback}.${n}`;
    },
  };
}

/** `object` without `key` and with `extra` added last (the key order a delete then an assignment gives). */
function withoutKey(object: JsonObject, key: string, extra: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(object)) if (k !== key) out[k] = object[k]!;
  return Object.assign(out, extra);
}

/**
 * A filter chain with its HCMs' inline route configurations replaced by RDS.
 * Only the chain, its filter list and the rewritten filters are new objects;
 * everything below them is the bootstrap's own (the split never mutates it).
 */
function splitChain(chain: JsonObject, index: number, listenerName: string, namer: RouteNamer, routes: JsonObject[]): JsonObject {
  const out: JsonObject = { ...chain };
  if (!Array.isArray(chain['filters'])) return out;
  out['filters'] = chain['filters'].map((filter) => {
    if (!isObject(filter) || !isObject(filter['typed_config']) || filter['typed_config']['@type'] !== HCM_TYPE) return filter;
    const hcm = filter['typed_config'];
    const routeConfig = hcm['route_config'];
    if (!isObject(routeConfig)) return filter;
    const preferred = typeof routeConfig['name'] === 'string' && routeConfig['name'] !== '' ? routeConfig['name'] : null;
    const name = namer.claim(preferred, `${listenerName}/${index}`, routeConfig);
    if (!routes.some((r) => r['name'] === name)) routes.push({ ...routeConfig, name });
    return { ...filter, typed_config: withoutKey(hcm, 'route_config', { rds: { config_source: adsConfigSource(), route_config_name: name } }) };
  });
  return out;
}

/** Rewrite a listener's HCMs to RDS; returns the listener (a new object, the bootstrap's left as it was) and its route configurations. */
function splitListener(listener: JsonObject, namer: RouteNamer): { listener: JsonObject; routes: JsonObject[] } {
  const out: JsonObject = { ...listener };
  const routes: JsonObject[] = [];
  const listenerName = resourceName(listener);
  // Chains are numbered as listed (object chains only), the default chain last.
  let index = 0;
  if (Array.isArray(listener['filter_chains'])) {
    out['filter_chains'] = listener['filter_chains'].map((chain) => (isObject(chain) ? splitChain(chain, index++, listenerName, namer, routes) : chain));
  }
  if (isObject(listener['default_filter_chain'])) out['default_filter_chain'] = splitChain(listener['default_filter_chain'], index, listenerName, namer, routes);
  return { listener: out, routes };
}

function endpointAddresses(cla: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  const localities = Array.isArray(cla['endpoints']) ? cla['endpoints'] : [];
  for (const locality of localities) {
    if (!isObject(locality) || !Array.isArray(locality['lb_endpoints'])) continue;
    for (const lb of locality['lb_endpoints']) {
      if (isObject(lb) && isObject(lb['endpoint']) && isObject(lb['endpoint']['address'])) {
        out.push(lb['endpoint']['address']);
      }
    }
  }
  return out;
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

function isIpLiteral(text: string): boolean {
  return IPV4.test(text) || (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text));
}

/** True when every endpoint is an IP socket address or a pipe: EDS can carry it. */
function edsCapable(cla: JsonObject): boolean {
  return endpointAddresses(cla).every((address) => {
    if (isObject(address['pipe'])) return true;
    const socket = address['socket_address'];
    return isObject(socket) && typeof socket['address'] === 'string' && isIpLiteral(socket['address']);
  });
}

/** Turn a cluster into an EDS cluster over ADS (drops type, load_assignment and DNS settings). */
export function toEdsCluster(cluster: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(cluster)) {
    if (['type', 'load_assignment', 'dns_lookup_family', 'dns_refresh_rate', 'respect_dns_ttl', 'dns_resolvers', 'typed_dns_resolver_config'].includes(key)) continue;
    out[key] = value;
    if (key === 'name') {
      out['type'] = 'EDS';
      out['eds_cluster_config'] = { eds_config: adsConfigSource() };
    }
  }
  return out;
}

function splitCluster(cluster: JsonObject): { cluster: JsonObject; cla: JsonObject | null } {
  const type = cluster['type'] ?? 'STATIC';
  const cla = cluster['load_assignment'];
  if (type !== 'STATIC' || !isObject(cla) || !edsCapable(cla) || 'cluster_type' in cluster) {
    return { cluster, cla: null };
  }
  return { cluster: toEdsCluster(cluster), cla: { ...cla, cluster_name: resourceName(cluster) } };
}

/**
 * Split an Envoy v3 static bootstrap into xDS resources (LDS/RDS/CDS/EDS/SDS).
 * The bootstrap must be plain JSON (what the emitter and a YAML/JSON parser
 * give) and is not modified: the resources are new objects where the split
 * rewrites something (a listener, its chains and HCMs, an EDS cluster and its
 * ClusterLoadAssignment) and share everything else with it, so splitting a
 * large route table costs no copy of it. Nothing downstream mutates them.
 */
export function toXdsResources(bootstrap: unknown): XdsResources {
  const staticResources = isObject(bootstrap as Json) ? (bootstrap as JsonObject)['static_resources'] : undefined;
  const sr: JsonObject = isObject(staticResources) ? staticResources : {};
  const namer = routeNamer();
  const out: XdsResources = { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
  const routeNames = new Set<string>();
  for (const listener of Array.isArray(sr['listeners']) ? sr['listeners'].filter(isObject) : []) {
    const split = splitListener(listener, namer);
    out.listeners.push(split.listener);
    for (const route of split.routes) {
      const name = route['name'] as string;
      if (routeNames.has(name)) continue;
      routeNames.add(name);
      out.routes.push(route);
    }
  }
  for (const cluster of Array.isArray(sr['clusters']) ? sr['clusters'].filter(isObject) : []) {
    const split = splitCluster(cluster);
    out.clusters.push(split.cluster);
    if (split.cla) out.endpoints.push(split.cla);
  }
  for (const secret of Array.isArray(sr['secrets']) ? sr['secrets'].filter(isObject) : []) {
    out.secrets.push(secret);
  }
  liftDownstreamTlsSecrets(out);
  return out;
}

// ---------------------------------------------------------------- comments

/** YAML comments by emitted object (the compiler's `file:line` notes): CompileResult.comments. */
export type CommentMap = Map<object, string>;

/** Copy comments from `original` to the same places in `copy` (same shape, possibly fewer keys). */
function carryComments(original: Json | undefined, copy: Json | undefined, comments: CommentMap, out: CommentMap): void {
  if (original === null || copy === null || typeof original !== 'object' || typeof copy !== 'object') return;
  const text = comments.get(original);
  if (text) out.set(copy, text);
  if (Array.isArray(original) && Array.isArray(copy)) {
    copy.forEach((item, i) => carryComments(original[i], item, comments, out));
  } else if (!Array.isArray(original) && !Array.isArray(copy)) {
    for (const key of Object.keys(copy)) carryComments(original[key], copy[key], comments, out);
  }
}

function hcmRouteConfigs(listener: JsonObject): Map<number, JsonObject> {
  const out = new Map<number, JsonObject>();
  const chains = [...(Array.isArray(listener['filter_chains']) ? listener['filter_chains'].filter(isObject) : [])];
  if (isObject(listener['default_filter_chain'])) chains.push(listener['default_filter_chain']);
  let n = 0;
  for (const chain of chains) {
    for (const filter of hcmFilters(chain)) out.set(n++, filter['typed_config'] as JsonObject);
  }
  return out;
}

/**
 * toXdsResources, keeping the compiler's `# nginx: file:line` comments on the
 * listeners, routes, clusters and endpoints they belong to.
 */
export function toXdsResourcesWithComments(bootstrap: unknown, comments: CommentMap): { resources: XdsResources; comments: CommentMap } {
  const resources = toXdsResources(bootstrap);
  const out: CommentMap = new Map();
  const sr = isObject(bootstrap as Json) && isObject((bootstrap as JsonObject)['static_resources']) ? ((bootstrap as JsonObject)['static_resources'] as JsonObject) : {};
  const listeners = Array.isArray(sr['listeners']) ? sr['listeners'].filter(isObject) : [];
  const clusters = Array.isArray(sr['clusters']) ? sr['clusters'].filter(isObject) : [];
  const routesByName = new Map(resources.routes.map((r) => [resourceName(r), r]));
  const carried = new Set<string>();
  listeners.forEach((original, i) => {
    const copy = resources.listeners[i];
    if (!copy) return;
    carryComments(original, copy, comments, out);
    const before = hcmRouteConfigs(original);
    for (const [n, hcm] of hcmRouteConfigs(copy)) {
      const name = isObject(hcm['rds']) ? hcm['rds']['route_config_name'] : undefined;
      const route = typeof name === 'string' ? routesByName.get(name) : undefined;
      const originalHcm = before.get(n);
      if (!route || !originalHcm || carried.has(name as string)) continue;
      carried.add(name as string);
      carryComments(originalHcm['route_config'], route, comments, out);
    }
  });
  const endpointsByName = new Map(resources.endpoints.map((e) => [resourceName(e), e]));
  clusters.forEach((original, j) => {
    const copy = resources.clusters[j];
    if (!copy) return;
    carryComments(original, copy, comments, out);
    const cla = endpointsByName.get(resourceName(copy));
    if (cla && isObject(original['load_assignment'])) {
      carryComments(original['load_assignment'], cla, comments, out);
      const text = comments.get(original);
      if (text && !out.has(cla)) out.set(cla, text);
    }
  });
  return { resources, comments: out };
}

/** Put the comments on the YAML nodes of `value` (walks the document and the value together). */
function attachComments(node: YamlNode | null, value: unknown, comments: CommentMap): void {
  if (!node || value === null || typeof value !== 'object') return;
  const text = comments.get(value as object);
  if (text) (node as { commentBefore?: string }).commentBefore = text;
  if (isSeq(node) && Array.isArray(value)) {
    node.items.forEach((item, i) => attachComments(item as YamlNode, value[i], comments));
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = (pair.key as { value?: unknown } | null)?.value;
      if (typeof key === 'string') attachComments(pair.value as YamlNode, (value as Record<string, unknown>)[key], comments);
    }
  }
}

// ---------------------------------------------------------------- bootstrap

export interface AdsBootstrapOptions {
  nodeId: string;
  nodeCluster: string;
  /** host:port of the ADS server. */
  xdsAddress: string;
  /** DELTA_GRPC instead of GRPC. */
  delta: boolean;
  /** Envoy's own admin listener (always on 127.0.0.1). Default 9901. */
  adminPort?: number;
  /** TLS towards the xDS server: CA to verify it, and a client certificate for mTLS. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; sni?: string };
}

/** Split `host:port` (IPv6 as `[::1]:18000`); port 0 (pick a free port) is allowed for listening. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`expected host:port, got "${text}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port out of range in "${text}"`);
  return { host: m[1]!, port };
}

function xdsClusterTls(tls: NonNullable<AdsBootstrapOptions['tls']>, host: string): JsonObject {
  const common: JsonObject = {};
  if (tls.certFile && tls.keyFile) {
    common['tls_certificates'] = [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }];
  }
  if (tls.caFile) common['validation_context'] = { trusted_ca: { filename: tls.caFile } };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: tls.sni ?? host,
      common_tls_context: common,
    },
  };
}

/** The Envoy bootstrap that takes everything from the ADS server at `xdsAddress`. */
export function adsBootstrap(opts: AdsBootstrapOptions): JsonObject {
  const { host, port } = parseHostPort(opts.xdsAddress);
  if (port === 0) throw new Error(`the xDS address needs a port: "${opts.xdsAddress}"`);
  const xdsCluster: JsonObject = {
    name: 'xds_cluster',
    type: isIpLiteral(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'xds_cluster',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
  };
  if (opts.tls) xdsCluster['transport_socket'] = xdsClusterTls(opts.tls, host);
  return {
    node: { id: opts.nodeId, cluster: opts.nodeCluster },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: opts.adminPort ?? 9901 } } },
    dynamic_resources: {
      ads_config: {
        api_type: opts.delta ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
        set_node_on_first_message_only: true,
      },
      lds_config: adsConfigSource(),
      cds_config: adsConfigSource(),
    },
    static_resources: { clusters: [xdsCluster] },
  };
}

// ---------------------------------------------------------------- files

/** Content hash used as a version: the first 16 hex digits of sha256. */
export function contentHash(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/**
 * One file per type, each a DiscoveryResponse (`version_info`, `type_url`,
 * `resources` with `@type`): the form Envoy's file-based xDS
 * (`path_config_source`) reads, so the directory is usable as it is.
 */
export function discoveryResponseFile(kind: ResourceKind, resources: JsonObject[], comments?: CommentMap): JsonObject {
  const typeUrl = TYPE_URLS[kind];
  const withType = resources.map((r) => {
    const typed: JsonObject = { '@type': typeUrl, ...r };
    const text = comments?.get(r);
    if (text) comments!.set(typed, text);
    return typed;
  });
  return {
    version_info: contentHash(JSON.stringify(withType)),
    type_url: typeUrl,
    resources: withType,
  };
}

export const XDS_FILE_NAMES: Record<ResourceKind, string> = {
  listeners: 'listeners.yaml',
  routes: 'routes.yaml',
  clusters: 'clusters.yaml',
  endpoints: 'endpoints.yaml',
  secrets: 'secrets.yaml',
};

function toYaml(value: JsonObject, header: string, comments?: CommentMap): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  if (comments) attachComments(doc.contents as YamlNode, value, comments);
  return `# ${header}\n` + doc.toString({ lineWidth: 0 });
}

export interface XdsFileSet {
  /** File name (relative to the output directory) → content. Sorted by name. */
  files: { name: string; content: string }[];
}

/** The files `convert --mode xds` writes, as text (deterministic: same input, same bytes). */
export function xdsFiles(resources: XdsResources, bootstrapOpts: Omit<AdsBootstrapOptions, 'delta'>, comments?: CommentMap): XdsFileSet {
  const files: { name: string; content: string }[] = [];
  const notes: CommentMap | undefined = comments ? new Map(comments) : undefined;
  for (const kind of RESOURCE_KINDS) {
    const doc = discoveryResponseFile(kind, resources[kind], notes);
    files.push({ name: XDS_FILE_NAMES[kind], content: toYaml(doc, `ngx2envoy: ${kind} (${TYPE_URLS[kind]}), a DiscoveryResponse`, notes) });
  }
  files.push({
    name: 'bootstrap-ads.yaml',
    content: toYaml(adsBootstrap({ ...bootstrapOpts, delta: false }), `ngx2envoy: Envoy bootstrap, ADS (state of the world) at ${bootstrapOpts.xdsAddress}`),
  });
  files.push({
    name: 'bootstrap-ads-delta.yaml',
    content: toYaml(adsBootstrap({ ...bootstrapOpts, delta: true }), `ngx2envoy: Envoy bootstrap, ADS (incremental, DELTA_GRPC) at ${bootstrapOpts.xdsAddress}`),
  });
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files };
}

/** Write the xDS files into `dir` (created if missing). Returns the paths written. */
export function writeXdsFiles(dir: string, set: XdsFileSet): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return set.files.map((file) => {
    const target = path.join(dir, file.name);
    fs.writeFileSync(target, file.content);
    return target;
  });
}

/** Defaults of `convert --mode xds` for the bootstrap it writes (serve's defaults). */
export const XDS_BOOTSTRAP_DEFAULTS = { nodeId: 'envoy-edge', nodeCluster: 'ngx2envoy', xdsAddress: '127.0.0.1:18000' } as const;

/**
 * What `convert --mode xds -o DIR` writes, as {path, text} (the shape of
 * convert's output list): listeners.yaml, routes.yaml, clusters.yaml,
 * endpoints.yaml, secrets.yaml (each a DiscoveryResponse), bootstrap-ads.yaml
 * and bootstrap-ads-delta.yaml. Pass CompileResult.comments to keep the
 * `# nginx: file:line` comments on listeners, routes and clusters.
 */
export function xdsConvertFiles(
  bootstrap: unknown,
  outDir: string,
  opts: Partial<Omit<AdsBootstrapOptions, 'delta'>> = {},
  comments: CommentMap = new Map(),
): { path: string; text: string }[] {
  const split = toXdsResourcesWithComments(bootstrap, comments);
  const set = xdsFiles(split.resources, { ...XDS_BOOTSTRAP_DEFAULTS, ...opts }, split.comments);
  return set.files.map((f) => ({ path: path.join(outDir, f.name), text: f.content }));
}

// ---------------------------------------------------------------- TLS → SDS (issue 7)

const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/**
 * Listener TLS contexts carry their certificates (and client CA) inline in the
 * static bootstrap, as file references. Over xDS each becomes an SDS Secret —
 * still a file reference: key material never travels — and the context names
 * it (tls_certificate_sds_secret_configs / validation_context_sds_secret_config).
 * Equal contexts share one Secret; names are stable (derived from the files).
 * The listeners' chains must be the split's own objects (toXdsResources makes
 * them): a chain gets a new transport socket, the one it had (shared with the
 * bootstrap) is left as it was.
 */
export function liftDownstreamTlsSecrets(out: XdsResources): void {
  const byName = new Map<string, string>(out.secrets.map((s) => [resourceName(s), JSON.stringify(s)]));
  const claim = (base: string, secret: JsonObject): string => {
    const body = (name: string): string => JSON.stringify({ ...secret, name });
    for (let n = 0; ; n++) {
      const name = n === 0 ? base : `${base}#${n}`;
      const taken = byName.get(name);
      if (taken === undefined) {
        byName.set(name, body(name));
        out.secrets.push({ ...secret, name });
        return name;
      }
      if (taken === body(name)) return name;
    }
  };
  for (const listener of out.listeners) {
    const chains: JsonObject[] = [];
    if (Array.isArray(listener['filter_chains'])) chains.push(...listener['filter_chains'].filter(isObject));
    if (isObject(listener['default_filter_chain'])) chains.push(listener['default_filter_chain']);
    for (const chain of chains) {
      const ts = chain['transport_socket'];
      const ctx = isObject(ts) && isObject(ts['typed_config']) && ts['typed_config']['@type'] === DOWNSTREAM_TLS_TYPE ? ts['typed_config'] : null;
      const common = ctx && isObject(ctx['common_tls_context']) ? ctx['common_tls_context'] : null;
      if (!ts || !ctx || !common) continue;
      const lifted = liftCommonTlsContext(common, claim);
      if (lifted !== common) chain['transport_socket'] = { ...(ts as JsonObject), typed_config: { ...ctx, common_tls_context: lifted } };
    }
  }
}

/** A CommonTlsContext with its certificates and validation context as SDS secret configs (`common` itself when it has neither). */
function liftCommonTlsContext(common: JsonObject, claim: (base: string, secret: JsonObject) => string): JsonObject {
  const certs = Array.isArray(common['tls_certificates']) ? common['tls_certificates'].filter(isObject) : [];
  const validation = common['validation_context'];
  if (!certs.length && !isObject(validation)) return common;
  const out: JsonObject = { ...common };
  if (certs.length) {
    out['tls_certificate_sds_secret_configs'] = certs.map((cert) => ({
      name: claim(`tls_certificate:${fileOf(cert['certificate_chain'])}`, { tls_certificate: cert }),
      sds_config: adsConfigSource(),
    }));
    delete out['tls_certificates'];
  }
  if (isObject(validation)) {
    out['validation_context_sds_secret_config'] = {
      name: claim(`validation_context:${fileOf(validation['trusted_ca'])}`, { validation_context: validation }),
      sds_config: adsConfigSource(),
    };
    delete out['validation_context'];
  }
  return out;
}

function fileOf(source: Json | undefined): string {
  return isObject(source) && typeof source['filename'] === 'string' ? source['filename'] : 'inline';
}
