// End to end: real nginx.conf (with an include) → compile() → `serve` →
// gRPC's own xDS client (@grpc/grpc-js-xds) → real gRPC backends on
// 127.0.0.1. Hosts and paths reach the backend nginx would pick; an edit on
// disk moves calls; a broken edit leaves routing as it was and shows on
// /metrics.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startServe, type ServeHandle, type ReloadOutcome } from '../../src/serve/index.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { call, echoService, startEchoBackend, type EchoBackend, type EchoClient } from './helpers/echo.js';
import { grpcXdsBootstrap, httpGet, metricValue, nextGrpcRouteAck } from './helpers/e2e.js';

function mainConf(ports: Record<string, number>, apiDefault: string): string {
  return `events {}
http {
    upstream alpha { server 127.0.0.1:${ports['alpha']}; }
    upstream beta  { server 127.0.0.1:${ports['beta']}; }
    upstream gamma { server 127.0.0.1:${ports['gamma']}; }

    server {
        listen 8080;
        server_name api.example.com;
        location / { proxy_pass http://${apiDefault}; }
        location /test.Echo/Special { proxy_pass http://beta; }
    }
    include conf.d/*.conf;
}
`;
}

const OTHER = `server {
    listen 8080;
    server_name other.example.com;
    location / { proxy_pass http://gamma; }
}
`;

describe('serve nginx.conf to the gRPC xDS client', () => {
  let dir: string;
  let file: string;
  let backends: EchoBackend[];
  let ports: Record<string, number>;
  let handle: ServeHandle;
  const clients: EchoClient[] = [];

  beforeAll(async () => {
    backends = await Promise.all(['alpha', 'beta', 'gamma'].map(startEchoBackend));
    ports = Object.fromEntries(backends.map((b) => [b.name, b.port]));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-serve-nginx-'));
    fs.mkdirSync(path.join(dir, 'conf.d'));
    file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, mainConf(ports, 'alpha'));
    fs.writeFileSync(path.join(dir, 'conf.d/other.conf'), OTHER);
    handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', debounceMs: 50, log: () => {} });
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = grpcXdsBootstrap(handle.xdsPort);
    grpcXds.register();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await handle?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = (target: string) => {
    const c = new (echoService())(`xds:///${target}`, grpc.credentials.createInsecure());
    clients.push(c);
    return c;
  };

  const nextReload = () => new Promise<ReloadOutcome>((resolve) => handle.once('reload', resolve));

  it('serves resources that validate against Envoy protos, in both profiles', () => {
    const snap = handle.xds.snapshot()!;
    expect(snap.sources.envoy.listeners.length).toBeGreaterThan(0);
    for (const profile of ['envoy', 'grpc'] as const) {
      expect(validateXdsResources(snap.sources[profile]).filter((f) => f.severity === 'error')).toEqual([]);
    }
  });

  it('routes each host and path to the backend nginx would pick', async () => {
    const api = client('api.example.com');
    const other = client('other.example.com:8080');
    expect((await call(api, 'Hello')).backend).toBe('alpha');
    expect((await call(api, 'Special')).backend).toBe('beta');
    expect((await call(other, 'Hello')).backend).toBe('gamma');
    expect((await call(other, 'Special')).backend).toBe('gamma');
  });

  it('follows an edit of nginx.conf on disk (rename-replace, as editors save)', async () => {
    const api = client('api.example.com');
    expect((await call(api, 'Hello')).backend).toBe('alpha');
    const acked = nextGrpcRouteAck(handle);
    const reloaded = nextReload();
    fs.writeFileSync(file + '.swp', mainConf(ports, 'gamma'));
    fs.renameSync(file + '.swp', file);
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    await acked;
    expect((await call(api, 'Hello')).backend).toBe('gamma');
    expect((await call(api, 'Special')).backend).toBe('beta');
  });

  it('follows an edit of an included file', async () => {
    const other = client('other.example.com');
    expect((await call(other, 'Hello')).backend).toBe('gamma');
    const acked = nextGrpcRouteAck(handle);
    const reloaded = nextReload();
    fs.writeFileSync(path.join(dir, 'conf.d/other.conf'), OTHER.replace('http://gamma', 'http://beta'));
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    await acked;
    expect((await call(other, 'Hello')).backend).toBe('beta');
  });

  it('keeps routing as it was on a broken edit, and says so on /metrics', async () => {
    const api = client('api.example.com');
    const before = handle.xds.snapshot()!.version;
    const routedBefore = (await call(api, 'Hello')).backend;
    const failuresBefore = metricValue((await httpGet(handle.adminPort, '/metrics')).body, 'reloads_total', { result: 'failure' });
    const reloaded = nextReload();
    fs.writeFileSync(file, mainConf(ports, 'alpha').replace('proxy_pass http://alpha;', 'proxy_pass http://alpha'));
    const outcome = await reloaded;
    expect(outcome.ok).toBe(false);
    expect(outcome.errors.join('\n')).toMatch(/nginx\.conf:\d+:\d+: error: unexpected "\}"/);
    expect(handle.xds.snapshot()!.version).toBe(before);
    expect((await call(api, 'Hello')).backend).toBe(routedBefore);

    const metrics = (await httpGet(handle.adminPort, '/metrics')).body;
    expect(metricValue(metrics, 'reloads_total', { result: 'failure' })).toBe((failuresBefore ?? 0) + 1);
    expect(metricValue(metrics, 'reload_last_success')).toBe(0);
    expect(metricValue(metrics, 'snapshot_info', { version: before })).toBe(1);
    expect(metrics).toMatch(/reload_last_error_info\{error="[^"]*unexpected \\"\}\\"/);
    const page = await httpGet(handle.adminPort, '/');
    expect(page.body).toContain('LAST RELOAD FAILED');
    expect(page.body).toContain(before);
  });
});
