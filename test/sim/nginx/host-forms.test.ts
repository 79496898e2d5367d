// Host forms the HTTP client in the big differential test cannot send: HTTP/1.0
// without Host (the `server_name ""` server), HTTP/1.1 without Host (400), and
// an absolute-form request target whose host beats the Host header.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeNginx } from '../../../src/sim/nginx/index.js';
import type { CompiledConfig } from '../../../src/ir/types.js';
import { nginxAvailable, startNginx, testConfig, type NginxInstance } from '../../support/nginx.js';
import { portAllocator } from './ports.js';
import { renderNginx, scenarioIr, type Scenario, type ServerSpec } from './gen.js';

const server = (names: string[], isDefault = false): ServerSpec => ({
  names,
  isDefault,
  rewrites: [],
  locations: [{ mod: '', pattern: '/', children: [], proxyUri: undefined, rewrites: [] }],
});

/** One raw request; returns the status and the X-Server header. */
function raw(port: number, request: string): Promise<{ status: number; server: string | null }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => (data += String(d)));
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(data)?.[1] ?? 0);
      const server = /\r\nX-Server: ([^\r]+)/i.exec(data)?.[1] ?? null;
      resolve({ status, server });
    });
    sock.on('error', reject);
    sock.write(request);
  });
}

describe.skipIf(!nginxAvailable())('Host forms vs real nginx', () => {
  let nginx: NginxInstance;
  let scenarios: Scenario[];
  let ir: CompiledConfig;

  beforeAll(async () => {
    const freePort = portAllocator();
    scenarios = [
      // `server_name ""` on the second server; the third is the default.
      { port: await freePort(), servers: [server(['a.test']), server(['""', 'b.test']), server(['c.test'], true)] },
      // No server claims "": the default (first) server answers requests without Host.
      { port: await freePort(), servers: [server(['a.test']), server(['b.test'])].map((s) => ({ ...s, names: s.names })) },
    ];
    // In the second scenario every server has a name, so none is implicitly "".
    ir = scenarioIr(scenarios, 1);
    nginx = await startNginx(testConfig('', scenarios.map((s) => renderNginx(s, 1)).join('\n')), scenarios.map((s) => s.port));
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  const cases: { name: string; want: string; scenario: number; request: string; host: string | null; target: string; httpVersion: '1.0' | '1.1' }[] = [
    { name: 'HTTP/1.0 without Host → the server named ""', want: 'server_1', scenario: 0, request: 'GET /x HTTP/1.0\r\n\r\n', host: null, target: '/x', httpVersion: '1.0' },
    { name: 'HTTP/1.0 without Host, no "" name → default server', want: 'server_0', scenario: 1, request: 'GET /x HTTP/1.0\r\n\r\n', host: null, target: '/x', httpVersion: '1.0' },
    { name: 'HTTP/1.1 without Host → 400', want: '400', scenario: 0, request: 'GET /x HTTP/1.1\r\nConnection: close\r\n\r\n', host: null, target: '/x', httpVersion: '1.1' },
    {
      name: 'absolute-form target: its host beats the Host header',
      want: 'server_0',
      scenario: 0,
      request: 'GET http://a.test/x HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n',
      host: 'b.test',
      target: 'http://a.test/x',
      httpVersion: '1.1',
    },
    { name: 'Host with port and trailing dot', want: 'server_1', scenario: 0, request: 'GET / HTTP/1.1\r\nHost: B.Test.:8080\r\nConnection: close\r\n\r\n', host: 'B.Test.:8080', target: '/', httpVersion: '1.1' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const scn = scenarios[c.scenario]!;
      const real = await raw(scn.port, c.request);
      const model = routeNginx(ir, { port: scn.port, host: c.host, target: c.target, httpVersion: c.httpVersion });
      // The answer itself, then the model's agreement with nginx on it.
      expect(real.status === 200 ? real.server?.replace(/^p\d+_/, '') : String(real.status)).toBe(c.want);
      if (model.outcome.kind === 'error') {
        expect(real.status).toBe(model.outcome.status);
      } else {
        expect(real.status).toBe(200);
        expect(real.server).toBe(model.server?.id);
      }
    });
  }
});

describe.skipIf(!nginxAvailable())('rewrite … last: the URI change limit vs real nginx', () => {
  let nginx: NginxInstance;
  let scenario: Scenario;
  let ir: CompiledConfig;
  const xs = (n: number) => 'x'.repeat(n);

  beforeAll(async () => {
    const freePort = portAllocator();
    // /l gains one "x" per search; `= /l` + 10 x's answers, so /l needs 10 URI changes and /lx needs 9.
    const grow = { mod: '' as const, pattern: '/l', children: [], proxyUri: undefined, rewrites: [{ regex: '^/l(x*)$', replacement: '/l$1x', flag: 'last' as const }] };
    const stop = { mod: '=' as const, pattern: `/l${xs(10)}`, children: [], proxyUri: undefined, rewrites: [] };
    scenario = { port: await freePort(), servers: [{ names: ['a.test'], isDefault: false, rewrites: [], locations: [grow, stop] }] };
    ir = scenarioIr([scenario], 1);
    nginx = await startNginx(testConfig('', renderNginx(scenario, 1)), [scenario.port]);
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  for (const [target, changes] of [['/lx', 9], ['/l', 10], [`/l${xs(10)}`, 0]] as const) {
    it(`${target}: ${changes} URI changes`, async () => {
      const real = await raw(scenario.port, `GET ${target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
      const model = routeNginx(ir, { port: scenario.port, host: 'a.test', target });
      expect(model.visited.length).toBe(changes + 1);
      expect(real.status).toBe(model.outcome.kind === 'error' ? model.outcome.status : 200);
    });
  }

  it('one change more than nginx allows is a 500', async () => {
    // From "/" nothing matches the exact location in time: start where 11 changes are needed.
    const target = '/l';
    const tooMany = { ...scenario, servers: [{ ...scenario.servers[0]!, locations: [scenario.servers[0]!.locations[0]!, { ...scenario.servers[0]!.locations[1]!, pattern: `/l${xs(11)}` }] }] };
    const ir11 = scenarioIr([tooMany], 1);
    const model = routeNginx(ir11, { port: scenario.port, host: 'a.test', target });
    expect(model.outcome).toMatchObject({ kind: 'error', status: 500 });
    const freePort = portAllocator();
    const port = await freePort();
    const other = await startNginx(testConfig('', renderNginx({ ...tooMany, port }, 1)), [port]);
    try {
      const real = await raw(port, `GET ${target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
      expect(real.status).toBe(500);
    } finally {
      await other.stop();
    }
  });
});
