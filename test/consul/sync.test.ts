// register / deregister against the double (or a real agent when CONSUL_HTTP_ADDR
// is set), read back with the real npm client.
import Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRegistrations } from '../../src/emit/consul/index.js';
import type { ConsulConnection } from '../../src/consul/connection.js';
import { ConsulRequestError } from '../../src/consul/errors.js';
import { formatPlan, planSummary } from '../../src/consul/plan.js';
import { removeRegistrations, syncRegistrations } from '../../src/consul/sync.js';
import { consulTarget, type ConsulTarget } from '../support/consul-target.js';
import { fixtureBackends, fixtureIr } from './fixture-ir.js';

const targets: ConsulTarget[] = [];
async function target(options: Parameters<typeof consulTarget>[0] = {}) {
  const t = await consulTarget(options);
  targets.push(t);
  return t;
}
afterEach(async () => {
  while (targets.length) await targets.pop()!.close();
});

// A config id unique to the run, so a real agent's other services are never touched.
const configId = `test/consul/fixtures/nginx.conf#${process.pid}-${Date.now()}`;
const regs = (backends = fixtureBackends()) => buildRegistrations(fixtureIr(backends), { configId });
const conn = (t: ConsulTarget): ConsulConnection => ({ baseUrl: t.addr, token: t.token });

function client(t: ConsulTarget): Consul {
  const url = new URL(t.addr);
  return new Consul({ host: url.hostname, port: Number(url.port), defaults: t.token ? { token: t.token } : {} });
}

async function catalogIndex(t: ConsulTarget): Promise<number> {
  const res = await fetch(`${t.addr}/v1/catalog/services`, { headers: t.token ? { 'X-Consul-Token': t.token } : {} });
  return Number(res.headers.get('x-consul-index'));
}

describe.each(['agent', 'catalog'] as const)('consul %s mode', (mode) => {
  it('registers the instances; the catalog lists them; a second run changes nothing', async () => {
    const t = await target();
    const first = await syncRegistrations(regs(), { conn: conn(t), mode, dryRun: false });
    expect(planSummary(first.plan)).toEqual({ register: 5, update: 0, deregister: 0, unchanged: 0, foreign: 0 });
    try {
      const c = client(t);
      const services = (await c.catalog.service.list()) as Record<string, string[]>;
      expect(services['api-v1']).toEqual(['backup', 'ngx2envoy']);
      expect(services['legacy-pool']).toEqual(['ngx2envoy']);
      const nodes = (await c.catalog.service.nodes('api-v1')) as any[];
      expect(nodes.map((n) => [n.ServiceID, n.ServiceAddress, n.ServicePort, n.ServiceWeights]).sort()).toEqual([
        ['ngx2envoy-api-v1-10-0-0-11-8080', '10.0.0.11', 8080, { Passing: 3, Warning: 1 }],
        ['ngx2envoy-api-v1-10-0-0-12-8080', '10.0.0.12', 8080, { Passing: 1, Warning: 1 }],
        ['ngx2envoy-api-v1-10-0-0-13-8080', '10.0.0.13', 8080, { Passing: 1, Warning: 1 }],
      ]);
      expect(nodes[0].ServiceMeta).toMatchObject({ managed_by: 'ngx2envoy', nginx_upstream: 'api_v1', ngx2envoy_config: configId });
      if (mode === 'catalog') {
        expect(nodes.map((n) => n.Node).sort()).toEqual(['ngx2envoy-10-0-0-11', 'ngx2envoy-10-0-0-12', 'ngx2envoy-10-0-0-13']);
      }
      // Checks start passing, as nginx considers a server up until it fails.
      const healthy = (await c.health.service({ service: 'api-v1', passing: true })) as any[];
      expect(healthy).toHaveLength(3);

      const index = await catalogIndex(t);
      const writes = t.double?.writes.length;
      const second = await syncRegistrations(regs(), { conn: conn(t), mode, dryRun: false });
      expect(planSummary(second.plan)).toEqual({ register: 0, update: 0, deregister: 0, unchanged: 5, foreign: 0 });
      expect(await catalogIndex(t)).toBe(index);
      if (t.double) expect(t.double.writes.length).toBe(writes);
    } finally {
      await removeRegistrations(configId, { conn: conn(t), mode, dryRun: false });
    }
  });

  it('deregisters the instances of an upstream removed from nginx.conf, and updates changed ones', async () => {
    const t = await target();
    await syncRegistrations(regs(), { conn: conn(t), mode, dryRun: false });
    try {
      const backends = fixtureBackends().filter((b) => b.name !== 'api_v1');
      backends[1] = { ...backends[1]!, servers: [{ ...backends[1]!.servers[0]!, weight: 7 }] };
      expect(backends[1].name).toBe('legacy.pool');
      const result = await syncRegistrations(regs(backends), { conn: conn(t), mode, dryRun: false });
      expect(result.plan.changes.map((c) => [c.action, c.id])).toEqual([
        ['unchanged', 'ngx2envoy-127-0-0-1-9000-127-0-0-1-9000'],
        ['deregister', 'ngx2envoy-api-v1-10-0-0-11-8080'],
        ['deregister', 'ngx2envoy-api-v1-10-0-0-12-8080'],
        ['deregister', 'ngx2envoy-api-v1-10-0-0-13-8080'],
        ['update', 'ngx2envoy-legacy-pool-10-0-1-5-80'],
      ]);
      if (mode === 'catalog') {
        expect(result.plan.nodeRemovals).toEqual(['ngx2envoy-10-0-0-11', 'ngx2envoy-10-0-0-12', 'ngx2envoy-10-0-0-13']);
      }
      const c = client(t);
      expect(await c.catalog.service.nodes('api-v1')).toEqual([]);
      expect(((await c.catalog.service.nodes('legacy-pool')) as any[])[0].ServiceWeights).toEqual({ Passing: 7, Warning: 1 });
      if (mode === 'catalog') {
        const nodes = ((await c.catalog.node.list()) as any[]).map((n) => n.Node);
        expect(nodes.filter((n: string) => n.startsWith('ngx2envoy-10-0-0-'))).toEqual([]);
      }
    } finally {
      await removeRegistrations(configId, { conn: conn(t), mode, dryRun: false });
    }
  });

  it('leaves instances of other configs and unmanaged services alone', async () => {
    const t = await target();
    const other = buildRegistrations(fixtureIr(fixtureBackends().slice(0, 1)), { configId: configId + '-other' });
    await syncRegistrations(other, { conn: conn(t), mode, dryRun: false });
    try {
      const mine = await syncRegistrations(regs(), { conn: conn(t), mode, dryRun: false });
      // The same backend server in both configs: the first registration keeps it.
      expect(mine.plan.changes.filter((c) => c.action === 'foreign').map((c) => [c.id, c.reason])).toEqual([
        ['ngx2envoy-127-0-0-1-9000-127-0-0-1-9000', `registered by config ${configId}-other`],
      ]);
      const removed = await removeRegistrations(configId, { conn: conn(t), mode, dryRun: false });
      expect(planSummary(removed.plan).deregister).toBe(4);
      const left = (await client(t).catalog.service.nodes('127-0-0-1-9000')) as any[];
      expect(left.map((e) => e.ServiceMeta.ngx2envoy_config)).toEqual([configId + '-other']);
    } finally {
      await removeRegistrations(configId + '-other', { conn: conn(t), mode, dryRun: false });
    }
  });

  it('prints the plan on a dry run and sends nothing', async () => {
    const t = await target();
    const index = await catalogIndex(t);
    const result = await syncRegistrations(regs(), { conn: conn(t), mode, dryRun: true });
    expect(result.applied).toBe(false);
    const lines = formatPlan(result.plan);
    expect(lines[0]).toMatch(/^register +127-0-0-1-9000 ngx2envoy-127-0-0-1-9000-127-0-0-1-9000 .*127\.0\.0\.1:9000 weight=1$/);
    expect(lines).toHaveLength(mode === 'catalog' ? 5 : 5);
    expect(await catalogIndex(t)).toBe(index);
    expect(await client(t).catalog.service.nodes('api-v1')).toEqual([]);
  });
});

describe('consul ACLs', () => {
  it('a refusal is a ConsulRequestError with Consul\'s own message', async () => {
    const t = await target({ aclToken: 'secret-token' });
    if (!t.double) return; // a real agent's ACL setup is not ours to assume
    const err = await syncRegistrations(regs(), { conn: { baseUrl: t.addr, token: undefined }, mode: 'agent', dryRun: false }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ConsulRequestError);
    expect(err.message).toBe(
      `PUT /v1/agent/service/register refused (403): Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:write' on "127-0-0-1-9000"`,
    );
    const wrong = await syncRegistrations(regs(), { conn: { baseUrl: t.addr, token: 'nope' }, mode: 'agent', dryRun: false }).catch(
      (e) => e,
    );
    expect(wrong.message).toBe('GET /v1/agent/services refused (403): ACL not found');
    const ok = await syncRegistrations(regs(), { conn: { baseUrl: t.addr, token: 'secret-token' }, mode: 'agent', dryRun: false });
    expect(planSummary(ok.plan).register).toBe(5);
  });

  it('an unreachable Consul is a one-line error', async () => {
    const t = await target();
    if (!t.double) return;
    await t.double.stop();
    const err = await syncRegistrations(regs(), { conn: conn(t), mode: 'agent', dryRun: false }).catch((e) => e);
    expect(err).toBeInstanceOf(ConsulRequestError);
    expect(err.message).toMatch(/^GET \/v1\/agent\/services: .*ECONNREFUSED/);
    expect(err.message).not.toContain('\n');
  });
});
