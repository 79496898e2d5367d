// headers-more lowering and emission: commands parsed as the module parses them
// (nginx's errors at file:line:col), inherited additively, their net effect per
// header name, the route lists and the connection manager's Server, the report;
// proxy_socket_keepalive / grpc_socket_keepalive clusters (http and stream).
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, type CompileResult } from '../../src/compile.js';
import { netMoreOps } from '../../src/lower/more-headers.js';
import { evaluator, responseHeadersSent, requestHeadersSent } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources, hasErrors, formatFindings } from '../../src/validate/index.js';
import { backendOfCluster } from '../../src/lower/upstream.js';
import type { MoreHeaderOp } from '../../src/ir/types.js';
import { compileText, reportLines } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function http(body: string, top = ''): string {
  return `events {}\nhttp {\n upstream up { server 10.0.0.1:8080; }\n${top}\n server {\n  listen 8080;\n  server_name a.test;\n${body}\n }\n}\n`;
}

function compileError(text: string): { message: string; line: number; col: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-hm-'));
  try {
    writeFileSync(join(dir, 'nginx.conf'), text);
    const r = compile(join(dir, 'nginx.conf'), {});
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.severity === 'error')!;
    return { message: d.message, line: d.source.line, col: d.source.col };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const routesOf = (r: CompileResult, port = 8080): Json[] =>
  r.bootstrap.static_resources.listeners.find((l: Json) => l.address.socket_address.port_value === port).filter_chains[0].filters[0].typed_config.route_config.virtual_hosts.flatMap((v: Json) => v.routes);
const hcmOf = (r: CompileResult, port = 8080): Json =>
  r.bootstrap.static_resources.listeners.find((l: Json) => l.address.socket_address.port_value === port).filter_chains[0].filters[0].typed_config;
const ir = (r: CompileResult) => r.ir!;

describe('parsing as the module does', () => {
  test('`Name : value`, `Name:`, `Name`, options anywhere in the command', () => {
    const r = compileText(http('location / { more_set_headers "X-A : one two " "X-B:" X-C "X-D: $remote_addr" -s "404 500"; return 200; }'));
    const ops = ir(r).servers[0]!.locations[0]!.policy.moreHeaders!.output;
    expect(ops.map((o) => [o.name, o.value?.raw ?? null, o.statuses])).toEqual([
      ['X-A', 'one two ', [404, 500]],
      ['X-B', null, [404, 500]],
      ['X-C', null, [404, 500]],
      ['X-D', '$remote_addr', [404, 500]],
    ]);
  });

  test.each([
    ['more_set_headers -x "X: y";', 'more_set_headers: invalid option name: "-x"'],
    ['more_set_headers "X: y" -s;', 'more_set_headers: option -s takes an argument.'],
    ['more_set_headers -s 4a4 "X: y";', 'more_set_headers: invalid digit "a" found in the status code list "4a4"'],
    ['more_set_headers " ";', 'more_set_headers: no key found in the header argument:  '],
    ['more_clear_headers "*";', 'more_clear_headers: wildcard key too short: *'],
    ['more_set_input_headers -s 404 "X: y";', 'more_set_input_headers: invalid option name: "-s"'],
    ['more_clear_headers -r X;', 'more_clear_headers: invalid option name: "-r"'],
  ])('nginx\'s error at the directive: %s', (directive, message) => {
    const e = compileError(http(`  location / {\n   ${directive}\n  }`));
    expect(e).toEqual({ message, line: 9, col: 4 });
  });

  test('-a (later module versions) is accepted and reported, not translated', () => {
    const r = compileText(http('location / { more_set_headers -a "X: y"; return 200; }'));
    expect(reportLines(r, 'more_set_headers')[0]).toMatchObject({ class: 'unsupported', reason: expect.stringContaining('-a (append)') });
    expect(routesOf(r).some((x) => JSON.stringify(x).includes('"key":"X"'))).toBe(false);
  });
});

describe('inheritance and net effect', () => {
  test('outer levels first, then the inner ones (nothing replaced); a location without its own shares its parent\'s list', () => {
    const r = compileText(http(
      'more_set_headers "X-S: s";\n location /a/ { more_set_headers "X-A: a"; location /a/b/ { more_clear_headers X-H; return 200; } return 200; }\n location /c/ { proxy_read_timeout 5s; return 200; }',
      'more_set_headers "X-H: h";',
    ));
    const [a, c] = ir(r).servers[0]!.locations;
    const names = (ops: MoreHeaderOp[]) => ops.map((o) => `${o.name}=${o.value?.raw ?? '∅'}`);
    expect(names(ir(r).servers[0]!.edge!.moreHeaders!.output)).toEqual(['X-H=h', 'X-S=s']);
    expect(names(a!.policy.moreHeaders!.output)).toEqual(['X-H=h', 'X-S=s', 'X-A=a']);
    expect(names(a!.children[0]!.policy.moreHeaders!.output)).toEqual(['X-H=h', 'X-S=s', 'X-A=a', 'X-H=∅']);
    expect(c!.policy.moreHeaders).toBe(ir(r).servers[0]!.edge!.moreHeaders);
  });

  const op = (name: string, value: string | null, replaceOnly = false): MoreHeaderOp => ({
    name,
    value: value === null ? null : { raw: value, parts: [{ text: value }] },
    ...(replaceOnly ? { replaceOnly: true as const } : {}),
    source: { file: 'n', line: 1, col: 1 },
  });

  test('the last command of a name decides; -r after a set is a set, after a clear nothing, alone a conditional replace', () => {
    const net = netMoreOps([op('X-A', '1'), op('x-a', null), op('X-B', null), op('X-B', '2'), op('X-C', '1'), op('X-C', '3', true), op('X-D', null), op('X-D', '4', true), op('X-E', '5', true)], 'input');
    expect(net.map((n) => `${n.name}:${n.kind}${'value' in n ? '=' + n.value.raw : ''}`)).toEqual(['x-a:clear', 'X-B:set=2', 'X-C:set=3', 'X-D:clear', 'X-E:replace=5']);
    // untranslatable commands (wildcards) are left to the report
    expect(netMoreOps([op('X-*', null)], 'output')).toEqual([]);
  });
});

describe('route lists', () => {
  test('direct responses and redirects carry the response headers; add_header\'s come after; a clear does not remove add_header\'s', () => {
    const r = compileText(http('more_set_headers "X-S: s";\n location /r/ { add_header X-Add a always; more_clear_headers X-Add; return 302 /x; }\n location /d/ { return 204; }'));
    const ev = evaluator(r.bootstrap);
    const redirect = ev({ port: 8080, host: 'a.test', path: '/r/' });
    expect(redirect.kind).toBe('redirect');
    expect(responseHeadersSent({}, redirect)).toEqual({ server: ['envoy'], 'x-add': ['a'], 'x-s': ['s'] });
    const direct = ev({ port: 8080, host: 'a.test', path: '/d/' });
    expect(responseHeadersSent({}, direct)).toEqual({ server: ['envoy'], 'x-s': ['s'] });
    // the server's fallback (no location) has the server's
    expect(responseHeadersSent({}, ev({ port: 8080, host: 'a.test', path: '/none' }))).toEqual({ server: ['envoy'], 'x-s': ['s'] });
  });

  test('input headers: set, -r, clear; proxy_set_header of the same name (and nginx\'s Host) wins', () => {
    const r = compileText(http('location / { more_set_input_headers "X-A: a" "X-P: more" -r; more_set_input_headers "X-B: b"; more_clear_input_headers X-C; proxy_set_header X-P psh; proxy_pass http://up; }'));
    const d = evaluator(r.bootstrap)({ port: 8080, host: 'a.test', path: '/', headers: { 'x-p': 'client', 'x-c': 'c' } });
    expect(requestHeadersSent({ 'x-p': ['client'], 'x-c': ['c'], 'x-keep': ['k'] }, d)).toEqual({ 'x-b': ['b'], 'x-keep': ['k'], 'x-p': ['psh'] });
    expect(requestHeadersSent({ 'x-a': ['client'] }, d)).toMatchObject({ 'x-a': ['a'] });
  });

  test('what has no Envoy form is reported, never emitted', () => {
    const r = compileText(http('location / { more_set_headers -t text/html "X-T: t"; more_clear_headers "X-Hidden-*" Date; more_set_input_headers "Host: h" "X-V: $cookie_a"; proxy_pass http://up; }'));
    const classes = [...reportLines(r, 'more_set_headers'), ...reportLines(r, 'more_clear_headers'), ...reportLines(r, 'more_set_input_headers')].map((l) => [l.class, l.reason]);
    expect(classes).toEqual([
      ['unsupported', expect.stringContaining('-t (content-type condition on the response)')],
      ['unsupported', expect.stringMatching(/X-Hidden-\*: wildcard.*\| Date: Envoy's connection manager writes Date/)],
      ['unsupported', expect.stringMatching(/Host: Envoy's header lists cannot change Host.*\| X-V: \$cookie_a has no Envoy formatter/)],
    ]);
    const text = JSON.stringify(routesOf(r));
    expect(text).not.toMatch(/X-T|x-hidden|"date"|X-V/i);
  });
});

describe('Server at the connection manager', () => {
  test('the same on the whole listener: server_name, or PASS_THROUGH and removed; exact, no note', () => {
    const set = compileText(http('location / { return 200; }', 'more_set_headers "Server: edge";'));
    expect(hcmOf(set).server_name).toBe('edge');
    expect(JSON.stringify(routesOf(set))).not.toContain('edge');
    expect(responseHeadersSent({}, evaluator(set.bootstrap)({ port: 8080, host: 'a.test', path: '/' })).server).toEqual(['edge']);
    const clear = compileText(http('location / { proxy_pass http://up; }', 'more_clear_headers Server;'));
    expect(hcmOf(clear).server_header_transformation).toBe('PASS_THROUGH');
    expect(hcmOf(clear).route_config.response_headers_to_remove).toEqual(['server']);
    // an upstream's Server is removed by the route configuration, and the connection manager adds none
    expect(responseHeadersSent({ server: ['up'] }, evaluator(clear.bootstrap)({ port: 8080, host: 'a.test', path: '/' })).server).toBeUndefined();
    expect(reportLines(clear, 'more_clear_headers')[0]?.class).toBe('translated');
    expect(clear.report.notes.filter((n) => n.directive === 'more_set_headers')).toEqual([]);
    // every listener decides Server itself: the global `server: envoy` note would be false
    for (const r of [set, clear]) expect(r.report.notes.map((n) => n.directive)).not.toContain('server_tokens');
  });

  test('the global `server: envoy` note stays while one listener keeps Envoy\'s Server', () => {
    const text = http('more_set_headers "Server: edge";\n location / { return 200; }').replace('http {', 'http {\n server { listen 8081; location / { return 200; } }');
    const r = compileText(text);
    expect(r.report.notes.find((n) => n.directive === 'server_tokens')?.reason).toContain('server: envoy');
  });

  test('locations that differ: the default server\'s choice, reported', () => {
    const r = compileText(http('more_set_headers "Server: a";\n location / { return 200; }\n location /b/ { more_clear_headers Server; return 200; }'));
    expect(hcmOf(r).server_name).toBe('a');
    expect(hcmOf(r).server_header_transformation).toBeUndefined();
    const note = r.report.notes.find((n) => n.directive === 'more_set_headers')!;
    expect(note).toMatchObject({ class: 'approximated', reason: expect.stringContaining('server_0/loc_1 (none)') });
  });

  test('no headers-more: the connection manager is as before (no server fields)', () => {
    const r = compileText(http('location / { return 200; }'));
    expect(hcmOf(r).server_name).toBeUndefined();
    expect(hcmOf(r).server_header_transformation).toBeUndefined();
    expect(evaluator(r.bootstrap)({ port: 8080, host: 'a.test', path: '/' }).serverHeader).toBeUndefined();
  });
});

describe('proxy_socket_keepalive / grpc_socket_keepalive', () => {
  const clusters = (r: CompileResult): Json[] => r.bootstrap.static_resources.clusters;

  test('only the passes it applies to: a `-keepalive` cluster next to the plain one, with an empty tcp_keepalive', () => {
    const r = compileText(http('location /k/ { proxy_socket_keepalive on; proxy_pass http://up; }\n location / { proxy_pass http://up; }\n location /g/ { grpc_socket_keepalive on; grpc_pass grpc://up; }'));
    const byName = Object.fromEntries(clusters(r).map((c: Json) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['up/grpc-keepalive', 'up/http', 'up/http-keepalive']);
    expect(byName['up/http-keepalive'].upstream_connection_options).toEqual({ tcp_keepalive: {} });
    expect(byName['up/grpc-keepalive'].upstream_connection_options).toEqual({ tcp_keepalive: {} });
    expect(byName['up/http'].upstream_connection_options).toBeUndefined();
    expect(backendOfCluster('up/http-keepalive')).toBe('up');
    expect(backendOfCluster('up/https-0123abcd-keepalive')).toBe('up');
    const ev = evaluator(r.bootstrap);
    expect(ev({ port: 8080, host: 'a.test', path: '/k/x' }).cluster).toBe('up/http-keepalive');
    expect(ev({ port: 8080, host: 'a.test', path: '/x' }).cluster).toBe('up/http');
    expect(reportLines(r, 'proxy_socket_keepalive')[0]).toMatchObject({ class: 'translated' });
    expect(reportLines(r, 'grpc_socket_keepalive')[0]).toMatchObject({ class: 'translated' });
  });

  test('every pass with it on: one cluster, named as the backend', () => {
    const r = compileText(http('proxy_socket_keepalive on;\n location / { proxy_pass http://up; }'));
    expect(clusters(r).map((c: Json) => [c.name, c.upstream_connection_options])).toEqual([['up', { tcp_keepalive: {} }]]);
  });

  test('stream: the TCP cluster of the servers with it on', () => {
    const r = compileText('events {}\nstream {\n upstream db { server 10.0.0.5:5432; }\n server { listen 5432; proxy_socket_keepalive on; proxy_pass db; }\n server { listen 5433; proxy_pass db; }\n}\n');
    const byName = Object.fromEntries(clusters(r).map((c: Json) => [c.name, c]));
    expect(byName['stream_db/keepalive'].upstream_connection_options).toEqual({ tcp_keepalive: {} });
    expect(byName.stream_db.upstream_connection_options).toBeUndefined();
    expect(backendOfCluster('stream_db/keepalive')).toBe('stream_db');
    expect(reportLines(r, 'proxy_socket_keepalive')[0]).toMatchObject({ class: 'translated' });
  });

  test('the xDS resources validate against Envoy\'s protos', () => {
    const r = compileText(http('more_clear_headers Server;\n more_set_headers "X-A: a";\n location /k/ { proxy_socket_keepalive on; more_set_input_headers -r "X-R: r"; proxy_pass http://up; }\n location / { proxy_pass http://up; }'));
    const findings = validateXdsResources(toXdsResources(r.bootstrap));
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });
});
