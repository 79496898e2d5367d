// Stream backends in Consul: a service per stream backend, named after its
// cluster as serve names the service of a cluster (so a served stream cluster
// follows its registered service), tagged `stream`, TCP-checked (none for UDP).
import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { compile } from '../../src/compile.js';
import { buildRegistrations, instanceHash, META } from '../../src/emit/consul/index.js';
import { serviceNamesFor } from '../../src/emit/consul/names.js';
import { backendOfCluster } from '../../src/lower/upstream.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

function registrationsOf(fixture: string, check: 'tcp' | 'http' | 'none' = 'tcp') {
  const r = compile(join(FIXTURES, fixture, 'nginx.conf'), {});
  expect(r.ok).toBe(true);
  return { r, regs: buildRegistrations(r.ir!, { configId: 'test', check }) };
}

describe('consul: stream backends', () => {
  it('registers http and stream upstreams sharing a name as two services', () => {
    const { regs } = registrationsOf('52-stream-tcp');
    const byUpstream = new Map(regs.services.map((s) => [s.upstream, s]));
    expect(byUpstream.get('db')!.name).toBe('db');
    const stream = byUpstream.get('stream_db')!;
    expect(stream.name).toBe('stream-db');
    expect(stream.instances.map((i) => `${i.address}:${i.port}`)).toEqual(['10.0.1.11:5432', '10.0.1.12:5432', '10.0.1.13:5432']);
    expect(stream.instances[2]!.tags).toEqual(['ngx2envoy', 'backup', 'stream']);
    expect(stream.instances[0]!.meta['nginx_context']).toBe('stream');
    expect(byUpstream.get('db')!.instances[0]!.meta['nginx_context']).toBeUndefined();
    expect(stream.instances[0]!.check).toMatchObject({ kind: 'tcp', target: '10.0.1.11:5432', failuresBeforeCritical: 2 });
    // the down server of mqtt is not registered
    expect(regs.skipped.map((s) => s.server)).toContain('10.0.2.23:1883');
  });

  it('a stream backend is checked by TCP even when http checks are asked for; a UDP-only one has no check', () => {
    const tcp = registrationsOf('52-stream-tcp', 'http').regs.services.find((s) => s.upstream === 'stream_db')!;
    expect(tcp.instances[0]!.check!.kind).toBe('tcp');
    const udp = registrationsOf('54-stream-udp').regs.services.find((s) => s.upstream === 'stream_10.0.1.10_514')!;
    expect(udp.instances[0]!.check).toBeNull();
  });

  it('every served cluster maps to a registered service the way serve maps it', () => {
    for (const fixture of ['52-stream-tcp', '53-stream-sni', '54-stream-udp']) {
      const { r, regs } = registrationsOf(fixture);
      const clusters: string[] = r.bootstrap.static_resources.clusters.map((c: { name: string }) => c.name);
      const served = serviceNamesFor(clusters.map(backendOfCluster));
      const registered = new Set(regs.services.map((s) => s.name));
      for (const c of clusters) expect(registered.has(served.get(backendOfCluster(c))!), `${fixture}: ${c}`).toBe(true);
    }
  });
  it('hashes stream and http instances as instanceHash defines it (meta sorted, hash left out); meta keys in one order, the hash last', () => {
    for (const fixture of ['52-stream-tcp', '54-stream-udp']) {
      for (const check of ['tcp', 'http', 'none'] as const) {
        for (const instance of registrationsOf(fixture, check).regs.services.flatMap((s) => s.instances)) {
          expect(instance.meta[META.hash]).toBe(instanceHash(instance));
          const keys: string[] = [META.managedBy, META.config, META.upstream, META.source, META.backup, META.maxFails, META.failTimeout];
          if (instance.tags.includes('stream')) keys.push(META.context);
          expect(Object.keys(instance.meta)).toEqual([...keys, META.hash]);
        }
      }
    }
  });
});
