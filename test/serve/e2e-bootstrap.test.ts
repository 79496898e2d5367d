// End to end with gRPC's own xDS client (@grpc/grpc-js-xds) against `serve`
// of an Envoy static bootstrap file (served as is, through the grpc profile):
// hosts and paths reach the right real backends, an edit on disk moves calls,
// a redirect route fails the call instead of falling through.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startServe, type ServeHandle } from '../../src/serve/index.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { call, echoService, startEchoBackend, type EchoBackend, type EchoClient } from './helpers/echo.js';
import { grpcXdsBootstrap, nextGrpcRouteAck } from './helpers/e2e.js';

function bootstrapYaml(ports: Record<string, number>, apiDefault: string): string {
  const cluster = (name: string) => `
  - name: ${name}
    type: STATIC
    connect_timeout: 5s
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${ports[name]} } } }`;
  return `static_resources:
  listeners:
  - name: listener_0_0_0_0_8080
    address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_8080
          route_config:
            name: route_8080
            virtual_hosts:
            - name: api
              domains: [api.example.com]
              routes:
              - match: { prefix: /test.Echo/Special }
                route: { cluster: beta }
              - match: { prefix: / }
                route: { cluster: ${apiDefault} }
            - name: other
              domains: [other.example.com]
              routes:
              - match: { prefix: /test.Echo/Special }
                redirect: { host_redirect: api.example.com }
              - match: { prefix: / }
                route: { cluster: gamma }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:${cluster('alpha')}${cluster('beta')}${cluster('gamma')}
`;
}

describe('serve an Envoy bootstrap to the gRPC xDS client', () => {
  let dir: string;
  let file: string;
  let backends: EchoBackend[];
  let ports: Record<string, number>;
  let handle: ServeHandle;
  const clients: EchoClient[] = [];

  beforeAll(async () => {
    backends = await Promise.all(['alpha', 'beta', 'gamma'].map(startEchoBackend));
    ports = Object.fromEntries(backends.map((b) => [b.name, b.port]));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-serve-e2e-'));
    file = path.join(dir, 'envoy.yaml');
    fs.writeFileSync(file, bootstrapYaml(ports, 'alpha'));
    handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', debounceMs: 50, log: () => {} });
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = grpcXdsBootstrap(handle.xdsPort);
    grpcXds.register();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await handle?.close();
    await Promise.all(backends.map((b) => b.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = (host: string) => {
    const c = new (echoService())(`xds:///${host}`, grpc.credentials.createInsecure());
    clients.push(c);
    return c;
  };

  it('serves both profiles valid against Envoy protos', () => {
    const snap = handle.xds.snapshot()!;
    for (const profile of ['envoy', 'grpc'] as const) {
      expect(validateXdsResources(snap.sources[profile]).filter((f) => f.severity === 'error')).toEqual([]);
    }
  });

  it('routes by host and path, and follows an edit of the file', async () => {
    const api = client('api.example.com');
    const other = client('other.example.com:8080');
    expect((await call(api, 'Hello')).backend).toBe('alpha');
    expect((await call(api, 'Special')).backend).toBe('beta');
    expect((await call(other, 'Hello')).backend).toBe('gamma');
    // nginx would answer the redirect itself: the gRPC call fails rather than reach another backend.
    await expect(call(other, 'Special')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });

    const acked = nextGrpcRouteAck(handle);
    const reloaded = new Promise((resolve) => handle.once('reload', resolve));
    fs.writeFileSync(file + '.tmp', bootstrapYaml(ports, 'gamma'));
    fs.renameSync(file + '.tmp', file); // as editors save
    expect(await reloaded).toMatchObject({ ok: true, changed: true });
    await acked;
    expect((await call(api, 'Hello')).backend).toBe('gamma');
    expect((await call(api, 'Special')).backend).toBe('beta');
  });
});
