// The replies nginx makes itself against the compiled Envoy configuration's local replies:
// an upstream that refuses connections (502), one that accepts and never answers (504 after
// proxy_read_timeout), `return 404/403/500;`, `return 404 "text"`, a deny's 403, a body over
// client_max_body_size (413), a redirect, error_page to a file (the status kept, and =200),
// error_page to a URL, server_tokens on, off and build, and on/off mixed on one listener.
// For each request real nginx's status, Content-Type and body bytes must be what the Envoy
// evaluator reads from the compiled configuration (its local_reply_config applied) and what
// the nginx model says.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluator, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { routeNginx, type NginxReply } from '../../src/sim/nginx/index.js';
import { freePorts, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { compileText } from '../edge/support.js';
import type { CompileResult } from '../../src/compile.js';

interface Ports {
  on: number;
  off: number;
  build: number;
  dead: number;
  silent: number;
}

interface Case {
  port: keyof Ports;
  path: string;
  method?: string;
  /** the request's body length (sent as Content-Length; nginx answers 413 before reading it) */
  bodyLength?: number;
  /** the status nginx must answer (the cases are not vacuous) */
  status: number;
}

const CASES: Case[] = [
  { port: 'on', path: '/dead/x', status: 502 },
  { port: 'on', path: '/silent/x', status: 504 },
  { port: 'on', path: '/r404', status: 404 },
  { port: 'on', path: '/r403', status: 403 },
  { port: 'on', path: '/r500', status: 500 },
  { port: 'on', path: '/text', status: 404 },
  { port: 'on', path: '/deny/x', status: 403 },
  { port: 'on', path: '/small/x', method: 'POST', bodyLength: 24, status: 413 },
  { port: 'on', path: '/moved', status: 301 },
  { port: 'on', path: '/ep/x', status: 502 },
  { port: 'on', path: '/ep200/x', status: 200 },
  { port: 'on', path: '/epr/x', status: 302 },
  { port: 'off', path: '/dead/x', status: 502 },
  { port: 'off', path: '/r404', status: 404 },
  { port: 'off', path: '/on/x', status: 403 },
  { port: 'off', path: '/deny/x', status: 403 },
  { port: 'build', path: '/dead/x', status: 502 },
];

function httpBody(p: Ports, html: string): string {
  const dead = `http://127.0.0.1:${p.dead}`;
  return `
  server {
    listen 127.0.0.1:${p.on};
    server_name on.test;
    location /dead/ { proxy_pass ${dead}; }
    location /silent/ { proxy_pass http://127.0.0.1:${p.silent}; proxy_read_timeout 1s; }
    location = /r404 { return 404; }
    location = /r403 { return 403; }
    location = /r500 { return 500; }
    location = /text { error_page 404 /50x.html; return 404 "gone"; }
    location /deny/ { deny all; proxy_pass ${dead}; }
    location /small/ { client_max_body_size 10; proxy_pass ${dead}; }
    location = /moved { return 301 http://on.test/elsewhere; }
    location /ep/ { error_page 502 /50x.html; proxy_pass ${dead}; }
    location /ep200/ { error_page 502 =200 /50x.html; proxy_pass ${dead}; }
    location /epr/ { error_page 502 https://status.on.test/; proxy_pass ${dead}; }
    location = /50x.html { root ${html}; }
  }
  server {
    listen 127.0.0.1:${p.off};
    server_name off.test;
    server_tokens off;
    location /dead/ { proxy_pass ${dead}; }
    location = /r404 { return 404; }
    location /on/ { server_tokens on; return 403; }
    location /deny/ { deny all; proxy_pass ${dead}; }
  }
  server {
    listen 127.0.0.1:${p.build};
    server_name build.test;
    server_tokens build;
    location /dead/ { proxy_pass ${dead}; }
  }
`;
}

interface Raw {
  status: number;
  contentType: string | null;
  body: string;
}

/** One request on its own connection, read to the end: status, Content-Type and the body's exact bytes. */
function rawRequest(port: number, host: string, path: string, method: string, bodyLength?: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.setTimeout(10_000, () => sock.destroy(new Error(`timeout: ${method} ${host}${path}`)));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end).split('\r\n');
      const type = head.find((l) => /^content-type:/i.test(l));
      resolve({ status: Number(head[0]!.split(' ')[1]), contentType: type ? type.slice(type.indexOf(':') + 1).trim() : null, body: text.slice(end + 4) });
    });
    const length = bodyLength === undefined ? '' : `Content-Length: ${bodyLength}\r\n`;
    sock.write(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${length}\r\n`);
  });
}

/** A port that accepts connections and never answers. */
async function silentServer(port: number): Promise<{ stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

const HOSTS: Record<keyof Ports, string> = { on: 'on.test', off: 'off.test', build: 'build.test', dead: '', silent: '' };

describe.skipIf(!nginxAvailable())("nginx's own replies: real nginx, the nginx model and the compiled local replies agree byte for byte", () => {
  let ports: Ports;
  let nginx: NginxInstance;
  let silent: { stop(): Promise<void> };
  let compiled: CompileResult;
  let html: string;

  beforeAll(async () => {
    const all = await freePorts(5);
    ports = { on: all[0]!, off: all[1]!, build: all[2]!, dead: all[3]!, silent: all[4]! };
    html = mkdtempSync(join(tmpdir(), 'ngx2envoy-pages-'));
    writeFileSync(join(html, '50x.html'), '<p>sorry, try again</p>\r\n');
    silent = await silentServer(ports.silent);
    const text = httpBody(ports, html);
    nginx = await startNginx((prefix) => testConfig(prefix, text), [ports.on, ports.off, ports.build]);
    compiled = compileText(testConfig('/tmp/unused', text));
  });

  afterAll(async () => {
    await nginx?.stop();
    await silent?.stop();
    if (html) rmSync(html, { recursive: true, force: true });
  });

  const conditions = (): { refused: string[]; timeout: string[] } => ({ refused: [`127.0.0.1:${ports.dead}`], timeout: [`127.0.0.1:${ports.silent}`] });

  /** What the client gets from the compiled configuration, by the Envoy evaluator. */
  function envoyReply(c: Case): Raw {
    const d: EnvoyDecision = evaluator(compiled.bootstrap)({ port: ports[c.port], address: '127.0.0.1', host: HOSTS[c.port], path: c.path, method: c.method ?? 'GET', upstream: conditions(), ...(c.bodyLength === undefined ? {} : { bodyLength: c.bodyLength }) });
    if (d.reply) return { status: d.reply.status, contentType: d.reply.contentType, body: d.reply.body };
    const failed = d.upstream?.outcomes.filter((o) => o.kind === 'failed') ?? [];
    if (failed.length !== 1 || failed[0]!.kind !== 'failed' || !failed[0]!.reply) throw new Error(`${c.path}: Envoy ${d.kind} without a local reply`);
    const r = failed[0]!.reply;
    return { status: r.status, contentType: r.contentType, body: r.body };
  }

  /** What the nginx model says nginx answers. */
  function modelReply(c: Case): Raw {
    const route = routeNginx(compiled.ir!, { port: ports[c.port], host: HOSTS[c.port], target: c.path, method: c.method ?? 'GET', upstream: conditions(), ...(c.bodyLength === undefined ? {} : { bodyLength: c.bodyLength }) });
    let r: NginxReply | undefined = route.reply;
    if (!r && route.outcome.kind === 'proxy') {
      const failed = route.outcome.upstream?.outcomes.find((o) => o.kind === 'failed');
      r = failed?.kind === 'failed' ? failed.reply : undefined;
    }
    if (!r) throw new Error(`${c.path}: the model gives no reply (${route.outcome.kind})`);
    return { status: r.status, contentType: r.contentType, body: r.body };
  }

  test('every case: nginx, the model and the evaluator give the same status, Content-Type and body', async () => {
    const mismatches: string[] = [];
    for (const c of CASES) {
      const real = await rawRequest(ports[c.port], HOSTS[c.port], c.path, c.method ?? 'GET', c.bodyLength);
      expect(real.status, `${c.port} ${c.path}: nginx's status`).toBe(c.status);
      const envoy = envoyReply(c);
      const model = modelReply(c);
      if (JSON.stringify(envoy) !== JSON.stringify(real)) mismatches.push(`${c.port} ${c.path}: nginx ${JSON.stringify(real)}\n  envoy ${JSON.stringify(envoy)}`);
      if (JSON.stringify(model) !== JSON.stringify(real)) mismatches.push(`${c.port} ${c.path}: nginx ${JSON.stringify(real)}\n  model ${JSON.stringify(model)}`);
    }
    expect(mismatches).toEqual([]);
  });

  test('the cases are not vacuous: pages, versions, the file and the text differ', async () => {
    const on = await rawRequest(ports.on, 'on.test', '/dead/x', 'GET');
    const off = await rawRequest(ports.off, 'off.test', '/dead/x', 'GET');
    expect(on.body).toContain('<hr><center>nginx/1.22.1</center>\r\n');
    expect(off.body).toContain('<hr><center>nginx</center>\r\n');
    expect(envoyReply({ port: 'on', path: '/ep/x', status: 502 }).body).toBe('<p>sorry, try again</p>\r\n');
    expect(envoyReply({ port: 'on', path: '/text', status: 404 })).toEqual({ status: 404, contentType: 'text/plain', body: 'gone' });
    // Without its local replies Envoy would answer 503 with its own text: the mapping decides.
    const bare = structuredClone(compiled.bootstrap);
    for (const l of bare.static_resources.listeners) for (const fc of l.filter_chains) delete fc.filters[0].typed_config.local_reply_config;
    const d = evaluator(bare)({ port: ports.on, address: '127.0.0.1', host: 'on.test', path: '/dead/x', upstream: conditions() });
    const failed = d.upstream!.outcomes[0]!;
    expect(failed.kind === 'failed' && failed.reply).toMatchObject({ status: 503, contentType: 'text/plain' });
  });
});
