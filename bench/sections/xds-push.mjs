// xDS push: `serve` (dist/serve) in a child process with a 1,000-route
// nginx.conf; 100 delta ADS clients in this process, each on its own HTTP/2
// connection, subscribed like an Envoy (CDS *, EDS by cluster, LDS *, RDS by
// name) and ACKing every response. Then the file is rewritten (one location
// moves to another upstream: an RDS change) and the child measures:
//   write → last ACK     wall time from the write to the 100th RDS ACK (includes
//                        the watcher's quiet window), split into debounce,
//                        reload (parse + compile + validate + encode, each stage's
//                        median from the reload's outcome) and push→last ACK;
//   CPU per push         the server's process.cpuUsage() from the new snapshot to
//                        the last ACK, divided by 100 (and the reload's own CPU);
//   memory per stream    heap and rss growth of the server from 0 to 100 synced streams, / 100.
// Also reported, to tell where the time goes: the server's GC pauses (node:perf_hooks
// 'gc' entries) during the reload and during the push, and the clients' own CPU
// (this process) per run; neither changes what is measured.
// Goal: all ACKed within 250 ms of the write.
// BENCH_XDS_PROFILE=DIR: the child writes a CPU profile of each write → last ACK
// window to DIR (node:inspector, started at 'arm', stopped at the last ACK).
//
// This file is also the server child (`node xds-push.mjs --child FILE`).
import { fork } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { existsSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { fmtMs, median } from '../lib.mjs';

export const name = 'xds';

const CLIENTS = 100;
const ENVOY_HTTP2_WINDOW = 268435456;
const SERVERS = 10;
const LOCATIONS_PER_SERVER = 100; // 1,000 routes
const UPSTREAMS = 20;
const self = fileURLToPath(import.meta.url);
const now = () => performance.timeOrigin + performance.now(); // epoch ms, comparable across processes

/** The 1,000-route config; `moved` picks the upstream of one location (the edit). */
export function xdsBenchConfig(moved) {
  const lines = ['events {}', 'http {'];
  for (let u = 0; u < UPSTREAMS; u++) lines.push(`    upstream up${u} { server 127.0.0.${1 + u}:${8000 + u}; server 127.0.0.${1 + u}:${9000 + u}; }`);
  for (let s = 0; s < SERVERS; s++) {
    lines.push('    server {', '        listen 8080;', `        server_name s${s}.bench.example.com;`);
    for (let l = 0; l < LOCATIONS_PER_SERVER; l++) {
      const upstream = s === 0 && l === 0 ? moved : (s * LOCATIONS_PER_SERVER + l) % UPSTREAMS;
      lines.push(`        location /svc${l}/api/v${l % 3}/ { proxy_pass http://up${upstream}; }`);
    }
    lines.push('    }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- child (the server)

const profileDir = process.env.BENCH_XDS_PROFILE;
let profiler = null;
let profiles = 0;

async function startProfile() {
  if (!profileDir) return;
  const { Session } = await import('node:inspector/promises');
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  // BENCH_XDS_PROFILE_US: the sampling interval in µs (V8's default is 1,000).
  if (process.env.BENCH_XDS_PROFILE_US) await profiler.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_XDS_PROFILE_US) });
  await profiler.post('Profiler.start');
}

async function stopProfile() {
  if (!profiler) return;
  const session = profiler;
  profiler = null;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  mkdirSync(profileDir, { recursive: true });
  profiles += 1;
  writeFileSync(join(profileDir, `xds-push-${process.pid}-${profiles}.cpuprofile`), JSON.stringify(profile));
}

async function runChild(root, file) {
  const serve = await import(pathToFileURL(join(root, 'dist/serve/index.js')).href);
  const rds = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
  globalThis.gc?.();
  const base = process.memoryUsage();
  const handle = await serve.startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', log: () => {} });
  let run = null;
  // GC pauses of this process (start in epoch ms, duration): summed per window of the run.
  const gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ at: performance.timeOrigin + e.startTime, ms: e.duration });
  }).observe({ entryTypes: ['gc'] });
  const gcMs = (from, to) => gcs.filter((g) => g.at >= from && g.at < to).reduce((sum, g) => sum + g.ms, 0);
  handle.xds.on('ack', (e) => {
    if (!run || e.typeUrl !== rds || !run.nonces.has(e.nonce)) return;
    run.acked += 1;
    if (run.acked === CLIENTS) {
      const cpu = process.cpuUsage(run.cpuAtSnapshot);
      const lastAckAt = now();
      const r = run;
      // The observer hears of a pause a little after it: collect once it has.
      setTimeout(() => process.send({ kind: 'gc', reloadGcMs: gcMs(r.reloadStartedAt, r.snapshotAt), pushGcMs: gcMs(r.snapshotAt, lastAckAt) }), 20);
      process.send({
        kind: 'done',
        reloadStartedAt: run.reloadStartedAt,
        snapshotAt: run.snapshotAt,
        lastAckAt,
        reloadCpuMs: (run.reloadCpu.user + run.reloadCpu.system) / 1000,
        timings: run.timings ?? null,
        pushCpuMs: (cpu.user + cpu.system) / 1000,
      });
      run = null;
      void stopProfile();
    }
  });
  handle.xds.on('response', (e) => {
    if (run && e.typeUrl === rds) run.nonces.add(e.nonce);
  });
  // The watcher's reload begins after the debounce: note when, and the CPU then.
  handle.on('reload-start', () => {
    if (!run || run.reloadStartedAt) return;
    run.reloadStartedAt = now();
    run.cpuAtReload = process.cpuUsage();
  });
  // The reload's own breakdown (compile, xDS split, validation, encoding), from its outcome.
  handle.on('reload', (outcome) => {
    if (run && outcome.timings) run.timings = outcome.timings;
  });
  handle.xds.on('snapshot', () => {
    if (!run) return;
    run.snapshotAt = now();
    run.cpuAtSnapshot = process.cpuUsage();
    run.reloadCpu = process.cpuUsage(run.cpuAtReload);
  });
  process.on('message', async (m) => {
    if (m.kind === 'arm') {
      gcs.length = 0;
      await startProfile();
      run = { nonces: new Set(), acked: 0, reloadStartedAt: 0, snapshotAt: 0 };
      process.send({ kind: 'armed' });
    } else if (m.kind === 'memory') {
      globalThis.gc?.();
      const mem = process.memoryUsage();
      process.send({ kind: 'memory', heap: mem.heapUsed - base.heapUsed, rss: mem.rss - base.rss, streams: handle.xds.streams.size });
    } else if (m.kind === 'stop') {
      await handle.close();
      process.exit(0);
    }
  });
  globalThis.gc?.();
  const mem = process.memoryUsage();
  process.send({ kind: 'ready', port: handle.xdsPort, heap: mem.heapUsed - base.heapUsed, rss: mem.rss - base.rss });
}

// ---------------------------------------------------------------- clients (this process)

async function deltaClients(root, port) {
  const require = createRequire(join(root, 'package.json'));
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const { protoIncludeDirs } = await import(pathToFileURL(join(root, 'dist/serve/proto-registry.js')).href);
  const { decodeResource } = await import(pathToFileURL(join(root, 'dist/serve/proto-json.js')).href);
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: protoIncludeDirs(),
  });
  const Ads = grpc.loadPackageDefinition(def).envoy.service.discovery.v3.AggregatedDiscoveryService;
  const T = {
    cds: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    eds: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    lds: 'type.googleapis.com/envoy.config.listener.v3.Listener',
    rds: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  };
  const clients = [];
  let synced = 0;
  let onSynced = null;
  for (let i = 0; i < CLIENTS; i++) {
    // A channel of its own (local subchannel pool): one HTTP/2 connection per client, as 100 Envoys.
    // Envoy's HTTP/2 client opens its stream and connection windows to 256 MiB
    // (Http2ProtocolOptions initial_stream_window_size / initial_connection_window_size
    // defaults); grpc-js's 64 KiB default would make each 141 KB RouteConfiguration
    // wait for WINDOW_UPDATE round trips no Envoy needs.
    const client = new Ads(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc-node.flow_control_window': ENVOY_HTTP2_WINDOW,
    });
    const call = client.DeltaAggregatedResources();
    const state = { client, call, synced: false, seen: new Set() };
    call.on('data', (r) => {
      call.write({ type_url: r.type_url, response_nonce: r.nonce });
      // Subscribe like Envoy: EDS for the clusters, RDS for the route configurations named.
      if (r.type_url === T.cds) call.write({ type_url: T.eds, resource_names_subscribe: r.resources.map((x) => x.name) });
      if (r.type_url === T.lds) call.write({ type_url: T.rds, resource_names_subscribe: r.resources.flatMap((x) => routeNames(decodeResource, x)) });
      state.seen.add(r.type_url);
      if (!state.synced && state.seen.size === 4) {
        state.synced = true;
        synced += 1;
        if (synced === CLIENTS) onSynced?.();
      }
    });
    call.on('error', () => {});
    call.write({ node: { id: `bench-${i}`, cluster: 'bench', user_agent_name: 'envoy' }, type_url: T.cds, resource_names_subscribe: ['*'] });
    call.write({ type_url: T.lds, resource_names_subscribe: ['*'] });
    clients.push(state);
  }
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${synced}/${CLIENTS} clients synced in 120 s`)), 120_000);
    onSynced = () => {
      clearTimeout(timer);
      resolve();
    };
    if (synced === CLIENTS) onSynced();
  });
  return {
    close: () => {
      for (const c of clients) {
        c.call.cancel();
        c.client.close();
      }
    },
  };
}

/** Route configuration names of an encoded Listener: its HCMs' rds.route_config_name. */
function routeNames(decode, resource) {
  const listener = decode(resource.resource.type_url, resource.resource.value);
  const names = [];
  for (const chain of [...(listener.filter_chains ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])]) {
    for (const filter of chain.filters ?? []) {
      const any = filter.typed_config;
      if (!any?.type_url?.endsWith('.HttpConnectionManager')) continue;
      const hcm = decode(any.type_url, Buffer.from(any.value, 'base64'));
      if (hcm.rds?.route_config_name && !names.includes(hcm.rds.route_config_name)) names.push(hcm.rds.route_config_name);
    }
  }
  return names;
}

function message(child, kind, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${kind}" from the server child`)), timeoutMs);
    const on = (m) => {
      if (m.kind !== kind) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

export async function run(ctx) {
  const command = `serve: ${CLIENTS} delta clients, ${SERVERS * LOCATIONS_PER_SERVER} routes`;
  if (!existsSync(join(ctx.root, 'dist/serve/index.js')) || !existsSync(join(ctx.root, 'dist/compile.js'))) {
    return { rows: [{ command, figure: 'status', value: 'xds: not available yet (dist/serve or dist/compile missing)' }] };
  }
  const dir = join(ctx.root, 'bench/out/xds');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, xdsBenchConfig(1));
  const child = fork(self, ['--child', ctx.root, file], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let clients = null;
  try {
    const ready = await message(child, 'ready');
    clients = await deltaClients(ctx.root, ready.port);
    child.send({ kind: 'memory' });
    const mem = await message(child, 'memory');
    const runs = [];
    for (let i = 0; i < Math.max(3, ctx.runs); i++) {
      child.send({ kind: 'arm' });
      await message(child, 'armed');
      const done = message(child, 'done');
      const gc = message(child, 'gc');
      const clientCpuBefore = process.cpuUsage();
      const writtenAt = now();
      writeFileSync(file + '.new', xdsBenchConfig(i % 2 === 0 ? 2 : 1));
      renameSync(file + '.new', file);
      const result = await done;
      const clientCpu = process.cpuUsage(clientCpuBefore);
      runs.push({ writtenAt, ...result, clientCpuMs: (clientCpu.user + clientCpu.system) / 1000, ...(await gc) });
      if (process.env.BENCH_XDS_RUNS) { const r = runs[runs.length - 1]; console.error(`run ${i}: total ${(r.lastAckAt - r.writtenAt).toFixed(1)} debounce ${(r.reloadStartedAt - r.writtenAt).toFixed(1)} reload ${(r.snapshotAt - r.reloadStartedAt).toFixed(1)} push ${(r.lastAckAt - r.snapshotAt).toFixed(1)} ${JSON.stringify(r.timings)}`); }
    }
    const total = runs.map((r) => r.lastAckAt - r.writtenAt);
    const push = runs.map((r) => r.lastAckAt - r.snapshotAt);
    const reload = runs.map((r) => r.snapshotAt - (r.reloadStartedAt || r.writtenAt));
    const debounce = runs.map((r) => (r.reloadStartedAt ? r.reloadStartedAt - r.writtenAt : NaN));
    // The goal is every client's ACK within 250 ms of the write: each run, not only the median.
    const over = total.filter((t) => t > 250).length;
    const goal = over === 0 ? 'met in every run' : `missed in ${over} of ${total.length} runs`;
    const stage = (key) => fmtMs(median(runs.map((r) => r.timings?.[key] ?? NaN)));
    const stages = runs.every((r) => r.timings)
      ? ` (compile ${stage('compileMs')}, xDS split ${stage('splitMs')}, validate ${stage('validateMs')}, encode ${stage('encodeMs')})`
      : '';
    // How many of the servers each reload lowered again (the rest were reused unchanged).
    const relowered = runs.every((r) => r.timings?.serversLowered !== undefined)
      ? `; servers lowered again per reload: ${[...new Set(runs.map((r) => `${r.timings.serversLowered} of ${r.timings.serversLowered + r.timings.serversReused}`))].join(', ')}`
      : '';
    // And how many virtual hosts were emitted again (the rest were used as the previous reload left them).
    const reemitted = runs.every((r) => r.timings?.vhostsEmitted !== undefined)
      ? `, virtual hosts emitted again: ${[...new Set(runs.map((r) => `${r.timings.vhostsEmitted} of ${r.timings.vhostsEmitted + r.timings.vhostsReused}`))].join(', ')}`
      : '';
    ctx.results.xds = { totalMs: median(total) };
    return {
      rows: [
        { command, figure: `write → last ACK (median of ${runs.length}; max)`, value: `${fmtMs(median(total))} (max ${fmtMs(Math.max(...total))}); goal ≤ 250 ms ${goal}` },
        { command: '', figure: '  of which debounce (watcher)', value: Number.isNaN(median(debounce)) ? 'n/a' : fmtMs(median(debounce)) },
        { command: '', figure: '  of which reload (compile+validate+encode)', value: fmtMs(median(reload)) + stages + relowered + reemitted },
        { command: '', figure: '  of which push → last ACK (100 streams)', value: fmtMs(median(push)) },
        { command: '', figure: 'server CPU per push', value: `${(median(runs.map((r) => r.pushCpuMs)) / CLIENTS).toFixed(3)} ms (reload itself: ${fmtMs(median(runs.map((r) => r.reloadCpuMs)))} CPU)` },
        { command: '', figure: '  server GC pauses (reload; push)', value: `${fmtMs(median(runs.map((r) => r.reloadGcMs)))}; ${fmtMs(median(runs.map((r) => r.pushGcMs)))}` },
        { command: '', figure: '  clients\' CPU per run (100 clients)', value: fmtMs(median(runs.map((r) => r.clientCpuMs))) },
        { command: '', figure: 'server memory per stream', value: `heap ${((mem.heap - ready.heap) / CLIENTS / 1024).toFixed(1)} KiB, rss ${((mem.rss - ready.rss) / CLIENTS / 1024).toFixed(1)} KiB (${mem.streams} streams)` },
      ],
    };
  } finally {
    clients?.close();
    child.send({ kind: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

if (process.argv[1] === self && process.argv[2] === '--child') {
  await runChild(process.argv[3], process.argv[4]);
}
