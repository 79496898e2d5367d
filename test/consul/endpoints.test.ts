// serve's Consul endpoint source: ClusterLoadAssignments from /v1/health/service
// with blocking queries, against the double, then through the real xDS server to
// a scripted ADS client.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRegistrations } from '../../src/emit/consul/index.js';
import { syncRegistrations } from '../../src/consul/sync.js';
import {
  clusterLoadAssignment,
  ConsulEndpointSource,
  consulMetrics,
  nextIndex,
  readIndex,
  type ClusterLoadAssignment,
  type HealthEntry,
} from '../../src/serve/consul-endpoints.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateMessage } from '../../src/validate/index.js';
import { XdsServer } from '../../src/serve/xds-server.js';
import { decodeResource } from '../../src/serve/proto-json.js';
import { ScriptedAdsClient, TYPES } from '../serve/helpers/ads-client.js';
import { ConsulDouble } from '../support/consul-double.js';
import { fixtureIr } from './fixture-ir.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** onChange events, awaitable one at a time (bounded wait, not a timing assertion). */
class Changes {
  private items: { cluster: string; cla: ClusterLoadAssignment | null }[] = [];
  private waiters: ((e: { cluster: string; cla: ClusterLoadAssignment | null }) => void)[] = [];
  push = (cluster: string, cla: ClusterLoadAssignment | null) => {
    const w = this.waiters.shift();
    if (w) w({ cluster, cla });
    else this.items.push({ cluster, cla });
  };
  next(timeoutMs = 15_000): Promise<{ cluster: string; cla: ClusterLoadAssignment | null }> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no endpoint change')), timeoutMs);
      this.waiters.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }
  pendingFor(cluster: string) {
    return this.items.filter((e) => e.cluster === cluster).length;
  }
}

function addresses(cla: ClusterLoadAssignment | null): string[] {
  return (cla?.endpoints ?? []).flatMap((l) =>
    l.lb_endpoints.map((e) => `p${l.priority} ${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value} w${e.load_balancing_weight}`),
  );
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function registeredDouble(): Promise<{ double: ConsulDouble; regs: ReturnType<typeof buildRegistrations> }> {
  const double = await ConsulDouble.start();
  cleanups.push(() => double.stop());
  const regs = buildRegistrations(fixtureIr());
  await syncRegistrations(regs, { conn: { baseUrl: double.addr, token: undefined }, mode: 'agent', dryRun: false });
  return { double, regs };
}

function startSource(double: ConsulDouble, regs: ReturnType<typeof buildRegistrations>, changes: Changes) {
  const source = new ConsulEndpointSource({
    conn: { baseUrl: double.addr, token: undefined },
    clusters: regs.services.map((s) => ({ cluster: s.upstream, service: s.name })),
    onChange: changes.push,
    wait: '5m',
    minIntervalMs: 0,
    backoffMs: 20,
    backoffMaxMs: 100,
  });
  cleanups.push(() => source.stop());
  return source;
}

async function nextFor(changes: Changes, cluster: string) {
  for (;;) {
    const e = await changes.next();
    if (e.cluster === cluster) return e.cla;
  }
}

describe('ClusterLoadAssignment from Consul health entries', () => {
  const entry = (id: string, address: string, port: number, extra: Partial<HealthEntry['Service']> = {}): HealthEntry => ({
    Node: { Node: 'n1', Address: '192.168.0.1', Datacenter: 'dc1' },
    Service: { ID: id, Address: address, Port: port, Tags: [], Meta: {}, Weights: { Passing: 1, Warning: 1 }, ...extra },
  });

  it('puts backups at priority 1, keeps weights, sorts, and falls back to the node address', () => {
    const { cla, skipped } = clusterLoadAssignment('api_v1', [
      entry('b', '10.0.0.12', 8080),
      entry('a', '10.0.0.11', 8080, { Weights: { Passing: 3, Warning: 1 } }),
      entry('c', '10.0.0.13', 8080, { Tags: ['ngx2envoy', 'backup'] }),
      entry('d', '', 9000),
      entry('e', 'backend.internal', 80),
    ]);
    expect(cla).toEqual({
      cluster_name: 'api_v1',
      endpoints: [
        {
          locality: { region: 'consul', zone: 'dc1', sub_zone: 'primary' },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.11', port_value: 8080 } } }, load_balancing_weight: 3, health_status: 'HEALTHY' },
            { endpoint: { address: { socket_address: { address: '10.0.0.12', port_value: 8080 } } }, load_balancing_weight: 1, health_status: 'HEALTHY' },
            { endpoint: { address: { socket_address: { address: '192.168.0.1', port_value: 9000 } } }, load_balancing_weight: 1, health_status: 'HEALTHY' },
          ],
          load_balancing_weight: 1,
          priority: 0,
        },
        {
          locality: { region: 'consul', zone: 'dc1', sub_zone: 'backup' },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.13', port_value: 8080 } } }, load_balancing_weight: 1, health_status: 'HEALTHY' },
          ],
          load_balancing_weight: 1,
          priority: 1,
        },
      ],
    });
    expect(skipped).toEqual(['e: address "backend.internal" is not an IP address']);
    // The project's validator walks it against Envoy's own protos and validate.rules.
    expect(validateMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', cla)).toEqual([]);
    expect(validateMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', clusterLoadAssignment('x', []).cla)).toEqual([]);
  });

  it('reads and advances the index by Consul\'s rules', () => {
    expect(readIndex(undefined)).toBe(1);
    expect(readIndex('0')).toBe(1);
    expect(readIndex('42')).toBe(42);
    expect(nextIndex(10, 12)).toEqual({ index: 12, reset: false });
    expect(nextIndex(10, 10)).toEqual({ index: 10, reset: false });
    expect(nextIndex(10, 3)).toEqual({ index: 0, reset: true });
  });
});

describe('ConsulEndpointSource against the double', () => {
  it('takes the passing instances, and drops one whose check goes critical within one blocking round', async () => {
    const { double, regs } = await registeredDouble();
    const changes = new Changes();
    const source = startSource(double, regs, changes);
    await source.start();
    // start() resolves with the first round in: every registered service has its endpoints.
    expect(source.status().services.map((x) => [x.service, x.registered, x.endpoints])).toEqual([
      ['127-0-0-1-9000', true, 1],
      ['api-v1', true, 3],
      ['legacy-pool', true, 1],
    ]);
    expect(addresses(await nextFor(changes, 'api_v1'))).toEqual(['p0 10.0.0.11:8080 w3', 'p0 10.0.0.12:8080 w1', 'p1 10.0.0.13:8080 w1']);
    await double.waitForHeld('/v1/health/service/api-v1');
    const healthReads = double.reads.filter((p) => p === '/v1/health/service/api-v1').length;
    double.setCheckStatus('service:ngx2envoy-api-v1-10-0-0-12-8080', 'critical');
    expect(addresses(await nextFor(changes, 'api_v1'))).toEqual(['p0 10.0.0.11:8080 w3', 'p1 10.0.0.13:8080 w1']);
    // The change came as the answer to the query already held: no further request was needed.
    expect(double.reads.filter((p) => p === '/v1/health/service/api-v1').length).toBe(healthReads);
    const status = source.status();
    expect(status.up).toBe(true);
    expect(status.services.find((s) => s.service === 'api-v1')).toMatchObject({ registered: true, endpoints: 2, index: double.index });
  });

  it('resets its index when Consul\'s goes backwards and keeps following changes', async () => {
    const { double, regs } = await registeredDouble();
    const changes = new Changes();
    const source = startSource(double, regs, changes);
    await source.start();
    await nextFor(changes, 'api_v1');
    await double.waitForHeld('/v1/health/service/api-v1');
    double.forceIndexBackwards(3);
    // The released answer carries a lower index: the source resets to 0, reads afresh, then blocks again.
    await double.waitForHeld('/v1/health/service/api-v1');
    const api = () => source.status().services.find((s) => s.service === 'api-v1')!;
    expect(api().resets).toBe(1);
    expect(api().index).toBeGreaterThanOrEqual(1);
    expect(api().index).toBeLessThanOrEqual(3);
    expect(changes.pendingFor('api_v1')).toBe(0); // same data: nothing re-sent
    double.setCheckStatus('service:ngx2envoy-api-v1-10-0-0-11-8080', 'critical');
    expect(addresses(await nextFor(changes, 'api_v1'))).toEqual(['p0 10.0.0.12:8080 w1', 'p1 10.0.0.13:8080 w1']);
  });

  it('keeps the last endpoints while Consul is away, says so, and recovers', async () => {
    const { double, regs } = await registeredDouble();
    const changes = new Changes();
    const source = startSource(double, regs, changes);
    await source.start();
    await nextFor(changes, 'api_v1');
    await double.waitForHeld('/v1/health/service/api-v1');
    await double.stop();
    while (source.status().up) await new Promise((r) => setTimeout(r, 10));
    const status = source.status();
    expect(status.lastError).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET|aborted/);
    expect(changes.pendingFor('api_v1')).toBe(0); // no null override: Envoy keeps the endpoints it has
    const metrics = consulMetrics(status).join('\n');
    expect(metrics).toContain('consul_up 0');
    expect(metrics).toMatch(/consul_last_error\{error=".+"\} 1/);
    expect(metrics).toMatch(/consul_index\{service="api-v1",cluster="api_v1"\} \d+/);

    await double.listen();
    double.setCheckStatus('service:ngx2envoy-api-v1-10-0-0-13-8080', 'critical');
    expect(addresses(await nextFor(changes, 'api_v1'))).toEqual(['p0 10.0.0.11:8080 w3', 'p0 10.0.0.12:8080 w1']);
    expect(source.status().up).toBe(true);
  });

  it('gives a cluster back its compiled endpoints when its service leaves the catalog', async () => {
    const { double, regs } = await registeredDouble();
    const changes = new Changes();
    const source = startSource(double, regs, changes);
    await source.start();
    await nextFor(changes, 'api_v1');
    await syncRegistrations(buildRegistrations(fixtureIr(fixtureIr().backends.filter((b) => b.name !== 'api_v1'))), {
      conn: { baseUrl: double.addr, token: undefined },
      mode: 'agent',
      dryRun: false,
    });
    let cla: ClusterLoadAssignment | null | undefined;
    do cla = await nextFor(changes, 'api_v1');
    while (cla !== null);
    expect(source.status().services.find((s) => s.service === 'api-v1')!.registered).toBe(false);
  });
});

describe('Consul endpoints through the xDS server', () => {
  it('an ADS client sees a critical instance leave the EDS of its cluster', async () => {
    const { double, regs } = await registeredDouble();
    const server = new XdsServer();
    server.setResources(toXdsResources(parse(fs.readFileSync(path.join(here, 'fixtures/bootstrap.yaml'), 'utf8'))));
    const port = await server.listen('127.0.0.1:0');
    cleanups.push(() => server.close());
    const client = new ScriptedAdsClient(`127.0.0.1:${port}`);
    cleanups.push(() => client.close());

    const changes = new Changes();
    const source = new ConsulEndpointSource({
      conn: { baseUrl: double.addr, token: undefined },
      clusters: regs.services.map((s) => ({ cluster: s.upstream, service: s.name })),
      onChange: (cluster, cla) => {
        server.setEndpointOverride(cluster, cla as never);
        changes.push(cluster, cla);
      },
      minIntervalMs: 0,
    });
    cleanups.push(() => source.stop());
    await source.start();
    await nextFor(changes, 'api_v1');

    const node = { id: 'edge-1', cluster: 'edge', user_agent_name: 'envoy' };
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.eds, resource_names: ['api_v1'] });
    const first = await stream.next();
    const endpointsOf = (r: { resources: { type_url: string; value: Buffer }[] }) =>
      r.resources.flatMap((a) =>
        ((decodeResource(a.type_url, a.value)['endpoints'] as any[]) ?? []).flatMap((l: any) =>
          (l.lb_endpoints ?? []).map((e: any) => `${l.priority ?? 0}:${e.endpoint.address.socket_address.address}`),
        ),
      );
    expect(endpointsOf(first)).toEqual(['0:10.0.0.11', '0:10.0.0.12', '1:10.0.0.13']);
    stream.send({ node, type_url: TYPES.eds, resource_names: ['api_v1'], version_info: first.version_info, response_nonce: first.nonce });

    await double.waitForHeld('/v1/health/service/api-v1');
    double.setCheckStatus('service:ngx2envoy-api-v1-10-0-0-11-8080', 'critical');
    const second = await stream.next();
    expect(endpointsOf(second)).toEqual(['0:10.0.0.12', '1:10.0.0.13']);
  });
});
