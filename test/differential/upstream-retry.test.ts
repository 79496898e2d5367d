// nginx's retry on the next server against real nginx: upstreams mixing live echo
// backends, backends answering 502/503 and ports nothing listens on (refused at once),
// with backups, `down`, tries limits, `off`, http_502/http_503 and non_idempotent, for
// GET and POST. For each case the outcomes the nginx model allows (src/sim/nginx) must be
// the outcomes the Envoy evaluator reads from the compiled retry policy (src/sim/envoy),
// and every answer real nginx gives must be one of them. Where the order of nginx's round
// robin decides, the case's outcome is a set and both requests sent must fall in it.
// Failures: nginx answers 502 itself; Envoy's local reply for a connection failure (503, flag
// UF) is mapped to nginx's 502 and page by the connection manager's local_reply_config
// (test/differential/error-replies.test.ts compares those bytes); compared as "failed".
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type Server } from 'node:http';
import { evaluator } from '../../src/sim/envoy/index.js';
import { routeNginx } from '../../src/sim/nginx/index.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

/** Ports: live 200 backends, one answering 502, one answering 503, and ports nothing listens on. */
interface Ports {
  nginx: number;
  live: number[];
  s502: number;
  s503: number;
  dead: number[];
}

interface Case {
  path: string;
  servers: string[];
  directives?: string;
  /** A difference the report states (the case checks the report says so instead of agreement). */
  reported?: { method: string; directive: string };
}

function cases(p: Ports): Case[] {
  const at = (port: number, extra = '') => `127.0.0.1:${port} max_fails=0${extra}`;
  const [l1, l2] = p.live as [number, number];
  const [d1, d2, d3] = p.dead as [number, number, number];
  return [
    { path: '/dead-live/', servers: [at(d1), at(l1)] },
    { path: '/backup/', servers: [at(d1), at(d2), at(l1, ' backup')] },
    { path: '/backup-unneeded/', servers: [at(d1), at(l2), at(l1, ' backup')] },
    { path: '/down/', servers: [at(d1), at(l1, ' down'), at(l2)] },
    { path: '/all-dead/', servers: [at(d1), at(d2)] },
    { path: '/single-dead/', servers: [at(d1)] },
    { path: '/off/', servers: [at(d1), at(l1)], directives: 'proxy_next_upstream off;' },
    { path: '/tries1/', servers: [at(d1), at(l1)], directives: 'proxy_next_upstream_tries 1;' },
    { path: '/tries2/', servers: [at(d1), at(d2), at(d3), at(l1)], directives: 'proxy_next_upstream_tries 2;' },
    { path: '/tries4/', servers: [at(d1), at(d2), at(d3), at(l1)], directives: 'proxy_next_upstream_tries 4;' },
    { path: '/tries-backup/', servers: [at(d1), at(d2), at(l1, ' backup')], directives: 'proxy_next_upstream_tries 2;' },
    { path: '/http502-any/', servers: [at(p.s502), at(l1)], directives: 'proxy_next_upstream error timeout http_502 non_idempotent;' },
    { path: '/http503-502/', servers: [at(p.s503), at(p.s502)], directives: 'proxy_next_upstream error http_503 non_idempotent;' },
    { path: '/http502-dead/', servers: [at(p.s502), at(d1)], directives: 'proxy_next_upstream error http_502 non_idempotent;' },
    { path: '/status-only/', servers: [at(d1), at(l1)], directives: 'proxy_next_upstream http_502 non_idempotent;' },
    // Without non_idempotent nginx retries a 502 for GET only; Envoy's policy is method-blind: not retried, reported.
    { path: '/http502-get/', servers: [at(p.s502), at(l1)], directives: 'proxy_next_upstream error timeout http_502;', reported: { method: 'GET', directive: 'proxy_next_upstream' } },
  ];
}

function httpBody(p: Ports): string {
  const list = cases(p);
  const ups = list.map((c, i) => `  upstream u${i} { ${c.servers.map((s) => `server ${s};`).join(' ')} }`).join('\n');
  const locs = list.map((c, i) => `    location ${c.path} { proxy_pass http://u${i}; ${c.directives ?? ''} }`).join('\n');
  return `\n${ups}\n  server {\n    listen 127.0.0.1:${p.nginx};\n    server_name r.test;\n${locs}\n  }\n`;
}

/** Backends answering every request with one status, saying who they are. */
async function statusBackends(byPort: [number, number][]): Promise<{ stop(): Promise<void> }> {
  const servers: Server[] = [];
  for (const [port, status] of byPort) {
    const srv = createServer((req, res) => {
      req.resume();
      res.statusCode = status;
      res.setHeader('x-echo-backend', String(port));
      res.end(String(status));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(srv);
  }
  return {
    stop: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      })));
    },
  };
}

type Outcome = { kind: 'served'; endpoint: string; status: number } | { kind: 'failed'; status: number };

/** An outcome as compared: who answered with what, or that the proxy gave up. */
function shown(o: Outcome): string {
  return o.kind === 'served' ? `${o.endpoint} ${o.status}` : 'failed';
}

describe.skipIf(!nginxAvailable())('retry on the next server: nginx, the nginx model and the compiled Envoy retry policy agree', () => {
  let ports: Ports;
  let nginx: NginxInstance;
  let stop: () => Promise<void> = async () => {};
  let compiled: CompileResult;
  let conditions: { refused: string[]; statuses: Record<string, number> };

  beforeAll(async () => {
    const all = await freePorts(8);
    ports = { nginx: all[0]!, live: [all[1]!, all[2]!], s502: all[3]!, s503: all[4]!, dead: [all[5]!, all[6]!, all[7]!] };
    stop = (await statusBackends([[ports.live[0]!, 200], [ports.live[1]!, 200], [ports.s502, 502], [ports.s503, 503]])).stop;
    const text = httpBody(ports);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [ports.nginx]);
    compiled = compileText(testConfig('/tmp/unused', text));
    conditions = { refused: ports.dead.map((p) => `127.0.0.1:${p}`), statuses: { [`127.0.0.1:${ports.s502}`]: 502, [`127.0.0.1:${ports.s503}`]: 503 } };
  });

  afterAll(async () => {
    await nginx?.stop();
    await stop();
  });

  function modelOutcomes(path: string, method: string): Outcome[] {
    const route = routeNginx(compiled.ir!, { port: ports.nginx, host: 'r.test', target: path, method, upstream: conditions });
    if (route.outcome.kind !== 'proxy' || !route.outcome.upstream) throw new Error(`${path}: not proxied by the model`);
    return route.outcome.upstream.outcomes;
  }

  function envoyOutcomes(path: string, method: string): Outcome[] {
    const d = evaluator(compiled.bootstrap)({ port: ports.nginx, address: '127.0.0.1', host: 'r.test', path, method, upstream: conditions });
    if (!d.upstream) throw new Error(`${path}: not forwarded by Envoy (${d.kind})`);
    return d.upstream.outcomes;
  }

  async function realOutcome(path: string, method: string): Promise<string> {
    const res = await probe(ports.nginx, 'r.test', path, method);
    const by = res.headers['x-echo-backend'];
    if (by) return `127.0.0.1:${by} ${res.status}`;
    expect(res.status, `${method} ${path}: nginx's own answer`).toBe(502);
    return 'failed';
  }

  test('every case: the model and the evaluator allow the same outcomes, and real nginx gives one of them', async () => {
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (const c of cases(ports)) {
      for (const method of ['GET', 'POST']) {
        const model = modelOutcomes(c.path, method);
        const envoy = envoyOutcomes(c.path, method);
        // The failure status the client gets: nginx's 502 on both sides (Envoy's 503 UF mapped by local_reply_config).
        expect(model.filter((o) => o.kind === 'failed').every((o) => o.status === 502)).toBe(true);
        expect(envoy.filter((o) => o.kind === 'failed').every((o) => o.status === 502)).toBe(true);
        const m = model.map(shown).join(' | ');
        const e = envoy.map(shown).join(' | ');
        if (c.reported?.method === method) {
          // The reported difference: Envoy may pass on what nginx would have retried.
          expect(m, `${method} ${c.path}`).not.toBe(e);
        } else if (m !== e) mismatches.push(`${method} ${c.path}: nginx model ${m}; envoy ${e}`);
        // Two requests: where the round robin decides, they may land differently.
        for (let i = 0; i < 2; i++) {
          const real = await realOutcome(c.path, method);
          seen.add(real);
          if (!model.map(shown).includes(real)) mismatches.push(`${method} ${c.path}: real nginx ${real}, the model allows ${m}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Each kind of answer occurred: both live backends, the 502 passed through, and nginx's own 502.
    expect([...seen].sort()).toEqual([`127.0.0.1:${ports.live[0]} 200`, `127.0.0.1:${ports.live[1]} 200`, `127.0.0.1:${ports.s502} 502`, 'failed'].sort());
  });

  test('the cases are not vacuous: retries reach servers a single try could not', () => {
    // A POST whose first server refuses is served by the next one (nginx and Envoy alike).
    expect(envoyOutcomes('/dead-live/', 'POST').map(shown)).toEqual([`127.0.0.1:${ports.live[0]} 200`]);
    // The backup only after both primaries failed; never when a primary answers.
    expect(envoyOutcomes('/backup/', 'GET').map(shown)).toEqual([`127.0.0.1:${ports.live[0]} 200`]);
    expect(envoyOutcomes('/backup-unneeded/', 'GET').map(shown)).toEqual([`127.0.0.1:${ports.live[1]} 200`]);
    // Tries: two of four servers may all be dead; four reach the live one.
    expect(envoyOutcomes('/tries2/', 'GET').map(shown).sort()).toEqual([`127.0.0.1:${ports.live[0]} 200`, 'failed'].sort());
    expect(envoyOutcomes('/tries4/', 'GET').map(shown)).toEqual([`127.0.0.1:${ports.live[0]} 200`]);
    expect(envoyOutcomes('/off/', 'GET').map(shown).sort()).toEqual([`127.0.0.1:${ports.live[0]} 200`, 'failed'].sort());
  });

  test('the difference Envoy cannot express is reported where it is written', () => {
    const lines = reportLines(compiled, 'proxy_next_upstream');
    const unsupported = lines.filter((l) => l.class === 'unsupported');
    expect(unsupported).toHaveLength(1);
    expect(unsupported[0]!.reason).toMatch(/http_502: nginx passes idempotent requests .* not retried/);
    // nginx's default is reported too, per cluster retrying under it.
    const notes = compiled.report.notes.filter((n) => /the default of proxy_next_upstream/.test(n.reason));
    expect(notes.length).toBeGreaterThanOrEqual(5);
  });
});
