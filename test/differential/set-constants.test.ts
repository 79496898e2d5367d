// `set` constants in proxy_pass (the `set $upstream_app …; proxy_pass
// http://$upstream_app:$upstream_port;` idiom) against real nginx: the backend
// nginx reaches (an address, an upstream block found by name, the implicit
// upstream of a literal proxy_pass), its 502 where it has no resolver, its 500 for
// an invalid evaluated URL, the upstream path and Host, must be the evaluator's
// reading of the compiled configuration. Where a value is not the same on every
// request (set inside `if`, after a conditional `rewrite … break`, inherited from
// an enclosing location) the report says so and the route is not guessed.
// `$request_uri` as the URI part is what a proxy_pass without one sends, as long
// as nothing in the server changes the URI (rewrite, try_files, error_page).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe, startEchoBackends, type EchoReply } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

function httpBody(port: number, [b1, b2, b3]: number[]): string {
  return `
  upstream grp { server 127.0.0.1:${b2}; }
  server {
    listen 127.0.0.1:${port};
    server_name a.test;
    location /ip/ { set $up 127.0.0.1:${b1}; proxy_pass http://$up; }
    location /grp/ { set $u grp; proxy_pass http://$u; }
    location /GRP/ { set $u GRP; proxy_pass http://$u; }
    location /GRPs/ { proxy_pass http://GRP; }
    location /grpport/ { set $u grp:${b2}; proxy_pass http://$u; }
    location /host/ { set $u localhost:${b1}; proxy_pass http://$u; }
    location /implicit/ { set $u localhost:${b3}; proxy_pass http://$u; }
    location /static/ { proxy_pass http://localhost:${b3}; }
    location /proto/ { set $p http; proxy_pass $p://127.0.0.1:${b2}; }
    location /bad/ { set $p ftp; proxy_pass $p://127.0.0.1:${b2}; }
    location /parts/ { set $h 127.0.0.1; set $n ${b3}; set $a $h:$n; proxy_pass http://$a; }
    location /brk/ { set $v 127.0.0.1:${b1}; break; set $v 127.0.0.1:${b2}; proxy_pass http://$v; }
    location /ifret/ { set $w 127.0.0.1:${b2}; if ($request_method = POST) { return 418; } proxy_pass http://$w; }
    location ~ ^/cap/(?<c>.*)$ { set $c 127.0.0.1:${b1}; proxy_pass http://$c; }
    location /cond/ { set $k 127.0.0.1:${b1}; if ($request_method = POST) { set $k 127.0.0.1:${b2}; } proxy_pass http://$k; }
    location /rb/ { rewrite ^/rb/x$ /rb/y break; set $q 127.0.0.1:${b1}; proxy_pass http://$q; }
    location /uri/ { set $z 127.0.0.1:${b1}; proxy_pass http://$z/fixed; }
    location /rux/ { proxy_pass http://grp$request_uri; }
    location /le/ { set $e 127.0.0.1:${b1}; proxy_pass http://$e; limit_except GET { allow all; } }
  }
  server {
    listen 127.0.0.1:${port};
    server_name b.test;
    set $s 127.0.0.1:${b1};
    location /srv/ { proxy_pass http://$s; }
    location /own/ { set $t 127.0.0.1:${b2}; proxy_pass http://$t; }
    location /ru/ { proxy_pass http://grp$request_uri; }
    location /le2/ { proxy_pass http://$s; limit_except GET { allow all; } }
    location /ru2/ { set $g 127.0.0.1:${b3}; proxy_pass http://$g$request_uri; }
  }
`;
}

/** Locations whose variable is not constant: reported, answered 502 by the route (nginx answers per request). */
const NOT_CONSTANT = ['/cond/a', '/rb/a', '/uri/a', '/rux/a', '/le/a'];
const PATHS = ['/ip/a?q=1', '/grp/a', '/GRP/a', '/GRPs/a', '/grpport/a', '/host/a', '/implicit/a', '/static/a', '/proto/a', '/bad/a', '/parts/a', '/brk/a', '/ifret/a', '/cap/a'];

describe.skipIf(!nginxAvailable())('set constants in proxy_pass: nginx and the compiled Envoy configuration reach the same backend', () => {
  let port = 0;
  let backends: number[] = [];
  let nginx: NginxInstance;
  let stopBackends: () => Promise<void> = async () => {};
  let text = '';
  let compiled: CompileResult;

  beforeAll(async () => {
    [port, ...backends] = await freePorts(4);
    stopBackends = (await startEchoBackends(backends)).stop;
    text = httpBody(port!, backends);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [port!]);
    compiled = compileText(testConfig('/tmp/unused', text));
  });

  afterAll(async () => {
    await nginx?.stop();
    await stopBackends();
  });

  /** The port a cluster's (single) endpoint listens on. */
  function clusterPort(cluster: string): number {
    const c = (compiled.bootstrap as { static_resources: { clusters: { name: string; load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] } }[] } }).static_resources.clusters.find((x) => x.name === cluster);
    return c!.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value;
  }

  function envoyOutcome(host: string, path: string, method: string): string {
    const d = evaluator(compiled.bootstrap)({ port, address: '127.0.0.1', host, path, method });
    if (d.kind === 'route' && d.cluster) return `backend ${clusterPort(d.cluster)} ${d.upstreamPath} host=${d.upstreamHost}`;
    return String(d.status);
  }

  test('every constant proxy_pass: the same backend, path and Host, or the same error', async () => {
    const mismatches: string[] = [];
    const seen = new Set<string>();
    const cases = [...PATHS.map((p) => ['a.test', p] as const), ['b.test', '/srv/a'] as const, ['b.test', '/own/a'] as const, ['b.test', '/ru/a?q=1'] as const, ['b.test', '/le2/a'] as const, ['b.test', '/ru2/b?q=%41'] as const];
    for (const [host, path] of cases) {
      for (const method of ['GET', 'POST']) {
        const res = await probe(port, host, path, method);
        const echo = res.headers['x-echo-backend'] ? (JSON.parse(res.body) as EchoReply) : null;
        const real = echo ? `backend ${echo.backendPort} ${echo.path} host=${echo.host}` : String(res.status);
        const envoy = envoyOutcome(host, path, method);
        seen.add(real.split(' ')[0] === 'backend' ? `backend ${real.split(' ')[1]}` : real);
        if (real !== envoy) mismatches.push(`${method} ${host}${path}: nginx ${real}, envoy ${envoy}`);
      }
    }
    expect(mismatches).toEqual([]);
    // Each way nginx reaches (or fails to reach) a target was exercised.
    expect([...seen].sort()).toEqual([`backend ${backends[0]}`, `backend ${backends[1]}`, `backend ${backends[2]}`, '418', '500', '502'].sort());
  });

  test('a value that differs between requests is reported, not guessed', async () => {
    const passes = reportLines(compiled, 'proxy_pass');
    for (const path of NOT_CONSTANT) {
      const location = `location ${path.slice(0, path.lastIndexOf('/') + 1)} `;
      const line = testConfig('/tmp/unused', text).split('\n').findIndex((l) => l.includes(location)) + 1;
      const entry = passes.find((e) => e.line === line);
      expect(entry, path).toBeDefined();
      expect(entry!.class).toBe('unsupported');
      expect(envoyOutcome('a.test', path, 'GET')).toBe('502');
    }
    const reasons = passes.filter((e) => e.class === 'unsupported').map((e) => e.reason);
    expect(reasons.some((r) => /set conditionally by the `if`/.test(r))).toBe(true);
    expect(reasons.some((r) => /`rewrite … break` at .* may end the rewrite phase before/.test(r))).toBe(true);
    expect(reasons.some((r) => /URI part in place of the whole request URI/.test(r))).toBe(true);
    expect(reasons.some((r) => /\(\$request_uri\), where `rewrite` at .* may have changed the URI/.test(r))).toBe(true);
    expect(reasons.some((r) => /for the methods `limit_except` does not list, nginx skips this location's `set`/.test(r))).toBe(true);
    // ... where nginx answers the listed method from the location's set and the others without it (500: "http://").
    expect((await probe(port, 'a.test', '/le/a', 'GET')).headers['x-echo-backend']).toBe(String(backends[0]));
    expect((await probe(port, 'a.test', '/le/a', 'POST')).status).toBe(500);
    // nginx's answers there depend on the request: the cases are real, not artefacts of the test.
    expect((await probe(port, 'a.test', '/cond/a', 'GET')).headers['x-echo-backend']).toBe(String(backends[0]));
    expect((await probe(port, 'a.test', '/cond/a', 'POST')).headers['x-echo-backend']).toBe(String(backends[1]));
  });

  test('the report: the sets behind a translated proxy_pass are translated, the others stay reported', () => {
    const sets = reportLines(compiled, 'set');
    const translated = sets.filter((e) => e.class === 'translated');
    expect(translated.every((e) => /^constant: \$\w+ is "[^"]*" on every request reaching/.test(e.reason))).toBe(true);
    // /brk/'s second set never runs; /cond/'s, /rb/'s and /uri/'s values are not used.
    expect(sets.filter((e) => e.class !== 'translated').length).toBeGreaterThanOrEqual(5);
    const pass = reportLines(compiled, 'proxy_pass');
    expect(pass.some((e) => e.class === 'translated' && /reached as upstream grp/.test(e.reason))).toBe(true);
    expect(pass.some((e) => e.class === 'translated' && /has no `resolver` here/.test(e.reason))).toBe(true);
    expect(pass.some((e) => e.class === 'translated' && /reached as the upstream nginx made of a literal proxy_pass/.test(e.reason))).toBe(true);
  });
});
