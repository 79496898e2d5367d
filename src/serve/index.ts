// `ngx2envoy serve`: compile the configuration, serve it over ADS, keep
// serving the last good snapshot while the files change.
//
//   startServe(file, options) → ServeHandle   (programmatic; tests, bench, Consul)
//   runServe(file, options)                  (the CLI: signals, logs, runs until SIGTERM)
//
// Reload: the config file and every file it includes are watched through
// their directories (fs.watch on a directory survives an editor's
// write-to-temp-and-rename, which replaces the file's inode); any change to a
// watched file name, or to a *.conf file in a watched directory (a new file a
// glob include would pick up), triggers a reload 200 ms after the last event.
// SIGHUP reloads at once. A reload that fails (parse, lowering, validation)
// keeps the served snapshot, logs the diagnostics and shows on /metrics
// (reloads_total{result="failure"}, reload_last_error_info) and on the admin
// page. SIGTERM (and SIGINT) drains: stop accepting, end every stream, exit 0.
//
// A second endpoint source (Consul) feeds EDS without recompiling:
//   handle.setEndpointOverride(clusterName, clusterLoadAssignment | null)
// replaces the compiled ClusterLoadAssignment of that cluster (null restores
// it); a DNS cluster that gets an override is served as an EDS cluster. With
// `consulAddr`, src/serve/consul-endpoints.ts is loaded and given the handle
// (see startEndpointSource below for the hook it must export).
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { parseHostPort, type JsonObject } from '../emit/envoy/xds.js';
import { XdsServer, type TlsOptions } from './xds-server.js';
import { startAdmin, type AdminServer, type ReloadStatus } from './admin.js';
import { loadSource, type LoadResult, type SourceOptions } from './source.js';

export { XdsServer } from './xds-server.js';
export type { TlsOptions } from './xds-server.js';
export { loadSource } from './source.js';

export const DEFAULT_XDS_ADDRESS = '127.0.0.1:18000';
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:19100';

export interface ServeOptions extends SourceOptions {
  xdsAddress?: string;
  adminAddress?: string;
  tls?: TlsOptions;
  /** Consul HTTP address for the endpoint source (passed through to consul-endpoints.ts). */
  consulAddr?: string;
  /** Watch the files (default true). */
  watch?: boolean;
  /** Debounce of file events, ms (default 200). */
  debounceMs?: number;
  log?: (line: string) => void;
  /** The node id expected to connect (logged when another node connects). */
  nodeId?: string;
  /** Called by runServe once serving (tests use it to reach the handle). */
  onStarted?: (handle: ServeHandle) => void;
  /** Where runServe listens for SIGHUP/SIGTERM/SIGINT (default: process). */
  signals?: NodeJS.EventEmitter;
}

export interface ReloadOutcome {
  ok: boolean;
  /** The snapshot version changed (false for a failure or identical content). */
  changed: boolean;
  version: string | null;
  errors: string[];
}

export interface ServeHandle extends EventEmitter {
  file: string;
  xds: XdsServer;
  xdsPort: number;
  adminPort: number;
  /** Reload now (what SIGHUP and the watcher do). Emits 'reload-start' (reason), then 'reload' with the outcome. */
  reload(reason?: string): Promise<ReloadOutcome>;
  reloadStatus(): ReloadStatus;
  setEndpointOverride(clusterName: string, cla: JsonObject | null): boolean;
  /** Drain and stop everything (xDS streams, admin, watchers, endpoint source). */
  close(): Promise<void>;
}

/** Thrown by startServe when the initial configuration is bad: the diagnostics, no stack. */
export class ServeLoadError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

const WATCH_NOISE = /(^\.|~$|\.sw[a-p]$|^4913$|\.tmp$)/;

/** Watches the directories of `files`; calls `onChange` debounced. */
class ConfigWatcher {
  private watchers = new Map<string, fs.FSWatcher>();
  private names = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly debounceMs: number,
    private readonly onChange: () => void,
    private readonly log: (line: string) => void,
  ) {}

  /** (Re-)arm on the current file list: directories come and go with includes. */
  arm(files: string[]): void {
    const absolute = files.map((f) => path.resolve(f));
    this.names = new Set(absolute);
    const dirs = new Set(absolute.map((f) => path.dirname(f)));
    for (const [dir, watcher] of this.watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, (_event, name) => this.event(dir, name?.toString() ?? null));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch (err) {
        this.log(`serve: cannot watch ${dir}: ${(err as Error).message}`);
      }
    }
  }

  private event(dir: string, name: string | null): void {
    if (name !== null) {
      const full = path.join(dir, name);
      const relevant = this.names.has(full) || (name.endsWith('.conf') && !WATCH_NOISE.test(name));
      if (!relevant) return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.debounceMs);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/**
 * The hook an endpoint source module (src/serve/consul-endpoints.ts) exports:
 * `startEndpointSource({ consulAddr, server, log })` → `{ close() }`, calling
 * `server.setEndpointOverride(cluster, cla | null)` as services change and
 * reading `server.clusterNames()` for what the compiled config has.
 */
export interface EndpointSourceHost {
  setEndpointOverride(clusterName: string, cla: JsonObject | null): boolean;
  clusterNames(): string[];
}

/** A running endpoint source; `metrics()` lines are appended to /metrics. */
interface EndpointSource {
  close(): unknown;
  metrics?(): string[];
}

async function startEndpointSource(
  consulAddr: string,
  host: EndpointSourceHost,
  log: (line: string) => void,
): Promise<EndpointSource | null> {
  try {
    const specifier = './consul-endpoints.js';
    const mod = (await import(specifier)) as {
      startEndpointSource?: (o: { consulAddr: string; server: EndpointSourceHost; log: (line: string) => void }) => Promise<EndpointSource> | EndpointSource;
    };
    if (typeof mod.startEndpointSource !== 'function') {
      log('serve: consul-endpoints has no startEndpointSource(); --consul-addr ignored');
      return null;
    }
    return await mod.startEndpointSource({ consulAddr, server: host, log });
  } catch (err) {
    log(`serve: the Consul endpoint source is not available (${(err as Error).message}); --consul-addr ignored`);
    return null;
  }
}

/** Start serving `file`. Rejects with ServeLoadError when the initial configuration is bad. */
export async function startServe(file: string, options: ServeOptions = {}): Promise<ServeHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const sourceOptions: SourceOptions = { context: options.context, prefix: options.prefix };
  const initial = await loadSource(file, sourceOptions);
  if (!initial.ok) throw new ServeLoadError(initial.errors);
  for (const warning of initial.warnings) log(warning);

  const xds = new XdsServer({ log });
  try {
    xds.setResources(initial.resources);
  } catch (err) {
    throw new ServeLoadError([`${file}: the resources cannot be encoded: ${(err as Error).message}`]);
  }
  const status: ReloadStatus = {
    file,
    successes: 0,
    failures: 0,
    lastResult: null,
    lastError: null,
    lastErrorAt: null,
    lastSuccessAt: new Date().toISOString(),
  };

  const xdsAddress = options.xdsAddress ?? DEFAULT_XDS_ADDRESS;
  const admin = parseHostPort(options.adminAddress ?? DEFAULT_ADMIN_ADDRESS);
  const xdsPort = await xds.listen(xdsAddress, options.tls);
  let endpointSource: EndpointSource | null = null;
  let adminServer: AdminServer;
  try {
    // The endpoint source (Consul) adds its lines to /metrics once it runs.
    adminServer = await startAdmin(admin.host, admin.port, { xds, reload: () => status, extraMetrics: () => endpointSource?.metrics?.() ?? [] });
  } catch (err) {
    await xds.close();
    throw err;
  }

  const handle = new EventEmitter() as ServeHandle;
  let files = initial.files;
  let reloading: Promise<ReloadOutcome> | null = null;
  let again = false;

  const apply = (result: LoadResult, reason: string): ReloadOutcome => {
    if (!result.ok) {
      // Keep watching what the broken config includes too: fixing an included file must reload.
      files = [...new Set([...files, ...result.files])];
      status.failures += 1;
      status.lastResult = 'failure';
      status.lastError = result.errors.join('\n');
      status.lastErrorAt = new Date().toISOString();
      log(`serve: reload (${reason}) failed; still serving snapshot ${xds.snapshot()?.version}:\n${status.lastError}`);
      return { ok: false, changed: false, version: xds.snapshot()?.version ?? null, errors: result.errors };
    }
    files = result.files;
    let changed: boolean;
    try {
      changed = xds.setResources(result.resources);
    } catch (err) {
      return apply({ ok: false, files, errors: [(err as Error).message] }, reason);
    }
    status.successes += 1;
    status.lastResult = 'success';
    status.lastSuccessAt = new Date().toISOString();
    // The warnings were printed in full at start; a reload only counts them.
    const warnings = result.warnings.join('\n').split('\n').filter((l) => l.includes(': warning: ')).length;
    log(
      `serve: reload (${reason}): ${changed ? 'new snapshot ' + xds.snapshot()?.version : 'no change'}` +
        (warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'}; see ngx2envoy parse/convert)` : ''),
    );
    return { ok: true, changed, version: xds.snapshot()?.version ?? null, errors: [] };
  };

  const reloadOnce = async (reason: string): Promise<ReloadOutcome> => {
    handle.emit('reload-start', reason);
    const outcome = apply(await loadSource(file, sourceOptions), reason);
    watcher?.arm(files);
    handle.emit('reload', outcome);
    return outcome;
  };

  // One reload at a time; a request during a reload runs once more after it.
  const reload = (reason = 'requested'): Promise<ReloadOutcome> => {
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      let outcome = await reloadOnce(reason);
      while (again) {
        again = false;
        outcome = await reloadOnce(reason);
      }
      reloading = null;
      return outcome;
    })();
    return reloading;
  };

  const watcher = options.watch === false ? null : new ConfigWatcher(options.debounceMs ?? 200, () => void reload('file changed'), log);
  watcher?.arm(files);

  const host: EndpointSourceHost = {
    setEndpointOverride: (name, cla) => xds.setEndpointOverride(name, cla),
    clusterNames: () => [...(xds.snapshot()?.profiles.envoy.get('type.googleapis.com/envoy.config.cluster.v3.Cluster')?.resources.keys() ?? [])],
  };
  endpointSource = options.consulAddr ? await startEndpointSource(options.consulAddr, host, log) : null;

  let closed: Promise<void> | null = null;
  Object.assign(handle, {
    file,
    xds,
    xdsPort,
    adminPort: adminServer.port,
    reload,
    reloadStatus: () => status,
    setEndpointOverride: host.setEndpointOverride,
    close: () => {
      closed ??= (async () => {
        watcher?.close();
        await endpointSource?.close();
        await xds.close();
        await adminServer.close();
      })();
      return closed;
    },
  });
  return handle;
}

/** The CLI form: start, log where it listens, reload on SIGHUP, drain on SIGTERM/SIGINT. */
export async function runServe(file: string, options: ServeOptions = {}): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const handle = await startServe(file, { ...options, log });
  const xdsHost = parseHostPort(options.xdsAddress ?? DEFAULT_XDS_ADDRESS).host;
  const adminHost = parseHostPort(options.adminAddress ?? DEFAULT_ADMIN_ADDRESS).host;
  log(
    `serve: ${file}: snapshot ${handle.xds.snapshot()?.version}; ADS on ${xdsHost}:${handle.xdsPort}` +
      `${options.tls ? (options.tls.clientCaFile ? ' (mTLS)' : ' (TLS)') : ''}, admin on http://${adminHost}:${handle.adminPort}/`,
  );
  // Log each stream's node once it names itself (its first request).
  const seen = new WeakSet<object>();
  handle.xds.on('subscribe', (stream: { id: number; node: string; kind: string; profile: string }) => {
    if (seen.has(stream)) return;
    seen.add(stream);
    const unexpected = options.nodeId && stream.node !== options.nodeId ? ` (not the expected --node-id "${options.nodeId}")` : '';
    log(`xds: node "${stream.node}" connected (${stream.kind} stream ${stream.id}, ${stream.profile} profile)${unexpected}`);
  });
  const signals = options.signals ?? process;
  await new Promise<void>((resolve) => {
    const onHup = () => void handle.reload('SIGHUP');
    const onTerm = (signal: string) => {
      log(`serve: ${signal}: draining ${handle.xds.streams.size} stream(s)`);
      signals.off('SIGHUP', onHup);
      signals.off('SIGTERM', onSigterm);
      signals.off('SIGINT', onSigint);
      void handle.close().then(resolve);
    };
    const onSigterm = () => onTerm('SIGTERM');
    const onSigint = () => onTerm('SIGINT');
    signals.on('SIGHUP', onHup);
    signals.on('SIGTERM', onSigterm);
    signals.on('SIGINT', onSigint);
    options.onStarted?.(handle);
  });
  log('serve: stopped');
}
