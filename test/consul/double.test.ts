// The double's own behaviour, driven through the real npm client where it can be.
import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulDouble } from '../support/consul-double.js';

const doubles: ConsulDouble[] = [];
async function start(options: Parameters<typeof ConsulDouble.start>[0] = {}): Promise<ConsulDouble> {
  const d = await ConsulDouble.start(options);
  doubles.push(d);
  return d;
}
afterEach(async () => {
  while (doubles.length) await doubles.pop()!.stop();
});

function client(d: ConsulDouble, token?: string): Consul {
  return new Consul({ host: '127.0.0.1', port: d.port, defaults: token ? { token } : {} });
}

async function put(d: ConsulDouble, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${d.addr}${path}`, { method: 'PUT', body: JSON.stringify(body), headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The npm client returns [response, body] when its ctx (an EventEmitter) asks for the response. */
function withResponse(): EventEmitter {
  return Object.assign(new EventEmitter(), { includeResponse: true });
}

const web = { Name: 'web', ID: 'web-1', Address: '10.1.0.1', Port: 80, Check: { TCP: '10.1.0.1:80', Interval: '10s' } };

describe('consul double', () => {
  it('answers unknown paths and wrong methods as Consul does', async () => {
    const d = await start();
    const unknown = await fetch(`${d.addr}/v1/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe('Invalid URL path: not a recognized HTTP API endpoint');
    const wrong = await fetch(`${d.addr}/v1/agent/service/register`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('PUT');
    expect(await wrong.text()).toBe('method GET not allowed');
  });

  it('validates registrations with Consul plain-text 400s and decodes keys case-insensitively', async () => {
    const d = await start();
    expect(await put(d, '/v1/agent/service/register', { Port: 80 })).toMatchObject({ status: 400, text: 'Missing service name' });
    expect(await put(d, '/v1/agent/service/register', { Name: 'web', Address: '0.0.0.0' })).toMatchObject({
      status: 400,
      text: 'Invalid service address',
    });
    expect(await put(d, '/v1/agent/service/register', { Name: 'web', Weights: { Passing: 0, Warning: 1 } })).toMatchObject({
      status: 400,
      text: 'Invalid Weights: Passing must be greater than 0',
    });
    const bad = await put(d, '/v1/agent/service/register', { Name: 'web', Port: '80' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^Request decode failed: json: cannot unmarshal string into Go struct field .*Port of type int$/);
    expect((await put(d, '/v1/agent/service/register', { nAmE: 'web', id: 'w', pORT: 81, weights: { passing: 4 } })).status).toBe(200);
    const services = (await client(d).agent.service.list()) as Record<string, any>;
    expect(services.w).toMatchObject({ ID: 'w', Service: 'web', Port: 81, Weights: { Passing: 4, Warning: 0 } });
    const unknown = await put(d, '/v1/agent/service/deregister/nope', {});
    expect(unknown).toMatchObject({
      status: 404,
      text: 'Unknown service ID "nope". Ensure that the service ID is passed, not the service name.',
    });
  });

  it('raises one global index on every write and reports it on reads (never below 1)', async () => {
    const d = await start();
    const c = client(d);
    const [res1] = (await c.catalog.service.list({ ctx: withResponse() } as any)) as any;
    const i1 = Number(res1.headers['x-consul-index']);
    expect(i1).toBeGreaterThanOrEqual(1);
    expect(res1.headers['x-consul-knownleader']).toBe('true');
    expect(res1.headers['x-consul-lastcontact']).toBe('0');
    await put(d, '/v1/agent/service/register', web);
    const [res2, body] = (await c.health.service({ service: 'web', ctx: withResponse() } as any)) as any;
    expect(Number(res2.headers['x-consul-index'])).toBe(d.index);
    expect(d.index).toBeGreaterThan(i1);
    expect(body[0].Service).toMatchObject({ ID: 'web-1', CreateIndex: d.index, ModifyIndex: d.index });
    // An unknown service is an empty list with 200.
    expect(await c.health.service({ service: 'nothing', passing: true })).toEqual([]);
  });

  it('holds a blocking query until a write passes its index', async () => {
    const d = await start();
    await put(d, '/v1/agent/service/register', web);
    const index = d.index;
    let answered = false;
    const held = fetch(`${d.addr}/v1/health/service/web?index=${index}&wait=5m`).then(async (r) => {
      answered = true;
      return { index: Number(r.headers.get('x-consul-index')), body: (await r.json()) as any[] };
    });
    // A full round-trip of another request later, the blocking one is still held.
    await fetch(`${d.addr}/v1/catalog/services`);
    expect(answered).toBe(false);
    d.setCheckStatus('service:web-1', 'passing');
    const result = await held;
    expect(result.index).toBeGreaterThan(index);
    expect(result.body[0].Checks.find((c: any) => c.CheckID === 'service:web-1').Status).toBe('passing');
  });

  it('answers a blocking query with the same index when wait ends', async () => {
    const d = await start();
    await put(d, '/v1/agent/service/register', web);
    const res = await fetch(`${d.addr}/v1/health/service/web?index=${d.index}&wait=50ms`);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('x-consul-index'))).toBe(d.index);
    expect((await fetch(`${d.addr}/v1/catalog/services?wait=soon`)).status).toBe(400);
    expect(await (await fetch(`${d.addr}/v1/catalog/services?wait=soon`)).text()).toBe('Invalid wait time');
    expect(await (await fetch(`${d.addr}/v1/catalog/services?index=x`)).text()).toBe('Invalid index');
  });

  it('lets a test force the index backwards, releasing held queries with the lower index', async () => {
    const d = await start();
    await put(d, '/v1/agent/service/register', web);
    await put(d, '/v1/agent/service/register', { ...web, Port: 81 });
    const before = d.index;
    const held = fetch(`${d.addr}/v1/health/service/web?index=${before}`);
    await fetch(`${d.addr}/v1/catalog/services`);
    d.forceIndexBackwards(2);
    const res = await held;
    expect(Number(res.headers.get('x-consul-index'))).toBe(2);
    expect(d.index).toBe(2);
    // An index of 0 is never reported: X-Consul-Index is clamped to 1.
    d.forceIndexBackwards(0);
    expect((await fetch(`${d.addr}/v1/health/service/web`)).headers.get('x-consul-index')).toBe('1');
  });

  it('filters passing instances by every check, the node serfHealth included', async () => {
    const d = await start();
    await put(d, '/v1/agent/service/register', { ...web, Check: { ...web.Check, Status: 'passing' } });
    await put(d, '/v1/agent/service/register', { ...web, ID: 'web-2', Check: undefined });
    const c = client(d);
    const ids = async () => ((await c.health.service({ service: 'web', passing: true })) as any[]).map((e) => e.Service.ID);
    expect(await ids()).toEqual(['web-1', 'web-2']); // no checks at all: passing
    d.setCheckStatus('service:web-1', 'warning');
    expect(await ids()).toEqual(['web-2']);
    d.setCheckStatus('service:web-1', 'passing');
    d.setNodeHealth('critical');
    expect(await ids()).toEqual([]);
    expect(((await c.health.service({ service: 'web' })) as any[]).length).toBe(2);
  });

  it('starts agent checks critical unless the definition sets a status', async () => {
    const d = await start();
    await put(d, '/v1/agent/service/register', web);
    const checks = (await client(d).agent.check.list()) as Record<string, any>;
    expect(checks['service:web-1']).toMatchObject({ Status: 'critical', ServiceID: 'web-1', ServiceName: 'web', Type: 'tcp' });
  });

  it('enforces ACLs: refuses writes, filters reads', async () => {
    const d = await start({ aclToken: 'root' });
    expect(await put(d, '/v1/agent/service/register', web)).toMatchObject({
      status: 403,
      text: `Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:write' on "web"`,
    });
    expect(await put(d, '/v1/agent/service/register', web, { 'X-Consul-Token': 'wrong' })).toMatchObject({
      status: 403,
      text: 'ACL not found',
    });
    expect((await put(d, '/v1/agent/service/register', web, { 'X-Consul-Token': 'root' })).status).toBe(200);
    // The npm client keeps the short body as the message.
    await expect(client(d, 'wrong').agent.service.list()).rejects.toThrow('ACL not found');
    const anonymous = await fetch(`${d.addr}/v1/catalog/services`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({});
    expect(anonymous.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    expect(Object.keys((await client(d, 'root').catalog.service.list()) as object)).toEqual(['consul', 'web']);
    // The long refusal becomes `forbidden` in the client; the text stays in err.response.body.
    const err = await client(d).agent.service.deregister('web-1').catch((e) => e);
    expect(err.message).toBe('forbidden');
    expect(String(err.response.body)).toContain(`lacks permission 'service:write' on "web"`);
  });

  it('registers and deregisters through the catalog API for external nodes', async () => {
    const d = await start();
    const c = client(d);
    await put(d, '/v1/catalog/register', {
      Node: 'ext-1',
      Address: '10.2.0.1',
      NodeMeta: { 'external-node': 'true' },
      Service: { ID: 'db-1', Service: 'db', Port: 5432, Weights: { Passing: 2, Warning: 1 } },
      Checks: [{ CheckID: 'service:db-1', Name: 'db', ServiceID: 'db-1', Status: 'passing', Definition: { TCP: '10.2.0.1:5432', IntervalDuration: '5s' } }],
    });
    const nodes = (await c.catalog.service.nodes('db')) as any[];
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ Node: 'ext-1', Address: '10.2.0.1', ServiceID: 'db-1', ServiceWeights: { Passing: 2, Warning: 1 } });
    expect(((await c.health.service({ service: 'db', passing: true })) as any[])[0].Checks.map((x: any) => x.CheckID)).toEqual([
      'service:db-1',
    ]);
    expect(await put(d, '/v1/catalog/register', { Node: 'x' })).toMatchObject({
      status: 400,
      text: 'Must provide address if SkipNodeUpdate is not set',
    });
    await c.catalog.deregister({ node: 'ext-1', serviceid: 'db-1' });
    expect(await c.catalog.service.nodes('db')).toEqual([]);
  });
});
