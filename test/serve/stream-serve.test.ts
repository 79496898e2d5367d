// serve carries stream {}: the TCP/UDP listeners (no RDS) over LDS and their
// clusters over CDS + EDS, encoded as real protobuf and decoded back to the same
// routing (the evaluator answers the same on the served resources).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile.js';
import { toXdsResources, type JsonObject, type XdsResources } from '../../src/emit/envoy/xds.js';
import { XdsServer } from '../../src/serve/xds-server.js';
import { decodeResource } from '../../src/serve/proto-json.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { evaluateConnection } from '../../src/sim/envoy/index.js';
import { ScriptedAdsClient, TYPES } from './helpers/ads-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = { id: 'edge-1', cluster: 'edge', user_agent_name: 'envoy' };

/** A decoded resource with its nested Any values (typed_config) decoded too, as JSON with `@type`. */
function deepDecode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepDecode);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if (typeof o['type_url'] === 'string' && typeof o['value'] === 'string' && Object.keys(o).length === 2) {
    return { '@type': o['type_url'], ...(deepDecode(decodeResource(o['type_url'], Buffer.from(o['value'], 'base64'))) as object) };
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, deepDecode(v)]));
}

function resourcesOf(fixture: string): XdsResources {
  const r = compile(path.join(here, '../../fixtures', fixture, 'nginx.conf'), {});
  expect(r.ok).toBe(true);
  return toXdsResources(r.bootstrap);
}

describe('serve: stream listeners and clusters', () => {
  let server: XdsServer;
  let client: ScriptedAdsClient;
  let resources: XdsResources;

  beforeEach(async () => {
    resources = resourcesOf('53-stream-sni');
    const udp = resourcesOf('54-stream-udp');
    resources = { ...resources, listeners: [...resources.listeners, ...udp.listeners], clusters: [...resources.clusters, ...udp.clusters], endpoints: [...resources.endpoints, ...udp.endpoints] };
    expect(validateXdsResources(resources).filter((f) => f.severity === 'error')).toEqual([]);
    server = new XdsServer();
    server.setResources(resources);
    const port = await server.listen('127.0.0.1:0');
    client = new ScriptedAdsClient(`127.0.0.1:${port}`);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('serves them over CDS, EDS and LDS, and the decoded listeners route as the compiled ones', async () => {
    const stream = client.sotw();
    const fetch = async (type_url: string, resource_names: string[] = []): Promise<JsonObject[]> => {
      stream.send({ node, type_url, resource_names });
      const r = await stream.next();
      stream.send({ node, type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names });
      return r.resources.map((a) => deepDecode(decodeResource(a.type_url, a.value)) as JsonObject);
    };
    const cds = await fetch(TYPES.cds);
    expect(cds.map((c) => c['name']).sort()).toEqual(resources.clusters.map((c) => c['name']).sort());
    expect(cds.map((c) => c['name'])).toEqual(expect.arrayContaining(['stream_web', 'stream_git', 'stream_dns/udp', 'stream_10.0.1.10_514/udp']));
    expect(cds.find((c) => c['name'] === 'stream_web')!['type']).toBe('EDS');
    const eds = await fetch(TYPES.eds, ['stream_web', 'stream_git']);
    expect(eds.map((e) => e['cluster_name']).sort()).toEqual(['stream_git', 'stream_web']);
    const lds = await fetch(TYPES.lds);
    expect(lds.map((l) => l['name']).sort()).toEqual(resources.listeners.map((l) => l['name']).sort());
    const served = { listeners: lds, routes: [], clusters: cds, endpoints: eds, secrets: [] } as unknown as XdsResources;
    for (const sni of ['git.example.com', 'a.example.com', 'x.apps.example.org', 'blocked.example.com', 'nobody.test', undefined]) {
      const ask = (cfg: unknown) => evaluateConnection(cfg as never, { port: 443, ...(sni ? { sni } : { tls: true }) });
      const want = ask(resources);
      expect(want.kind === 'cluster' || want.kind === 'closed').toBe(true);
      expect({ kind: ask(served).kind, cluster: ask(served).cluster }).toEqual({ kind: want.kind, cluster: want.cluster });
    }
    expect(evaluateConnection(served as never, { port: 53, protocol: 'udp' }).cluster).toBe('stream_dns/udp');
  });
});
