// Client addresses against real nginx: what an upstream receives as
// `X-Real-IP $remote_addr` from nginx (echo backend) and what the evaluator says
// Envoy sends for the compiled configuration, for requests with various
// X-Forwarded-For / X-Real-IP headers. Without realip nginx uses the peer;
// with `set_real_ip_from` covering the peer it uses the header. Where the peer
// is not trusted by nginx, Envoy still trusts the header: the reported
// approximation, asserted here as a difference.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { compile } from '../../src/compile.js';
import { evaluator, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { freePort, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { startEchoBackends, type EchoReply } from '../support/http-probe.js';

function get(port: number, host: string, headers: Record<string, string>): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: host, ...headers }, agent: false, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as EchoReply));
    });
    req.on('error', reject);
    req.end();
  });
}

const HEADER_SETS: Record<string, string>[] = [
  {},
  { 'X-Forwarded-For': '203.0.113.5' },
  { 'X-Forwarded-For': '203.0.113.5, 192.0.2.7' },
  { 'X-Forwarded-For': 'not-an-address' },
  { 'X-Real-IP': '198.51.100.20' },
  { 'X-Real-IP': '198.51.100.20', 'X-Forwarded-For': '203.0.113.5' },
];

describe.skipIf(!nginxAvailable())('client addresses: nginx realip vs the compiled configuration', () => {
  let dir = '';
  let nginx: NginxInstance | null = null;
  let echo: { stop(): Promise<void> } | null = null;
  const ports = { plain: 0, xff: 0, realip: 0, untrusted: 0, backend: 0 };
  let ev: (r: Parameters<ReturnType<typeof evaluator>>[0]) => EnvoyDecision;

  beforeAll(async () => {
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    const loc = `location / { proxy_pass http://127.0.0.1:${ports.backend}; proxy_set_header X-Real-IP $remote_addr; }`;
    const body = `
  server { listen 127.0.0.1:${ports.plain}; server_name plain.test; ${loc} }
  server { listen 127.0.0.1:${ports.xff}; server_name xff.test; set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For; ${loc} }
  server { listen 127.0.0.1:${ports.realip}; server_name realip.test; set_real_ip_from 0.0.0.0/0; real_ip_header X-Real-IP; ${loc} }
  server { listen 127.0.0.1:${ports.untrusted}; server_name untrusted.test; set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; ${loc} }
`;
    dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-realip-'));
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), `events {}\nhttp {\n${body}\n}\n`);
    const compiled = compile(join(dir, 'nginx.conf'), {});
    expect(compiled.ok).toBe(true);
    ev = evaluator(compiled.bootstrap);
    echo = await startEchoBackends([ports.backend]);
    nginx = await startNginx(testConfig(dir, body), [ports.plain, ports.xff, ports.realip, ports.untrusted]);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await echo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function compare(server: keyof typeof ports): Promise<{ nginx: string; envoy: string; headers: Record<string, string> }[]> {
    const out: { nginx: string; envoy: string; headers: Record<string, string> }[] = [];
    for (const headers of HEADER_SETS) {
      const n = await get(ports[server], `${server}.test`, headers);
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const d = ev({ port: ports[server], address: '127.0.0.1', host: `${server}.test`, path: '/', remoteAddress: '127.0.0.1', headers: lower });
      const e = d.requestHeadersToAdd?.find((h) => h.key.toLowerCase() === 'x-real-ip')?.value ?? '(none)';
      out.push({ nginx: String(n.headers['x-real-ip']), envoy: e, headers });
    }
    return out;
  }

  test.each(['plain', 'xff', 'realip'] as const)('%s: the upstream sees the same client address', async (server) => {
    const rows = await compare(server);
    for (const r of rows) expect(r.envoy, JSON.stringify(r.headers)).toBe(r.nginx);
    // the cases really differ from each other where the module is on
    if (server !== 'plain') expect(new Set(rows.map((r) => r.nginx)).size).toBeGreaterThan(1);
  });

  test('a peer outside set_real_ip_from: nginx ignores the header, Envoy trusts it (the reported difference)', async () => {
    const rows = await compare('untrusted');
    const spoofed = rows.filter((r) => r.nginx !== r.envoy);
    expect(rows.every((r) => r.nginx === '127.0.0.1')).toBe(true);
    expect(spoofed.length).toBeGreaterThan(0);
    expect(spoofed.every((r) => 'X-Forwarded-For' in r.headers)).toBe(true);
  });
});
