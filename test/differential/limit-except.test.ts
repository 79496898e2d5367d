// limit_except against real nginx: clients on four loopback addresses send every
// method to locations whose limit_except denies everyone, lets in some, inherits
// or replaces the location's rules, sits beside `return`, `rewrite` and `if` (which
// nginx runs only for the listed methods), and above a nested location (which does
// not inherit it). nginx's answer (and, when it proxies, the path the backend saw)
// must be the evaluator's reading of the compiled configuration.
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
    location /a/ { limit_except GET { deny all; } ${pass} }
    location /gp/ { limit_except GET POST { allow 127.0.0.2; deny all; } ${pass} }
    location /inh/ { allow 127.0.0.2; allow 127.0.0.3; deny all; limit_except GET { } ${pass} }
    location /repl/ { allow 127.0.0.2; deny all; limit_except GET { allow 127.0.0.3; deny all; } ${pass} }
    location /nest/ {
      limit_except GET { deny all; }
      location /nest/in/ { ${pass} }
      ${pass}
    }
    location /ret/ { limit_except GET { deny all; } return 200 "ret\\n"; }
    location /ret2/ { limit_except GET { allow 127.0.0.2; deny all; } return 200 "ret\\n"; }
    location /rw/ { limit_except GET { allow 127.0.0.1; deny all; } rewrite ^ /a/moved last; }
    location /ifret/ {
      limit_except GET POST { deny all; }
      if ($request_method = POST) { return 201 "posted\\n"; }
      ${pass}
    }
    location /brk/ { limit_except GET { allow 127.0.0.4; deny all; } rewrite ^/brk/(.*)$ /moved/$1 break; ${pass} }
    location = /exact { allow 127.0.0.1; deny all; limit_except OPTIONS { } ${pass} }
    location /lower/ { limit_except get { deny all; } ${pass} }
    location /unix/ { allow 127.0.0.2; deny all; limit_except GET { deny unix:; } ${pass} }
    location /slash/ { limit_except GET { deny all; } ${pass} }
    location /open/ { ${pass} }
  }
`;
}

const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const PATHS = ['/a/x', '/gp/', '/inh/', '/repl/', '/nest/', '/nest/in/x', '/ret/', '/ret2/', '/rw/x', '/ifret/', '/brk/x', '/exact', '/lower/', '/unix/', '/slash', '/open/'];

type Outcome = string;

function nginxOutcome(res: { status: number; headers: Record<string, string>; body: string }, method: string): Outcome {
  if (res.headers['x-echo-backend']) return method === 'HEAD' ? 'proxied' : `proxied ${(JSON.parse(res.body) as EchoReply).path}`;
  if (res.headers.location) return `${res.status} → ${res.headers.location}`;
  return String(res.status);
}

describe.skipIf(!nginxAvailable())('limit_except: nginx and the compiled Envoy configuration answer every method alike', () => {
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

  function envoyOutcome(ev: ReturnType<typeof evaluator>, path: string, method: string, from: string): { outcome: Outcome; route: string } {
    const d = ev({ port, address: '127.0.0.1', remoteAddress: from, host: 'a.test', path, method });
    const route = d.routeName ?? '';
    if (d.kind === 'route' && d.cluster) return { outcome: method === 'HEAD' ? 'proxied' : `proxied ${d.upstreamPath}`, route };
    if (d.kind === 'redirect') return { outcome: `${d.status} → ${d.redirectLocation}`, route };
    return { outcome: String(d.status), route };
  }

  test('every client, path and method: the same answer', async () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const ev = evaluator(r.bootstrap);
    const mismatches: string[] = [];
    const staticMethods: string[] = [];
    const seen = new Set<string>();
    for (const path of PATHS) {
      for (const method of METHODS) {
        for (const from of CLIENTS) {
          const real = nginxOutcome(await probe(port, 'a.test', path, method, from), method);
          const envoy = envoyOutcome(ev, path, method, from);
          seen.add(real);
          // nginx's static module answers 405 to methods other than GET/HEAD/POST; the compiled
          // file fallback answers 404 to every method (a difference of file serving, reported as such).
          if (real === '405' && envoy.outcome === '404') staticMethods.push(`${method} ${path} from ${from} (${envoy.route})`);
          else if (real !== envoy.outcome) mismatches.push(`${method} ${path} from ${from}: nginx ${real}, envoy ${envoy.outcome}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Only where a return/rewrite location sends the other methods to the files, and the client is let in.
    expect(staticMethods.every((s) => /^(PUT|DELETE|PATCH|OPTIONS) (\/ret2\/ from 127\.0\.0\.2 \(server_0\/loc_6\/limit_except\)|\/rw\/x from 127\.0\.0\.1 \(server_0\/loc_7\))$/.test(s)), staticMethods.join('\n')).toBe(true);
    expect(staticMethods.length).toBe(8);
    // The cases the config means to cover were reached.
    expect([...seen]).toEqual(expect.arrayContaining(['403', '404', '200', '201', 'proxied', 'proxied /a/x', 'proxied /a/moved', 'proxied /moved/x', 'proxied /brk/x', 'proxied /nest/in/x']));
    expect([...seen].some((o) => o.startsWith('301 → '))).toBe(true);
  });

  test('the nginx model answers as nginx does (explain --from IP with a method)', async () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const mismatches: string[] = [];
    for (const path of PATHS) {
      for (const method of METHODS) {
        for (const from of CLIENTS) {
          const real = nginxOutcome(await probe(port, 'a.test', path, method, from), method);
          const model = routeNginx(r.ir!, { port, address: '127.0.0.1', remoteAddress: from, host: 'a.test', target: path, method });
          const status = model.outcome.kind === 'proxy' ? 'proxied' : String(model.outcome.status);
          if (status !== real.replace(/ .*/, '') && !(real === '405' && status === '404')) mismatches.push(`${method} ${path} from ${from}: nginx ${real}, model ${status}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  test('the report: limit_except and its allow/deny translated', () => {
    const r = compileText(testConfig('/tmp/unused', text));
    const le = reportLines(r, 'limit_except');
    expect(le.length).toBe(14);
    expect(le.every((e) => e.class === 'translated' && /RBAC policies on `:method`/.test(e.reason))).toBe(true);
    const unix = [...reportLines(r, 'deny')].filter((e) => e.class === 'ignored');
    expect(unix.length).toBe(1);
  });
});
