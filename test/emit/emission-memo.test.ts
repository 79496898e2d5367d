// What the emitter works out once per emission (header lists, linearisations,
// route settings) and how it takes settings off routes (undefined, then
// compacted) must not change what is emitted: these tests hold the shared
// conversions to the per-route ones and the compacted routes to plain data.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { httpCompiler } from '../support/compile-http.js';
import { emitBootstrap } from '../../src/emit/envoy/bootstrap.js';
import { compactRoutes } from '../../src/emit/envoy/compact.js';
import { Emission } from '../../src/emit/envoy/context.js';
import { CONTEXT_VARIABLES, HeaderLists, listenerContext } from '../../src/emit/envoy/header-lists.js';
import { formatHeaderValue } from '../../src/lower/headers.js';
import { templateOf } from '../../src/lower/util.js';
import type { HeaderOp, Src } from '../../src/ir/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compileText = httpCompiler('emission-memo');

const at: Src = { file: 't.conf', line: 1, col: 1 };
const op = (name: string, raw: string): HeaderOp => ({ name, value: templateOf(raw), source: at });

describe('header lists converted once per emission', () => {
  const a = { scheme: 'http' as const, port: 80, serverName: 'a.test', proxyHost: 'up-a' };
  const b = { scheme: 'https' as const, port: 8443, serverName: 'b.test', proxyHost: 'up-b' };

  it('every variable outside CONTEXT_VARIABLES converts the same on any listener, server and upstream', () => {
    const others = ['remote_addr', 'remote_port', 'server_addr', 'host', 'request_method', 'request_uri', 'server_protocol', 'request_id', 'ssl_server_name', 'upstream_addr', 'realip_remote_addr', 'http_x_custom', 'uri', 'args', 'cookie_sid', 'arg_page', 'binary_remote_addr', 'request_time', 'status', 'connection'];
    for (const v of others) expect(formatHeaderValue(templateOf(`$${v}`), a), v).toEqual(formatHeaderValue(templateOf(`$${v}`), b));
    // and each variable of the table does read its context (else the table costs conversions for nothing)
    for (const v of Object.keys(CONTEXT_VARIABLES)) expect(formatHeaderValue(templateOf(`$${v}`), a), v).not.toEqual(formatHeaderValue(templateOf(`$${v}`), b));
  });

  it('lists written alike share one frozen conversion; lists reading the context get one per context', () => {
    const lists = new HeaderLists();
    const ctxA = listenerContext(a.scheme, a.port, a.serverName);
    const ctxB = listenerContext(b.scheme, b.port, b.serverName);
    const plain1 = [op('X-Real-IP', '$remote_addr'), op('X-Id', '$request_id')];
    const plain2 = [op('X-Real-IP', '$remote_addr'), op('X-Id', '$request_id')];
    const first = lists.request(plain1, false, ctxA, a.proxyHost);
    expect(lists.request(plain2, false, ctxB, b.proxyHost)).toBe(first);
    expect(Object.isFrozen(first.add) && Object.isFrozen(first.add![0]) && Object.isFrozen(first.add![0].header)).toBe(true);
    const scheme = [op('X-Forwarded-Proto', '$scheme')];
    expect(lists.request(scheme, false, ctxA, a.proxyHost).add![0].header.value).toBe('http');
    expect(lists.request(scheme, false, ctxB, b.proxyHost).add![0].header.value).toBe('https');
    const upstream = [op('X-Up', '$proxy_host')];
    expect(lists.response(upstream, ctxA, 'one')![0].header.value).toBe('one');
    expect(lists.response(upstream, ctxA, 'two')![0].header.value).toBe('two');
    // websocket lists leave Upgrade and Connection to Envoy: a separate conversion of the same text
    const ws = [op('Upgrade', '$http_upgrade'), op('Connection', 'upgrade')];
    expect(lists.request(ws, true, ctxA, '').add).toBeNull();
    expect(lists.request(ws, false, ctxA, '').add!.map((h: Json) => h.header.key)).toEqual(['Upgrade']);
  });

  it('values that hold the separators of other lists do not meet them', () => {
    const lists = new HeaderLists();
    const ctx = listenerContext('http', 80, 'a.test');
    const one = lists.response([op('A', 'b\nc'), op('D', 'e')], ctx, '');
    const two = lists.response([op('A', 'b'), op('c\nD', 'e')], ctx, '');
    expect(one).not.toBe(two);
  });
});

describe('emitting the same IR twice', () => {
  it('gives the same bootstrap and reports the same notes (memos are per emission)', () => {
    // /abc nested in /a is never reached: the longer top-level /ab always wins
    const result = compileText('twice', 'server { listen 80; location /a { location /abc { return 200 "x"; } } location /ab { return 200 "y"; } }');
    const first = emitBootstrap(result.ir!);
    const second = emitBootstrap(result.ir!);
    expect(first.notes.some((n) => n.reason.includes('never reached'))).toBe(true);
    expect(second.notes).toEqual(first.notes);
    expect(JSON.stringify(second.bootstrap)).toBe(JSON.stringify(first.bootstrap));
  });
});

describe('settings taken off routes', () => {
  it('leave no undefined value in the bootstrap, and every route keeps its comment', () => {
    // status-gated add_header (leaves response_headers_to_add), gzip per location (per-filter configs hoisted),
    // one proxy_set_header list for every proxying location (request headers hoisted to the virtual host)
    const result = compileText(
      'compact',
      `proxy_set_header X-Real-IP $remote_addr;
       server { listen 80; server_name a.test; add_header X-Site a;
         location / { proxy_pass http://127.0.0.1:9000; }
         location /s/ { gzip on; proxy_pass http://127.0.0.1:9001; }
         location /r { return 301 /x; } }`,
    );
    const undefinedAt: string[] = [];
    const walk = (v: Json, path: string): void => {
      if (v === null || typeof v !== 'object') return;
      for (const k of Object.keys(v)) {
        if (v[k] === undefined) undefinedAt.push(`${path}.${k}`);
        else walk(v[k], `${path}.${k}`);
      }
    };
    walk(result.bootstrap, '');
    expect(undefinedAt).toEqual([]);
    const hcm = (result.bootstrap as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const vh = hcm.route_config.virtual_hosts.find((v: Json) => v.name === 'server_0');
    expect(vh.request_headers_to_add?.length).toBe(1); // it did move
    for (const r of vh.routes) {
      expect(r.request_headers_to_add).toBeUndefined();
      expect(result.comments.get(r), r.name).toMatch(/^ nginx: .*compact\.conf:\d+$/);
    }
  });

  it('compactRoutes copies a route without its undefined keys, in order, with its comment', () => {
    const em = new Emission();
    const keep = { name: 'k', match: { prefix: '/' }, route: { cluster: 'c' } };
    const drop = { name: 'd', match: { prefix: '/d' }, route: { cluster: 'c' }, request_headers_to_add: undefined, typed_per_filter_config: { x: 1 }, tracing: undefined };
    em.comment(keep, at);
    em.comment(drop, { file: 't.conf', line: 7, col: 1 });
    const rc = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [keep, drop] }] };
    compactRoutes(rc, em);
    const [k, d] = rc.virtual_hosts[0]!.routes as Json[];
    expect(k).toBe(keep);
    expect(d).not.toBe(drop);
    expect(Object.keys(d)).toEqual(['name', 'match', 'route', 'typed_per_filter_config']);
    expect(em.comments.get(d)).toBe(' nginx: t.conf:7');
    expect(em.comments.has(drop)).toBe(false);
  });
});

describe('shared parts of routes', () => {
  const routesOf = (bootstrap: Json, vhost: string): Json[] =>
    bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts.find((v: Json) => v.name === vhost).routes;
  const server = (name: string): string =>
    `server { listen 80; server_name ${name}; location = /healthz { return 200; } location /api/ { location ~ \\.php$ { return 403; } return 404; } location / { return 200 "ok"; } }`;

  it('servers with the same locations share frozen matches (and status-only direct responses); the values are those of each route', () => {
    const result = compileText('shared-matches', server('a.test') + '\n' + server('b.test'));
    const a = routesOf(result.bootstrap, 'server_0');
    const b = routesOf(result.bootstrap, 'server_1');
    expect(a.map((r) => r.name.replace('server_0', 'server_1'))).toEqual(b.map((r) => r.name));
    expect(a.map((r) => r.match)).toEqual([{ path: '/healthz' }, { safe_regex: { regex: '.*(?:\\.php$).*' }, headers: [{ name: ':path', string_match: { prefix: '/api/' } }] }, { prefix: '/api/' }, { prefix: '/' }]);
    a.forEach((r, i) => {
      expect(b[i].match, r.name).toBe(r.match);
      expect(Object.isFrozen(r.match), r.name).toBe(true);
    });
    const regex = a[1].match;
    expect(Object.isFrozen(regex.safe_regex) && Object.isFrozen(regex.headers) && Object.isFrozen(regex.headers[0]) && Object.isFrozen(regex.headers[0].string_match)).toBe(true);
    // status-only answers are shared; one with a body is the route's own
    expect(a[0].direct_response).toEqual({ status: 200 });
    expect(b[0].direct_response).toBe(a[0].direct_response);
    expect(a[3].direct_response).toEqual({ status: 200, body: { inline_string: 'ok' } });
    expect(b[3].direct_response).not.toBe(a[3].direct_response);
  });

  it('a route needing another match gets its own object (the shared one is left as it was)', () => {
    // `//` repeats the routes of `= /` (nginx merges the slashes; Envoy leaves `//`)
    const result = compileText('own-match', 'server { listen 80; server_name a.test; location = / { return 200; } location / { return 204; } } server { listen 80; server_name b.test; location = / { return 200; } }');
    const a = routesOf(result.bootstrap, 'server_0');
    const b = routesOf(result.bootstrap, 'server_1');
    const slashes = a.find((r) => r.name.endsWith('/slashes'));
    const root = a.find((r) => r.match.path === '/');
    expect(slashes?.match).toEqual({ path: '//' });
    expect(root.match).toEqual({ path: '/' });
    expect(b.find((r) => r.match.path === '/').match).toBe(root.match);
  });

  it('header lists that share a beginning are told apart; lists with the same headers share one conversion', () => {
    const lists = new HeaderLists();
    const ctx = listenerContext('http', 80, 'a.test');
    const short = lists.response([op('A', '1')], ctx, '');
    const long = lists.response([op('A', '1'), op('B', '2')], ctx, '');
    expect(short!.map((h: Json) => h.header.key)).toEqual(['A']);
    expect(long!.map((h: Json) => h.header.key)).toEqual(['A', 'B']);
    expect(lists.response([op('A', '1'), op('B', '2')], ctx, '')).toBe(long);
    expect(lists.response([op('A', '1'), op('B', '3')], ctx, '')).not.toBe(long);
  });
});

describe('redirect plans remembered per emission', () => {
  const redirectOf = (result: ReturnType<typeof compile>, vhost: string, name: string): Json =>
    (result.bootstrap as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts
      .find((v: Json) => v.name === vhost)
      .routes.find((r: Json) => r.name === name).redirect;

  it('a target reading $server_name is planned per server; one that does not is shared', () => {
    const result = compileText(
      'redirect-server-name',
      'server { listen 80; server_name a.test; location /o { return 301 https://$server_name$request_uri; } location /h { return 301 https://$host$request_uri; } }\n' +
        'server { listen 80; server_name b.test; location /o { return 301 https://$server_name$request_uri; } location /h { return 301 https://$host$request_uri; } }',
    );
    expect(redirectOf(result, 'server_0', 'server_0/loc_0').host_redirect).toBe('a.test');
    expect(redirectOf(result, 'server_1', 'server_1/loc_0').host_redirect).toBe('b.test');
    expect(redirectOf(result, 'server_0', 'server_0/loc_1').host_redirect).toBeUndefined();
    expect(redirectOf(result, 'server_1', 'server_1/loc_1')).toEqual(redirectOf(result, 'server_0', 'server_0/loc_1'));
  });

  it('the same target under different capture regexes, or as rewrite and as return, is planned for each', () => {
    const result = compileText(
      'redirect-contexts',
      'server { listen 80; server_name a.test;\n' +
        ' location ~ ^/a(.*)$ { return 301 /x$1; }\n location ~ ^/b(.*)$ { return 301 /x$1; }\n' +
        ' location /c { rewrite ^/c$ /lit permanent; return 200; }\n location /d { return 301 /lit; } }',
    );
    const a = redirectOf(result, 'server_0', 'server_0/loc_0');
    const b = redirectOf(result, 'server_0', 'server_0/loc_1');
    expect(a.regex_rewrite.pattern.regex).toContain('/a');
    expect(b.regex_rewrite.pattern.regex).toContain('/b');
    expect(a.regex_rewrite.substitution).toBe(b.regex_rewrite.substitution);
    // rewrite keeps the request's args (the path is rewritten); return replaces them
    const rewritten = redirectOf(result, 'server_0', 'server_0/loc_2/rewrite_0');
    expect(rewritten.regex_rewrite).toEqual({ pattern: { regex: '^.*$' }, substitution: '/lit' });
    expect(redirectOf(result, 'server_0', 'server_0/loc_3')).toMatchObject({ path_redirect: '/lit', strip_query: true });
  });
});
