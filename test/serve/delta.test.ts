// Incremental (delta) ADS against the real server with a scripted client:
// subscribe/unsubscribe, wildcard, per-resource versions, ACK/NACK by nonce,
// stale nonces, initial_resource_versions on reconnect, removed_resources
// (last) and push order.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { toXdsResources, type JsonObject, type XdsResources } from '../../src/emit/envoy/xds.js';
import { XdsServer } from '../../src/serve/xds-server.js';
import { encodeResource } from '../../src/serve/proto-json.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { ScriptedAdsClient, TYPES, waitForEvent, type DeltaResponse } from './helpers/ads-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (): XdsResources => toXdsResources(parse(fs.readFileSync(path.join(here, 'fixtures/two-backends.yaml'), 'utf8')));
const node = { id: 'edge-delta', cluster: 'edge', user_agent_name: 'envoy' };
const names = (r: DeltaResponse) => r.resources.map((x) => x.name);

describe('delta ADS', () => {
  let server: XdsServer;
  let client: ScriptedAdsClient;

  beforeEach(async () => {
    server = new XdsServer();
    server.setResources(fixture());
    const port = await server.listen('127.0.0.1:0');
    client = new ScriptedAdsClient(`127.0.0.1:${port}`);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  async function ackAndWait(stream: ReturnType<ScriptedAdsClient['delta']>, r: DeltaResponse): Promise<void> {
    const acked = waitForEvent(server, 'ack', (e: { nonce: string }) => e.nonce === r.nonce);
    stream.send({ type_url: r.type_url, response_nonce: r.nonce });
    await acked;
  }

  it('answers wildcard and named subscriptions with per-resource versions', async () => {
    expect(validateXdsResources(server.snapshot()!.sources.envoy).filter((f) => f.severity === 'error')).toEqual([]);
    const stream = client.delta();
    stream.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const cds = await stream.next();
    expect(names(cds)).toEqual(['alpha', 'beta', 'dns_backend', 'gamma']);
    const alpha = server.snapshot()!.profiles.envoy.get(TYPES.cds)!.resources.get('alpha')!;
    expect(cds.resources[0]!.version).toBe(alpha.version);
    expect(Buffer.from(cds.resources[0]!.resource.value).equals(Buffer.from(encodeResource(TYPES.cds, alpha.json)))).toBe(true);
    await ackAndWait(stream, cds);
    stream.send({ type_url: TYPES.eds, resource_names_subscribe: ['beta'] });
    const eds = await stream.next();
    expect(names(eds)).toEqual(['beta']);
    await ackAndWait(stream, eds);
    stream.send({ type_url: TYPES.eds, resource_names_subscribe: ['gamma'] });
    expect(names(await stream.next())).toEqual(['gamma']); // only what is new
  });

  it('NACK is told by nonce; the rejected versions are not resent until they change', async () => {
    const stream = client.delta();
    stream.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const first = await stream.next();
    const nacked = waitForEvent<{ detail: string; nonce: string }>(server, 'nack');
    stream.send({ type_url: TYPES.cds, response_nonce: first.nonce, error_detail: { code: 3, message: 'bad cluster' } });
    expect(await nacked).toMatchObject({ detail: 'bad cluster', nonce: first.nonce });
    // A stale nonce (the NACKed one again) is neither an ACK nor a NACK.
    stream.send({ type_url: TYPES.cds, response_nonce: first.nonce, error_detail: { code: 3, message: 'again' } });
    stream.send({ type_url: TYPES.lds, resource_names_subscribe: ['*'] });
    expect((await stream.next()).type_url).toBe(TYPES.lds);
    expect(server.counters.nacks.get('cds|delta')).toBe(1);
    expect(stream.inbox.pending()).toEqual([]);
    // Change one cluster: the whole (previously rejected) set comes again, with the new version.
    const changed = fixture();
    (changed.clusters[1] as JsonObject)['connect_timeout'] = '3s';
    server.setResources(changed);
    const again = await stream.next();
    expect(again.type_url).toBe(TYPES.cds);
    expect(names(again)).toEqual(['alpha', 'beta', 'dns_backend', 'gamma']);
    expect(again.resources[1]!.version).not.toBe(first.resources[1]!.version);
  });

  it('keeps one response in flight per type: a change waits for the ACK', async () => {
    const stream = client.delta();
    stream.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const first = await stream.next();
    const changed = fixture();
    (changed.clusters[0] as JsonObject)['connect_timeout'] = '9s';
    server.setResources(changed);
    stream.send({ type_url: TYPES.lds, resource_names_subscribe: ['*'] });
    expect((await stream.next()).type_url).toBe(TYPES.lds);
    expect(stream.inbox.pending()).toEqual([]);
    stream.send({ type_url: TYPES.cds, response_nonce: first.nonce });
    const second = await stream.next();
    expect(second.type_url).toBe(TYPES.cds);
    expect(names(second)).toEqual(['alpha']); // only the changed cluster
  });

  it('honours initial_resource_versions on reconnect: only what differs is sent', async () => {
    const stream = client.delta();
    stream.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const cds = await stream.next();
    stream.close();
    const held = Object.fromEntries(cds.resources.map((r) => [r.name, r.version]));
    held['beta'] = 'an-old-version';
    held['retired'] = 'v0';
    const again = client.delta();
    again.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'], initial_resource_versions: held });
    const update = await again.next();
    expect(names(update)).toEqual(['beta']);
    expect(update.removed_resources).toEqual([]);
    await ackAndWait(again, update);
    const removal = await again.next(); // removals come once the additions are ACKed
    expect(removal.resources).toEqual([]);
    expect(removal.removed_resources).toEqual(['retired']);
    // A NACKed removal is not sent again either (no loop).
    const nacked = waitForEvent(server, 'nack');
    again.send({ type_url: TYPES.cds, response_nonce: removal.nonce, error_detail: { code: 13, message: 'no' } });
    await nacked;
    again.send({ type_url: TYPES.lds, resource_names_subscribe: ['*'] });
    expect((await again.next()).type_url).toBe(TYPES.lds);
    expect(again.inbox.pending()).toEqual([]);
  });

  it('unsubscribe stops updates; a removed resource is announced after the updates, in push order', async () => {
    const stream = client.delta();
    const responses: DeltaResponse[] = [];
    for (const [type, sub] of [[TYPES.cds, ['*']], [TYPES.eds, ['alpha', 'beta', 'gamma']], [TYPES.lds, ['*']], [TYPES.rds, ['route_8080']]] as const) {
      stream.send({ node, type_url: type, resource_names_subscribe: [...sub] });
      const r = await stream.next();
      responses.push(r);
      await ackAndWait(stream, r);
    }
    const handled = waitForEvent(server, 'request', (e: { typeUrl: string }) => e.typeUrl === TYPES.eds);
    stream.send({ type_url: TYPES.eds, resource_names_unsubscribe: ['beta'] });
    await handled; // an unsubscribe has no response
    const changed = fixture();
    changed.clusters = changed.clusters.filter((c) => c['name'] !== 'gamma');
    changed.endpoints = changed.endpoints
      .filter((e) => e['cluster_name'] !== 'gamma')
      .map((e) => ({ ...e, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.2', port_value: 9000 } } } }] }] }));
    changed.routes = JSON.parse(JSON.stringify(changed.routes).replaceAll('"gamma"', '"alpha"'));
    (changed.listeners[0] as JsonObject)['per_connection_buffer_limit_bytes'] = 65536;
    expect(validateXdsResources(changed).filter((f) => f.severity === 'error')).toEqual([]);
    server.setResources(changed);
    const updates = [await stream.next(), await stream.next(), await stream.next()];
    expect(updates.map((u) => u.type_url)).toEqual([TYPES.eds, TYPES.lds, TYPES.rds]);
    expect(names(updates[0]!)).toEqual(['alpha']); // beta unsubscribed, gamma gone
    expect(updates.every((u) => u.removed_resources.length === 0)).toBe(true);
    for (const u of updates) await ackAndWait(stream, u);
    const removals = [await stream.next(), await stream.next()];
    expect(removals.map((r) => [r.type_url, r.removed_resources])).toEqual([
      [TYPES.cds, ['gamma']],
      [TYPES.eds, ['gamma']],
    ]);
  });

  it('streams sent the same content share its nonce; one stream never gets a nonce twice', async () => {
    const first = client.delta();
    const second = client.delta();
    first.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const a = await first.next();
    second.send({ node: { ...node, id: 'edge-delta-2' }, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    const b = await second.next();
    expect(b.nonce).toBe(a.nonce);
    expect(names(b)).toEqual(names(a));
    await ackAndWait(first, a);
    // Unsubscribed and subscribed again: the same content comes again to this stream, with a fresh nonce.
    const handled = waitForEvent(server, 'request', (e: { typeUrl: string }) => e.typeUrl === TYPES.cds);
    first.send({ type_url: TYPES.cds, response_nonce: a.nonce, resource_names_unsubscribe: ['*'] });
    await handled;
    first.send({ type_url: TYPES.cds, response_nonce: a.nonce, resource_names_subscribe: ['*'] });
    const resent = await first.next();
    expect(names(resent)).toEqual(names(a));
    expect(resent.nonce).not.toBe(a.nonce);
    // The old nonce is stale now: no ACK; the new one ACKs.
    const acks = server.counters.acks.get('cds|delta');
    first.send({ type_url: TYPES.cds, response_nonce: a.nonce });
    await ackAndWait(first, resent);
    expect(server.counters.acks.get('cds|delta')).toBe(acks! + 1);
    // The other stream's ACK of the shared nonce is its own.
    await ackAndWait(second, b);
    expect(server.counters.acks.get('cds|delta')).toBe(acks! + 2);
  });

  it('a type whose content did not change keeps its snapshot objects across a change of another type', async () => {
    const before = server.snapshot()!.profiles.envoy;
    const changed = fixture();
    changed.routes = JSON.parse(JSON.stringify(changed.routes).replaceAll('"gamma"', '"alpha"'));
    server.setResources(changed);
    const after = server.snapshot()!.profiles.envoy;
    expect(after.get(TYPES.rds)).not.toBe(before.get(TYPES.rds));
    expect(after.get(TYPES.rds)!.version).not.toBe(before.get(TYPES.rds)!.version);
    for (const type of [TYPES.cds, TYPES.eds, TYPES.lds]) expect(after.get(type), type).toBe(before.get(type));
    // The kept resources carry the new JSON (what /config_dump and the grpc profile read).
    const alpha = after.get(TYPES.cds)!.resources.get('alpha')!;
    expect(alpha.json).toBe(changed.clusters.find((c) => c['name'] === 'alpha'));
    // A stream in sync with the kept types gets only the change.
    const stream = client.delta();
    stream.send({ node, type_url: TYPES.cds, resource_names_subscribe: ['*'] });
    await ackAndWait(stream, await stream.next());
    stream.send({ type_url: TYPES.rds, resource_names_subscribe: ['route_8080'] });
    await ackAndWait(stream, await stream.next());
    server.setResources(fixture());
    const update = await stream.next();
    expect(update.type_url).toBe(TYPES.rds);
    expect(stream.inbox.pending()).toEqual([]);
  });
});
