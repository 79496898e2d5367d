// 100 concurrent streams (half state of the world, half delta) on one server:
// every one gets the initial snapshot, and every one receives and ACKs the
// update after a reload of the nginx.conf on disk.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServe, type ServeHandle } from '../../src/serve/index.js';
import { ScriptedAdsClient, TYPES, type DeltaResponse, type ScriptedStream, type SotwResponse } from './helpers/ads-client.js';

const conf = (port: number) => `events {}
http {
    upstream app { server 127.0.0.1:${port}; }
    server { listen 8080; server_name many.example.com; location / { proxy_pass http://app; } }
}
`;

describe('100 concurrent streams', () => {
  let dir: string;
  let file: string;
  let handle: ServeHandle;
  const clients: ScriptedAdsClient[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-many-'));
    file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, conf(9000));
    handle = await startServe(file, { xdsAddress: '127.0.0.1:0', adminAddress: '127.0.0.1:0', watch: false, log: () => {} });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await handle?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('updates every stream', async () => {
    const address = `127.0.0.1:${handle.xdsPort}`;
    const sotw: ScriptedStream<SotwResponse>[] = [];
    const delta: ScriptedStream<DeltaResponse>[] = [];
    for (let i = 0; i < 50; i++) {
      const a = new ScriptedAdsClient(address);
      const b = new ScriptedAdsClient(address);
      clients.push(a, b);
      sotw.push(a.sotw());
      delta.push(b.delta());
    }
    const claName = [...handle.xds.snapshot()!.profiles.envoy.get(TYPES.eds)!.resources.keys()][0]!;
    sotw.forEach((s, i) => s.send({ node: { id: `sotw-${i}` }, type_url: TYPES.eds, resource_names: [claName] }));
    delta.forEach((s, i) => s.send({ node: { id: `delta-${i}` }, type_url: TYPES.eds, resource_names_subscribe: [claName] }));
    const first = await Promise.all([...sotw.map((s) => s.next(30_000)), ...delta.map((s) => s.next(30_000))]);
    expect(handle.xds.streams.size).toBe(100);
    const acksBefore = (handle.xds.counters.acks.get('eds|sotw') ?? 0) + (handle.xds.counters.acks.get('eds|delta') ?? 0);
    sotw.forEach((s, i) => {
      const r = first[i] as SotwResponse;
      s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: [claName] });
    });
    delta.forEach((s, i) => s.send({ type_url: TYPES.eds, response_nonce: (first[50 + i] as DeltaResponse).nonce }));

    // Every stream must have ACKed its first response before the change, or the push would wait on it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not all first responses ACKed')), 30_000);
      const check = () => {
        const acks = (handle.xds.counters.acks.get('eds|sotw') ?? 0) + (handle.xds.counters.acks.get('eds|delta') ?? 0);
        if (acks - acksBefore >= 100) {
          clearTimeout(timer);
          handle.xds.off('ack', check);
          resolve();
        }
      };
      handle.xds.on('ack', check);
      check();
    });

    fs.writeFileSync(file, conf(9001));
    expect(await handle.reload('test')).toMatchObject({ ok: true, changed: true });
    const updates = await Promise.all([...sotw.map((s) => s.next(30_000)), ...delta.map((s) => s.next(30_000))]);
    for (const u of updates.slice(0, 50) as SotwResponse[]) {
      expect(u.type_url).toBe(TYPES.eds);
      expect(u.version_info).not.toBe((first[0] as SotwResponse).version_info);
    }
    const newVersion = handle.xds.snapshot()!.profiles.envoy.get(TYPES.eds)!.resources.get(claName)!.version;
    for (const u of updates.slice(50) as DeltaResponse[]) {
      expect(u.resources.map((r) => [r.name, r.version])).toEqual([[claName, newVersion]]);
    }
    expect(handle.xds.counters.pushes.get('eds|sotw')).toBe(100);
    expect(handle.xds.counters.pushes.get('eds|delta')).toBe(100);
  });
});
