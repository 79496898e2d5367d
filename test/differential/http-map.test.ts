// http `map` routing against real nginx: proxy_pass to a map variable (dispatch on a
// header, on $host with `hostnames` wildcards, on $request_method; to upstream blocks,
// addresses, implicit upstreams, a name without resolver, no default) and `if ($v)`,
// `if ($v = x)`, `if ($v != x)` guards (falsy exact keys beating truthy regexes, a
// `""` key, a falsy regex that takes the empty value). For every request, nginx's
// answer (which backend, or which status) must be the Envoy evaluator's reading of the
// compiled configuration, and the nginx model's (explain).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { routeNginx } from '../../src/sim/nginx/index.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe, startEchoBackends } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

function httpBody(port: number, [b1, b2, b3]: number[]): string {
  return `
  upstream grp { server 127.0.0.1:${b2}; }
  map $http_x_tenant $pool {
    default 127.0.0.1:${b1};
    tenant-1.example grp;
    TENANT-2.example localhost:${b3};
    ~^beta- 127.0.0.1:${b3};
    ~*^gamma grp;
    nowhere.example nores;
  }
  map $http_x_pick $nodefault { a 127.0.0.1:${b1}; ~^b 127.0.0.1:${b2}; }
  map $http_x_host $hh { hostnames; default 127.0.0.1:${b1}; .ex.test 127.0.0.1:${b2}; www.ex.* 127.0.0.1:${b3}; }
  map $host $byhost {
    hostnames;
    default 127.0.0.1:${b1};
    .ex.test grp;
    *.b.ex.test 127.0.0.1:${b3};
    www.ex.* 127.0.0.1:${b2};
    ~^re\\d localhost:${b3};
  }
  map $request_method $bymethod { default 127.0.0.1:${b1}; post grp; ~^P 127.0.0.1:${b3}; }
  map $http_user_agent $bad_bot { default 0; ~*(curl|wget) 1; curl/safe 0; ~bot 1; "" 1; }
  map $http_x_level $level { default low; high high; ~^h mid; }
  map $http_x_e $e { default yes; ~^x* 0; }
  server {
    listen 127.0.0.1:${port} default_server;
    location / { proxy_pass http://$byhost; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name d.test;
    location /t/ { proxy_pass http://$pool; }
    location /n/ { proxy_pass http://$nodefault; }
    location /h/ { proxy_pass http://$hh; }
    location /m/ { proxy_pass http://$bymethod; }
    location /static/ { proxy_pass http://localhost:${b3}; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name g.test;
    if ($bad_bot) { return 403; }
    location / {
      if ($level = mid) { return 418; }
      if ($level != low) { return 419; }
      if ($e) { return 420; }
      proxy_pass http://127.0.0.1:${b1};
    }
  }
`;
}

interface Case {
  host: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

const TENANTS = ['tenant-1.example', 'Tenant-1.Example', 'tenant-2.example', 'TENANT-2.EXAMPLE', 'beta-x', 'Beta-x', 'xbeta-', 'gamma1', 'GAMMA', 'nowhere.example', 'other', '', null];
const PICKS = ['a', 'A', 'b', 'B', 'c', '', null];
const XHOSTS = ['ex.test', '.ex.test', '..ex.test', 'www.ex.', 'EX.test.', 'a.ex.test', 'a.ex.test.', 'www.ex.org', 'www.ex.org.', 'www.ex.', 'www.ex..', 'ex.test..', 'x.test', null];
const HOSTS = ['ex.test', '.b.ex.test', 'EX.TEST', 'a.ex.test', 'x.b.ex.test', 'b.ex.test', 'www.ex.org', 'WWW.EX.org.', 're1.x', 'RE2.x:8080', 're.x', 'other.x'];
const AGENTS = ['curl/8', 'Wget/1', 'curl/safe', 'CURL/SAFE', 'mybot', 'myBot', 'firefox', '', null];
const LEVELS = ['high', 'HIGH', 'hx', 'low', 'x', '', null];
const ES = ['x', 'xx', 'y', '', null];

function cases(): Case[] {
  const out: Case[] = [];
  const withHeader = (name: string, v: string | null): Record<string, string> => (v === null ? {} : { [name]: v });
  for (const t of TENANTS) out.push({ host: 'd.test', path: '/t/a', headers: withHeader('X-Tenant', t) });
  for (const p of PICKS) out.push({ host: 'd.test', path: '/n/a', headers: withHeader('X-Pick', p) });
  for (const h of XHOSTS) out.push({ host: 'd.test', path: '/h/a', headers: withHeader('X-Host', h) });
  for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) out.push({ host: 'd.test', path: '/m/a', method: m });
  for (const h of HOSTS) out.push({ host: h, path: '/x' });
  for (const a of AGENTS) out.push({ host: 'g.test', path: '/p', headers: { 'User-Agent': 'firefox', ...withHeader('User-Agent', a) } });
  for (const a of AGENTS) for (const l of LEVELS) out.push({ host: 'g.test', path: '/p', headers: { ...withHeader('User-Agent', a ?? 'firefox'), ...withHeader('X-Level', l) } });
  for (const e of ES) for (const l of ['low', 'high']) out.push({ host: 'g.test', path: '/q', headers: { 'User-Agent': 'firefox', 'X-Level': l, ...withHeader('X-E', e) } });
  return out;
}

describe.skipIf(!nginxAvailable())('http map: nginx and the compiled Envoy configuration route each request alike', () => {
  let port = 0;
  let backends: number[] = [];
  let nginx: NginxInstance;
  let stopBackends: () => Promise<void> = async () => {};
  let compiled: CompileResult;

  beforeAll(async () => {
    [port, ...backends] = await freePorts(4);
    stopBackends = (await startEchoBackends(backends)).stop;
    const text = httpBody(port!, backends);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [port!]);
    compiled = compileText(testConfig('/tmp/unused', text));
  });

  afterAll(async () => {
    await nginx?.stop();
    await stopBackends();
  });

  function clusterPort(cluster: string): number {
    const c = compiled.bootstrap.static_resources.clusters.find((x: { name: string }) => x.name === cluster);
    return c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value;
  }

  function envoyAnswer(c: Case): string {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = v;
    const d = evaluator(compiled.bootstrap)({ port, address: '127.0.0.1', host: c.host, path: c.path, method: c.method ?? 'GET', headers });
    if (d.kind === 'route' && d.cluster) return `backend ${clusterPort(d.cluster)}`;
    return String(d.status);
  }

  function modelAnswer(c: Case): string {
    const r = routeNginx(compiled.ir!, { port, address: '127.0.0.1', host: c.host, target: c.path, method: c.method ?? 'GET', headers: c.headers ?? {} });
    const o = r.outcome;
    return o.kind === 'proxy' ? `backend ${clusterPort(o.cluster)}` : String(o.status);
  }

  test('every request: the same backend or status in nginx, in Envoy and in the nginx model', async () => {
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (const c of cases()) {
      const res = await probe(port, c.host, c.path, c.method ?? 'GET', undefined, c.headers ?? {});
      const real = res.headers['x-echo-backend'] ? `backend ${res.headers['x-echo-backend']}` : String(res.status);
      const envoy = envoyAnswer(c);
      const model = modelAnswer(c);
      seen.add(real);
      if (real !== envoy || real !== model) mismatches.push(`${c.method ?? 'GET'} ${c.host}${c.path} ${JSON.stringify(c.headers ?? {})}: nginx ${real}, envoy ${envoy}, model ${model}`);
    }
    expect(mismatches).toEqual([]);
    // every kind of answer was exercised: the three backends, no resolver, no default (500), each guard
    expect([...seen].sort()).toEqual([`backend ${backends[0]}`, `backend ${backends[1]}`, `backend ${backends[2]}`, '403', '418', '419', '420', '500', '502'].sort());
  });

  test('the maps, their keys and their uses are reported translated or approximated, with the reason', () => {
    const maps = reportLines(compiled, 'map');
    expect(maps.length).toBe(8);
    for (const m of maps) expect(m.class, m.reason).toMatch(/^(translated|approximated)$/);
    expect(maps.find((m) => /\$host →/.test(m.reason))!.class).toBe('translated');
    expect(maps.find((m) => /\$http_x_tenant/.test(m.reason))!.reason).toMatch(/several x-tenant lines: nginx reads the first/);
    const passes = reportLines(compiled, 'proxy_pass').filter((p) => /takes \$/.test(p.reason));
    expect(passes.length).toBe(5);
    expect(passes.find((p) => /\$pool/.test(p.reason))!.reason).toMatch(/"nores" → 502 \(no upstream nores and no `resolver`\)/);
    const ifs = reportLines(compiled, 'if');
    expect(ifs.length).toBe(4);
    for (const i of ifs) expect(i.reason).toMatch(/^route first for the requests whose \$\w+ \(the map at/);
  });
});
