// Oracle: real nginx proxies https:// to a Node TLS server that records the SNI
// it receives; the compiled cluster of each location must carry that SNI (or
// none). Also checks the certificate-name difference the report states for
// proxy_ssl_verify: nginx accepts a name found only in the subject CN.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { evaluator } from '../../src/sim/envoy/index.js';
import { freePort, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe } from '../support/http-probe.js';
import { compileText, reportLines } from '../edge/support.js';

const CERTS = resolve(import.meta.dirname, '../../fixtures/30-tls-http2/certs');
const CERT = join(CERTS, 'secure.test.crt'); // CN=secure.test, no SAN

function httpBody(listen: number, upstreamPort: number): string {
  return `
  upstream backend { server 127.0.0.1:${upstreamPort}; }
  server {
    listen 127.0.0.1:${listen};
    server_name a.test;
    # nginx keeps one TLS session per upstream server, shared by these locations: a
    # resumed session reports the SNI of the handshake that made it. One handshake each.
    proxy_ssl_session_reuse off;
    location /none/ { proxy_pass https://backend; }
    location /off/ { proxy_pass https://backend; proxy_ssl_server_name off; proxy_ssl_name api.internal; }
    location /on/ { proxy_pass https://backend; proxy_ssl_server_name on; }
    location /named/ { proxy_pass https://backend; proxy_ssl_server_name on; proxy_ssl_name api.internal:9443; }
    location /ip/ { proxy_pass https://127.0.0.1:${upstreamPort}; proxy_ssl_server_name on; }
    location /plain-name/ { proxy_pass https://localhost:${upstreamPort}; proxy_ssl_server_name on; }
    # proxy_ssl_name $host: the request's host, port stripped (Envoy: auto_sni where the Host is kept)
    location /host/ { proxy_pass https://backend; proxy_ssl_server_name on; proxy_ssl_name $host; proxy_set_header Host $host; }
    location /http-host/ { proxy_pass https://backend; proxy_ssl_server_name on; proxy_ssl_name $http_host; proxy_set_header Host $http_host; }
    location /host-lost/ { proxy_pass https://backend; proxy_ssl_server_name on; proxy_ssl_name $host; }
    location /host-verify/ {
      proxy_pass https://backend;
      proxy_ssl_name $host;
      proxy_set_header Host $host;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${CERT};
    }
    location /verify-cn/ {
      proxy_pass https://backend;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${CERT};
      proxy_ssl_name secure.test;
    }
    location /verify-other/ {
      proxy_pass https://backend;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${CERT};
      proxy_ssl_name other.test;
    }
  }
`;
}

describe.skipIf(!nginxAvailable())('upstream SNI: nginx against the compiled clusters', () => {
  let nginx: NginxInstance;
  let upstream: Server;
  let port: number;
  let bodyText: string;

  beforeAll(async () => {
    upstream = createServer({ cert: readFileSync(CERT), key: readFileSync(join(CERTS, 'secure.test.key')) }, (req, res) => {
      const sni = (req.socket as TLSSocket).servername;
      res.end(sni ? `sni=${sni}` : 'sni=none');
    });
    await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', ok));
    const upstreamPort = (upstream.address() as { port: number }).port;
    port = await freePort();
    bodyText = httpBody(port, upstreamPort);
    nginx = await startNginx((prefix) => testConfig(prefix, bodyText), [port]);
  });

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((ok) => upstream?.close(ok));
  });

  /** The SNI the evaluator says the compiled route for `path` sends upstream (`none` without). */
  function compiledSni(path: string, host = 'a.test'): string {
    const r = compileText(testConfig('/tmp/unused', bodyText));
    const d = evaluator(r.bootstrap)({ port, address: '127.0.0.1', host, path });
    const cluster = r.bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
    expect(cluster, `cluster ${d.cluster}`).toBeDefined();
    expect(cluster.transport_socket, `cluster ${d.cluster} speaks TLS`).toBeDefined();
    return d.upstreamSni ?? 'none';
  }

  /** The cluster of the compiled route for `path`. */
  function compiledCluster(path: string) {
    const r = compileText(testConfig('/tmp/unused', bodyText));
    const name = evaluator(r.bootstrap)({ port, address: '127.0.0.1', host: 'a.test', path }).cluster;
    return r.bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === name);
  }

  test.each(['/none/', '/off/', '/on/', '/named/', '/ip/', '/plain-name/'])('%s: the SNI nginx sends is the cluster\'s', async (path) => {
    const res = await probe(port, 'a.test', path);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`sni=${compiledSni(path)}`);
  });

  // nginx's $host is lowercased and Envoy forwards the Host's case: SNI names compare without case (RFC 6066).
  test.each([
    ['a.test'],
    ['other.test'],
    ['Mixed.Test'],
    ['port.test:8443'],
    ['127.0.0.1'],
  ])('proxy_ssl_name $host / $http_host, Host %s: the SNI nginx sends is the one the compiled route sends', async (host) => {
    for (const path of ['/host/', '/http-host/']) {
      const res = await probe(port, host, path);
      expect(res.status).toBe(200);
      expect(res.body.toLowerCase(), path).toBe(`sni=${compiledSni(path, host)}`.toLowerCase());
    }
  });

  test('proxy_ssl_name $host sends the host itself: none for an IP, the port stripped', async () => {
    const got = await Promise.all(['a.test', 'port.test:8443', '127.0.0.1'].map(async (h) => (await probe(port, h, '/host/')).body));
    expect(got).toEqual(['sni=a.test', 'sni=port.test', 'sni=none']);
    const options = compiledCluster('/host/').typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options.upstream_http_protocol_options).toEqual({ auto_sni: true });
  });

  test('proxy_ssl_name $host where the upstream Host is $proxy_host: nginx still sends the host, the cluster none, and the report says so', async () => {
    expect((await probe(port, 'a.test', '/host-lost/')).body).toBe('sni=a.test');
    expect(compiledSni('/host-lost/')).toBe('none');
    const r = compileText(testConfig('/tmp/unused', bodyText));
    const names = reportLines(r, 'proxy_ssl_name').filter((e) => /\$host/.test(e.reason));
    expect(names.length).toBeGreaterThan(0);
    const lost = names.filter((e) => e.class === 'unsupported');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatch(/upstream Host is not the client's.*sends no SNI and checks no name/);
  });

  test('proxy_ssl_verify with proxy_ssl_name $host: nginx checks the request\'s host, the cluster auto_san_validation', async () => {
    expect((await probe(port, 'secure.test', '/host-verify/')).status).toBe(200);
    expect((await probe(port, 'other.test', '/host-verify/')).status).toBe(502);
    const c = compiledCluster('/host-verify/');
    const options = c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options.upstream_http_protocol_options).toEqual({ auto_san_validation: true });
    const validation = c.transport_socket.typed_config.common_tls_context.validation_context;
    expect(validation.trusted_ca).toEqual({ filename: CERT });
    expect(validation.match_typed_subject_alt_names).toBeUndefined();
    expect(c.transport_socket.typed_config.sni).toBeUndefined();
  });

  test('the SNI values themselves (nginx: none by default, $proxy_host or the name without port, none for an IP)', async () => {
    const got = await Promise.all(['/none/', '/on/', '/named/', '/ip/', '/plain-name/'].map(async (p) => (await probe(port, 'a.test', p)).body));
    expect(got).toEqual(['sni=none', 'sni=backend', 'sni=api.internal', 'sni=none', 'sni=localhost']);
  });

  test('proxy_ssl_verify: nginx accepts a name found only in the CN and refuses another; the cluster checks the same name, and the report states the CN difference', async () => {
    expect((await probe(port, 'a.test', '/verify-cn/')).status).toBe(200);
    expect((await probe(port, 'a.test', '/verify-other/')).status).toBe(502);
    const r = compileText(testConfig('/tmp/unused', bodyText));
    const ev = evaluator(r.bootstrap);
    const matcherOf = (path: string) => {
      const name = ev({ port, address: '127.0.0.1', host: 'a.test', path }).cluster;
      const c = r.bootstrap.static_resources.clusters.find((x: { name: string }) => x.name === name);
      return c.transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names;
    };
    expect(matcherOf('/verify-cn/')).toEqual([{ san_type: 'DNS', matcher: { exact: 'secure.test' } }]);
    expect(matcherOf('/verify-other/')).toEqual([{ san_type: 'DNS', matcher: { exact: 'other.test' } }]);
    const verify = reportLines(r, 'proxy_ssl_verify');
    expect(verify.every((e) => e.class === 'approximated' && /subject CN/.test(e.reason))).toBe(true);
  });
});
