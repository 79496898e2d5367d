// Endpoints from Consul for `serve --consul-addr`: for each cluster whose
// upstream is registered in Consul, its ClusterLoadAssignment comes from
// /v1/health/service/:name?passing, kept current with blocking queries.
//
// Index handling follows Consul's rules for blocking queries: an index that
// goes backwards (a snapshot restore) resets ours to 0, an index below 1 counts
// as 1, the loop is rate-limited (a burst of changes cannot spin it), and errors
// back off exponentially. When Consul is unreachable the last known endpoints
// stay; status() says so (consul_up, consul_last_error, consul_index per service).
//
// Which services are registered comes from a blocking query on /v1/catalog/services:
// a service that leaves the catalog gives its cluster back its compiled endpoints
// (override null); a registered service with no passing instance has none.
//
// One service feeds every cluster of its upstream: an upstream used with several
// transports (http:// and https://, or different proxy_ssl_* settings) has a
// cluster per transport, all with the same servers.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type Consul from 'consul';
import { consulClient, resolveConnection, type ConsulConnection } from '../consul/connection.js';
import { serviceNamesFor } from '../emit/consul/names.js';
import { toConsulError } from '../consul/errors.js';
import { BACKUP_TAG, META } from '../emit/consul/registrations.js';
import { backendOfCluster } from '../lower/upstream.js';

export interface LbEndpoint {
  endpoint: { address: { socket_address: { address: string; port_value: number } } };
  load_balancing_weight: number;
  health_status: 'HEALTHY';
}

export interface LocalityEndpoints {
  locality: { region: string; zone: string; sub_zone: string };
  lb_endpoints: LbEndpoint[];
  load_balancing_weight: number;
  priority: number;
}

/** Envoy v3 ClusterLoadAssignment as JSON. */
export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints: LocalityEndpoints[];
}

/** One entry of /v1/health/service/:name (the fields used here). */
export interface HealthEntry {
  Node: { Node: string; Address: string; Datacenter?: string };
  Service: {
    ID: string;
    Address?: string;
    Port: number;
    Tags?: string[] | null;
    Meta?: Record<string, string> | null;
    Weights?: { Passing: number; Warning: number } | null;
  };
}

export interface ClaResult {
  cla: ClusterLoadAssignment;
  /** Instances left out, with the reason (an EDS endpoint must be an IP address). */
  skipped: string[];
}

/**
 * Passing instances → ClusterLoadAssignment. nginx `backup` servers (tag
 * `backup` or meta nginx_backup=true) go to priority 1: since only passing
 * instances are listed, Envoy sends them traffic only when priority 0 is empty,
 * which is nginx's rule for backup servers.
 */
export function clusterLoadAssignment(cluster: string, entries: HealthEntry[]): ClaResult {
  const skipped: string[] = [];
  const byPriority = new Map<number, { dc: string; endpoints: LbEndpoint[] }>();
  for (const entry of entries) {
    const address = entry.Service.Address || entry.Node.Address;
    if (isIP(address) === 0) {
      skipped.push(`${entry.Service.ID}: address "${address}" is not an IP address`);
      continue;
    }
    const priority = isBackup(entry) ? 1 : 0;
    const group = byPriority.get(priority) ?? { dc: entry.Node.Datacenter ?? '', endpoints: [] };
    group.endpoints.push({
      endpoint: { address: { socket_address: { address, port_value: entry.Service.Port } } },
      load_balancing_weight: Math.max(1, entry.Service.Weights?.Passing ?? 1),
      health_status: 'HEALTHY',
    });
    byPriority.set(priority, group);
  }
  const endpoints = [...byPriority.keys()].sort().map((priority) => {
    const group = byPriority.get(priority)!;
    return {
      locality: { region: 'consul', zone: group.dc, sub_zone: priority === 0 ? 'primary' : 'backup' },
      lb_endpoints: group.endpoints.sort(compareEndpoints),
      load_balancing_weight: 1,
      priority,
    };
  });
  return { cla: { cluster_name: cluster, endpoints }, skipped };
}

function isBackup(entry: HealthEntry): boolean {
  return (entry.Service.Tags ?? []).includes(BACKUP_TAG) || entry.Service.Meta?.[META.backup] === 'true';
}

function compareEndpoints(a: LbEndpoint, b: LbEndpoint): number {
  const x = a.endpoint.address.socket_address;
  const y = b.endpoint.address.socket_address;
  return x.address < y.address ? -1 : x.address > y.address ? 1 : x.port_value - y.port_value;
}

// ---------------------------------------------------------------- the source

export interface ClusterService {
  cluster: string;
  service: string;
}

export interface ConsulEndpointsOptions {
  conn: ConsulConnection;
  /** The clusters to feed, or a function read again on every catalog change (clusters change on reload). */
  clusters: ClusterService[] | (() => ClusterService[]);
  /** A cluster's endpoints changed: the new assignment, or null for "back to the compiled endpoints". */
  onChange: (cluster: string, cla: ClusterLoadAssignment | null) => void;
  /** Blocking query wait (Go duration), default 60s. */
  wait?: string;
  /** Least time between two requests of one loop, default 500 ms. */
  minIntervalMs?: number;
  /** Back-off after an error: first delay and cap, default 500 ms and 30 s. */
  backoffMs?: number;
  backoffMaxMs?: number;
  log?: (line: string) => void;
}

export interface ServiceStatus {
  /** The first of `clusters` (by name). */
  cluster: string;
  /** Every cluster the service feeds (one per transport its upstream is used with), sorted. */
  clusters: string[];
  service: string;
  registered: boolean;
  index: number;
  endpoints: number;
  skipped: string[];
  resets: number;
  lastError: string | null;
}

export interface ConsulSourceStatus {
  up: boolean;
  lastError: string | null;
  /** The catalog's index (services table). */
  catalogIndex: number;
  services: ServiceStatus[];
}

interface Loop {
  stopped: boolean;
  ctx: EventEmitter & { includeResponse: boolean };
  timer: NodeJS.Timeout | null;
  wake: (() => void) | null;
}

/** X-Consul-Index as Consul says to read it: a missing or sub-1 index counts as 1. */
export function readIndex(header: string | string[] | undefined): number {
  const n = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/** The index to send next: reset to 0 when Consul's index went backwards. */
export function nextIndex(previous: number, received: number): { index: number; reset: boolean } {
  return received < previous ? { index: 0, reset: true } : { index: received, reset: false };
}

export class ConsulEndpointSource {
  private client: Consul;
  private readonly wait: string;
  private readonly waitMs: number;
  private readonly minIntervalMs: number;
  private readonly backoffMs: number;
  private readonly backoffMaxMs: number;
  private readonly log: (line: string) => void;
  private readonly byService = new Map<string, ServiceStatus>();
  private readonly emitted = new Map<string, string>(); // cluster → JSON of the last override (or 'null')
  private readonly lastAssignment = new Map<string, ClusterLoadAssignment | null>(); // service → its last assignment
  private readonly healthLoops = new Map<string, Loop>();
  private catalogLoop: Loop | null = null;
  private up = false;
  private lastError: string | null = null;
  private catalogIndex = 0;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  /** Services whose first health answer (or failure) start() still waits for. */
  private awaitingFirst = new Set<string>();
  private catalogSeen = false;

  constructor(private readonly options: ConsulEndpointsOptions) {
    this.client = consulClient(options.conn);
    this.wait = options.wait ?? '60s';
    this.waitMs = goSeconds(this.wait) * 1000;
    this.minIntervalMs = options.minIntervalMs ?? 500;
    this.backoffMs = options.backoffMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.log = options.log ?? (() => {});
    this.refreshClusters();
    this.firstSync = new Promise((resolve) => (this.resolveFirstSync = resolve));
  }

  /**
   * Starts the loops. Resolves once the first round is in (the catalog and the
   * health of every registered service, or their first failure), so that the
   * first snapshot served already carries Consul's endpoints.
   */
  start(): Promise<void> {
    this.catalogLoop = this.runLoop(
      (loop) => this.pollCatalog(loop),
      (err) => this.recordError(err),
    );
    return this.firstSync;
  }

  stop(): void {
    for (const loop of [this.catalogLoop, ...this.healthLoops.values()]) if (loop) this.halt(loop);
    this.healthLoops.clear();
    this.catalogLoop = null;
    this.client.destroy();
  }

  status(): ConsulSourceStatus {
    return {
      up: this.up,
      lastError: this.lastError,
      catalogIndex: this.catalogIndex,
      services: [...this.byService.values()].map((s) => ({ ...s, clusters: [...s.clusters], skipped: [...s.skipped] })),
    };
  }

  // ---------------------------------------------------------------- loops

  /** Runs `step` repeatedly: rate-limited after a success, backing off after an error. */
  private runLoop(step: (loop: Loop) => Promise<void>, onError: (err: unknown) => void): Loop {
    const loop: Loop = { stopped: false, ctx: Object.assign(new EventEmitter(), { includeResponse: true }), timer: null, wake: null };
    loop.ctx.setMaxListeners(0);
    void (async () => {
      let failures = 0;
      while (!loop.stopped) {
        const started = Date.now();
        try {
          await step(loop);
          failures = 0;
          await this.sleep(loop, this.minIntervalMs - (Date.now() - started));
        } catch (err) {
          if (loop.stopped) return;
          onError(err);
          failures += 1;
          await this.sleep(loop, Math.min(this.backoffMaxMs, this.backoffMs * 2 ** (failures - 1)));
        }
      }
    })();
    return loop;
  }

  private sleep(loop: Loop, ms: number): Promise<void> {
    if (ms <= 0 || loop.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      loop.wake = resolve;
      loop.timer = setTimeout(resolve, ms);
    });
  }

  private halt(loop: Loop): void {
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    loop.wake?.();
    loop.ctx.emit('cancel');
  }

  private requestOptions(loop: Loop, index: number): Record<string, unknown> {
    // The client's own timeout must outlast the wait plus Consul's jitter (≤ wait/16).
    return { index: String(index), wait: this.wait, timeout: Math.ceil(this.waitMs * (1 + 1 / 16)) + 5000, ctx: loop.ctx };
  }

  private recordError(err: unknown, service?: ServiceStatus): void {
    const message = toConsulError(err, service ? `GET /v1/health/service/${service.service}` : 'GET /v1/catalog/services').message;
    if (this.lastError !== message) this.log(`consul: ${message} (keeping the last known endpoints)`);
    this.up = false;
    this.lastError = message;
    if (service) service.lastError = message;
    if (service) this.firstAnswered(service.service);
    else this.resolveFirstSync();
  }

  private markUp(): void {
    this.up = true;
  }

  // ---------------------------------------------------------------- catalog

  /** Follows the cluster list: new clusters are added, removed ones lose their loop and their override. */
  private refreshClusters(): void {
    const wanted = typeof this.options.clusters === 'function' ? this.options.clusters() : this.options.clusters;
    const byService = new Map<string, string[]>();
    for (const { cluster, service } of wanted) {
      const list = byService.get(service);
      if (!list) byService.set(service, [cluster]);
      else if (!list.includes(cluster)) list.push(cluster);
    }
    for (const status of [...this.byService.values()]) {
      if (byService.has(status.service)) continue;
      if (status.registered) this.unwatchService(status);
      this.byService.delete(status.service);
    }
    for (const [service, list] of byService) {
      const clusters = list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const status = this.byService.get(service);
      if (!status) {
        this.byService.set(service, { cluster: clusters[0]!, clusters, service, registered: false, index: 0, endpoints: 0, skipped: [], resets: 0, lastError: null });
        continue;
      }
      // A reload may add or remove a transport of the upstream: a new cluster gets the service's current endpoints.
      for (const gone of status.clusters.filter((c) => !clusters.includes(c))) this.emitted.delete(gone);
      const last = this.lastAssignment.get(service);
      status.clusters = clusters;
      status.cluster = clusters[0]!;
      if (last !== undefined) this.emitAll(status, last);
    }
  }

  private async pollCatalog(loop: Loop): Promise<void> {
    const [res, body] = (await this.client.catalog.service.list(this.requestOptions(loop, this.catalogIndex) as never)) as unknown as [
      { headers: Record<string, string> },
      Record<string, string[]> | null,
    ];
    if (loop.stopped) return;
    this.catalogIndex = nextIndex(this.catalogIndex, readIndex(res.headers['x-consul-index'])).index;
    this.markUp();
    this.refreshClusters();
    const registered = new Set(Object.keys(body ?? {}));
    for (const status of this.byService.values()) {
      if (registered.has(status.service) && !this.healthLoops.has(status.service)) this.watchService(status);
      if (!registered.has(status.service) && status.registered) this.unwatchService(status);
    }
    if (!this.catalogSeen) {
      this.catalogSeen = true;
      for (const status of this.byService.values()) if (status.registered) this.awaitingFirst.add(status.service);
      if (this.awaitingFirst.size === 0) this.resolveFirstSync();
    }
  }

  private firstAnswered(service: string): void {
    if (!this.awaitingFirst.delete(service)) return;
    if (this.awaitingFirst.size === 0) this.resolveFirstSync();
  }

  private watchService(status: ServiceStatus): void {
    status.registered = true;
    status.index = 0;
    this.healthLoops.set(
      status.service,
      this.runLoop(
        (loop) => this.pollHealth(loop, status),
        (err) => this.recordError(err, status),
      ),
    );
  }

  private unwatchService(status: ServiceStatus): void {
    const loop = this.healthLoops.get(status.service);
    if (loop) this.halt(loop);
    this.healthLoops.delete(status.service);
    this.firstAnswered(status.service);
    status.registered = false;
    status.endpoints = 0;
    status.skipped = [];
    this.emitAll(status, null);
  }

  // ---------------------------------------------------------------- health

  private async pollHealth(loop: Loop, status: ServiceStatus): Promise<void> {
    const [res, entries] = (await this.client.health.service({
      service: status.service,
      passing: true,
      ...this.requestOptions(loop, status.index),
    } as never)) as unknown as [{ headers: Record<string, string> }, HealthEntry[] | null];
    if (loop.stopped) return;
    const next = nextIndex(status.index, readIndex(res.headers['x-consul-index']));
    if (next.reset) {
      status.resets += 1;
      this.log(`consul: index of ${status.service} went backwards (${status.index} → ${res.headers['x-consul-index']}); reading afresh`);
    }
    status.index = next.index;
    status.lastError = null;
    this.markUp();
    const { cla, skipped } = clusterLoadAssignment(status.cluster, entries ?? []);
    status.endpoints = cla.endpoints.reduce((n, l) => n + l.lb_endpoints.length, 0);
    status.skipped = skipped;
    this.emitAll(status, cla);
    this.firstAnswered(status.service);
  }

  /** The service's assignment to each of its clusters (each named after its cluster), or null to all. */
  private emitAll(status: ServiceStatus, cla: ClusterLoadAssignment | null): void {
    this.lastAssignment.set(status.service, cla);
    for (const cluster of status.clusters) this.emit(cluster, cla && { ...cla, cluster_name: cluster });
  }

  private emit(cluster: string, cla: ClusterLoadAssignment | null): void {
    const json = JSON.stringify(cla);
    if (this.emitted.get(cluster) === json || (cla === null && !this.emitted.has(cluster))) return;
    this.emitted.set(cluster, json);
    this.options.onChange(cluster, cla);
  }
}

// ---------------------------------------------------------------- serve's hook

/** What serve gives an endpoint source (src/serve/index.ts, EndpointSourceHost). */
export interface EndpointSourceHost {
  setEndpointOverride(clusterName: string, cla: Record<string, unknown> | null): boolean;
  clusterNames(): string[];
}

export interface ConsulEndpointsHandle {
  close(): void;
  status(): ConsulSourceStatus;
  /** Prometheus text lines for /metrics. */
  metrics(): string[];
}

/**
 * Called by serve with `--consul-addr`: clusters take their endpoints from the
 * Consul service named as `consul register` names their upstream. The token
 * comes from CONSUL_HTTP_TOKEN / CONSUL_HTTP_TOKEN_FILE, as for Consul's CLI.
 */
export async function startEndpointSource(options: {
  consulAddr: string;
  server: EndpointSourceHost;
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  minIntervalMs?: number;
}): Promise<ConsulEndpointsHandle> {
  const conn = resolveConnection({ consulAddr: options.consulAddr }, options.env ?? process.env);
  const clusters = (): ClusterService[] => {
    // Services are named after upstreams, as `consul register` names them; each of an upstream's clusters follows its service.
    const names = options.server.clusterNames();
    const services = serviceNamesFor(names.map(backendOfCluster));
    return names.map((cluster) => ({ cluster, service: services.get(backendOfCluster(cluster))! }));
  };
  const source = new ConsulEndpointSource({
    conn,
    clusters,
    onChange: (cluster, cla) => {
      options.server.setEndpointOverride(cluster, cla as unknown as Record<string, unknown> | null);
      const n = cla ? cla.endpoints.reduce((sum, l) => sum + l.lb_endpoints.length, 0) : null;
      options.log(`consul: ${cluster}: ${n === null ? 'not in Consul, compiled endpoints' : `${n} passing endpoint(s)`}`);
    },
    log: options.log,
    minIntervalMs: options.minIntervalMs,
  });
  await source.start();
  options.log(`consul: following ${conn.baseUrl} (${source.status().up ? 'reachable' : 'unreachable: ' + source.status().lastError})`);
  return { close: () => source.stop(), status: () => source.status(), metrics: () => consulMetrics(source.status()) };
}

/** Seconds in a Go duration of the simple forms used for `wait` (`60s`, `5m`, `500ms`). */
function goSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`invalid wait "${text}"`);
  const n = parseFloat(m[1]!);
  return m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
}

/** Prometheus text lines for /metrics. */
export function consulMetrics(status: ConsulSourceStatus): string[] {
  const lines = [
    '# HELP consul_up Whether the last request to Consul succeeded (1) or failed (0).',
    '# TYPE consul_up gauge',
    `consul_up ${status.up ? 1 : 0}`,
    '# HELP consul_last_error The last error talking to Consul (value 1 while Consul is down).',
    '# TYPE consul_last_error gauge',
  ];
  if (status.lastError) lines.push(`consul_last_error{error=${label(status.lastError)}} ${status.up ? 0 : 1}`);
  lines.push('# HELP consul_index The X-Consul-Index last seen per service.', '# TYPE consul_index gauge');
  for (const s of status.services) {
    for (const cluster of s.clusters) lines.push(`consul_index{service=${label(s.service)},cluster=${label(cluster)}} ${s.index}`);
  }
  lines.push('# HELP consul_endpoints Passing endpoints taken from Consul per service.', '# TYPE consul_endpoints gauge');
  for (const s of status.services) {
    if (s.registered) for (const cluster of s.clusters) lines.push(`consul_endpoints{service=${label(s.service)},cluster=${label(cluster)}} ${s.endpoints}`);
  }
  return lines;
}

function label(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}
