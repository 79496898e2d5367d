// Differential test of the nginx routing model: generated configs run in real
// nginx, and for every generated request the model must predict the server,
// the location, and what nginx does (marker body, upstream URI, redirect, 404, 400).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeNginx, type NginxRoute } from '../../../src/sim/nginx/index.js';
import type { CompiledConfig } from '../../../src/ir/types.js';
import { nginxAvailable, startNginx, testConfig, type NginxInstance } from '../../support/nginx.js';
import { portAllocator } from './ports.js';
import { probe, startEchoBackends, type ProbeResponse } from '../../support/http-probe.js';
import { HOSTS, PATHS, genScenario, prng, renderNginx, scenarioIr, scenarioPaths, type Scenario } from './gen.js';

// NGX2ENVOY_MODEL_SEED=<n> explores other generated configs (the default seed is fixed).
const SCENARIOS = 24;
const REQUESTS_PER_SCENARIO = 160;

/** What the model says the response will look like, in the same words as `observed`. */
function predicted(route: NginxRoute): string {
  const o = route.outcome;
  const s = route.server?.id ?? '-';
  switch (o.kind) {
    case 'return':
      return `${o.status} ${s} body=${o.body}`;
    case 'proxy':
      return `200 ${s} loc=${route.location?.id} up=${o.upstreamUri}`;
    case 'redirect':
      return `${o.status} ${s} to=${o.location}`;
    case 'static':
      return `${o.status} ${s}`;
    case 'error':
      return `${o.status}`;
  }
}

function observed(res: ProbeResponse): string {
  const s = res.headers['x-server'] ?? '-';
  if (res.status === 200 && res.headers['x-echo-backend']) {
    return `200 ${s} loc=${res.headers['x-loc']} up=${(JSON.parse(res.body) as { path: string }).path}`;
  }
  if (res.status === 200) return `200 ${s} body=${res.body}`;
  if (res.status >= 300 && res.status < 400) {
    return `${res.status} ${s} to=${(res.headers.location ?? '').replace(/^https?:\/\/[^/]+/, '')}`;
  }
  if (res.status === 404) return `404 ${s}`;
  return `${res.status}`;
}

describe.skipIf(!nginxAvailable())('nginx routing model vs real nginx', () => {
  let nginx: NginxInstance;
  let echo: { stop(): Promise<void> };
  let scenarios: Scenario[];
  let echoPort = 0;
  let ir: CompiledConfig;

  beforeAll(async () => {
    const freePort = portAllocator();
    echoPort = await freePort();
    echo = await startEchoBackends([echoPort]);
    const r = prng(Number(process.env.NGX2ENVOY_MODEL_SEED ?? 20261121));
    scenarios = [];
    for (let i = 0; i < SCENARIOS; i++) scenarios.push(genScenario(r, await freePort()));
    ir = scenarioIr(scenarios, echoPort);
    const body = scenarios.map((s) => renderNginx(s, echoPort)).join('\n');
    // Relative paths in testConfig resolve against the instance's own -p prefix.
    nginx = await startNginx(testConfig('', body), scenarios.map((s) => s.port));
  });

  afterAll(async () => {
    await nginx?.stop();
    await echo?.stop();
  });

  it('predicts server, location and outcome for every generated request', async () => {
    const r = prng(7);
    const mismatches: string[] = [];
    let total = 0;
    const kinds = new Map<string, number>();
    for (const scn of scenarios) {
      const own = scenarioPaths(scn);
      for (let i = 0; i < REQUESTS_PER_SCENARIO; i++) {
        const host = HOSTS[Math.floor(r() * HOSTS.length)]!;
        const pool = i % 2 || own.length === 0 ? PATHS : own;
        const path = pool[Math.floor(r() * pool.length)]!;
        const route = routeNginx(ir, { port: scn.port, address: '127.0.0.1', host, target: path });
        const res = await probe(scn.port, host, path);
        total++;
        const kind = route.outcome.kind + (route.visited.length > 1 ? '+rewrite' : '') + (route.location ? ':' + route.location.modifier : '');
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        const want = observed(res);
        const got = predicted(route);
        if (want !== got) mismatches.push(`port ${scn.port} Host ${host} GET ${path}\n  nginx: ${want}\n  model: ${got}`);
      }
    }
    expect(total).toBe(SCENARIOS * REQUESTS_PER_SCENARIO);
    // The request set must exercise every outcome and every kind of location, or it proves little.
    const seen = [...kinds.keys()].join(' ');
    for (const k of ['proxy:', 'return:', 'redirect:', 'static', 'error', ':exact', ':prefix-stop', ':regex-icase', '+rewrite']) {
      expect(seen).toContain(k);
    }
    // The first mismatching scenario's config, to read the failure against.
    const firstPort = Number(/^port (\d+)/.exec(mismatches[0] ?? '')?.[1]);
    const config = scenarios.find((s) => s.port === firstPort);
    const context = config ? `\n--- config of port ${firstPort}:\n${renderNginx(config, echoPort)}` : '';
    expect(mismatches.slice(0, 15).join('\n') + (mismatches.length ? context : '')).toBe('');
  });
});
