// The admin endpoint, signals (SIGHUP reload, SIGTERM drain), endpoint
// overrides, and the `serve` command's handling of a bad initial config.
import { describe, it, expect, afterEach } from 'vitest';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProgram } from '../../src/cli/main.js';
import { CliExit } from '../../src/cli/exit.js';
import { runServe, startServe, type ServeHandle } from '../../src/serve/index.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { ScriptedAdsClient, TYPES, waitForEvent } from './helpers/ads-client.js';
import { httpGet, metricValue } from './helpers/e2e.js';

const conf = (port: number) => `events {}
http {
    upstream app { server 127.0.0.1:${port}; }
    server { listen 8080; server_name admin.example.com; location / { proxy_pass http://app; } }
}
`;

function tempConf(text: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-admin-'));
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, text);
  return { dir, file };
}

describe('admin endpoint and signals', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('answers /healthz, /ready, /config_dump and counts streams, pushes, ACKs and NACKs', async () => {
    const { dir, file } = tempConf(conf(9000));
    const handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', watch: false, log: () => {} });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => handle.close());
    expect(await httpGet(handle.adminPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await httpGet(handle.adminPort, '/ready')).status).toBe(200);
    const dump = JSON.parse((await httpGet(handle.adminPort, '/config_dump')).body);
    expect(dump.version).toBe(handle.xds.snapshot()!.version);
    expect(validateXdsResources(dump.resources).filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
    expect(dump.resources.clusters.map((c: { name: string }) => c.name)).toContain('app');

    const client = new ScriptedAdsClient(`127.0.0.1:${handle.xdsPort}`);
    cleanup.push(() => client.close());
    const stream = client.sotw();
    stream.send({ node: { id: 'metrics-node' }, type_url: TYPES.cds, resource_names: [] });
    const first = await stream.next();
    const nacked = waitForEvent(handle.xds, 'nack');
    stream.send({ type_url: TYPES.cds, response_nonce: first.nonce, error_detail: { code: 3, message: 'Proto constraint "x"\nsecond line' } });
    await nacked;
    const metrics = (await httpGet(handle.adminPort, '/metrics')).body;
    expect(metricValue(metrics, 'xds_streams', { type: 'cds', kind: 'sotw' })).toBe(1);
    expect(metricValue(metrics, 'xds_pushes_total', { type: 'cds', kind: 'sotw' })).toBe(1);
    expect(metricValue(metrics, 'xds_nacks_total', { type: 'cds', kind: 'sotw' })).toBe(1);
    expect(metricValue(metrics, 'xds_acks_total', { type: 'cds', kind: 'sotw' })).toBe(0);
    expect(metrics).toContain('xds_last_nack_info{type="cds",node="metrics-node",version="' + first.version_info + '",detail="Proto constraint \\"x\\" / second line"} 1');
    expect(metricValue(metrics, 'snapshot_info', { version: handle.xds.snapshot()!.version })).toBe(1);
    expect(metricValue(metrics, 'reloads_total', { result: 'success' })).toBe(0);
  });

  it('reloads on SIGHUP and drains on SIGTERM', async () => {
    const { dir, file } = tempConf(conf(9000));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const signals = new EventEmitter();
    let handle: ServeHandle | null = null;
    const started = new Promise<ServeHandle>((resolve) => {
      const run = runServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', watch: false, log: () => {}, signals, onStarted: resolve });
      cleanup.push(() => run);
    });
    handle = await started;
    const client = new ScriptedAdsClient(`127.0.0.1:${handle.xdsPort}`);
    cleanup.push(() => client.close());
    const stream = client.delta();
    stream.send({ node: { id: 'hup' }, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    await stream.next();

    // A comment and blank lines change no resource: same version, nothing pushed.
    const version = handle.xds.snapshot()!.version;
    const pushes = handle.xds.counters.pushes.get('cds|delta');
    fs.writeFileSync(file, '# reviewed\n\n' + conf(9000));
    const same = new Promise((resolve) => handle!.once('reload', resolve));
    signals.emit('SIGHUP');
    expect(await same).toMatchObject({ ok: true, changed: false, version });
    expect(handle.xds.counters.pushes.get('cds|delta')).toBe(pushes);

    fs.writeFileSync(file, conf(9001));
    const reloaded = new Promise((resolve) => handle!.once('reload', resolve));
    signals.emit('SIGHUP');
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    expect(handle.xds.snapshot()!.version).not.toBe(version);

    const ended = stream.waitStatus();
    signals.emit('SIGTERM');
    expect((await ended).code).toBe(0); // the stream was ended by the server, status OK
    await expect(httpGet(handle.adminPort, '/healthz')).rejects.toThrow();
  });

  it('watches included files: a broken include fails the reload, fixing it reloads', async () => {
    const { dir, file } = tempConf('events {}\nhttp {\n    include conf.d/*.conf;\n}\n');
    fs.mkdirSync(path.join(dir, 'conf.d'));
    const site = path.join(dir, 'conf.d/site.conf');
    const server = (port: number) => `upstream app { server 127.0.0.1:${port}; }\nserver { listen 8080; location / { proxy_pass http://app; } }\n`;
    fs.writeFileSync(site, server(9000));
    const handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', debounceMs: 50, log: () => {} });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => handle.close());
    const version = handle.xds.snapshot()!.version;
    const failed = new Promise<{ ok: boolean; errors: string[] }>((resolve) => handle.once('reload', resolve));
    fs.writeFileSync(site, server(9001).replace('proxy_pass http://app;', 'proxy_pass http://app'));
    const outcome = await failed;
    expect(outcome.ok).toBe(false);
    expect(outcome.errors.join('\n')).toMatch(/site\.conf:2:\d+: error: /);
    expect(handle.xds.snapshot()!.version).toBe(version);
    const fixed = new Promise((resolve) => handle.once('reload', resolve));
    fs.writeFileSync(site, server(9001));
    expect(await fixed).toMatchObject({ ok: true, changed: true });
    expect(handle.reloadStatus()).toMatchObject({ successes: 1, failures: 1, lastResult: 'success' });
  });

  it('feeds EDS from an endpoint override without recompiling, and back', async () => {
    const { dir, file } = tempConf(conf(9000));
    const handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', watch: false, log: () => {} });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => handle.close());
    const client = new ScriptedAdsClient(`127.0.0.1:${handle.xdsPort}`);
    cleanup.push(() => client.close());
    const stream = client.delta();
    stream.send({ node: { id: 'eds' }, type_url: TYPES.eds, resource_names_subscribe: ['app'] });
    const compiled = await stream.next();
    stream.send({ type_url: TYPES.eds, response_nonce: compiled.nonce });
    await waitForEvent(handle.xds, 'ack');
    const cdsVersion = handle.xds.snapshot()!.profiles.envoy.get(TYPES.cds)!.version;
    const cla = { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.7', port_value: 8443 } } } }] }] };
    expect(handle.setEndpointOverride('app', cla)).toBe(true);
    const overridden = await stream.next();
    expect(overridden.resources[0]!.version).not.toBe(compiled.resources[0]!.version);
    expect(handle.xds.snapshot()!.profiles.envoy.get(TYPES.cds)!.version).toBe(cdsVersion);
    expect(validateXdsResources(handle.xds.snapshot()!.sources.envoy).filter((f) => f.severity === 'error')).toEqual([]);
    stream.send({ type_url: TYPES.eds, response_nonce: overridden.nonce });
    await waitForEvent(handle.xds, 'ack');
    handle.setEndpointOverride('app', null);
    expect((await stream.next()).resources[0]!.version).toBe(compiled.resources[0]!.version);
  });
});

describe('ngx2envoy serve (command)', () => {
  it('exits 1 with file:line:col diagnostics (no stack) when the initial config is bad', async () => {
    const { dir, file } = tempConf('events {}\nhttp {\n    server { listen 8080 }\n}\n');
    try {
      const program = buildProgram();
      const run = program.parseAsync(['node', 'ngx2envoy', 'serve', file, '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0']);
      const err = await run.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CliExit);
      expect((err as CliExit).code).toBe(1);
      expect((err as CliExit).message).toMatch(/nginx\.conf:3:\d+: error: /);
      expect((err as CliExit).message).not.toMatch(/\n\s+at /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('convert FILE --serve is the same command (a bad config: exit 1 with diagnostics)', async () => {
    const { dir, file } = tempConf('events {}\nhttp {\n    server { listen 8080 }\n}\n');
    try {
      const err = await buildProgram()
        .parseAsync(['node', 'ngx2envoy', 'convert', file, '--serve', '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0'])
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CliExit);
      expect((err as CliExit).code).toBe(1);
      expect((err as CliExit).message).toMatch(/^ngx2envoy serve: .*the configuration cannot be served:\n.*nginx\.conf:3:\d+: error: /s);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects --client-ca without a certificate (usage, exit 2)', async () => {
    const program = buildProgram();
    const err = await program.parseAsync(['node', 'ngx2envoy', 'serve', 'x.conf', '--client-ca', 'ca.pem']).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliExit);
    expect((err as CliExit).code).toBe(2);
  });
});
