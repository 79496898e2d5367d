// From the IR's backends to the Consul instances ngx2envoy manages: one service
// per backend (upstream block or inline proxy_pass target), one instance per
// `server` line. Plain data; the wire formats are in formats.ts. Stream backends
// (stream {} upstreams and targets) are services too, named after their
// clusters (`stream_db` → `stream-db`), tagged `stream`, meta nginx_context=stream.
import { sha256Hex } from '../hash.js';
import type { Backend, BackendServer, CompiledConfig, Src, StreamBackend } from '../../ir/types.js';
import { claimUnique, instanceIdBase, serviceNamesFor } from './names.js';

export const MANAGED_BY = 'ngx2envoy';
export const MANAGED_TAG = 'ngx2envoy';
export const BACKUP_TAG = 'backup';
export const STREAM_TAG = 'stream';
/** Meta keys (Consul: at most 64 characters of [A-Za-z0-9_-]). */
export const META = {
  managedBy: 'managed_by',
  config: 'ngx2envoy_config',
  hash: 'ngx2envoy_hash',
  upstream: 'nginx_upstream',
  source: 'nginx_source',
  backup: 'nginx_backup',
  maxFails: 'nginx_max_fails',
  failTimeout: 'nginx_fail_timeout',
  /** `stream` on the instances of stream {} backends (absent for http ones). */
  context: 'nginx_context',
} as const;
const META_VALUE_MAX = 512;
/** Consul's own default check timeout; a probe never needs to wait longer than the interval. */
const CHECK_TIMEOUT_MAX_S = 10;

export type CheckKind = 'tcp' | 'http' | 'none';

export interface ConsulEmitOptions {
  /**
   * Identity of the nginx config (meta ngx2envoy_config); instances carry it so a later
   * run can remove its own leftovers. Pass the main file's absolute path.
   */
  configId?: string;
  /** Health check per instance: TCP connect (default), HTTP GET, or none. */
  check?: CheckKind;
  /** Path of the HTTP check (default `/`). */
  httpPath?: string;
}

export interface InstanceCheck {
  kind: 'tcp' | 'http';
  name: string;
  /** `host:port` (tcp) or a URL (http). */
  target: string;
  intervalS: number;
  timeoutS: number;
  /** nginx max_fails: consecutive failures before the instance leaves the pool (emitted when > 1). */
  failuresBeforeCritical: number;
}

export interface ConsulInstance {
  id: string;
  service: string;
  upstream: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  /** nginx weight= → Weights.Passing; Weights.Warning is 1 (a warning check leaves the passing set anyway). */
  weight: number;
  backup: boolean;
  check: InstanceCheck | null;
  source: Src;
}

export interface ConsulServicePlan {
  name: string;
  upstream: string;
  kind: Backend['kind'];
  instances: ConsulInstance[];
  source: Src;
}

export interface SkippedServer {
  upstream: string;
  server: string;
  reason: string;
  source: Src;
}

export interface ConsulRegistrations {
  configId: string;
  services: ConsulServicePlan[];
  skipped: SkippedServer[];
}

/**
 * Fallback identity when the caller gives none: the main file as the compiler
 * recorded it (the report starts with it). Callers that know the file pass its
 * absolute path (`consul register` does), so that the same file is the same
 * config from any working directory.
 */
export function defaultConfigId(ir: CompiledConfig): string {
  return ir.report[0]?.file ?? ir.backends[0]?.source.file ?? 'nginx.conf';
}

export function buildRegistrations(ir: CompiledConfig, options: ConsulEmitOptions = {}): ConsulRegistrations {
  return registrationsOf(consulBackendsOf(ir, options));
}

/** What the registrations are made of: the IR's backends, and the options with the config identity settled. */
export interface ConsulBackends {
  http: Backend[];
  stream: StreamBackend[];
  options: ConsulEmitOptions & { configId: string };
}

export function consulBackendsOf(ir: CompiledConfig, options: ConsulEmitOptions = {}): ConsulBackends {
  return { http: ir.backends, stream: ir.stream?.backends ?? [], options: { ...options, configId: options.configId ?? defaultConfigId(ir) } };
}

/** One set of names over http and stream clusters, as serve names the services of the clusters it serves. */
function serviceNamesOf(backends: ConsulBackends): Map<string, string> {
  return serviceNamesFor([...backends.http.map((b) => b.name), ...backends.stream.map((b) => b.name)]);
}

/**
 * The services that have an instance, by name, in registration order: those
 * registrationsOf gives instances, without making them.
 */
export function registeredServiceNames(backends: ConsulBackends): string[] {
  const serviceNames = serviceNamesOf(backends);
  const names: string[] = [];
  for (const backend of [...backends.http, ...backends.stream]) {
    if (backend.servers.some((server) => unregistrableReason(server) === null)) names.push(serviceNames.get(backend.name)!);
  }
  return names;
}

export function registrationsOf(backends: ConsulBackends): ConsulRegistrations {
  const { options } = backends;
  const configId = options.configId;
  const serviceNames = serviceNamesOf(backends);
  const takenIds = new Set<string>();
  const services: ConsulServicePlan[] = [];
  const skipped: SkippedServer[] = [];
  // (the loop in a function of its own whose return is bare: see addServices). One call over
  // both lists: a second call, after the loop was optimised mid-way, compiles it all again.
  const all = backends.stream.length === 0 ? backends.http : [...backends.http, ...backends.stream];
  addServices(all, serviceNames, configId, options, takenIds, services, skipped);
  return { configId, services, skipped };
}

/**
 * A service per backend, in order, with an instance per registrable server (the others in
 * `skipped`). Nothing follows the loop: code after a loop the optimising compiler took over
 * mid-way has never run, and the first thing it does there throws the optimised code away.
 */
function addServices(
  list: (Backend | StreamBackend)[],
  serviceNames: Map<string, string>,
  configId: string,
  options: ConsulEmitOptions,
  takenIds: Set<string>,
  services: ConsulServicePlan[],
  skipped: SkippedServer[],
): void {
  for (const backend of list) {
    const service = serviceNames.get(backend.name)!;
    const instances: ConsulInstance[] = [];
    for (const server of backend.servers) {
      const reason = unregistrableReason(server);
      if (reason === null) instances.push(buildInstance(backend, server, service, configId, takenIds, options));
      else skipped.push({ upstream: backend.name, server: serverLabel(server), reason, source: server.source });
    }
    services.push({ name: service, upstream: backend.name, kind: backend.kind, instances, source: backend.source });
  }
}

export function serverLabel(server: BackendServer): string {
  if (server.unix) return `unix:${server.host}`;
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

function unregistrableReason(server: BackendServer): string | null {
  if (server.unix) return 'unix socket: a Consul instance is an address and a port, not registered';
  if (server.down) return 'down: nginx never sends requests to it, not registered';
  return null;
}

function isStream(backend: Backend | StreamBackend): backend is StreamBackend {
  return 'nginxName' in backend;
}

function buildInstance(
  backend: Backend | StreamBackend,
  server: BackendServer,
  service: string,
  configId: string,
  takenIds: Set<string>,
  options: ConsulEmitOptions,
): ConsulInstance {
  const id = claimUnique(instanceIdBase(service, server.host, server.port), takenIds);
  const stream = isStream(backend);
  // (pushed, not spread from conditional arrays: two temporary arrays and an iteration less per instance)
  const tags = [MANAGED_TAG];
  if (server.backup) tags.push(BACKUP_TAG);
  if (stream) tags.push(STREAM_TAG);
  const values: MetaValues = {
    config: metaValue(configId),
    upstream: metaValue(backend.name),
    source: metaValue(`${server.source.file}:${server.source.line}`),
    backup: String(server.backup),
    maxFails: String(server.maxFails),
    failTimeout: `${Math.round(server.failTimeoutMs)}ms`,
  };
  const check = buildCheck(backend, server, options);
  const hash = hashOf(id, service, server.host, server.port, tags, sortedMetaOf(values, stream), server.weight, check);
  return {
    id,
    service,
    upstream: backend.name,
    address: server.host,
    port: server.port,
    tags,
    meta: stream ? streamMetaOf(values, hash) : httpMetaOf(values, hash),
    weight: server.weight,
    backup: server.backup,
    check,
    source: server.source,
  };
}

/** The meta values of an instance that are not constant. */
interface MetaValues {
  config: string;
  upstream: string;
  source: string;
  backup: string;
  maxFails: string;
  failTimeout: string;
}

type MetaOf<K extends keyof typeof META> = Record<(typeof META)[K], string>;

// The meta objects are written as literals with every key, hash included, in the order the
// files show them: one shape each, nothing added after creation (literal keys, not computed
// ones, so that each is made from its boilerplate). The types hold the keys to META's.
function httpMetaOf(v: MetaValues, hash: string): MetaOf<Exclude<keyof typeof META, 'context'>> {
  return {
    managed_by: MANAGED_BY,
    ngx2envoy_config: v.config,
    nginx_upstream: v.upstream,
    nginx_source: v.source,
    nginx_backup: v.backup,
    nginx_max_fails: v.maxFails,
    nginx_fail_timeout: v.failTimeout,
    ngx2envoy_hash: hash,
  };
}

function streamMetaOf(v: MetaValues, hash: string): MetaOf<keyof typeof META> {
  return {
    managed_by: MANAGED_BY,
    ngx2envoy_config: v.config,
    nginx_upstream: v.upstream,
    nginx_source: v.source,
    nginx_backup: v.backup,
    nginx_max_fails: v.maxFails,
    nginx_fail_timeout: v.failTimeout,
    nginx_context: 'stream',
    ngx2envoy_hash: hash,
  };
}

/**
 * The meta instanceHash hashes, made directly in its order (key order, the hash left out)
 * instead of sorting the keys of the meta once per instance (7,000 on the benchmark).
 */
function sortedMetaOf(v: MetaValues, stream: boolean): Record<string, string> {
  return stream
    ? {
        managed_by: MANAGED_BY,
        nginx_backup: v.backup,
        nginx_context: 'stream',
        nginx_fail_timeout: v.failTimeout,
        nginx_max_fails: v.maxFails,
        nginx_source: v.source,
        nginx_upstream: v.upstream,
        ngx2envoy_config: v.config,
      }
    : {
        managed_by: MANAGED_BY,
        nginx_backup: v.backup,
        nginx_fail_timeout: v.failTimeout,
        nginx_max_fails: v.maxFails,
        nginx_source: v.source,
        nginx_upstream: v.upstream,
        ngx2envoy_config: v.config,
      };
}

/** Keeps the end of an over-long value (the file name and line are at the end). */
function metaValue(value: string): string {
  return value.length <= META_VALUE_MAX ? value : '…' + value.slice(value.length - META_VALUE_MAX + 1);
}

/**
 * nginx takes a server out after `max_fails` failed attempts within `fail_timeout`.
 * The check probes every fail_timeout/max_fails (at least 1s) and goes critical
 * after max_fails consecutive failures, so a dead server leaves within about
 * fail_timeout, as in nginx. max_fails=0 disables nginx's accounting: no check
 * (an instance without checks is passing in Consul).
 */
export function buildCheck(backend: Backend | StreamBackend, server: BackendServer, options: ConsulEmitOptions): InstanceCheck | null {
  // A stream backend speaks no HTTP: its check is a TCP connect (none for UDP-only ones, which accept no connection).
  if (isStream(backend) && backend.clusters.every((c) => c.udp)) return null;
  const kind = isStream(backend) && options.check === 'http' ? 'tcp' : (options.check ?? 'tcp');
  if (kind === 'none' || server.maxFails <= 0) return null;
  const intervalS = Math.max(1, Math.ceil(server.failTimeoutMs / server.maxFails / 1000));
  const hostPort = serverLabel(server);
  const target =
    kind === 'tcp' || isStream(backend) ? hostPort : `${backend.clusters.some((c) => c.transport.tls) ? 'https' : 'http'}://${hostPort}${normalisePath(options.httpPath ?? '/')}`;
  return {
    kind,
    name: isStream(backend)
      ? `nginx stream ${backend.kind === 'upstream' ? 'upstream ' + backend.nginxName : 'proxy_pass ' + backend.nginxName} server ${hostPort}`
      : `nginx ${backend.kind === 'upstream' ? 'upstream ' + backend.name : 'proxy_pass ' + backend.name} server ${hostPort}`,
    target,
    intervalS,
    timeoutS: Math.min(intervalS, CHECK_TIMEOUT_MAX_S),
    failuresBeforeCritical: server.maxFails,
  };
}

function normalisePath(path: string): string {
  return path.startsWith('/') ? path : '/' + path;
}

/** A digest of everything registered, kept in meta so a later run can tell "unchanged" cheaply and exactly. */
export function instanceHash(instance: Omit<ConsulInstance, 'meta'> & { meta: Record<string, string> }): string {
  // Meta in key order, without the hash itself. (Sorting the keys gives the order the former
  // sort of [key, value] entries gave: meta keys are [A-Za-z0-9_-], all above the "," that
  // joined key and value, so a key that is a prefix of another still sorts first.)
  const meta: Record<string, string> = {};
  for (const key of Object.keys(instance.meta).sort()) if (key !== META.hash) meta[key] = instance.meta[key]!;
  return hashOf(instance.id, instance.service, instance.address, instance.port, instance.tags, meta, instance.weight, instance.check);
}

/** instanceHash of the fields, `sortedMeta` the meta as it sorts it. */
function hashOf(
  id: string,
  service: string,
  address: string,
  port: number,
  tags: string[],
  sortedMeta: Record<string, string>,
  weight: number,
  check: InstanceCheck | null,
): string {
  return sha256Hex(JSON.stringify([id, service, address, port, tags, sortedMeta, weight, check])).slice(0, 16);
}

export function allInstances(registrations: ConsulRegistrations): ConsulInstance[] {
  return registrations.services.flatMap((s) => s.instances);
}
