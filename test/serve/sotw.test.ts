// State-of-the-world ADS against the real server, with a scripted client on
// Envoy's ads.proto: ACK, NACK without resend, stale nonces, reconnect,
// removal (implicit, last) and the CDS → EDS → LDS → RDS order.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { toXdsResources, type JsonObject, type XdsResources } from '../../src/emit/envoy/xds.js';
import { XdsServer } from '../../src/serve/xds-server.js';
import { encodeResource, decodeResource } from '../../src/serve/proto-json.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { ScriptedAdsClient, TYPES, waitForEvent, type SotwResponse } from './helpers/ads-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (): XdsResources => toXdsResources(parse(fs.readFileSync(path.join(here, 'fixtures/two-backends.yaml'), 'utf8')));
const node = { id: 'edge-1', cluster: 'edge', user_agent_name: 'envoy' };

function names(r: SotwResponse): string[] {
  return r.resources.map((a) => String(decodeResource(a.type_url, a.value)['name'] ?? decodeResource(a.type_url, a.value)['cluster_name']));
}

describe('state-of-the-world ADS', () => {
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

  it('serves real binary resources that match the validated JSON, and counts ACKs', async () => {
    const resources = server.snapshot()!.sources.envoy;
    expect(validateXdsResources(resources).filter((f) => f.severity === 'error')).toEqual([]);
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.cds, resource_names: [] });
    const cds = await stream.next();
    expect(cds.type_url).toBe(TYPES.cds);
    expect(names(cds).sort()).toEqual(['alpha', 'beta', 'dns_backend', 'gamma']);
    for (const any of cds.resources) {
      const json = resources.clusters.find((c) => c['name'] === decodeResource(any.type_url, any.value)['name'])!;
      expect(Buffer.from(any.value).equals(Buffer.from(encodeResource(TYPES.cds, json)))).toBe(true);
    }
    expect(decodeResource(TYPES.cds, cds.resources.find((a) => decodeResource(a.type_url, a.value)['name'] === 'alpha')!.value)['type']).toBe('EDS');
    const acked = waitForEvent(server, 'ack');
    stream.send({ node, type_url: TYPES.cds, version_info: cds.version_info, response_nonce: cds.nonce, resource_names: [] });
    expect(await acked).toMatchObject({ typeUrl: TYPES.cds, nonce: cds.nonce, version: cds.version_info });
    expect(server.counters.acks.get('cds|sotw')).toBe(1);

    stream.send({ node, type_url: TYPES.eds, resource_names: ['alpha', 'gamma'] });
    const eds = await stream.next();
    expect(names(eds)).toEqual(['alpha', 'gamma']);
    stream.send({ node, type_url: TYPES.lds, resource_names: [] });
    const lds = await stream.next();
    const listener = decodeResource(TYPES.lds, lds.resources[0]!.value) as { name: string };
    expect(listener.name).toBe('listener_0_0_0_0_8080');
    stream.send({ node, type_url: TYPES.rds, resource_names: ['route_8080'] });
    const rds = await stream.next();
    expect(names(rds)).toEqual(['route_8080']);
  });

  it('does not resend a NACKed version until the snapshot changes', async () => {
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.cds, resource_names: [] });
    const first = await stream.next();
    const nacked = waitForEvent<{ detail: string }>(server, 'nack');
    stream.send({ node, type_url: TYPES.cds, version_info: '', response_nonce: first.nonce, resource_names: [], error_detail: { code: 3, message: 'cluster alpha: bad' } });
    expect((await nacked).detail).toBe('cluster alpha: bad');
    expect(server.counters.nacks.get('cds|sotw')).toBe(1);
    expect(server.counters.lastNack.get('cds')).toMatchObject({ node: 'edge-1', detail: 'cluster alpha: bad' });
    // Another request on the stream (LDS) is answered; no CDS comes before it.
    stream.send({ node, type_url: TYPES.lds, resource_names: [] });
    expect((await stream.next()).type_url).toBe(TYPES.lds);
    expect(stream.inbox.pending()).toEqual([]);
    // A snapshot change brings a new CDS version.
    const changed = fixture();
    (changed.clusters[0] as JsonObject)['connect_timeout'] = '2s';
    server.setResources(changed);
    const next = await stream.next();
    expect(next.type_url).toBe(TYPES.cds);
    expect(next.version_info).not.toBe(first.version_info);
  });

  it('keeps one response in flight per type: a change waits for the ACK', async () => {
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.cds, resource_names: [] });
    const first = await stream.next();
    const changed = fixture();
    (changed.clusters[0] as JsonObject)['connect_timeout'] = '9s';
    server.setResources(changed);
    stream.send({ node, type_url: TYPES.lds, resource_names: [] });
    expect((await stream.next()).type_url).toBe(TYPES.lds); // no second CDS before it
    expect(stream.inbox.pending()).toEqual([]);
    stream.send({ node, type_url: TYPES.cds, version_info: first.version_info, response_nonce: first.nonce, resource_names: [] });
    const second = await stream.next();
    expect(second.type_url).toBe(TYPES.cds);
    expect(second.version_info).not.toBe(first.version_info);
  });

  it('ignores a request whose nonce is stale', async () => {
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.cds, resource_names: [] });
    const first = await stream.next();
    stream.send({ node, type_url: TYPES.cds, version_info: first.version_info, response_nonce: first.nonce, resource_names: [] });
    await waitForEvent(server, 'ack', (e: { nonce: string }) => e.nonce === first.nonce);
    const changed = fixture();
    changed.clusters = changed.clusters.filter((c) => c['name'] !== 'dns_backend');
    server.setResources(changed);
    const second = await stream.next();
    // A NACK carrying the old nonce is stale: not counted, nothing resent.
    stream.send({ node, type_url: TYPES.cds, version_info: first.version_info, response_nonce: first.nonce, resource_names: [], error_detail: { code: 3, message: 'late' } });
    const acked = waitForEvent<{ nonce: string }>(server, 'ack');
    stream.send({ node, type_url: TYPES.cds, version_info: second.version_info, response_nonce: second.nonce, resource_names: [] });
    expect((await acked).nonce).toBe(second.nonce);
    expect(server.counters.nacks.get('cds|sotw') ?? 0).toBe(0);
  });

  it('pushes a change in the order CDS, EDS, LDS, RDS and removes a cluster last', async () => {
    const stream = client.sotw();
    const sub: Record<string, string[]> = { [TYPES.cds]: [], [TYPES.eds]: ['alpha', 'beta', 'gamma'], [TYPES.lds]: [], [TYPES.rds]: ['route_8080'] };
    const ack = (r: SotwResponse) => stream.send({ node, type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: sub[r.type_url] });
    for (const type of [TYPES.rds, TYPES.lds, TYPES.eds, TYPES.cds]) {
      stream.send({ node, type_url: type, resource_names: sub[type] });
      const r = await stream.next();
      const acked = waitForEvent(server, 'ack', (e: { nonce: string }) => e.nonce === r.nonce);
      ack(r);
      await acked;
    }
    // New content everywhere: gamma goes away, delta takes its routes.
    const changed = fixture();
    changed.clusters = changed.clusters.filter((c) => c['name'] !== 'gamma');
    changed.clusters.push({ ...changed.clusters[0]!, name: 'delta' });
    changed.endpoints = changed.endpoints.filter((e) => e['cluster_name'] !== 'gamma');
    changed.endpoints.push({ ...changed.endpoints[0]!, cluster_name: 'delta' });
    (changed.endpoints[0] as JsonObject)['endpoints'] = [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9100 } } } }] }];
    (changed.listeners[0] as JsonObject)['per_connection_buffer_limit_bytes'] = 65536;
    changed.routes = JSON.parse(JSON.stringify(changed.routes).replaceAll('"gamma"', '"delta"'));
    expect(validateXdsResources(changed).filter((f) => f.severity === 'error')).toEqual([]);
    server.setResources(changed);

    // Every type has one response in flight, sent in push order.
    const pushed = [await stream.next(), await stream.next(), await stream.next(), await stream.next()];
    expect(pushed.map((r) => r.type_url)).toEqual([TYPES.cds, TYPES.eds, TYPES.lds, TYPES.rds]);
    const [cds1, eds, , rds] = pushed as [SotwResponse, SotwResponse, SotwResponse, SotwResponse];
    expect(names(cds1).sort()).toEqual(['alpha', 'beta', 'delta', 'dns_backend', 'gamma']); // gamma kept for now
    expect(names(eds)).toEqual(['alpha', 'beta']);
    expect(JSON.stringify(decodeResource(TYPES.rds, rds.resources[0]!.value))).toContain('"delta"');
    for (const r of pushed) ack(r);
    // The cluster goes once everything that referred to it is replaced (and ACKed).
    const cds2 = await stream.next();
    expect(cds2.type_url).toBe(TYPES.cds);
    expect(names(cds2).sort()).toEqual(['alpha', 'beta', 'delta', 'dns_backend']);
    ack(cds2);
    await waitForEvent(server, 'ack', (e: { nonce: string }) => e.nonce === cds2.nonce);
  });

  it('does not resend what a reconnecting client already holds', async () => {
    const first = client.sotw();
    first.send({ node, type_url: TYPES.cds, resource_names: [] });
    const cds = await first.next();
    first.close();
    const again = client.sotw();
    again.send({ node, type_url: TYPES.cds, version_info: cds.version_info, resource_names: [] });
    again.send({ node, type_url: TYPES.lds, resource_names: [] });
    expect((await again.next()).type_url).toBe(TYPES.lds);
    const stale = client.sotw();
    stale.send({ node, type_url: TYPES.cds, version_info: 'something-old', resource_names: [] });
    expect((await stale.next()).version_info).toBe(cds.version_info);
  });
});
