// `serve --consul-addr` end to end: the real compiler on fixtures/nginx.conf,
// the real xDS server (startServe), the Consul endpoint source it loads, the
// double, and a scripted ADS client reading EDS.
import { afterEach, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { buildRegistrations } from '../../src/emit/consul/index.js';
import { syncRegistrations } from '../../src/consul/sync.js';
import { compile } from '../../src/compile.js';
import { startServe, type ServeHandle } from '../../src/serve/index.js';
import { decodeResource } from '../../src/serve/proto-json.js';
import { ScriptedAdsClient, TYPES, type SotwResponse, type ScriptedStream } from '../serve/helpers/ads-client.js';
import { ConsulDouble } from '../support/consul-double.js';

const FIXTURE = resolve('test/consul/fixtures/nginx.conf');
const node = { id: 'edge-1', cluster: 'edge', user_agent_name: 'envoy' };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function endpointsOf(r: SotwResponse): string[] {
  return r.resources.flatMap((a) =>
    ((decodeResource(a.type_url, a.value)['endpoints'] as any[]) ?? []).flatMap((l: any) =>
      (l.lb_endpoints ?? []).map(
        (e: any) => `${l.priority ?? 0}:${e.endpoint.address.socket_address?.address ?? 'unix:' + e.endpoint.address.pipe?.path}`,
      ),
    ),
  );
}

/** ACKs EDS responses until one carries `want` (bounded by the client's own wait). */
async function edsUntil(stream: ScriptedStream<SotwResponse>, want: string[]): Promise<SotwResponse> {
  for (;;) {
    const r = await stream.next();
    stream.send({ node, type_url: TYPES.eds, resource_names: ['api_v1'], version_info: r.version_info, response_nonce: r.nonce });
    if (JSON.stringify(endpointsOf(r).sort()) === JSON.stringify([...want].sort())) return r;
  }
}

describe('serve --consul-addr', () => {
  it('serves Consul\'s passing endpoints over EDS, follows a check going critical, and keeps them when Consul goes away', async () => {
    const double = await ConsulDouble.start();
    cleanups.push(() => double.stop());
    const ir = compile(FIXTURE).ir!;
    await syncRegistrations(buildRegistrations(ir, { configId: FIXTURE }), {
      conn: { baseUrl: double.addr, token: undefined },
      mode: 'agent',
      dryRun: false,
    });
    const logs: string[] = [];
    const handle: ServeHandle = await startServe(FIXTURE, {
      consulAddr: double.addr,
      xdsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      watch: false,
      log: (l) => logs.push(l),
    });
    cleanups.push(() => handle.close());
    const client = new ScriptedAdsClient(`127.0.0.1:${handle.xdsPort}`);
    cleanups.push(() => client.close());
    const stream = client.sotw();
    stream.send({ node, type_url: TYPES.eds, resource_names: ['api_v1'] });
    await edsUntil(stream, ['0:10.0.0.11', '0:10.0.0.12', '1:10.0.0.13']);
    expect(logs).toContain('consul: api_v1: 3 passing endpoint(s)');

    await double.waitForHeld('/v1/health/service/api-v1');
    double.setCheckStatus('service:ngx2envoy-api-v1-10-0-0-12-8080', 'critical');
    const after = await edsUntil(stream, ['0:10.0.0.11', '1:10.0.0.13']);

    await double.stop();
    const metricsText = async () => (await fetch(`http://127.0.0.1:${handle.adminPort}/metrics`)).text();
    let metrics = await metricsText();
    while (!metrics.includes('consul_up 0')) {
      await new Promise((r) => setTimeout(r, 20));
      metrics = await metricsText();
    }
    // The held query is cut (ECONNRESET) or the next one refused (ECONNREFUSED): either way, said on /metrics.
    expect(metrics).toMatch(/consul_last_error\{error=".*(ECONNRESET|ECONNREFUSED).*"\} 1/);
    expect(metrics).toMatch(/consul_index\{service="api-v1",cluster="api_v1"\} [1-9]\d*/);
    // The endpoints Envoy has stay: the served snapshot still carries them.
    const served = handle.xds.snapshot()!.sources.envoy.endpoints.find((e) => e['cluster_name'] === 'api_v1')!;
    expect(JSON.stringify(served)).toContain('10.0.0.11');
    expect(JSON.stringify(served)).not.toContain('10.0.0.12');
    expect(stream.inbox.pending().length).toBe(0);
    expect(after.version_info).toBeTruthy();
  });
});
