// ssl_verify_depth against real nginx: client certificates issued directly by the
// trusted root and through 1 or 2 intermediates, presented to nginx at depths
// 0..2, compared with what the compiled max_verify_depth lets through under
// Envoy's documented rule (CertificateValidationContext.max_verify_depth: "does
// not include the leaf but includes the trust anchor, so a depth of 1 allows the
// leaf and one CA certificate").
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { freePort, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const DEPTHS = [0, 1, 2];
/** Client chains by the number of intermediates between the leaf and the root. */
const INTERMEDIATES = [0, 1, 2];

let dir: string;
let nginx: NginxInstance | undefined;
const ports = new Map<number, number>();

const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** root → int1 → int2, and a client leaf under each of root, int1, int2. */
function makeChains(): void {
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign,cRLSign');
  const issue = (name: string, issuer: string, ca: boolean) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(ca ? ['-extfile', 'ca.ext'] : []));
  };
  issue('int1', 'root', true);
  issue('int2', 'int1', true);
  issue('leaf0', 'root', false);
  issue('leaf1', 'int1', false);
  issue('leaf2', 'int2', false);
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', 'srv.key', '-out', 'srv.pem', '-subj', '/CN=localhost');
  const pem = (n: string) => readFileSync(join(dir, `${n}.pem`), 'utf8');
  writeFileSync(join(dir, 'chain0.pem'), pem('leaf0'));
  writeFileSync(join(dir, 'chain1.pem'), pem('leaf1') + pem('int1'));
  writeFileSync(join(dir, 'chain2.pem'), pem('leaf2') + pem('int2') + pem('int1'));
}

function servers(): string {
  return DEPTHS.map(
    (d) => `  server { listen 127.0.0.1:${ports.get(d)} ssl; ssl_certificate ${join(dir, 'srv.pem')}; ssl_certificate_key ${join(dir, 'srv.key')};
    ssl_client_certificate ${join(dir, 'root.pem')}; ssl_verify_client on; ssl_verify_depth ${d};
    location / { return 200 "verified"; } }`,
  ).join('\n');
}

/** Whether nginx accepts the client chain with `intermediates` intermediates on the server of depth `depth`. */
function nginxAccepts(depth: number, intermediates: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: ports.get(depth),
        path: '/',
        agent: false,
        rejectUnauthorized: false,
        cert: readFileSync(join(dir, `chain${intermediates}.pem`)),
        key: readFileSync(join(dir, `leaf${intermediates}.key`)),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve(res.statusCode === 200 && body === 'verified'));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Envoy's rule: the CA certificates above the leaf, trust anchor included, may not exceed max_verify_depth. */
function envoyAccepts(maxVerifyDepth: number, intermediates: number): boolean {
  return intermediates + 1 <= maxVerifyDepth;
}

const enabled = nginxAvailable() && opensslAvailable();

describe.skipIf(!enabled)('ssl_verify_depth: nginx vs the compiled max_verify_depth', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-verify-depth-'));
    makeChains();
    for (const d of DEPTHS) ports.set(d, await freePort());
    nginx = await startNginx((prefix) => testConfig(prefix, servers()), [...ports.values()]);
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each depth lets through the same chains', async () => {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, `events {}\nhttp {\n${servers()}\n}\n`);
    const r = compile(conf);
    expect(r.ok).toBe(true);
    const rows: string[] = [];
    for (const d of DEPTHS) {
      const listener = r.bootstrap.static_resources.listeners.find((l: { name: string }) => l.name.endsWith(`_${ports.get(d)}`));
      const depth: number = listener.filter_chains[0].transport_socket.typed_config.common_tls_context.validation_context.max_verify_depth;
      for (const n of INTERMEDIATES) rows.push(`depth ${d}, ${n} intermediates: nginx ${await nginxAccepts(d, n)}, envoy ${envoyAccepts(depth, n)}`);
    }
    // nginx itself: depth 0 takes a leaf issued by the root, depth 1 one intermediate (the default).
    expect(rows).toContain('depth 0, 0 intermediates: nginx true, envoy true');
    expect(rows).toContain('depth 1, 1 intermediates: nginx true, envoy true');
    expect(rows.filter((row) => /nginx (\w+), envoy \1$/.test(row) === false)).toEqual([]);
  }, 60_000);
});
