// Differential test of the stream {} translation against REAL nginx (Debian's
// dynamic ngx_stream_module). Generated configs mix fixed proxy_pass targets,
// upstreams (a backup, a name written in another case) and SNI selections
// (`map $ssl_preread_server_name` with exact, `*.` and `.` names, values that are
// upstreams, host:port or empty, with and without a default). Each backend
// answers its own id, over TLS when the client speaks TLS (SNI passthrough: the
// client's handshake ends at the backend), in plain text otherwise. Every probe
// connection (plain TCP, TLS with a name, with an unknown name, without SNI)
// must reach in nginx the backend the evaluator finds for the compiled Envoy
// configuration (cluster → endpoint address:port → backend id), or be closed in both.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, connect as netConnect, type Server as NetServer } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join, resolve } from 'node:path';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { evaluateConnection } from '../../src/sim/envoy/index.js';
import { onFreshPorts, startNginx, type NginxInstance } from '../support/nginx.js';
import { compileText } from '../edge/support.js';

const MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const CERTS = resolve(import.meta.dirname, '../../fixtures/30-tls-http2/certs');

interface Backend {
  id: string;
  port: number;
  close(): Promise<void>;
}

/** A TCP server answering `id`: after a TLS handshake when the client starts one, else to the first bytes. */
async function startBackend(id: string): Promise<Backend> {
  // Not listening: it takes the connections that start with a TLS record.
  const tlsServer: TlsServer = createTlsServer({ cert: readFileSync(join(CERTS, 'secure.test.crt')), key: readFileSync(join(CERTS, 'secure.test.key')) }, (s) => {
    s.on('error', () => s.destroy());
    s.end(id);
  });
  tlsServer.on('tlsClientError', () => {});
  const open = new Set<import('node:net').Socket>();
  const server: NetServer = createNetServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.once('data', (chunk: Buffer) => {
      if (chunk[0] === 0x16) {
        sock.pause();
        sock.unshift(chunk);
        tlsServer.emit('connection', sock);
      } else sock.end(id);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  // Connections nginx left open (a probe's half-closed session) are cut: the test is over.
  const close = (): Promise<void> =>
    new Promise((ok) => {
      for (const s of open) s.destroy();
      server.close(() => ok());
    });
  return { id, port, close };
}

interface Probe {
  address: string;
  port: number;
  /** undefined: plain TCP; '' : TLS without SNI; else TLS with this server name. */
  sni?: string;
  /** the client's own address (default 127.0.0.1) */
  from?: string;
}

/** What the client reads before the connection ends: a backend id, or '' when closed without one. */
function connectOnce(p: Probe): Promise<string> {
  return new Promise((done) => {
    let got = '';
    let finished = false;
    const finish = (): void => {
      if (!finished) {
        finished = true;
        done(got);
      }
    };
    if (p.sni === undefined) {
      const s = netConnect({ port: p.port, host: p.address, localAddress: p.from ?? '127.0.0.1' }, () => s.write('hello\n'));
      s.on('data', (d) => (got += String(d)));
      s.on('error', finish);
      s.on('close', finish);
      return;
    }
    // Data after the handshake: a TLS-terminating nginx forwards it in plain text, which the backend answers.
    const s = tlsConnect({ host: p.address, port: p.port, rejectUnauthorized: false, ...(p.sni ? { servername: p.sni } : {}) }, () => s.write('hello\n'));
    s.on('data', (d) => (got += String(d)));
    s.on('error', finish);
    s.on('close', finish);
  });
}

// ------------------------------------------------------------ generated configurations

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NAME_POOL = ['a.test', 'b.test', 'x.a.test', '*.a.test', '*.b.a.test', '.c.test', '*.d.test', 'd.test', 'e.test', '.f.test'];
const SNI_PROBES = ['a.test', 'b.test', 'x.a.test', 'y.a.test', 'deep.x.a.test', 'q.b.a.test', 'c.test', 'w.c.test', 'd.test', 'z.d.test', 'e.test', 'f.test', 'k.f.test', 'unknown.test', 'B.TEST', 'X.A.Test', ''];

interface Generated {
  stream: string;
  probes: Probe[];
  /** ports nginx must open on 127.0.0.1 before probing */
  ports: number[];
}

/** A `.x` name claims `x` and `*.x`: nginx refuses a map naming either twice. */
function claims(name: string): string[] {
  if (name.startsWith('.')) return [name.slice(1), '*' + name];
  return [name];
}

function generate(seed: number, b: Map<string, number>, ports: number[]): Generated {
  const r = rng(seed);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const values = ['u0', 'u1', 'U2', `127.0.0.1:${b.get('B5')}`, `127.0.0.1:${b.get('B6')}`, ''];
  const lines: string[] = [
    `upstream u0 { server 127.0.0.1:${b.get('B0')}; }`,
    `upstream u1 { server 127.0.0.1:${b.get('B1')}; server 127.0.0.1:${b.get('B2')} backup; }`,
    `upstream u2 { server 127.0.0.1:${b.get('B3')}; }`,
  ];
  const probes: Probe[] = [];
  const [pFixed, pUp, pSni1, pSni2, pWild, pReturn, pTls, pAccess] = ports as [number, number, number, number, number, number, number, number];
  lines.push(`server { listen 127.0.0.1:${pFixed}; proxy_pass 127.0.0.1:${b.get('B4')}; }`);
  lines.push(`server { listen 127.0.0.1:${pUp}; proxy_connect_timeout 5s; proxy_pass ${pick(['u1', 'U1'])}; }`);
  // `return`: nginx sends the text and closes
  lines.push(`server { listen 127.0.0.1:${pReturn}; return "R${seed} from nginx"; }`);
  // TLS terminated by nginx: the backend sees plain text; a plaintext client fails the handshake
  lines.push(`server { listen 127.0.0.1:${pTls} ssl; ssl_certificate ${join(CERTS, 'secure.test.crt')}; ssl_certificate_key ${join(CERTS, 'secure.test.key')}; ssl_protocols TLSv1.2 TLSv1.3; proxy_pass ${pick(['u0', 'u2'])}; }`);
  probes.push({ address: '127.0.0.1', port: pTls }, { address: '127.0.0.1', port: pTls, sni: '' }, { address: '127.0.0.1', port: pTls, sni: 'secure.test' });
  // allow/deny in order, first match decides, no match lets in; clients from several loopback addresses
  const rulePool = ['allow 127.0.0.2;', 'deny 127.0.0.0/30;', 'allow 127.0.0.0/24;', 'deny 127.0.0.3;', 'deny all;', 'allow all;', 'allow ::1;', 'deny 127.0.0.4/32;'];
  const rules = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(rulePool));
  lines.push(`server { listen 127.0.0.1:${pAccess}; ${rules.join(' ')} proxy_pass 127.0.0.1:${b.get('B4')}; }`);
  for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.9']) probes.push({ address: '127.0.0.1', port: pAccess, from });
  probes.push({ address: '127.0.0.1', port: pFixed }, { address: '127.0.0.1', port: pFixed, sni: 'a.test' }, { address: '127.0.0.1', port: pUp }, { address: '127.0.0.1', port: pReturn });
  const sniServer = (i: number, listen: string): void => {
    const taken = new Set<string>();
    const entries: string[] = [];
    const count = 2 + Math.floor(r() * 6);
    for (let k = 0; k < count; k++) {
      const name = pick(NAME_POOL);
      if (claims(name).some((c) => taken.has(c))) continue;
      claims(name).forEach((c) => taken.add(c));
      entries.push(`    ${name} "${pick(values)}";`);
    }
    const dflt = r() < 0.7 ? `    default "${pick(values.filter((v) => v !== ''))}";` : '';
    // without `hostnames`, `*.x` and `.x` are literal names in nginx
    const hostnames = r() < 0.8 ? ['    hostnames;'] : [];
    lines.push(`map $ssl_preread_server_name $sel${i} {`, ...hostnames, ...entries, ...(dflt ? [dflt] : []), '}');
    lines.push(`server { listen ${listen}; ssl_preread on; proxy_timeout 30s; proxy_pass $sel${i}; }`);
  };
  sniServer(1, `127.0.0.1:${pSni1}`);
  sniServer(2, `127.0.0.1:${pSni2}`);
  // A wildcard address and a specific one on the same port: nginx picks the server by address first.
  lines.push(`server { listen ${pWild}; proxy_pass 127.0.0.1:${b.get('B7')}; }`);
  sniServer(3, `127.0.0.2:${pWild}`);
  for (const [address, port] of [['127.0.0.1', pSni1], ['127.0.0.1', pSni2], ['127.0.0.2', pWild], ['127.0.0.1', pWild]] as const) {
    probes.push({ address, port });
    for (const sni of SNI_PROBES) probes.push({ address, port, sni });
  }
  return { stream: lines.join('\n'), probes, ports: [pFixed, pUp, pSni1, pSni2, pWild, pReturn, pTls, pAccess] };
}

function fullConfig(prefix: string, stream: string): string {
  return [
    `load_module ${MODULE};`,
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} info;`,
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'stream {',
    stream,
    '}',
    '',
  ].join('\n');
}

/** The backend id the compiled configuration sends a probe to ('' when Envoy closes it). */
function envoyAnswer(bootstrap: any, p: Probe, idByPort: Map<number, string>): string {
  const d = evaluateConnection(bootstrap, { port: p.port, address: p.address, remoteAddress: p.from ?? '127.0.0.1', protocol: 'tcp', ...(p.sni === undefined ? {} : { tls: true, ...(p.sni ? { sni: p.sni } : {}) }) });
  if (d.kind !== 'cluster') return d.response ?? '';
  const cluster = bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
  expect(cluster, `cluster ${d.cluster}`).toBeDefined();
  // All servers are up: Envoy uses the lowest priority level (nginx: the non-backup servers).
  const localities = [...cluster.load_assignment.endpoints].sort((a: any, b: any) => (a.priority ?? 0) - (b.priority ?? 0));
  const endpoints = localities[0].lb_endpoints;
  expect(endpoints, `one endpoint in the first priority of ${d.cluster}`).toHaveLength(1);
  return idByPort.get(endpoints[0].endpoint.address.socket_address.port_value) ?? `port ${endpoints[0].endpoint.address.socket_address.port_value}`;
}

/** A UDP server answering each datagram with `id`. */
async function startUdpBackend(id: string): Promise<{ id: string; port: number; socket: UdpSocket }> {
  const socket = createSocket('udp4');
  socket.on('message', (_msg, from) => socket.send(id, from.port, from.address));
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  return { id, port: socket.address().port, socket };
}

/** The first datagram answered to one sent to address:port (nginx forwards every datagram: an answer always comes). */
async function askUdp(address: string, port: number): Promise<string> {
  const client = createSocket('udp4');
  try {
    const answer = new Promise<string>((ok) => client.once('message', (m) => ok(String(m))));
    await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
    client.send('query', port, address);
    return await answer;
  } finally {
    client.close();
  }
}

describe('stream {}: real nginx against the compiled Envoy configuration', () => {
  const backends: Backend[] = [];

  test('the stream module is installed (libnginx-mod-stream)', () => {
    expect(existsSync(MODULE), `${MODULE} is missing: apt-get install libnginx-mod-stream`).toBe(true);
  });

  beforeAll(async () => {
    for (let i = 0; i < 8; i++) backends.push(await startBackend(`B${i}`));
  });

  afterAll(async () => {
    for (const b of backends) await b.close();
  });

  test('UDP: datagrams reach the backend the udp_proxy listeners name', async () => {
    const udp = [await startUdpBackend('U0'), await startUdpBackend('U1'), await startUdpBackend('U2')];
    const idByPort = new Map(udp.map((u) => [u.port, u.id]));
    const { p1, p2, p3, compiled, nginx } = await onFreshPorts(3, async ([p1, p2, p3]) => {
      const stream = [
        `upstream dns { server 127.0.0.1:${udp[1]!.port}; server 127.0.0.1:${udp[2]!.port} backup; }`,
        `server { listen 127.0.0.1:${p1} udp; proxy_pass 127.0.0.1:${udp[0]!.port}; }`,
        `server { listen 127.0.0.1:${p2} udp; proxy_responses 1; proxy_pass dns; }`,
        `server { listen 127.0.0.1:${p3}; listen 127.0.0.1:${p3} udp; proxy_pass 127.0.0.1:${udp[2]!.port}; }`,
      ].join('\n');
      const compiled = compileText(fullConfig('/tmp/unused', stream));
      const nginx = await startNginx((prefix) => fullConfig(prefix, stream), [p3!]);
      return { p1: p1!, p2: p2!, p3: p3!, compiled, nginx };
    });
    try {
      for (const port of [p1, p2, p3]) {
        const real = await askUdp('127.0.0.1', port);
        const d = evaluateConnection(compiled.bootstrap, { port, protocol: 'udp' });
        expect(d.kind, d.notes.join('; ')).toBe('cluster');
        const cluster = compiled.bootstrap.static_resources.clusters.find((c: { name: string }) => c.name === d.cluster);
        const first = [...cluster.load_assignment.endpoints].sort((a: any, b: any) => (a.priority ?? 0) - (b.priority ?? 0))[0];
        expect(idByPort.get(first.lb_endpoints[0].endpoint.address.socket_address.port_value)).toBe(real);
      }
    } finally {
      await nginx.stop();
      for (const u of udp) u.socket.close();
    }
  });

  test('allow/deny inheritance: a server with any rule of its own replaces all of the stream level\'s', async () => {
    const byId = new Map(backends.map((b) => [b.id, b.port]));
    const idByPort = new Map(backends.map((b) => [b.port, b.id]));
    const { ports, compiled, nginx } = await onFreshPorts(3, async (ports) => {
      const stream = [
        'deny 127.0.0.2;',
        'allow 127.0.0.0/29;',
        'deny all;',
        `server { listen 127.0.0.1:${ports[0]}; proxy_pass 127.0.0.1:${byId.get('B0')}; }`,
        `server { listen 127.0.0.1:${ports[1]}; allow ::1; proxy_pass 127.0.0.1:${byId.get('B1')}; }`,
        `server { listen 127.0.0.1:${ports[2]}; deny 127.0.0.3; proxy_pass 127.0.0.1:${byId.get('B2')}; }`,
      ].join('\n');
      const compiled = compileText(fullConfig('/tmp/unused', stream));
      const nginx = await startNginx((prefix) => fullConfig(prefix, stream), ports);
      return { ports, compiled, nginx };
    });
    try {
      const mismatches: string[] = [];
      let closed = 0;
      for (const port of ports) {
        for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.9']) {
          const p: Probe = { address: '127.0.0.1', port, from };
          const real = await connectOnce(p);
          if (real === '') closed++;
          const envoy = envoyAnswer(compiled.bootstrap, p, idByPort);
          if (real !== envoy) mismatches.push(`from ${from} to ${port}: nginx ${real || 'closed'}, envoy ${envoy || 'closed'}`);
        }
      }
      expect(mismatches).toEqual([]);
      expect(closed).toBeGreaterThan(0);
    } finally {
      await nginx.stop();
    }
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('generated configuration %i: every connection reaches the same backend', async (seed) => {
    const byId = new Map(backends.map((b) => [b.id, b.port]));
    const idByPort = new Map(backends.map((b) => [b.port, b.id]));
    const { gen, compiled, nginx } = await onFreshPorts(8, async (ports) => {
      const gen = generate(seed, byId, ports);
      const compiled = compileText(fullConfig('/tmp/unused', gen.stream));
      const nginx: NginxInstance = await startNginx((prefix) => fullConfig(prefix, gen.stream), gen.ports);
      return { gen, compiled, nginx };
    });
    try {
      const mismatches: string[] = [];
      let reached = 0;
      for (const p of gen.probes) {
        const real = await connectOnce(p);
        const envoy = envoyAnswer(compiled.bootstrap, p, idByPort);
        if (real !== '') reached++;
        if (real !== envoy) mismatches.push(`${p.from ? `from ${p.from} ` : ''}${p.address}:${p.port} ${p.sni === undefined ? 'plain' : p.sni === '' ? 'tls without SNI' : `sni ${p.sni}`}: nginx ${real || 'closed'}, envoy ${envoy || 'closed'}`);
      }
      expect(mismatches, `config:\n${gen.stream}`).toEqual([]);
      expect(reached).toBeGreaterThan(gen.probes.length / 3);
    } finally {
      await nginx.stop();
    }
  });
});
