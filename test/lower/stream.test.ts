// stream {}: lowering and emission edge cases, report classes, nginx's errors.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, renderBootstrap, type CompileResult } from '../../src/compile.js';
import { runConvert } from '../../src/cli/convert.js';
import { validateBootstrap, formatFindings, hasErrors } from '../../src/validate/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { evaluateConnection } from '../../src/sim/envoy/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Each configuration in a directory of its own, as nginx.conf (outputs name the file). */
function write(text: string): string {
  const sub = join(dir, String(n++));
  mkdirSync(sub);
  writeFileSync(join(sub, 'nginx.conf'), text);
  return join(sub, 'nginx.conf');
}

function build(text: string): CompileResult {
  const r = compile(write(text), {});
  expect(r.ok, r.diagnostics.map((d) => d.message).join('\n')).toBe(true);
  const findings = validateBootstrap(r.bootstrap);
  expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  return r;
}

function error(text: string): string {
  const file = write(text);
  const r = compile(file, {});
  expect(r.ok).toBe(false);
  const d = r.diagnostics.find((x) => x.severity === 'error')!;
  return `${d.source.line}:${d.source.col}: ${d.message}`;
}

const clusters = (r: CompileResult): any[] => r.bootstrap.static_resources.clusters;
const listeners = (r: CompileResult): any[] => r.bootstrap.static_resources.listeners;
const cluster = (r: CompileResult, name: string): any => clusters(r).find((c) => c.name === name);
const entry = (r: CompileResult, directive: string, line: number) => r.report.directives.find((e) => e.directive === directive && e.line === line);
const tcpProxy = (chain: any): any => chain.filters[0].typed_config;

describe('stream clusters: a namespace of their own', () => {
  const both = `
http {
  upstream db { server 10.0.0.1:80; }
  upstream stream_cache { server 10.0.0.9:80; }
  server { listen 8080; location / { proxy_pass http://db; } location /c { proxy_pass http://stream_cache; } }
}
stream {
  upstream db { server 10.0.0.2:5432; }
  upstream cache { server 10.0.0.3:6379; }
  server { listen 5432; proxy_pass db; }
  server { listen 6379; proxy_pass cache; }
}`;

  test('an http and a stream upstream may share a name; a taken stream_ name gets a suffix', () => {
    const r = build(both);
    expect(clusters(r).map((c) => c.name)).toEqual(['db', 'stream_cache', 'stream_cache.1', 'stream_db']);
    expect(cluster(r, 'db').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe('10.0.0.1');
    expect(cluster(r, 'stream_db').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe('10.0.0.2');
    expect(cluster(r, 'stream_cache.1').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(6379);
    expect(r.report.notes.some((e) => e.reason.includes('`stream_cache` is taken by another cluster'))).toBe(true);
  });

  test('the http part of the output is byte-identical with or without the stream block', () => {
    const httpOnly = both.replace(/stream \{[\s\S]*$/, '');
    const a = build(httpOnly);
    const b = build(both);
    const httpPart = (r: CompileResult) => ({
      listeners: listeners(r).filter((l) => !l.name.startsWith('stream_')),
      clusters: clusters(r).filter((c) => !c.name.startsWith('stream_')),
    });
    expect(JSON.stringify(httpPart(b))).toBe(JSON.stringify(httpPart(a)));
    const httpEntries = (r: CompileResult) => r.report.directives.filter((e) => e.line <= 5);
    expect(httpEntries(b)).toEqual(httpEntries(a));
  });
});

describe('stream emission', () => {
  test('timeouts: nginx defaults are always written (Envoy 5s connect, 1h idle otherwise)', () => {
    const r = build(`stream { server { listen 9000; proxy_pass 10.0.0.1:22; } }`);
    expect(cluster(r, 'stream_10.0.0.1_22').connect_timeout).toBe('60s');
    expect(tcpProxy(listeners(r)[0].filter_chains[0]).idle_timeout).toBe('600s');
  });

  test('proxy_connect_timeout / proxy_timeout inherited from stream and overridden per server; a shared cluster takes the longest', () => {
    const r = build(`stream {
  proxy_connect_timeout 3s;
  proxy_timeout 1m;
  upstream up { server 10.0.0.1:1; }
  server { listen 9000; proxy_pass up; }
  server { listen 9001; proxy_connect_timeout 7s; proxy_timeout 20s; proxy_pass up; }
}`);
    expect(cluster(r, 'stream_up').connect_timeout).toBe('7s');
    const [a, b] = listeners(r);
    expect(tcpProxy(a.filter_chains[0]).idle_timeout).toBe('60s');
    expect(tcpProxy(b.filter_chains[0]).idle_timeout).toBe('20s');
  });

  test('connect attempts follow proxy_next_upstream over the live servers; hash $remote_addr is a source_ip hash', () => {
    const r = build(`stream {
  upstream three { hash $remote_addr consistent; server 10.0.0.1:1; server 10.0.0.2:1 down; server 10.0.0.3:1 backup; }
  upstream other { hash $remote_port; server 10.0.0.4:1; server 10.0.0.5:1; }
  server { listen 9000; proxy_pass three; }
  server { listen 9001; proxy_next_upstream off; proxy_pass other; }
  server { listen 9002; proxy_next_upstream_tries 1; proxy_pass other; }
}`);
    const [a, b, c] = listeners(r).map((l) => tcpProxy(l.filter_chains[0]));
    expect(a.max_connect_attempts).toBe(2);
    expect(a.hash_policy).toEqual([{ source_ip: {} }]);
    expect(cluster(r, 'stream_three').lb_policy).toBe('RING_HASH');
    expect(cluster(r, 'stream_three').load_assignment.endpoints).toHaveLength(2); // primary, then backup at priority 1
    expect(b.max_connect_attempts).toBeUndefined();
    expect(b.hash_policy).toBeUndefined();
    expect(c.max_connect_attempts).toBeUndefined();
    expect(entry(r, 'hash', 2)!.class).toBe('approximated');
    expect(entry(r, 'hash', 3)!.class).toBe('unsupported');
  });

  test('proxy_protocol: expected from clients (listener filter) and sent upstream (a cluster of its own)', () => {
    const r = build(`stream {
  upstream up { server 10.0.0.1:1; }
  server { listen 9000 proxy_protocol; proxy_protocol on; proxy_pass up; }
  server { listen 9001; proxy_pass up; }
}`);
    expect(clusters(r).map((c) => c.name)).toEqual(['stream_up', 'stream_up/proxy_protocol']);
    expect(cluster(r, 'stream_up/proxy_protocol').transport_socket.typed_config.config).toEqual({ version: 'V1' });
    const [a, b] = listeners(r);
    expect(a.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.proxy_protocol']);
    expect(tcpProxy(a.filter_chains[0]).cluster).toBe('stream_up/proxy_protocol');
    expect(tcpProxy(b.filter_chains[0]).cluster).toBe('stream_up');
  });

  test('a wildcard and a specific address on one port: one listener, the specific server matched by destination first', () => {
    const r = build(`stream {
  map $ssl_preread_server_name $t { a.test 10.0.0.2:443; }
  server { listen 9000; proxy_pass 10.0.0.1:1; }
  server { listen 127.0.0.2:9000; ssl_preread on; proxy_pass $t; }
}`);
    expect(listeners(r)).toHaveLength(1);
    const l = listeners(r)[0];
    expect(l.address.socket_address.address).toBe('0.0.0.0');
    const ask = (address: string, sni?: string) => evaluateConnection(r.bootstrap, { port: 9000, address, ...(sni ? { sni } : {}) });
    expect(ask('127.0.0.1').cluster).toBe('stream_10.0.0.1_1');
    expect(ask('127.0.0.1', 'a.test').cluster).toBe('stream_10.0.0.1_1');
    expect(ask('127.0.0.2', 'a.test').cluster).toBe('stream_10.0.0.2_443');
    expect(ask('127.0.0.2', 'A.Test').cluster).toBe('stream_10.0.0.2_443');
    expect(ask('127.0.0.2', 'b.test').kind).toBe('closed');
    expect(ask('127.0.0.2').kind).toBe('closed');
  });

  test('SNI precedence: exact, then the longest *. wildcard; .x covers x and its subdomains; an empty value closes', () => {
    const r = build(`stream {
  upstream a { server 10.0.0.1:443; }
  upstream b { server 10.0.0.2:443; }
  map $ssl_preread_server_name $t {
    hostnames;
    *.example.com a;
    *.api.example.com b;
    www.example.com b;
    .corp.test a;
    blocked.example.com "";
    default b;
  }
  server { listen 443; ssl_preread on; preread_timeout 5s; proxy_pass $t; }
}`);
    const to = (sni?: string) => {
      const d = evaluateConnection(r.bootstrap, { port: 443, ...(sni === undefined ? {} : { sni }) });
      return d.kind === 'cluster' ? d.cluster : d.kind;
    };
    expect(to('x.example.com')).toBe('stream_a');
    expect(to('v1.api.example.com')).toBe('stream_b');
    expect(to('www.example.com')).toBe('stream_b');
    expect(to('example.com')).toBe('stream_b'); // default: *.example.com does not cover the bare name
    expect(to('corp.test')).toBe('stream_a');
    expect(to('x.y.corp.test')).toBe('stream_a');
    expect(to('blocked.example.com')).toBe('closed');
    expect(to()).toBe('stream_b');
    const l = listeners(r)[0];
    expect(l.listener_filters_timeout).toBe('5s');
    expect(l.continue_on_listener_filters_timeout).toBeUndefined(); // nginx closes when preread_timeout expires
  });

  test('without hostnames, *.x is a literal name in nginx: it is not emitted as an Envoy wildcard', () => {
    const r = build(`stream { map $ssl_preread_server_name $t { *.a.test 10.0.0.1:1; default 10.0.0.2:2; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`);
    expect(evaluateConnection(r.bootstrap, { port: 9000, sni: 'x.a.test' }).cluster).toBe('stream_10.0.0.2_2');
    expect(entry(r, '*.a.test', 1)!.class).toBe('approximated');
  });

  test('without ssl_preread the name is empty: the map value for "" is the fixed backend', () => {
    const r = build(`stream { map $ssl_preread_server_name $t { a.test 10.0.0.1:1; default 10.0.0.2:2; } server { listen 9000; proxy_pass $t; } }`);
    expect(listeners(r)[0].listener_filters).toBeUndefined();
    expect(tcpProxy(listeners(r)[0].filter_chains[0]).cluster).toBe('stream_10.0.0.2_2');
  });

  test('output is deterministic', () => {
    const text = `stream { upstream u { server 10.0.0.1:1; } map $ssl_preread_server_name $t { hostnames; .a.test u; b.test 10.0.0.3:3; } server { listen 9000; ssl_preread on; proxy_pass $t; } server { listen 9001 ; proxy_pass u; } }`;
    expect(renderBootstrap(build(text), 'yaml')).toBe(renderBootstrap(build(text), 'yaml'));
    expect(renderBootstrap(build(text), 'yaml')).toContain('# nginx: ');
  });

  test('xDS: stream listeners stay whole (no RDS), their STATIC clusters become EDS', () => {
    const r = build(`stream { upstream u { server 10.0.0.1:1; } server { listen 9000; proxy_pass u; } }`);
    const x = toXdsResources(r.bootstrap);
    expect(x.routes).toEqual([]);
    expect(x.listeners[0].name).toBe('stream_tcp_0.0.0.0_9000');
    expect(x.clusters[0].type).toBe('EDS');
    expect(x.endpoints[0].cluster_name).toBe('stream_u');
  });
});

describe('stream report classes', () => {
  const untranslated = (text: string, why: RegExp) => {
    const r = build(text);
    expect(listeners(r)).toEqual([]);
    const server = r.report.directives.find((e) => e.directive === 'server' && e.reason.startsWith('stream_server_0'))!;
    expect(server.class).toBe('unsupported');
    expect(server.reason).toMatch(why);
    return r;
  };

  test('a regex or suffix-wildcard map entry: the selection is not emitted, and the report says why', () => {
    untranslated(`stream { map $ssl_preread_server_name $t { hostnames; ~^a\\d+\\.test$ 10.0.0.1:1; default 10.0.0.2:2; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`, /regex key/);
    untranslated(`stream { map $ssl_preread_server_name $t { hostnames; www.a.* 10.0.0.1:1; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`, /suffix wildcard/);
  });

  test('an ALPN map and a variable mixed with text are reported', () => {
    const r = untranslated(`stream { map $ssl_preread_alpn_protocols $t { h2 10.0.0.1:1; default 10.0.0.2:2; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`, /comma-joined ALPN list/);
    expect(entry(r, 'map', 1)!.class).toBe('unsupported');
    untranslated(`stream { server { listen 9000; proxy_pass $remote_addr:22; } }`, /mixes text and variables/);
  });

  test('return: fixed text is a direct_response; variables or UDP are reported', () => {
    const r = build(`stream { server { listen 9000; return "hello\\n"; } }`);
    expect(evaluateConnection(r.bootstrap, { port: 9000 })).toMatchObject({ kind: 'closed', response: 'hello\n' });
    untranslated(`stream { server { listen 9000; return $remote_addr; } }`, /has variables/);
    untranslated(`stream { server { listen 9000 udp; return "x"; } }`, /UDP listen/);
  });

  test('listen ssl: the chain terminates TLS with the server\'s certificate, nginx\'s handshake timeout and no ALPN unless ssl_alpn', () => {
    const r = build(`stream {
  ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 9000 ssl; listen 9001; ssl_certificate /etc/ssl/a.pem; ssl_certificate_key /etc/ssl/a.key; proxy_pass 10.0.0.1:1; }
  server { listen 9002 ssl; ssl_certificate /etc/ssl/b.pem; ssl_certificate_key /etc/ssl/b.key; ssl_handshake_timeout 5s; ssl_alpn h2 http/1.1; proxy_pass 10.0.0.1:1; }
}`);
    const [a, plain, b] = listeners(r).map((l) => l.filter_chains[0]);
    const ctx = a.transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_certificates).toEqual([{ certificate_chain: { filename: '/etc/ssl/a.pem' }, private_key: { filename: '/etc/ssl/a.key' } }]);
    expect(ctx.common_tls_context.tls_params).toEqual({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' });
    expect(ctx.common_tls_context.alpn_protocols).toBeUndefined();
    expect(a.transport_socket_connect_timeout).toBe('60s');
    expect(plain.transport_socket).toBeUndefined();
    expect(b.transport_socket_connect_timeout).toBe('5s');
    expect(b.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(evaluateConnection(r.bootstrap, { port: 9000 }).kind).toBe('closed');
    expect(evaluateConnection(r.bootstrap, { port: 9000, tls: true }).cluster).toBe('stream_10.0.0.1_1');
  });

  test('an entry for the empty name that differs from the default cannot be kept', () => {
    untranslated(`stream { map $ssl_preread_server_name $t { "" 10.0.0.1:1; default 10.0.0.2:2; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`, /empty name/);
  });

  test('a map value that is a host name without a resolver closes in nginx, and in Envoy', () => {
    const r = build(`stream { map $ssl_preread_server_name $t { a.test backend.internal:443; default 10.0.0.2:2; } server { listen 9000; ssl_preread on; proxy_pass $t; } }`);
    expect(evaluateConnection(r.bootstrap, { port: 9000, sni: 'a.test' }).kind).toBe('closed');
    expect(entry(r, 'a.test', 1)!.reason).toMatch(/needs a `resolver`/);
  });

  test('allow/deny: the innermost level with any rule replaces all outer lists (per family inside), first match decides', () => {
    const r = build(`stream {
  deny 127.0.0.1;
  allow 10.0.0.0/8;
  deny all;
  server { listen 9000; proxy_pass 10.0.0.1:1; }
  server { listen 9001; allow ::1; deny 2001:db8::/32; proxy_pass 10.0.0.1:1; }
  server { listen 9002; proxy_pass 10.0.0.1:1; }
  server { listen 9003 udp; proxy_pass 10.0.0.1:53; }
}`);
    const to = (port: number, from: string) => evaluateConnection(r.bootstrap, { port, remoteAddress: from }).kind;
    expect(['127.0.0.1', '10.1.2.3', '192.168.1.1', '::1'].map((a) => to(9000, a))).toEqual(['closed', 'cluster', 'closed', 'closed']);
    expect(['127.0.0.1', '192.168.1.1', '::1', '2001:db8::5', '2001:db9::5'].map((a) => to(9001, a))).toEqual(['cluster', 'cluster', 'cluster', 'closed', 'cluster']);
    expect(to(9002, '10.9.9.9')).toBe('cluster');
    expect(r.report.directives.filter((e) => e.directive === 'allow' || e.directive === 'deny').every((e) => e.class === 'translated')).toBe(true);
    expect(r.report.notes.some((e) => e.reason.includes('allow/deny on UDP'))).toBe(true);
  });

  test('settings without an Envoy equivalent are unsupported, tuning is ignored, every directive is classified', () => {
    const r = build(`stream {
  log_format basic '$remote_addr';
  access_log /var/log/stream.log basic;
  limit_conn_zone $binary_remote_addr zone=addr:10m;
  server { listen 9000; limit_conn addr 1; proxy_buffer_size 16k; proxy_pass 10.0.0.1:1; }
  server { listen 53 udp; proxy_pass 10.0.0.1:53; }
}`);
    const cls = (d: string) => r.report.directives.find((e) => e.directive === d)!.class;
    expect(['log_format', 'access_log', 'limit_conn_zone', 'limit_conn'].map(cls)).toEqual(Array(4).fill('unsupported'));
    expect(cls('proxy_buffer_size')).toBe('ignored');
    expect(listeners(r).map((l) => l.name)).toEqual(['stream_tcp_0.0.0.0_9000', 'stream_udp_0.0.0.0_53']);
    expect(r.report.directives.filter((e) => /only the http context/.test(e.reason))).toEqual([]);
  });
});

describe('validation of stream resources', () => {
  test('a UDP listener filter on a TCP listener, and a udp_proxy route to an unknown cluster, are errors', () => {
    const r = build(`stream { server { listen 53 udp; proxy_pass 10.0.0.1:53; } }`);
    const udp = listeners(r)[0];
    const bad = structuredClone(r.bootstrap);
    bad.static_resources.listeners[0].listener_filters[0].typed_config.matcher.on_no_match.action.typed_config.cluster = 'nowhere';
    expect(formatFindings(validateBootstrap(bad))).toMatch(/nowhere/);
    const tcp = structuredClone(r.bootstrap);
    delete tcp.static_resources.listeners[0].address.socket_address.protocol;
    expect(formatFindings(validateBootstrap(tcp))).toMatch(/a UDP listener filter on a TCP listener/);
    expect(evaluateConnection(r.bootstrap, { port: 53, protocol: 'udp' }).cluster).toBe('stream_10.0.0.1_53/udp');
    expect(evaluateConnection(r.bootstrap, { port: 53 }).kind).toBe('no_listener');
    expect(udp.listener_filters[0].typed_config.idle_timeout).toBe('600s');
  });
});

describe('stream errors: nginx refuses these configurations (file:line:col)', () => {
  test.each([
    ['stream {\n  server { listen 9000; proxy_pass 10.0.0.1:1; }\n  server { listen 9000; proxy_pass 10.0.0.1:2; }\n}', '3:12: duplicate "0.0.0.0:9000" address and port pair'],
    ['stream {\n  server { listen 53 udp; proxy_pass 10.0.0.1:1; }\n  server { listen 53; proxy_pass 10.0.0.1:2; }\n}', null],
    ['http { server { listen 8080; } }\nstream {\n  server { listen 127.0.0.1:8080; proxy_pass 10.0.0.1:1; }\n}', '3:12: bind() to 127.0.0.1:8080 failed (98: Address already in use)'],
    ['stream {\n  server { listen 8080; proxy_pass 10.0.0.1:1; }\n}\nhttp { server { listen 127.0.0.1:8080; } }', '4:17: bind() to 127.0.0.1:8080 failed (98: Address already in use)'],
    ['stream {\n  server { listen 9000; proxy_pass backend; }\n}', '2:25: no port in upstream "backend"'],
    ['stream {\n  map $ssl_preread_server_name $t { A.test 10.0.0.1:1; a.test 10.0.0.1:2; }\n}', '2:56: conflicting parameter "a.test"'],
    ['stream {\n  upstream u { server 10.0.0.1:1; }\n  upstream U { server 10.0.0.1:2; }\n}', '3:3: duplicate upstream "U"'],
    ['stream {\n  server { listen 9000; proxy_pass 10.0.0.1:1; proxy_pass 10.0.0.1:2; }\n}', '2:48: "proxy_pass" directive is duplicate'],
    ['stream {\n  server { listen 9000; }\n}', '2:3: no handler for server'],
    ['stream {\n  server { listen 127.0.0.1; proxy_pass 10.0.0.1:1; }\n}', '2:19: no port in "127.0.0.1" of the "listen" directive'],
    ['stream {\n  server { listen 9000 ssl; proxy_pass 10.0.0.1:1; }\n}', '2:12: no "ssl_certificate" is defined for the "listen ... ssl" directive'],
  ])('%s', (text, expected) => {
    if (expected === null) {
      build(text); // TCP and UDP on one port are two sockets
      return;
    }
    expect(error(text)).toBe(expected);
  });

  test('convert exits 1 with file:line:col and the offending text, no stack trace', async () => {
    const file = write('stream {\n  server { listen 9000; proxy_pass 10.0.0.1:1; }\n  server { listen 9000; proxy_pass 10.0.0.1:2; }\n}\n');
    const out = await runConvert(file, {});
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toContain(`:3:12: error: duplicate "0.0.0.0:9000" address and port pair`);
    expect(out.stderr).toContain('server { listen 9000; proxy_pass 10.0.0.1:2; }');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('proxy_ssl on: TLS to the upstream (stream)', () => {
  const tlsOf = (c: any): any => c.transport_socket.typed_config;

  test('a cluster of its own per TLS settings, named after them; the server\'s chain goes to it', () => {
    const r = build(`stream {
  upstream db { server 10.0.0.5:5432; server 10.0.0.6:5432; }
  server { listen 9000; proxy_pass db; proxy_ssl on; proxy_ssl_server_name on; }
  server { listen 9001; proxy_pass db; }
  server { listen 9002; proxy_pass db; proxy_ssl on; proxy_ssl_server_name on; }
}`);
    const names = clusters(r).map((c) => c.name);
    const tls = names.find((n) => /^stream_db\/tls-[0-9a-f]{8}$/.test(n))!;
    expect(names.sort()).toEqual(['stream_db', tls].sort());
    expect(evaluateConnection(r.bootstrap, { port: 9000 })).toMatchObject({ kind: 'cluster', cluster: tls, upstreamSni: 'db' });
    expect(evaluateConnection(r.bootstrap, { port: 9002 }).cluster).toBe(tls);
    const plain = evaluateConnection(r.bootstrap, { port: 9001 });
    expect(plain.cluster).toBe('stream_db');
    expect(plain.upstreamSni).toBeUndefined();
    expect(cluster(r, tls).load_assignment.endpoints).toEqual(cluster(r, 'stream_db').load_assignment.endpoints);
    expect(tlsOf(cluster(r, tls))).toMatchObject({ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'db' });
  });

  test('the proxy_ssl_* settings as for https:// (verify, client certificate, protocols, no session reuse); proxy_ssl_name defaults to proxy_pass\'s host', () => {
    const r = build(`stream {
  proxy_ssl_protocols TLSv1.2;
  server {
    listen 9000;
    proxy_pass api.internal:8443;
    proxy_ssl on;
    proxy_ssl_server_name on;
    proxy_ssl_verify on;
    proxy_ssl_verify_depth 2;
    proxy_ssl_trusted_certificate /etc/ssl/ca.pem;
    proxy_ssl_certificate /etc/ssl/client.pem;
    proxy_ssl_certificate_key /etc/ssl/client.key;
    proxy_ssl_session_reuse off;
  }
  server { listen 9001; proxy_pass 10.0.0.7:443; proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name backend.test:443; }
  server { listen 9002; proxy_pass 10.0.0.8:443; proxy_ssl on; proxy_ssl_server_name on; }
}`);
    const ctx = tlsOf(cluster(r, evaluateConnection(r.bootstrap, { port: 9000 }).cluster!));
    expect(ctx.sni).toBe('api.internal');
    expect(ctx.max_session_keys).toBe(0);
    expect(ctx.common_tls_context.validation_context).toEqual({
      trusted_ca: { filename: '/etc/ssl/ca.pem' },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.internal' } }],
      max_verify_depth: 3,
    });
    expect(ctx.common_tls_context.tls_certificates).toEqual([{ certificate_chain: { filename: '/etc/ssl/client.pem' }, private_key: { filename: '/etc/ssl/client.key' } }]);
    expect(ctx.common_tls_context.tls_params).toMatchObject({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_2' });
    expect(evaluateConnection(r.bootstrap, { port: 9001 }).upstreamSni).toBe('backend.test');
    expect(evaluateConnection(r.bootstrap, { port: 9002 }).upstreamSni).toBe(''); // an IP address: no SNI, as nginx
    for (const d of ['proxy_ssl', 'proxy_ssl_server_name', 'proxy_ssl_trusted_certificate', 'proxy_ssl_certificate', 'proxy_ssl_session_reuse']) {
      expect(r.report.directives.filter((e) => e.directive === d).every((e) => e.class === 'translated'), d).toBe(true);
    }
    expect(r.report.summary.unsupported).toBe(0);
  });

  test('with proxy_protocol on: the PROXY header first, in the clear, then TLS', () => {
    const r = build(`stream { server { listen 9000; proxy_pass 10.0.0.1:443; proxy_protocol on; proxy_ssl on; } }`);
    const name = evaluateConnection(r.bootstrap, { port: 9000 }).cluster!;
    expect(name).toMatch(/^stream_10\.0\.0\.1_443\/proxy_protocol\/tls-[0-9a-f]{8}$/);
    const socket = cluster(r, name).transport_socket;
    expect(socket.name).toBe('envoy.transport_sockets.upstream_proxy_protocol');
    expect(socket.typed_config.config).toEqual({ version: 'V1' });
    expect(socket.typed_config.transport_socket.name).toBe('envoy.transport_sockets.tls');
    expect(evaluateConnection(r.bootstrap, { port: 9000 }).upstreamSni).toBe('');
  });

  test('UDP listens keep plain clusters (nginx speaks TLS to TCP upstreams only); the TCP listen of the same server gets TLS', () => {
    const r = build(`stream { server { listen 9000; listen 9000 udp; proxy_pass 10.0.0.1:53; proxy_ssl on; } }`);
    expect(evaluateConnection(r.bootstrap, { port: 9000 }).cluster).toMatch(/\/tls-/);
    const udp = evaluateConnection(r.bootstrap, { port: 9000, protocol: 'udp' });
    expect(udp.cluster).toBe('stream_10.0.0.1_53/udp');
    expect(cluster(r, 'stream_10.0.0.1_53/udp').transport_socket).toBeUndefined();
  });

  test('an SNI selection: each backend\'s cluster sends its own default name', () => {
    const r = build(`stream {
  map $ssl_preread_server_name $t { a.test a.internal:443; b.test b.internal:443; default 10.0.0.3:443; }
  server { listen 9000; ssl_preread on; proxy_pass $t; proxy_ssl on; proxy_ssl_server_name on; resolver 127.0.0.1; }
}`);
    expect(evaluateConnection(r.bootstrap, { port: 9000, sni: 'a.test' }).upstreamSni).toBe('a.internal');
    expect(evaluateConnection(r.bootstrap, { port: 9000, sni: 'b.test' }).upstreamSni).toBe('b.internal');
    expect(evaluateConnection(r.bootstrap, { port: 9000, sni: 'c.test' }).upstreamSni).toBe('');
  });

  test('proxy_ssl_* without proxy_ssl on do nothing, and are reported so; a variable name is reported', () => {
    const r = build(`stream {
  server { listen 9000; proxy_pass 10.0.0.1:1; proxy_ssl_server_name on; proxy_ssl_name a.test; }
  server { listen 9001; proxy_pass 10.0.0.1:2; proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name $ssl_preread_server_name; ssl_preread on; }
}`);
    expect(clusters(r).find((c) => c.name.startsWith('stream_10.0.0.1_1'))!.transport_socket).toBeUndefined();
    expect(entry(r, 'proxy_ssl_name', 2)!.reason).toMatch(/no effect without `proxy_ssl on`/);
    const varName = entry(r, 'proxy_ssl_name', 3)!;
    expect(varName.class).toBe('unsupported');
    expect(varName.reason).toMatch(/per connection/);
    expect(evaluateConnection(r.bootstrap, { port: 9001, sni: 'x.test' }).upstreamSni).toBe('');
  });

  test('nginx\'s errors for a TLS upstream: verify without a trusted certificate, a certificate without its key', () => {
    expect(error(`stream { server { listen 9000; proxy_pass 10.0.0.1:1; proxy_ssl on; proxy_ssl_verify on; } }`)).toMatch(/no proxy_ssl_trusted_certificate for proxy_ssl_verify/);
    expect(error(`stream { server { listen 9000; proxy_pass 10.0.0.1:1; proxy_ssl on; proxy_ssl_certificate /a.pem; } }`)).toMatch(/no "proxy_ssl_certificate_key" is defined/);
  });
});
