// The transport of each proxy_pass (scheme + proxy_ssl_* settings) decides its
// cluster: one upstream used over http:// and https:// gets a cluster per
// transport, with the same servers; proxy_ssl_* shape the UpstreamTlsContext.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, type CompileResult } from '../../src/compile.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { buildRegistrations } from '../../src/emit/consul/index.js';
import { tlsParams } from '../../src/emit/envoy/tls.js';
import { backendOfCluster } from '../../src/lower/upstream.js';
import { compileFixture, compileText, reportLines } from '../edge/support.js';

/** nginx's TLS range to upstreams goes up to 1.3; Envoy's client default stops at 1.2, so it is always written. */
const TLS13 = { tls_params: { tls_maximum_protocol_version: 'TLSv1_3' } };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const clusters = (r: CompileResult): Json[] => r.bootstrap.static_resources.clusters;
const cluster = (r: CompileResult, name: string): Json => clusters(r).find((c: Json) => c.name === name);
const tlsOf = (c: Json): Json => c?.transport_socket?.typed_config ?? null;
const names = (r: CompileResult): string[] => clusters(r).map((c: Json) => c.name);

function http(body: string, top = ''): string {
  return `events {}\nhttp {\n upstream up { server 10.0.0.1:8443; server 10.0.0.2:8443 backup; keepalive 4; }\n${top}\n server {\n  listen 8080;\n  server_name a.test;\n${body}\n }\n}\n`;
}

/** Compile text expected to fail: its first error. */
function compileError(text: string): { message: string; line: number; col: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-ut-'));
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

function routeCluster(r: CompileResult, path: string): string | undefined {
  return evaluator(r.bootstrap)({ port: 8080, host: 'a.test', path }).cluster;
}

describe('one cluster per transport', () => {
  test('a backend used with one transport keeps its name (https only: a bare UpstreamTlsContext, as before)', () => {
    const r = compileText(http('location / { proxy_pass https://up; }'));
    expect(names(r)).toEqual(['up']);
    expect(tlsOf(cluster(r, 'up'))).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: TLS13 });
    expect(routeCluster(r, '/x')).toBe('up');
    expect(r.report.notes.some((n) => /transports/.test(n.reason))).toBe(false);
  });

  test('http:// and https:// to one upstream: two clusters, plain and TLS, same servers and settings', () => {
    const r = compileText(http('location /a { proxy_pass http://up; }\nlocation /b { proxy_pass https://up; }'));
    expect(names(r)).toEqual(['up/http', 'up/https']);
    expect(tlsOf(cluster(r, 'up/http'))).toBeNull();
    expect(tlsOf(cluster(r, 'up/https'))['@type']).toMatch(/UpstreamTlsContext$/);
    const strip = (c: Json) => {
      const { name, transport_socket, load_assignment, ...rest } = c;
      return { rest, endpoints: load_assignment.endpoints };
    };
    expect(strip(cluster(r, 'up/http'))).toEqual(strip(cluster(r, 'up/https')));
    expect(cluster(r, 'up/http').load_assignment.cluster_name).toBe('up/http');
    // the evaluator sends each location to its own cluster
    expect(routeCluster(r, '/a/x')).toBe('up/http');
    expect(routeCluster(r, '/b/x')).toBe('up/https');
    // (the upstream's other note is nginx's default retry, test/lower/next-upstream.test.ts)
    const notes = r.report.notes.filter((n) => n.directive === 'upstream' && n.reason.startsWith('cluster '));
    expect(notes.map((n) => n.reason.slice(0, n.reason.indexOf(':')))).toEqual(['cluster `up/http`', 'cluster `up/https`']);
    expect(notes[1]!.reason).toMatch(/over HTTP\/1\.x over TLS \(no SNI\), used at nginx\.conf:\d+/);
  });

  test('grpc_pass and proxy_pass to one upstream: HTTP/2 on the grpc cluster only', () => {
    const r = compileText(http('location /a { proxy_pass http://up; }\nlocation /g { grpc_pass grpc://up; }'));
    expect(names(r)).toEqual(['up/grpc', 'up/http']);
    const proto = (n: string) => cluster(r, n).typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config;
    expect(proto('up/grpc')).toEqual({ http2_protocol_options: {} });
    expect(proto('up/http')).toEqual({ http_protocol_options: {} });
    expect(routeCluster(r, '/g/x')).toBe('up/grpc');
  });

  test('inline targets: http://10.0.0.9:8443 and https://10.0.0.9:8443 are one backend with two clusters', () => {
    const r = compileText(http('location /a { proxy_pass http://10.0.0.9:8443; }\nlocation /b { proxy_pass https://10.0.0.9:8443; }'));
    expect(names(r)).toEqual(['10.0.0.9_8443/http', '10.0.0.9_8443/https', 'up']);
    expect(routeCluster(r, '/b')).toBe('10.0.0.9_8443/https');
    expect(r.ir!.backends.filter((b) => b.name === '10.0.0.9_8443')).toHaveLength(1);
  });

  test('names come from the settings, not from file order; equal settings share a cluster', () => {
    const a = 'location /a { proxy_pass https://up; proxy_ssl_server_name on; }';
    const b = 'location /b { proxy_pass https://up; }';
    const c = 'location /c { proxy_pass https://up/v1/; }';
    const one = compileText(http([a, b, c].join('\n')));
    const two = compileText(http([c, b, a].join('\n')));
    expect(names(one)).toEqual(names(two));
    expect(names(one)).toHaveLength(2);
    expect(names(one)).toContain('up/https');
    expect(names(one).find((n) => n !== 'up/https')).toMatch(/^up\/https-[0-9a-f]{8}$/);
    expect(routeCluster(one, '/b')).toBe(routeCluster(one, '/c'));
    expect(routeCluster(one, '/a')).not.toBe(routeCluster(one, '/b'));
    expect(names(one).map(backendOfCluster)).toEqual(['up', 'up']);
  });

  test('xDS: an EDS ClusterLoadAssignment per cluster, each with the upstream\'s endpoints', () => {
    const r = compileText(http('location /a { proxy_pass http://up; }\nlocation /b { proxy_pass https://up; }'));
    const x = toXdsResources(r.bootstrap);
    expect(x.clusters.map((c) => [c['name'], c['type']])).toEqual([
      ['up/http', 'EDS'],
      ['up/https', 'EDS'],
    ]);
    expect(x.endpoints.map((e) => e['cluster_name'])).toEqual(['up/http', 'up/https']);
    expect(x.endpoints[0]!['endpoints']).toEqual(x.endpoints[1]!['endpoints']);
  });

  test('Consul: still one service per upstream', () => {
    const r = compileText(http('location /a { proxy_pass http://up; }\nlocation /b { proxy_pass https://up; }'));
    const regs = buildRegistrations(r.ir!);
    expect(regs.services.map((s) => [s.name, s.upstream, s.instances.length])).toEqual([['up', 'up', 2]]);
  });
});

describe('proxy_ssl_* → UpstreamTlsContext', () => {
  const tlsFor = (body: string, top = ''): Json => tlsOf(clusters(compileText(http(`location / { proxy_pass https://up; ${body} }`, top)))[0]);

  test('proxy_ssl_server_name: off by default (no SNI), on sends proxy_ssl_name or $proxy_host without port; none for an IP', () => {
    expect(tlsFor('').sni).toBeUndefined();
    expect(tlsFor('proxy_ssl_server_name off;').sni).toBeUndefined();
    expect(tlsFor('proxy_ssl_server_name on;').sni).toBe('up');
    expect(tlsFor('proxy_ssl_server_name on; proxy_ssl_name api.internal:8443;').sni).toBe('api.internal');
    expect(tlsFor('proxy_ssl_server_name on; proxy_ssl_name 10.1.2.3;').sni).toBeUndefined();
    expect(tlsFor('proxy_ssl_name api.internal;').sni).toBeUndefined(); // a name alone sends nothing
    const inline = compileText(http('location / { proxy_pass https://svc.test:8443; proxy_ssl_server_name on; }'));
    expect(tlsOf(cluster(inline, 'svc.test_8443')).sni).toBe('svc.test');
  });

  test('proxy_ssl_server_name inherited from http and server levels', () => {
    expect(tlsFor('', 'proxy_ssl_server_name on;').sni).toBe('up');
  });

  test('a proxy_ssl_name with request variables is reported, not guessed: no SNI', () => {
    const r = compileText(http('location / { proxy_pass https://up; proxy_ssl_server_name on; proxy_ssl_name $http_x_name; }'));
    expect(tlsOf(clusters(r)[0]).sni).toBeUndefined();
    const line = reportLines(r, 'proxy_ssl_name')[0]!;
    expect(line.class).toBe('unsupported');
    expect(line.reason).toMatch(/\$http_x_name.*per request/);
  });

  describe('proxy_ssl_name $host: auto_sni / auto_san_validation where the upstream Host is the client\'s', () => {
    const HP = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
    const autoOf = (r: CompileResult): Json => clusters(r)[0].typed_extension_protocol_options[HP].upstream_http_protocol_options;
    const withHost = (host: string, more = 'proxy_ssl_server_name on;') =>
      compileText(http(`location / { proxy_pass https://up; ${more} proxy_ssl_name $host; ${host ? `proxy_set_header Host ${host};` : ''} }`));

    test.each(['$host', '$http_host', '$host:8443', '"$host$request_uri"'])('proxy_set_header Host %s: the Host forwarded is the client\'s → auto_sni', (host) => {
      const r = withHost(host);
      expect(autoOf(r)).toEqual({ auto_sni: true });
      expect(tlsOf(clusters(r)[0]).sni).toBeUndefined();
      const lines = reportLines(r, 'proxy_ssl_name');
      expect(lines.map((e) => e.class)).toEqual(['approximated']);
      expect(lines[0]!.reason).toMatch(/auto_sni.*HTTP\/1\.0/);
    });

    test.each(['', 'backend.internal', '$proxy_host'])('proxy_set_header Host %s (a rewritten Host): no SNI, and the location is named in the report', (host) => {
      const r = withHost(host);
      expect(autoOf(r)).toBeUndefined();
      expect(tlsOf(clusters(r)[0]).sni).toBeUndefined();
      const line = reportLines(r, 'proxy_ssl_name')[0]!;
      expect(line.class).toBe('unsupported');
      expect(line.reason).toMatch(/upstream Host is not the client's/);
      expect(r.report.summary.unsupported).toBeGreaterThan(0);
    });

    test('proxy_ssl_name $http_host: the same (nginx strips its port too)', () => {
      const r = compileText(http('location / { proxy_pass https://up; proxy_ssl_server_name on; proxy_ssl_name $http_host; proxy_set_header Host $http_host; }'));
      expect(autoOf(r)).toEqual({ auto_sni: true });
      expect(reportLines(r, 'proxy_ssl_name').map((e) => e.class)).toEqual(['approximated']);
      expect(evaluator(r.bootstrap)({ port: 8080, host: 'a.test:8080', path: '/' }).upstreamSni).toBe('a.test');
    });

    test('with proxy_ssl_verify: the name checked is the Host (auto_san_validation), no fixed SAN matcher', () => {
      const r = withHost('$host', 'proxy_ssl_server_name on; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/ca.pem;');
      expect(autoOf(r)).toEqual({ auto_sni: true, auto_san_validation: true });
      const v = tlsOf(clusters(r)[0]).common_tls_context.validation_context;
      expect(v.trusted_ca).toEqual({ filename: '/etc/ssl/ca.pem' });
      expect(v.match_typed_subject_alt_names).toBeUndefined();
      const verifyOnly = withHost('$host', 'proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/ca.pem;');
      expect(autoOf(verifyOnly)).toEqual({ auto_san_validation: true });
    });

    test('one upstream, one location keeping the Host and one not: two clusters, the report names the second', () => {
      const r = compileText(
        http(`proxy_ssl_server_name on; proxy_ssl_name $host;
          location /keep/ { proxy_pass https://up; proxy_set_header Host $host; }
          location /lost/ { proxy_pass https://up; }`),
      );
      const keep = cluster(r, routeCluster(r, '/keep/')!);
      const lost = cluster(r, routeCluster(r, '/lost/')!);
      expect(keep.name).not.toBe(lost.name);
      expect(keep.typed_extension_protocol_options[HP].upstream_http_protocol_options).toEqual({ auto_sni: true });
      expect(lost.typed_extension_protocol_options[HP].upstream_http_protocol_options).toBeUndefined();
      const ev = evaluator(r.bootstrap);
      expect(ev({ port: 8080, host: 'a.test', path: '/keep/' }).upstreamSni).toBe('a.test');
      expect(ev({ port: 8080, host: 'a.test', path: '/lost/' }).upstreamSni).toBeUndefined();
      const line = reportLines(r, 'proxy_ssl_name')[0]!;
      expect(line.class).toBe('unsupported');
      expect(line.reason).toMatch(/nginx\.conf:\d+ the upstream Host is not the client's/);
    });

    test('grpc_ssl_name $host stays reported per request (grpcs:// clusters send no SNI)', () => {
      const r = compileText(http('location / { grpc_pass grpcs://up; grpc_ssl_server_name on; grpc_ssl_name $host; grpc_set_header Host $host; }'));
      expect(autoOf(r)).toBeUndefined();
      expect(reportLines(r, 'grpc_ssl_name')[0]!.class).toBe('unsupported');
    });

    test('xDS mode carries the same protocol options', () => {
      const r = withHost('$host');
      const x = toXdsResources(r.bootstrap);
      const c: Json = x.clusters.find((k: Json) => k.name === clusters(r)[0].name);
      expect(c.typed_extension_protocol_options[HP].upstream_http_protocol_options).toEqual({ auto_sni: true });
    });
  });

  test('proxy_ssl_verify on: trusted_ca, the name checked in DNS SANs, depth + 1 (Envoy counts the anchor), crl', () => {
    const ctx = tlsFor('proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ca.pem; proxy_ssl_name b.internal; proxy_ssl_verify_depth 3; proxy_ssl_crl /etc/up.crl;');
    expect(ctx.common_tls_context.validation_context).toEqual({
      trusted_ca: { filename: '/etc/ca.pem' },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'b.internal' } }],
      crl: { filename: '/etc/up.crl' },
      max_verify_depth: 4,
    });
    // nginx's default depth 1 and name $proxy_host
    const dflt = tlsFor('proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ca.pem;');
    expect(dflt.common_tls_context.validation_context.max_verify_depth).toBe(2);
    expect(dflt.common_tls_context.validation_context.match_typed_subject_alt_names[0].matcher.exact).toBe('up');
    expect(tlsFor('proxy_ssl_trusted_certificate /etc/ca.pem; proxy_ssl_crl /etc/up.crl;').common_tls_context).toEqual(TLS13);
  });

  test('proxy_ssl_verify without a trusted certificate is nginx\'s error, on https:// only', () => {
    const text = http('location / {\n  proxy_pass https://up;\n  proxy_ssl_verify on;\n}');
    const e = compileError(text);
    expect(e.message).toBe('no proxy_ssl_trusted_certificate for proxy_ssl_verify'); // nginx's words
    expect(text.split('\n')[e.line - 1]!.slice(e.col - 1)).toMatch(/^proxy_ssl_verify on;/);
    compileText(http('location / { proxy_pass http://up; proxy_ssl_verify on; }')); // nginx -t accepts it
  });

  test('proxy_ssl_certificate/_key: the client certificate; a certificate without a key is nginx\'s error', () => {
    expect(tlsFor('proxy_ssl_certificate /etc/c.pem; proxy_ssl_certificate_key /etc/c.key;').common_tls_context.tls_certificates).toEqual([
      { certificate_chain: { filename: '/etc/c.pem' }, private_key: { filename: '/etc/c.key' } },
    ]);
    expect(compileError(http('location / { proxy_pass https://up; proxy_ssl_certificate /etc/c.pem; }')).message).toBe(
      'no "proxy_ssl_certificate_key" is defined for certificate "/etc/c.pem"',
    );
    const vars = compileText(http('location / { proxy_pass https://up; proxy_ssl_certificate /etc/$host.pem; proxy_ssl_certificate_key /etc/c.key; }'));
    expect(tlsOf(clusters(vars)[0]).common_tls_context).toEqual(TLS13);
    expect(reportLines(vars, 'proxy_ssl_certificate')[0]!.class).toBe('unsupported');
  });

  test('proxy_ssl_protocols/ciphers: the server side\'s mapping', () => {
    const ctx = tlsFor('proxy_ssl_protocols TLSv1.2 TLSv1.3; proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:HIGH;');
    expect(ctx.common_tls_context.tls_params).toEqual(tlsParams(['TLSv1.2', 'TLSv1.3'], 'ECDHE-RSA-AES128-GCM-SHA256:HIGH'));
    expect(ctx.common_tls_context.tls_params).toEqual({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-RSA-AES128-GCM-SHA256'] });
    const r = compileText(http('location / { proxy_pass https://up; proxy_ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:HIGH; }'));
    expect(reportLines(r, 'proxy_ssl_ciphers')[0]).toMatchObject({ class: 'approximated' });
  });

  test('proxy_ssl_session_reuse off → max_session_keys 0; on is Envoy\'s default', () => {
    expect(tlsFor('proxy_ssl_session_reuse off;').max_session_keys).toBe(0);
    expect(tlsFor('proxy_ssl_session_reuse on;')).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: TLS13 });
  });

  test('settings inherited by an http:// proxy_pass change nothing there and are reported as having no effect', () => {
    const r = compileText(http('location / { proxy_pass http://up; }', 'proxy_ssl_server_name on;\n proxy_ssl_session_reuse off;'));
    expect(names(r)).toEqual(['up']);
    expect(tlsOf(cluster(r, 'up'))).toBeNull();
    for (const d of ['proxy_ssl_server_name', 'proxy_ssl_session_reuse']) {
      const line = reportLines(r, d)[0]!;
      expect(line.class).toBe('translated');
      expect(line.reason).toMatch(/no effect on the http:\/\/ proxy_pass/);
    }
  });

  test('grpcs:// takes grpc_ssl_*, not proxy_ssl_*; https:// the reverse', () => {
    const r = compileText(http('location / { grpc_pass grpcs://up; proxy_ssl_server_name on; }'));
    expect(tlsOf(cluster(r, 'up'))).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: TLS13 });
    expect(reportLines(r, 'proxy_ssl_server_name')[0]!.reason).toMatch(/no effect/);
    const g = compileText(http('location / { grpc_pass grpcs://up; grpc_ssl_server_name on; grpc_ssl_verify on; grpc_ssl_trusted_certificate /etc/ca.pem; }'));
    const ctx = tlsOf(cluster(g, 'up'));
    expect(ctx.sni).toBe('up');
    expect(ctx.common_tls_context.validation_context.match_typed_subject_alt_names[0].matcher.exact).toBe('up');
    expect(reportLines(g, 'grpc_ssl_server_name')[0]).toMatchObject({ class: 'translated' });
    const h = compileText(http('location / { proxy_pass https://up; grpc_ssl_server_name on; }'));
    expect(tlsOf(cluster(h, 'up')).sni).toBeUndefined();
    expect(reportLines(h, 'grpc_ssl_server_name')[0]!.reason).toMatch(/no effect/);
    expect(compileError(http('location / { grpc_pass grpcs://up; grpc_ssl_verify on; }')).message).toBe('no grpc_ssl_trusted_certificate for grpc_ssl_verify');
  });

  test('every proxy_ssl_* directive of the fixture is in the report with its position', () => {
    const r = compileFixture('51-upstream-transport');
    const ssl = r.report.directives.filter((e) => /^(proxy|grpc)_ssl_/.test(e.directive));
    expect(ssl.length).toBe(17);
    expect(ssl.every((e) => e.line > 0 && e.col > 0 && e.file === 'nginx.conf')).toBe(true);
    expect(Object.fromEntries(ssl.filter((e) => e.class !== 'translated').map((e) => [`${e.directive}:${e.line}`, e.class]))).toEqual({
      'proxy_ssl_verify:49': 'approximated',
      'proxy_ssl_password_file:55': 'unsupported',
      'proxy_ssl_conf_command:58': 'unsupported',
      'proxy_ssl_name:68': 'unsupported',
      'proxy_ssl_session_reuse:77': 'approximated',
    });
  });
});
