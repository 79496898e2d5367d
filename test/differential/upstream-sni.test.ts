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

  /** The SNI the cluster of the route for `path` sends (`none` without). */
  function compiledSni(path: string): string {
    const r = compileText(testConfig('/tmp/unused', bodyText));
    const d = evaluator(r.bootstrap)({ port, address: '127.0.0.1', host: 'a.test', path });
    const cluster = r.bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
    expect(cluster, `cluster ${d.cluster}`).toBeDefined();
    return cluster.transport_socket?.typed_config?.sni ?? 'none';
  }

  test.each(['/none/', '/off/', '/on/', '/named/', '/ip/', '/plain-name/'])('%s: the SNI nginx sends is the cluster\'s', async (path) => {
    const res = await probe(port, 'a.test', path);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`sni=${compiledSni(path)}`);
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
