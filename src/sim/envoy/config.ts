// Reading an Envoy configuration as the evaluator needs it: a static Bootstrap or an
// xDS resource set, in proto3 JSON (snake_case or lowerCamel), reduced to plain
// snake_case objects plus lookup tables for route configurations, clusters and
// endpoints.

/** A JSON object from the configuration (proto3 JSON, keys normalised to snake_case). */
export type Obj = Record<string, any>;

/** An xDS resource set as the ADS server serves it. */
export interface XdsSet {
  listeners?: Obj[];
  routes?: Obj[];
  clusters?: Obj[];
  endpoints?: Obj[];
}

/**
 * What `evaluate` accepts: a Bootstrap (`static_resources`…), an xDS set, or a
 * Bootstrap whose `rds` references are resolved against an xDS set.
 */
export type EnvoyConfigInput = Obj | XdsSet | { bootstrap: Obj; xds?: XdsSet };

/** A configuration Envoy itself would refuse to load. */
export class EnvoyConfigError extends Error {
  override name = 'EnvoyConfigError';
}

export interface LoadedConfig {
  listeners: Obj[];
  routeConfigs: Map<string, Obj>;
  clusters: Map<string, Obj>;
  /** ClusterLoadAssignments by cluster_name (EDS) */
  endpoints: Map<string, Obj>;
}

// Map-typed proto fields: their keys are data (filter names, metadata
// namespaces), not field names, so they are never re-cased.
const MAP_FIELDS = new Set([
  'typed_per_filter_config',
  'filter_metadata',
  'typed_filter_metadata',
  'metadata',
  'per_filter_config',
]);

// Map fields whose keys are data but whose values are messages, re-cased like any other.
const MESSAGE_MAP_FIELDS = new Set(['typed_extension_protocol_options']);

function snakeKey(key: string): string {
  if (key.startsWith('@')) return key;
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/** proto3 JSON allows lowerCamel or the original field names; make everything snake_case. */
export function toSnake(value: unknown): any {
  if (Array.isArray(value)) return value.map(toSnake);
  if (value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value as Obj)) {
    const key = snakeKey(k);
    if (MESSAGE_MAP_FIELDS.has(key) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[key] = Object.fromEntries(Object.entries(v as Obj).map(([name, message]) => [name, toSnake(message)]));
    } else out[key] = MAP_FIELDS.has(key) ? v : toSnake(v);
  }
  return out;
}

/** xDS responses may wrap a resource as `{name, resource}` (a Resource) — unwrap it. */
function unwrap(r: Obj): Obj {
  if (r && typeof r === 'object' && r.resource && typeof r.resource === 'object') return r.resource;
  return r;
}

function isXdsSet(c: Obj): boolean {
  return ['listeners', 'routes', 'clusters', 'endpoints'].some((k) => Array.isArray(c[k]));
}

export function loadConfig(input: EnvoyConfigInput): LoadedConfig {
  const raw = toSnake(input) as Obj;
  let bootstrap: Obj | undefined;
  let xds: Obj | undefined;
  if (raw.bootstrap && typeof raw.bootstrap === 'object') {
    bootstrap = raw.bootstrap;
    xds = raw.xds;
  } else if (raw.static_resources || raw.dynamic_resources || raw.admin || raw.node) {
    bootstrap = raw;
  } else if (isXdsSet(raw)) {
    xds = raw;
  } else {
    throw new EnvoyConfigError('configuration is neither a Bootstrap (static_resources) nor an xDS set (listeners/routes/clusters/endpoints)');
  }
  const stat = bootstrap?.static_resources ?? {};
  const listeners = [...(stat.listeners ?? []), ...(xds?.listeners ?? [])].map(unwrap);
  const routeConfigs = new Map<string, Obj>();
  for (const r of (xds?.routes ?? []).map(unwrap)) routeConfigs.set(String(r.name ?? ''), r);
  const clusters = new Map<string, Obj>();
  for (const c of [...(stat.clusters ?? []), ...(xds?.clusters ?? [])].map(unwrap)) {
    clusters.set(String(c.name ?? ''), c);
  }
  const endpoints = new Map<string, Obj>();
  for (const e of (xds?.endpoints ?? []).map(unwrap)) endpoints.set(String(e.cluster_name ?? ''), e);
  return { listeners, routeConfigs, clusters, endpoints };
}

// ------------------------------------------------------------ proto3 JSON scalars

/** BoolValue wrappers arrive as `true` or `{value: true}`. */
export function boolValue(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'object') return Boolean((v as Obj).value);
  return Boolean(v);
}

/** UInt32Value wrappers and uint32 fields arrive as numbers, strings or `{value}`. */
export function numValue(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return numValue((v as Obj).value);
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** An enum arrives as its name or its number; `names[i]` is the name of number i. */
export function enumValue(v: unknown, names: string[], dflt: string): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return names[v] ?? dflt;
  return String(v);
}

/** A Duration in proto3 JSON is a string like "15s"; older YAML may give {seconds, nanos}. */
export function durationValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    const d = v as Obj;
    const secs = Number(d.seconds ?? 0) + Number(d.nanos ?? 0) / 1e9;
    return `${secs}s`;
  }
  return String(v);
}

/** The `@type` (or the filter name, for configs that still use names) of a typed extension. */
export function typeOf(ext: Obj | undefined): string {
  const t = ext?.typed_config?.['@type'];
  return typeof t === 'string' ? t : '';
}
