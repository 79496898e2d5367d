// allow/deny (ngx_http_access_module) against real nginx: clients connect from
// several loopback addresses to locations whose rules are inherited, replaced,
// nested, and combined with `return`, `if … return` and the slash redirect, which
// nginx answers before its access check. nginx's status (and, when it proxies,
// the path the backend saw) must be the evaluator's reading of the compiled
// configuration: 403 from the routes' RBAC where nginx denies.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { routeNginx } from '../../src/sim/nginx/index.js';
import { freePort, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe, startEchoBackends, type EchoReply } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';

function httpBody(port: number, backend: number): string {
  const pass = `proxy_pass http://127.0.0.1:${backend};`;
  return `
  server {
    listen 127.0.0.1:${port};
    server_name a.test;
    allow 127.0.0.2;
    deny 127.0.0.3;
    location /open/ { ${pass} }
    location /admin/ { allow 127.0.0.1; deny all; ${pass} }
    location /ret/ { deny all; return 200 "ret\\n"; }
    location /files/ { deny 127.0.0.1; }
    location /nested/ {
      allow 127.0.0.0/30;
      deny all;
      location /nested/deep/ { deny 127.0.0.2; ${pass} }
      ${pass}
    }
    location /cond/ {
      deny all;
      if ($request_method = POST) { return 201 "posted\\n"; }
      ${pass}
    }
    location = /exact { allow 127.0.0.3; deny all; ${pass} }
    location /v6only/ { allow ::1; deny all; ${pass} }
    location /rw/ { deny all; rewrite ^ /open/moved last; }
    location /slash/ { deny all; ${pass} }
    # try_files to a named location: nginx checks the location's rules before try_files and the named location's after
    location /tf/ { allow 127.0.0.1; allow 127.0.0.3; deny all; try_files $uri @backend; }
    location /tfboth/ { allow 127.0.0.0/30; deny all; try_files $uri @strict; }
    location /tfinh/ { try_files $uri @backend; }
    location /tfnone/ { allow all; try_files $uri @strict; }
    location /tfrw/ { deny all; rewrite ^ /tfboth/moved last; }
    location @backend { ${pass} }
    location @strict { deny 127.0.0.2; allow 127.0.0.1; allow 127.0.0.3; deny all; ${pass} }
  }
  server {
    listen 127.0.0.1:${port};
    server_name b.test;
    location / { ${pass} }
  }
`;
}

const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const PATHS = ['/open/x', '/admin/', '/ret/', '/files/a.txt', '/nested/', '/nested/deep/x', '/cond/', '/exact', '/v6only/', '/rw/a', '/slash', '/other', '/tf/x', '/tfboth/x', '/tfinh/x', '/tfnone/x', '/tfrw/a'];

type Outcome = string;

function nginxOutcome(res: { status: number; headers: Record<string, string>; body: string }): Outcome {
  if (res.headers['x-echo-backend']) return `proxied ${(JSON.parse(res.body) as EchoReply).path}`;
  if (res.headers.location) return `${res.status} → ${res.headers.location}`;
  return String(res.status);
}

describe.skipIf(!nginxAvailable())('allow/deny: nginx and the compiled Envoy configuration let in the same clients', () => {
  let port = 0;
  let backend = 0;
  let nginx: NginxInstance;
  let stopBackends: () => Promise<void> = async () => {};
  let text = '';

  beforeAll(async () => {
    port = await freePort();
    backend = await freePort();
    stopBackends = (await startEchoBackends([backend])).stop;
    text = httpBody(port, backend);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [port]);
  });

  afterAll(async () => {
    await nginx?.stop();
    await stopBackends();
  });

  function envoyOutcome(ev: ReturnType<typeof evaluator>, host: string, path: string, method: string, from: string): Outcome {
    const d = ev({ port, address: '127.0.0.1', remoteAddress: from, host, path, method });
    if (d.kind === 'route' && d.cluster) return `proxied ${d.upstreamPath}`;
    if (d.kind === 'redirect') return `${d.status} → ${d.redirectLocation}`;
    return String(d.status);
  }

  test('try_files to a named location: the nginx model and the compiled routes refuse whom nginx refuses (both rule sets)', async () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const ev = evaluator(r.bootstrap);
    const rows: string[] = [];
    const wrong: string[] = [];
    for (const path of ['/tf/x', '/tfboth/x', '/tfinh/x', '/tfnone/x', '/tfrw/a']) {
      for (const from of CLIENTS) {
        const real = nginxOutcome(await probe(port, 'a.test', path, 'GET', from));
        const model = routeNginx(r.ir!, { port, address: '127.0.0.1', host: 'a.test', target: path, method: 'GET', remoteAddress: from });
        const modelled = model.outcome.kind === 'proxy' ? 'proxied' : 'status' in model.outcome ? String(model.outcome.status) : 'no status';
        const envoy = envoyOutcome(ev, 'a.test', path, 'GET', from);
        rows.push(`${path} ${from} ${real}`);
        if (modelled !== real.replace(/ .*/, '') || envoy !== real) wrong.push(`${path} from ${from}: nginx ${real}, model ${modelled}, envoy ${envoy}`);
      }
    }
    expect(wrong).toEqual([]);
    // each location's rules refuse someone the other's let in: the first location's (/tf/ .2 and .4, /tfboth/ .4), the named one's (/tf/ .3 by the server's rules, /tfboth/ .2)
    expect(rows).toEqual(expect.arrayContaining(['/tf/x 127.0.0.1 proxied /tf/x', '/tf/x 127.0.0.2 403', '/tf/x 127.0.0.3 403', '/tf/x 127.0.0.4 403', '/tfboth/x 127.0.0.2 403', '/tfboth/x 127.0.0.4 403', '/tfboth/x 127.0.0.3 proxied /tfboth/x', '/tfnone/x 127.0.0.2 403', '/tfrw/a 127.0.0.1 proxied /tfboth/moved']));
  });

  test('every client, path and method: the same answer', async () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const ev = evaluator(r.bootstrap);
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (const host of ['a.test', 'b.test']) {
      for (const path of PATHS) {
        for (const method of ['GET', 'POST']) {
          for (const from of CLIENTS) {
            const real = nginxOutcome(await probe(port, host, path, method, from));
            const envoy = envoyOutcome(ev, host, path, method, from);
            seen.add(real);
            if (real !== envoy) mismatches.push(`${method} ${host}${path} from ${from}: nginx ${real}, envoy ${envoy}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The cases the config means to cover were reached: denials, proxying, returns before access, file 404s, redirects.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['403', '404', '200', '201', 'proxied /open/x', 'proxied /open/moved']));
    expect([...seen].some((o) => o.startsWith('301 → '))).toBe(true);
  });

  test('the report: allow/deny translated, with what nginx checks before them', () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const lines = [...reportLines(r, 'allow'), ...reportLines(r, 'deny')];
    expect(lines.length).toBe(27);
    expect(lines.every((e) => e.class === 'translated' && /RBAC filter.*`return`, redirects and rewrites come before/.test(e.reason))).toBe(true);
  });
});
