// `ngx2envoy serve`: compile the configuration, serve it over ADS, keep
// serving the last good snapshot while the files change.
//
//   startServe(file, options) → ServeHandle   (programmatic; tests, bench, Consul)
//   runServe(file, options)                  (the CLI: signals, logs, runs until SIGTERM)
//
// Reload: the config file and every file it includes are watched
// (src/serve/watcher.ts); a reload starts once they have been quiet for
// `debounceMs` (default 30 ms), longer when a changed file is empty or gone
// (being rewritten). An event that changed no byte of the inputs reloads
// nothing; a load during which the files changed again is discarded (it may
// have read a half-written file) and the reload runs again once they are
// quiet. SIGHUP reloads at once. A reload that fails (parse, lowering, validation)
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
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { parseHostPort, type JsonObject } from '../emit/envoy/xds.js';
import { XdsServer, type TlsOptions } from './xds-server.js';
import { startAdmin, type AdminServer, type ReloadStatus } from './admin.js';
import { loadSource, type LoadResult, type LoadTimings, type SourceOptions } from './source.js';
import { ConfigWatcher, hashInputs, type ChangedFiles } from './watcher.js';
import { CompileReuse } from '../compile.js';
import { WalkCache } from '../validate/index.js';

export { XdsServer } from './xds-server.js';
export type { TlsOptions } from './xds-server.js';
export { loadSource } from './source.js';

export const DEFAULT_XDS_ADDRESS = '127.0.0.1:18000';
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:19100';
/** Quiet window after the last file event before a reload, ms. */
export const DEFAULT_DEBOUNCE_MS = 30;
/** Extra wait when a changed file is empty or missing (a rewrite in progress), ms. */
const PARTIAL_WRITE_GRACE_MS = 250;

export interface ServeOptions extends SourceOptions {
  xdsAddress?: string;
  adminAddress?: string;
  tls?: TlsOptions;
  /** Consul HTTP address for the endpoint source (passed through to consul-endpoints.ts). */
  consulAddr?: string;
  /** Watch the files (default true). */
  watch?: boolean;
  /** Quiet window after the last file event before reloading, ms (default 30). */
  debounceMs?: number;
  /** Extra wait when a changed file is empty or missing at the end of the window, ms (default 250). */
  partialWriteGraceMs?: number;
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
  /** The watcher's event changed no byte of the inputs: nothing was loaded. */
  inputsUnchanged?: boolean;
  /** Where a successful reload's time went, ms (compile, xDS split, validation, snapshot encoding). */
  timings?: LoadTimings & { encodeMs: number };
}

export interface ServeHandle extends EventEmitter {
  file: string;
  xds: XdsServer;
  xdsPort: number;
  adminPort: number;
  /**
   * Reload now (what SIGHUP and the watcher do). Emits 'reload-start' (reason), then 'reload' with the outcome
   * ('reload' alone when the watcher's event changed no input). The watcher emits 'reload-deferred' when it
   * holds a reload back because a changed file is empty or missing.
   */
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
  // Servers (and their virtual hosts) are reused between reloads where their text (and all around them) is unchanged.
  const sourceOptions: SourceOptions = { context: options.context, prefix: options.prefix, reuse: new CompileReuse(), validation: new WalkCache() };
  const initial = await loadSource(file, sourceOptions);
  if (!initial.ok) throw new ServeLoadError(initial.errors);
  const absolute = (list: string[]) => [...new Set(list.map((f) => path.resolve(f)))].sort();
  // The inputs of the served snapshot (absolute paths and a content hash), when
  // known: a watcher event that changed none of their bytes reloads nothing.
  let inputs: { files: string[]; hash: string } | null = { files: absolute(initial.files), hash: hashInputs(absolute(initial.files)) };
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
    const timings = result.timings ? { ...result.timings, encodeMs: xds.lastEncodeMs } : undefined;
    return { ok: true, changed, version: xds.snapshot()?.version ?? null, errors: [], ...(timings ? { timings } : {}) };
  };

  /** One load; null when the files changed while it read them (its result is discarded). */
  const reloadOnce = async (reason: string, changed: ChangedFiles | undefined): Promise<ReloadOutcome | null> => {
    const generation = watcher?.generation ?? 0;
    const read = absolute(files);
    const hash = hashInputs(read);
    const known = inputs;
    if (changed && known && known.hash === hash && [...changed].every((f) => known.files.includes(f))) {
      const outcome: ReloadOutcome = { ok: true, changed: false, version: xds.snapshot()?.version ?? null, errors: [], inputsUnchanged: true };
      handle.emit('reload', outcome);
      return outcome;
    }
    handle.emit('reload-start', reason);
    const result = await loadSource(file, sourceOptions);
    // The load ran without yielding: let the events of writes made meanwhile arrive before judging it.
    if (watcher) await new Promise((resolve) => setImmediate(resolve));
    if (watcher && watcher.generation !== generation) {
      // Written to while read: this may be a half-written file; load again once quiet.
      inputs = null;
      files = [...new Set([...files, ...result.files])];
      watcher.arm(files);
      return null;
    }
    const outcome = apply(result, reason);
    const sameFiles = absolute(result.files).join('\n') === read.join('\n');
    inputs = outcome.ok && sameFiles ? { files: read, hash } : null;
    watcher?.arm(files);
    handle.emit('reload', outcome);
    return outcome;
  };

  // One reload at a time; a request during a reload runs once more after it.
  const reload = (reason = 'requested', changed?: ChangedFiles): Promise<ReloadOutcome> => {
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      let outcome = await reloadOnce(reason, changed);
      while (outcome === null || again) {
        if (outcome === null) await watcher?.quiet();
        again = false;
        outcome = await reloadOnce(reason, undefined);
      }
      reloading = null;
      return outcome;
    })();
    return reloading;
  };

  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const watcher =
    options.watch === false
      ? null
      : new ConfigWatcher({
          quietMs: debounceMs,
          graceMs: options.partialWriteGraceMs ?? Math.max(PARTIAL_WRITE_GRACE_MS, debounceMs),
          onChange: (changed) => void reload('file changed', changed),
          onDefer: () => handle.emit('reload-deferred'),
          log,
        });
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
