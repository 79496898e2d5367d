// Oracle: real nginx (stream module) with `proxy_ssl on` connects to a Node server
// that says what it received: whether a PROXY protocol header came first, and the
// SNI of the TLS handshake that followed. The compiled cluster the evaluator picks
// for the same listener must send the same: TLS, the same SNI (or none), the PROXY
// header before the handshake.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { join, resolve } from 'node:path';
import { createSocket } from 'node:dgram';
import { evaluateConnection } from '../../src/sim/envoy/index.js';
import { nginxAvailable, onFreshPorts, startNginx, type NginxInstance } from '../support/nginx.js';
import { compileText } from '../edge/support.js';

const MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const CERTS = resolve(import.meta.dirname, '../../fixtures/30-tls-http2/certs');

/** Answers `pp=<yes|no> tls=<yes|no> sni=<name|none>` on each connection. */
async function startRecordingBackend(): Promise<{ port: number; close(): Promise<void> }> {
  const secureContext = createSecureContext({ cert: readFileSync(join(CERTS, 'secure.test.crt')), key: readFileSync(join(CERTS, 'secure.test.key')) });
  const open = new Set<Socket>();
  const server: NetServer = createNetServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => sock.destroy());
    let pp = 'no';
    const onData = (chunk: Buffer): void => {
      if (chunk.subarray(0, 6).toString('latin1') === 'PROXY ') {
        const end = chunk.indexOf('\r\n');
        pp = 'yes';
        chunk = chunk.subarray(end + 2);
        if (chunk.length === 0) return; // the handshake comes in the next read
      }
      sock.off('data', onData);
      if (chunk[0] !== 0x16) {
        sock.end(`pp=${pp} tls=no sni=none`);
        return;
      }
      sock.pause();
      sock.unshift(chunk);
      // A server-side TLS socket of its own: concurrent handshakes cannot swap answers.
      const t = new TLSSocket(sock, { isServer: true, secureContext });
      t.on('error', () => t.destroy());
      t.once('secure', () => t.end(`pp=${pp} tls=yes sni=${t.servername || 'none'}`));
    };
    sock.on('data', onData);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  const close = (): Promise<void> =>
    new Promise((ok) => {
      for (const s of open) s.destroy();
      server.close(() => ok());
    });
  return { port, close };
}

/** What nginx's upstream connection carried, as the backend reported it ('' when closed). */
function ask(port: number): Promise<string> {
  return new Promise((ok) => {
    const s = netConnect(port, '127.0.0.1', () => s.write('hello')); // (a plain backend answers the first bytes)
    let got = '';
    s.on('data', (d) => (got += String(d)));
    s.on('error', () => ok(got));
    s.on('close', () => ok(got));
    s.setTimeout(5000, () => s.destroy());
  });
}

function fullConfig(prefix: string, stream: string): string {
  return [`load_module ${MODULE};`, `pid ${join(prefix, 'nginx.pid')};`, `error_log ${join(prefix, 'error.log')} info;`, 'worker_processes 1;', 'events { worker_connections 64; }', 'stream {', stream, '}', ''].join('\n');
}

/** What the compiled configuration sends to the backend for a connection to `port`, in the backend's words. */
function compiledAnswer(bootstrap: any, port: number): string {
  const d = evaluateConnection(bootstrap, { port, address: '127.0.0.1', protocol: 'tcp' });
  expect(d.kind, d.notes.join('; ')).toBe('cluster');
  const cluster = bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
  const pp = cluster.transport_socket?.name === 'envoy.transport_sockets.upstream_proxy_protocol' ? 'yes' : 'no';
  if (d.upstreamSni === undefined) return `pp=${pp} tls=no sni=none`;
  return `pp=${pp} tls=yes sni=${d.upstreamSni || 'none'}`;
}

describe.skipIf(!nginxAvailable() || !existsSync(MODULE))('stream proxy_ssl: nginx against the compiled clusters', () => {
  let backend: Awaited<ReturnType<typeof startRecordingBackend>>;
  let nginx: NginxInstance;
  let ports: number[];
  let bootstrap: any;

  beforeAll(async () => {
    backend = await startRecordingBackend();
    const b = backend.port;
    const started = await onFreshPorts(6, async (p) => {
      const stream = [
        // nginx keeps a TLS session per upstream server, shared by these servers: a resumed
        // session reports the SNI of the handshake that made it. One handshake each.
        'proxy_ssl_session_reuse off;',
        `upstream backend.test { server 127.0.0.1:${b}; }`,
        `server { listen 127.0.0.1:${p[0]}; proxy_pass 127.0.0.1:${b}; }`,
        `server { listen 127.0.0.1:${p[1]}; proxy_pass 127.0.0.1:${b}; proxy_ssl on; }`,
        `server { listen 127.0.0.1:${p[2]}; proxy_pass 127.0.0.1:${b}; proxy_ssl on; proxy_ssl_server_name on; }`,
        `server { listen 127.0.0.1:${p[3]}; proxy_pass backend.test; proxy_ssl on; proxy_ssl_server_name on; }`,
        `server { listen 127.0.0.1:${p[4]}; proxy_pass 127.0.0.1:${b}; proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name named.test:9443; }`,
        `server { listen 127.0.0.1:${p[5]}; proxy_pass backend.test; proxy_protocol on; proxy_ssl on; proxy_ssl_server_name on; proxy_ssl_name pp.test; }`,
      ].join('\n');
      const compiled = compileText(fullConfig('/tmp/unused', stream));
      const nginx = await startNginx((prefix) => fullConfig(prefix, stream), p);
      return { ports: p, compiled, nginx };
    });
    ({ ports, nginx } = started);
    bootstrap = started.compiled.bootstrap;
  });

  afterAll(async () => {
    await nginx?.stop();
    await backend?.close();
  });

  test.each([0, 1, 2, 3, 4, 5])('server %i: the upstream connection nginx makes is the compiled cluster\'s', async (i) => {
    expect(await ask(ports[i]!)).toBe(compiledAnswer(bootstrap, ports[i]!));
  });

  test('what nginx sends, in its own words: plain, TLS without SNI for an IP, the upstream\'s name, proxy_ssl_name without port, PROXY header then TLS', async () => {
    const got = await Promise.all(ports.map((p) => ask(p)));
    expect(got).toEqual([
      'pp=no tls=no sni=none',
      'pp=no tls=yes sni=none',
      'pp=no tls=yes sni=none',
      'pp=no tls=yes sni=backend.test',
      'pp=no tls=yes sni=named.test',
      'pp=yes tls=yes sni=pp.test',
    ]);
  });
});

describe.skipIf(!nginxAvailable() || !existsSync(MODULE))('stream proxy_ssl over UDP: nginx sends plain datagrams', () => {
  test('the datagram reaches the backend as sent, and the compiled UDP cluster is plain', async () => {
    const backend = createSocket('udp4');
    const received: string[] = [];
    backend.on('message', (m, from) => {
      received.push(String(m));
      backend.send('answer', from.port, from.address);
    });
    await new Promise<void>((ok) => backend.bind(0, '127.0.0.1', ok));
    const { port, compiled, nginx } = await onFreshPorts(1, async ([p]) => {
      // (the TCP listen tells when nginx is up)
      const stream = `server { listen 127.0.0.1:${p}; listen 127.0.0.1:${p} udp; proxy_pass 127.0.0.1:${backend.address().port}; proxy_ssl on; proxy_ssl_server_name on; }`;
      return { port: p!, compiled: compileText(fullConfig('/tmp/unused', stream)), nginx: await startNginx((prefix) => fullConfig(prefix, stream), [p!]) };
    });
    const client = createSocket('udp4');
    try {
      const answer = new Promise<string>((ok) => client.once('message', (m) => ok(String(m))));
      await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
      client.send('query', port, '127.0.0.1');
      expect(await answer).toBe('answer');
      expect(received).toEqual(['query']);
      const d = evaluateConnection(compiled.bootstrap, { port, protocol: 'udp' });
      expect(d.kind).toBe('cluster');
      const cluster = compiled.bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
      expect(cluster.transport_socket).toBeUndefined();
    } finally {
      client.close();
      backend.close();
      await nginx.stop();
    }
  });
});
