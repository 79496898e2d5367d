// headers-more (more_set_headers, more_clear_headers, more_set_input_headers,
// more_clear_input_headers) against real nginx with the module loaded: every
// response header and every upstream request header nginx's edits touch must be
// what the evaluator's reading of the compiled configuration gives (the route's
// lists applied to what the backend sent, the connection manager's Server last),
// and what the nginx model says. Server and location levels (inherited, added to,
// nested), proxied responses, `return`s, redirects, 404s (a location's and the
// server's), the slash redirect, add_header next to them, -r, proxy_set_header of
// the same name, Server set and cleared.
import { request, createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluator, requestHeadersSent, responseHeadersSent, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { editRequestHeaders, editResponseHeaders, proxiedResponseBase, routeNginx } from '../../src/sim/nginx/index.js';
import { freePorts, HEADERS_MORE_MODULE, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { compileText, reportLines } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

type Headers = Record<string, string[]>;

/** What the backend answers with, besides the JSON of the request headers it got. */
const UPSTREAM: Headers = { 'x-up': ['u1'], 'x-keep': ['k'], server: ['upstream-server'], 'content-type': ['application/json'] };

function httpBody(a: number, b: number, backend: number): string {
  const pass = `proxy_pass http://127.0.0.1:${backend};`;
  return `
  more_set_headers "X-Http: h";
  server {
    listen 127.0.0.1:${a};
    server_name a.test;
    more_set_headers "X-Srv: s";
    more_clear_headers Server;
    location /p/ { more_set_headers "X-Loc: l" "X-Up: replaced"; ${pass} }
    location /clr/ { more_clear_headers X-Up; more_set_headers "X-Frame-Options : DENY"; ${pass} }
    location /ret/ { return 200 "ok\\n"; }
    location /r404/ { return 404; }
    location /redir/ { more_set_headers "X-Redir: r"; return 302 /elsewhere; }
    location /add/ { add_header X-Add a always; more_clear_headers X-Add; more_set_headers "X-Both: m"; add_header X-Both a always; return 200 "x"; }
    location /order/ { more_set_headers "X-O: 1"; more_clear_headers X-O; return 200; }
    location /order2/ { more_clear_headers X-O; more_set_headers "X-O: 2"; return 200; }
    location /in/ { more_set_input_headers "X-In: i"; more_set_input_headers -r "X-R: r"; more_clear_input_headers X-Gone; ${pass} }
    location /inpsh/ { more_set_input_headers "X-In: i" "X-Other: o"; proxy_set_header X-In psh; ${pass} }
    location /var/ { more_set_headers "X-Addr: $remote_addr"; return 200; }
    location /empty/ { more_set_headers "X-Up:" "X-Srv"; ${pass} }
    location /nested/ {
      more_set_headers "X-Outer: o";
      location /nested/in/ { more_set_headers "X-Nest: n"; return 200; }
      return 200;
    }
    location /slash/ { more_set_headers "X-Slash: 1"; ${pass} }
    location /files/ { more_set_headers "X-Files: f"; }
  }
  server {
    listen 127.0.0.1:${b};
    server_name b.test;
    more_set_headers "Server: my-proxy";
    location / { ${pass} }
    location /s/ { more_set_headers "X-S: 1"; return 200; }
  }
`;
}

interface Probe {
  port: 'a' | 'b';
  path: string;
  headers?: Record<string, string>;
}

const PROBES: Probe[] = [
  { port: 'a', path: '/p/x' },
  { port: 'a', path: '/clr/x' },
  { port: 'a', path: '/ret/' },
  { port: 'a', path: '/r404/' },
  { port: 'a', path: '/redir/' },
  { port: 'a', path: '/add/' },
  { port: 'a', path: '/order/' },
  { port: 'a', path: '/order2/' },
  { port: 'a', path: '/in/', headers: { 'X-Gone': 'g', 'X-In': 'client' } },
  { port: 'a', path: '/in/', headers: { 'X-R': 'orig', 'X-Gone': 'g' } },
  { port: 'a', path: '/inpsh/', headers: { 'X-In': 'client' } },
  { port: 'a', path: '/var/' },
  { port: 'a', path: '/empty/' },
  { port: 'a', path: '/nested/' },
  { port: 'a', path: '/nested/in/' },
  { port: 'a', path: '/slash' },
  { port: 'a', path: '/files/a.txt' },
  { port: 'a', path: '/nowhere' },
  { port: 'b', path: '/' },
  { port: 'b', path: '/s/' },
];

interface Answer {
  status: number;
  /** response headers: x-* and server */
  response: Headers;
  /** x-* request headers the backend got (null: not proxied) */
  upstream: Headers | null;
}

/** Response headers headers-more can touch here (nginx's Date, framing and Content-Type left out). */
function interesting(h: Headers): Headers {
  return Object.fromEntries(Object.entries(h).filter(([k]) => (k.startsWith('x-') && k !== 'x-echo') || k === 'server').sort(([x], [y]) => (x < y ? -1 : 1)));
}

function xOnly(h: Headers): Headers {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-')).sort(([x], [y]) => (x < y ? -1 : 1)));
}

function send(port: number, host: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host, ...headers }, agent: false, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const response: Headers = {};
        // repeated headers as nginx sent them, in order
        for (let i = 0; i < res.rawHeaders.length; i += 2) (response[res.rawHeaders[i]!.toLowerCase()] ??= []).push(res.rawHeaders[i + 1]!);
        const echoed = res.headers['x-echo'] !== undefined;
        const got = echoed ? (JSON.parse(body) as Record<string, string>) : null;
        const upstream = got ? xOnly(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, [v]]))) : null;
        resolve({ status: res.statusCode ?? 0, response: interesting(response), upstream });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${host} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** The backend: answers UPSTREAM's headers (and x-echo) with the request headers it got as JSON. */
async function startBackend(port: number): Promise<Server> {
  const srv = createServer((req, res) => {
    for (const [k, v] of Object.entries(UPSTREAM)) res.setHeader(k, v);
    res.setHeader('x-echo', '1');
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return srv;
}

/** What the evaluator says the client and the backend get. */
function envoyAnswer(d: EnvoyDecision, sent: Record<string, string>): Answer {
  const proxied = d.kind === 'route' && d.cluster !== undefined;
  const base = proxied ? UPSTREAM : {};
  const response = interesting(responseHeadersSent(base, d));
  const client = Object.fromEntries(Object.entries(sent).map(([k, v]) => [k.toLowerCase(), [v]]));
  return { status: d.status ?? (proxied ? 200 : 0), response, upstream: proxied ? xOnly(requestHeadersSent(client, d)) : null };
}

const skipReason = !nginxAvailable() ? 'nginx is not installed' : !HEADERS_MORE_MODULE ? 'the headers-more module (libnginx-mod-http-headers-more-filter) is not installed' : '';

describe.skipIf(skipReason !== '')(`headers-more: nginx with the module and the compiled Envoy configuration send the same headers${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let ports = { a: 0, b: 0 };
  let nginx: NginxInstance;
  let backend: Server;
  let text = '';
  let compiled: CompileResult;

  beforeAll(async () => {
    const [a, b, be] = await freePorts(3);
    ports = { a: a!, b: b! };
    backend = await startBackend(be!);
    text = httpBody(a!, b!, be!);
    const full = (prefix: string) => `load_module ${HEADERS_MORE_MODULE};\n${testConfig(prefix, text)}`;
    nginx = await startNginx(full, [a!, b!]);
    compiled = compileText(full('/tmp/unused'));
  });

  afterAll(async () => {
    await nginx?.stop();
    await new Promise<void>((resolve) => (backend ? (backend.closeAllConnections(), backend.close(() => resolve())) : resolve()));
  });

  test('every probe: the response headers and the upstream request headers nginx gives are the evaluator\'s', async () => {
    const ev = evaluator(compiled.bootstrap);
    const mismatches: string[] = [];
    for (const p of PROBES) {
      const host = p.port === 'a' ? 'a.test' : 'b.test';
      const real = await send(ports[p.port], host, p.path, p.headers);
      // nginx's default Server is its own name; Envoy's is `envoy` (reported globally): compare where headers-more decides it
      const envoy = envoyAnswer(ev({ port: ports[p.port], address: '127.0.0.1', host, path: p.path, headers: p.headers }), p.headers ?? {});
      if (p.port === 'a') expect(real.response.server, `${p.path}: more_clear_headers Server`).toBeUndefined();
      const label = `${host}${p.path} ${JSON.stringify(p.headers ?? {})}`;
      if (JSON.stringify(real) !== JSON.stringify(envoy)) mismatches.push(`${label}:\n  nginx ${JSON.stringify(real)}\n  envoy ${JSON.stringify(envoy)}`);
    }
    expect(mismatches).toEqual([]);
  });

  test('the nginx model edits the headers as nginx does (add_header aside: the model leaves it out)', async () => {
    const mismatches: string[] = [];
    for (const p of PROBES.filter((x) => x.path !== '/add/')) {
      const host = p.port === 'a' ? 'a.test' : 'b.test';
      const real = await send(ports[p.port], host, p.path, p.headers);
      const route = routeNginx(compiled.ir!, { port: ports[p.port], address: '127.0.0.1', host, target: p.path, headers: p.headers });
      const proxied = route.outcome.kind === 'proxy';
      const status = route.outcome.kind === 'proxy' ? 200 : route.outcome.status;
      const base = proxied ? proxiedResponseBase(UPSTREAM) : {};
      const response = editResponseHeaders(base, route.headersMore?.output ?? [], status, proxied ? 'application/json' : 'text/plain');
      const client = Object.fromEntries(Object.entries(p.headers ?? {}).map(([k, v]) => [k.toLowerCase(), [v]]));
      const upstreamSent = proxied ? xOnly(editRequestHeaders(client, route.headersMore?.input ?? [])) : null;
      // proxy_set_header X-In: the proxy module sends its own value in place of the client's
      if (upstreamSent && p.path === '/inpsh/') upstreamSent['x-in'] = ['psh'];
      const model: Answer = { status, response: interesting(response), upstream: upstreamSent };
      // the model writes no Server of nginx's own (nginx/1.22.x)
      const realResponse = { ...real.response };
      if (realResponse.server?.[0]?.startsWith('nginx')) delete realResponse.server;
      const seen = { ...real, response: realResponse };
      if (JSON.stringify(seen) !== JSON.stringify(model)) mismatches.push(`${host}${p.path}:\n  nginx ${JSON.stringify(seen)}\n  model ${JSON.stringify(model)}`);
    }
    expect(mismatches).toEqual([]);
  });

  test('the report: headers-more directives translated or approximated, Server at the connection manager', () => {
    const lines = [...reportLines(compiled, 'more_set_headers'), ...reportLines(compiled, 'more_clear_headers'), ...reportLines(compiled, 'more_set_input_headers'), ...reportLines(compiled, 'more_clear_input_headers')];
    expect(lines.length).toBe(25);
    expect(lines.filter((l) => l.class === 'unsupported')).toEqual([]);
    expect(reportLines(compiled, 'load_module')[0]?.class).toBe('ignored');
    const hcms = compiled.bootstrap.static_resources.listeners.map((l: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }) => l.filter_chains[0]!.filters[0]!.typed_config);
    const a = hcms.find((h: Record<string, unknown>) => h.stat_prefix === `listener_127.0.0.1_${ports.a}`);
    const b = hcms.find((h: Record<string, unknown>) => h.stat_prefix === `listener_127.0.0.1_${ports.b}`);
    expect(a.server_header_transformation).toBe('PASS_THROUGH');
    expect(a.route_config.response_headers_to_remove).toEqual(['server']);
    expect(b.server_name).toBe('my-proxy');
  });
});
