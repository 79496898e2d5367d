// An upstream used over http:// and https:// has a cluster per transport but one
// Consul service: serve --consul-addr must feed every cluster of the upstream
// from that service (each assignment named after its cluster), not only one.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { buildRegistrations } from '../../src/emit/consul/index.js';
import { syncRegistrations } from '../../src/consul/sync.js';
import { startEndpointSource, type ClusterLoadAssignment } from '../../src/serve/consul-endpoints.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { ConsulDouble } from '../support/consul-double.js';

const CONF = `events {}
http {
  upstream api { server 10.0.0.11:8443; server 10.0.0.12:8443; }
  upstream other { server 10.0.0.21:80; }
  server {
    listen 8080;
    location /a { proxy_pass http://api; }
    location /b { proxy_pass https://api; }
    location /c { proxy_pass https://api; proxy_ssl_server_name on; }
    location /o { proxy_pass http://other; }
  }
}
`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function compiled() {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-ct-'));
  try {
    writeFileSync(join(dir, 'nginx.conf'), CONF);
    const r = compile(join(dir, 'nginx.conf'), {});
    expect(r.ok).toBe(true);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const addresses = (cla: ClusterLoadAssignment | null | undefined): string[] =>
  (cla?.endpoints ?? []).flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address));

describe('Consul endpoints for an upstream with several clusters', () => {
  it('one service per upstream; its passing instances go to each of the upstream\'s clusters', async () => {
    const r = compiled();
    const clusterNames = toXdsResources(r.bootstrap).clusters.map((c) => c['name'] as string);
    expect(clusterNames.filter((n) => n.startsWith('api'))).toHaveLength(3);
    const regs = buildRegistrations(r.ir!);
    expect(regs.services.map((s) => s.name)).toEqual(['api', 'other']);

    const double = await ConsulDouble.start();
    cleanups.push(() => double.stop());
    await syncRegistrations(regs, { conn: { baseUrl: double.addr, token: undefined }, mode: 'agent', dryRun: false });

    const overrides = new Map<string, ClusterLoadAssignment | null>();
    const waiters: (() => void)[] = [];
    const handle = await startEndpointSource({
      consulAddr: double.addr,
      server: {
        clusterNames: () => clusterNames,
        setEndpointOverride: (name, cla) => {
          overrides.set(name, cla as unknown as ClusterLoadAssignment | null);
          waiters.splice(0).forEach((w) => w());
          return true;
        },
      },
      log: () => {},
      env: {},
      minIntervalMs: 0,
    });
    cleanups.push(() => handle.close());

    // The first round is in once start resolves: every cluster of api has the service's endpoints, under its own name.
    for (const name of clusterNames.filter((n) => n.startsWith('api'))) {
      expect(overrides.get(name)?.cluster_name).toBe(name);
      expect(addresses(overrides.get(name))).toEqual(['10.0.0.11', '10.0.0.12']);
    }
    expect(addresses(overrides.get('other'))).toEqual(['10.0.0.21']);
    const api = handle.status().services.find((s) => s.service === 'api')!;
    expect(api.clusters).toEqual(clusterNames.filter((n) => n.startsWith('api')).sort());
    expect(handle.metrics().filter((l) => l.startsWith('consul_endpoints{service="api"'))).toHaveLength(3);

    // A check going critical reaches every cluster of the upstream.
    await double.waitForHeld('/v1/health/service/api');
    double.setCheckStatus('service:ngx2envoy-api-10-0-0-11-8443', 'critical');
    const allUpdated = () => clusterNames.filter((n) => n.startsWith('api')).every((n) => addresses(overrides.get(n)).join() === '10.0.0.12');
    while (!allUpdated()) await new Promise<void>((resolve) => waiters.push(resolve));
    expect(allUpdated()).toBe(true);
  });
});
