// Encoding by parts (ReusingEncoder) and responses from per-resource records
// (wire.ts) give exactly the bytes of encoding each message whole; a changed
// part is encoded again, never taken from the cache; parts no longer used are
// forgotten.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile.js';
import { toXdsResources, type JsonObject, type XdsResources } from '../../src/emit/envoy/xds.js';
import { decodeResource, encodeResource, ProtoJsonError, ReusingEncoder } from '../../src/serve/proto-json.js';
import { buildSnapshot, ResourceEncoder, type EncodedResource } from '../../src/serve/snapshot.js';
import { encodeDeltaResponse, encodeSotwResponse, SharedResponses } from '../../src/serve/wire.js';
import { adsServiceDefinition } from '../../src/serve/xds-server.js';
import { TYPES } from './helpers/ads-client.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

function compiled(text: string): XdsResources {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-encode-'));
  try {
    fs.writeFileSync(path.join(dir, 'nginx.conf'), text);
    const result = compile(path.join(dir, 'nginx.conf'));
    expect(result.ok).toBe(true);
    return toXdsResources(result.bootstrap);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Three servers of four locations; `upstream` is where the first location goes. */
function routesConf(upstream: string): string {
  const servers = ['a', 'b', 'c'].map(
    (s) => `    server { listen 8080; server_name ${s}.example.com;\n` + [0, 1, 2, 3].map((l) => `        location /p${l}/ { proxy_pass http://${s === 'a' && l === 0 ? upstream : 'one'}; }\n`).join('') + '    }',
  );
  return `events {}\nhttp {\n    upstream one { server 127.0.0.1:9001; }\n    upstream two { server 127.0.0.1:9002; }\n${servers.join('\n')}\n}\n`;
}

describe('encoding by parts', () => {
  it('gives the bytes of whole-message encoding for every fixture, parts shared across configs', () => {
    const encoder = new ResourceEncoder();
    let checked = 0;
    for (const name of fs.readdirSync(fixturesDir).sort()) {
      const file = path.join(fixturesDir, name, 'nginx.conf');
      if (!fs.existsSync(file)) continue;
      const result = compile(file);
      if (!result.ok) continue;
      const snapshot = buildSnapshot(encoder, toXdsResources(result.bootstrap));
      for (const profile of ['envoy', 'grpc'] as const) {
        for (const type of snapshot.profiles[profile].values()) {
          for (const r of type.resources.values()) {
            expect(r.bytes.equals(Buffer.from(encodeResource(r.typeUrl, r.json))), `${name} ${profile} ${r.name}`).toBe(true);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('encodes a changed route again and keeps only the parts still used', () => {
    const before = compiled(routesConf('one'));
    const after = compiled(routesConf('two'));
    const shared = new ReusingEncoder();
    const oldBytes = Buffer.from(shared.encodeResource(TYPES.rds, before.routes[0]!));
    shared.sweep();
    const newBytes = Buffer.from(shared.encodeResource(TYPES.rds, after.routes[0]!));
    shared.sweep();
    expect(newBytes.equals(Buffer.from(encodeResource(TYPES.rds, after.routes[0]!)))).toBe(true);
    expect(newBytes.equals(oldBytes)).toBe(false);
    const decoded = JSON.stringify(decodeResource(TYPES.rds, newBytes));
    expect(decoded).toContain('"cluster":"two"');

    const fresh = new ReusingEncoder();
    fresh.encodeResource(TYPES.rds, after.routes[0]!);
    expect(shared.size).toBe(fresh.size);
    expect(shared.size).toBeGreaterThan(3);
  });

  it('reports a bad field inside a route with its path, as whole-message encoding does', () => {
    const routes = structuredClone(compiled(routesConf('one')).routes[0]!) as JsonObject;
    const vh = (routes['virtual_hosts'] as JsonObject[])[1]!;
    // (a copy: routes of alike locations share one match object, and the clone keeps it shared)
    const route = (vh['routes'] as JsonObject[])[2]!;
    route['match'] = { ...(route['match'] as JsonObject), prefx: '/x' };
    const whole = (() => {
      try {
        encodeResource(TYPES.rds, routes);
      } catch (err) {
        return err as Error;
      }
      return null;
    })();
    expect(whole).toBeInstanceOf(ProtoJsonError);
    expect(() => new ReusingEncoder().encodeResource(TYPES.rds, routes)).toThrow(whole!.message);
    expect(whole!.message).toMatch(/virtual_hosts\[1\]\.routes\[2\]\.match: unknown field "prefx"/);
  });
});

describe('responses from per-resource records', () => {
  const snapshot = buildSnapshot(new ResourceEncoder(), compiled(routesConf('one')));
  const clusters: EncodedResource[] = [...snapshot.profiles.envoy.get(TYPES.cds)!.resources.values()];
  const serializer = (method: string) => adsServiceDefinition()[method]!.responseSerialize;

  it('are the bytes of the whole DeltaDiscoveryResponse', () => {
    const response = { system_version_info: 'v1', resources: clusters, type_url: TYPES.cds, removed_resources: ['gone', 'old'], nonce: '7-3' };
    const whole = serializer('DeltaAggregatedResources')({
      ...response,
      resources: clusters.map((r) => ({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.bytes } })),
    });
    expect(encodeDeltaResponse(response).equals(whole)).toBe(true);
    expect(encodeDeltaResponse({ ...response, resources: [] }).equals(serializer('DeltaAggregatedResources')({ ...response, resources: [] }))).toBe(true);
  });

  it('are the bytes of the whole DiscoveryResponse', () => {
    const response = { version_info: 'abc', resources: clusters, type_url: TYPES.cds, nonce: '1-1' };
    const whole = serializer('StreamAggregatedResources')({ ...response, resources: clusters.map((r) => ({ type_url: r.typeUrl, value: r.bytes })) });
    expect(encodeSotwResponse(response).equals(whole)).toBe(true);
  });

  it('are encoded once for every stream sent the same content, never with a nonce a stream already had', () => {
    const shared = new SharedResponses();
    let own = 0;
    const ownNonce = (stream: number) => () => `${stream}-${++own}`;
    const response = { system_version_info: 'v1', resources: clusters, type_url: TYPES.cds, removed_resources: [] };
    const a = shared.delta(1, response, ownNonce(1));
    const b = shared.delta(2, { ...response, resources: [...clusters] }, ownNonce(2));
    expect(b.nonce).toBe(a.nonce);
    expect(b.bytes).toBe(a.bytes); // the same buffer: no per-stream encoding or copy
    expect(a.bytes.equals(encodeDeltaResponse({ ...response, nonce: a.nonce }))).toBe(true);
    // The same content again to stream 1: its own nonce and encoding.
    const again = shared.delta(1, response, ownNonce(1));
    expect(again.nonce).toBe('1-1');
    expect(again.bytes.equals(encodeDeltaResponse({ ...response, nonce: '1-1' }))).toBe(true);
    // Other content (one cluster fewer, or a removal) is another response with another nonce.
    const fewer = shared.delta(1, { ...response, resources: clusters.slice(1) }, ownNonce(1));
    const removal = shared.delta(2, { ...response, resources: [], removed_resources: ['gone'] }, ownNonce(2));
    expect(new Set([a.nonce, fewer.nonce, removal.nonce]).size).toBe(3);
    expect(removal.bytes.equals(encodeDeltaResponse({ ...response, resources: [], removed_resources: ['gone'], nonce: removal.nonce }))).toBe(true);
    // After a new snapshot the same content gets a nonce never used before.
    shared.clear();
    const fresh = shared.delta(1, response, ownNonce(1));
    expect([a.nonce, fewer.nonce, removal.nonce, again.nonce]).not.toContain(fresh.nonce);
    const sotw = { version_info: 'abc', resources: clusters, type_url: TYPES.cds };
    const s1 = shared.sotw(1, sotw, ownNonce(1));
    expect(shared.sotw(2, sotw, ownNonce(2)).bytes).toBe(s1.bytes);
    expect(s1.bytes.equals(encodeSotwResponse({ ...sotw, nonce: s1.nonce }))).toBe(true);
  });

  it('keep a bounded number of contents', () => {
    const shared = new SharedResponses(4);
    for (let i = 0; i < 10; i++) shared.delta(1, { system_version_info: `v${i}`, resources: clusters, type_url: TYPES.cds, removed_resources: [] }, () => 'own');
    expect(shared.size).toBe(4);
  });
});
