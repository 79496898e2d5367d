// The differential test of issue 3: real nginx (Debian's package) and the Envoy
// route evaluator's reading of the compiled configuration must send every
// request to the same place. Configs are generated (seeded) with every
// server_name kind, every location kind, nesting, and return / redirect /
// proxy_pass actions; requests are derived from each config.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { evaluate } from '../../src/sim/envoy/index.js';
import { generateRoutingConfig } from '../support/gen-routing.js';
import { freePort, nginxAvailable, startNginx, testConfig } from '../support/nginx.js';
import { probe, startEchoBackends, type EchoReply } from '../support/http-probe.js';

const SEEDS = Array.from({ length: 10 }, (_, i) => 1000 + i * 7);
const BACKENDS_PER_CONFIG = 40;

/** What a client observes: which backend got what, or the redirect, or the answer. */
type Outcome =
  | { kind: 'proxy'; backendPort: number; path: string; host: string | undefined }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'answer'; status: number; body?: string };

function nginxOutcome(res: { status: number; headers: Record<string, string>; body: string }): Outcome {
  if (res.headers['x-echo-backend']) {
    const echo = JSON.parse(res.body) as EchoReply;
    return { kind: 'proxy', backendPort: echo.backendPort, path: echo.path, host: echo.host };
  }
  if ([301, 302, 303, 307, 308].includes(res.status) && res.headers['location']) {
    return { kind: 'redirect', status: res.status, location: res.headers['location'] };
  }
  // nginx's built-in error pages are not part of the routing decision.
  const builtin = /<center>nginx/.test(res.body) || res.body === '';
  return builtin ? { kind: 'answer', status: res.status } : { kind: 'answer', status: res.status, body: res.body };
}

interface EnvoyCluster {
  name: string;
  load_assignment?: { endpoints?: { lb_endpoints?: { endpoint?: { address?: { socket_address?: { port_value?: number } } } }[] }[] };
}

function clusterPort(bootstrap: { static_resources?: { clusters?: EnvoyCluster[] } }, name: string): number | undefined {
  const cluster = bootstrap.static_resources?.clusters?.find((c) => c.name === name);
  return cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address?.port_value;
}

function envoyOutcome(bootstrap: object, port: number, host: string, path: string, nginxSide: Outcome): Outcome {
  const d = evaluate(bootstrap as never, { port, host, path, method: 'GET' });
  switch (d.kind) {
    case 'route':
      return {
        kind: 'proxy',
        backendPort: clusterPort(bootstrap as never, d.cluster ?? '') ?? -1,
        path: d.upstreamPath ?? '',
        host: d.upstreamHost,
      };
    case 'redirect':
      return { kind: 'redirect', status: d.status ?? 0, location: d.redirectLocation ?? '' };
    case 'direct_response': {
      const body = d.body ?? '';
      // Compare bodies only where nginx's side has one of its own (not a built-in page).
      return nginxSide.kind === 'answer' && nginxSide.body === undefined
        ? { kind: 'answer', status: d.status ?? 0 }
        : { kind: 'answer', status: d.status ?? 0, body };
    }
    default:
      return { kind: 'answer', status: 404 };
  }
}

/** nginx's own URI normalisation: merge slashes first, then resolve dot segments. */
function nginxNormalise(path: string): string {
  const q = path.indexOf('?');
  const [p, rest] = q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q)];
  const out: string[] = [];
  for (const seg of p.replace(/\/+/g, '/').split('/').slice(1)) {
    if (seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const last = p.replace(/\/+/g, '/').split('/').pop();
  return '/' + out.join('/') + (last === '.' || last === '..' ? '/' : '') + rest;
}

/** Envoy's normalised path: nginx's, except that a path of only slashes stays `//` (merge_slashes keeps one leading and one trailing slash). */
function envoyNormalise(path: string): string {
  const q = path.indexOf('?');
  const [p, rest] = q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q)];
  return /^\/\/+$/.test(p) ? '//' + rest : nginxNormalise(path);
}

function lowerAuthority(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^/]*)/i, (_m, scheme: string, auth: string) => scheme + auth.toLowerCase());
}

/**
 * The differences the compiler states in its report (approximations Envoy cannot
 * avoid), each by name. Anything else is a routing bug.
 */
function knownDifference(want: Outcome, got: Outcome): string | null {
  if (want.kind === 'proxy' && got.kind === 'proxy') {
    if (want.backendPort === got.backendPort && want.host === got.host && envoyNormalise(want.path) === got.path) {
      return 'raw-uri-forwarded'; // nginx forwards the URI as received when proxy_pass has no URI part
    }
  }
  if (want.kind === 'redirect' && got.kind === 'redirect' && want.status === got.status) {
    const w = lowerAuthority(want.location);
    const g = lowerAuthority(got.location);
    if (w === g) return 'host-case-in-redirect'; // nginx lowercases $host; Envoy keeps the client's case
    const m = /^([a-z]+:\/\/[^/]*)(\/.*)?$/i.exec(w);
    const n = /^([a-z]+:\/\/[^/]*)(\/.*)?$/i.exec(g);
    if (m && n && m[1] === n[1] && envoyNormalise(m[2] ?? '/') === (n[2] ?? '/')) return 'raw-uri-in-redirect'; // $request_uri is the raw URI
  }
  return null;
}

/** What the report must say for each known difference to count as stated. */
const STATED_IN_REPORT: Record<string, RegExp> = {
  'raw-uri-forwarded': /forwards the client's URI unchanged/,
  'raw-uri-in-redirect': /forwards the client's URI unchanged|\$request_uri/,
  'host-case-in-redirect': /lowercase/i,
};

describe.skipIf(!nginxAvailable())('nginx and the compiled Envoy config route every request alike', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'ngx2envoy-diff-'));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  for (const seed of SEEDS) {
    describe(`generated config seed ${seed}`, () => {
      let port = 0;
      let stopAll: () => Promise<void> = async () => {};
      let gen: ReturnType<typeof generateRoutingConfig>;
      let bootstrap: object;
      let reportText = '';

      beforeAll(async () => {
        port = await freePort();
        const backendPorts: number[] = [];
        while (backendPorts.length < BACKENDS_PER_CONFIG) {
          const p = await freePort();
          if (p !== port && !backendPorts.includes(p)) backendPorts.push(p);
        }
        gen = generateRoutingConfig(seed, port, backendPorts);
        const confDir = mkdtempSync(join(workdir, `seed${seed}-`));
        const confText = testConfig(confDir, gen.httpBody);
        const confPath = join(confDir, 'nginx.conf');
        writeFileSync(confPath, confText);

        const result = compile(confPath, {});
        if (!result.ok || !result.bootstrap) {
          throw new Error(`compile failed:\n${result.diagnostics.map((d) => d.message).join('\n')}`);
        }
        bootstrap = result.bootstrap;
        reportText = [...result.report.directives, ...result.report.notes]
          .filter((e) => e.class !== 'translated')
          .map((e) => `${e.directive}: ${e.reason}`)
          .join('\n');

        const backends = await startEchoBackends(gen.backendPorts);
        const nginx = await startNginx((prefix) => testConfig(prefix, gen.httpBody), [port]).catch(async (e) => {
          await backends.stop();
          throw e;
        });
        stopAll = async () => {
          await nginx.stop();
          await backends.stop();
        };
      });
      afterAll(async () => stopAll());

      test('every probe request reaches the same place', async () => {
        const mismatches: string[] = [];
        const known = new Map<string, number>();
        let compared = 0;
        for (const host of gen.hosts) {
          for (const path of gen.paths) {
            const res = await probe(port, host, path);
            if (res.status === 400) continue; // nginx refused the request itself (e.g. an invalid Host)
            const want = nginxOutcome(res);
            const got = envoyOutcome(bootstrap, port, host, path, want);
            compared++;
            if (JSON.stringify(want) !== JSON.stringify(got)) {
              const k = knownDifference(want, got);
              if (k) {
                known.set(k, (known.get(k) ?? 0) + 1);
                continue;
              }
              mismatches.push(`GET Host:${JSON.stringify(host)} ${path}\n  nginx: ${JSON.stringify(want)}\n  envoy: ${JSON.stringify(got)}`);
            }
          }
        }
        expect(compared).toBeGreaterThan(100);
        // A difference is "known" only when the compiler's report states it.
        for (const k of known.keys()) expect(reportText, `report must state ${k}`).toMatch(STATED_IN_REPORT[k]!);
        expect(mismatches.slice(0, 15).join('\n'), `${mismatches.length} of ${compared} requests differ`).toBe('');
      });
    });
  }
});
