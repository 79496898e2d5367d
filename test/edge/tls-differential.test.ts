// Differential test for TLS termination: real nginx serving TLS on 127.0.0.1
// with certificates made here, against the Envoy evaluator's reading of the
// compiled configuration. For every SNI × Host × path, both must choose the
// same server and location (each location answers with its own marker) and
// present the same certificate (the CN the client sees vs the certificate file
// of the filter chain the evaluator picks).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { evaluator, type EnvoyDecision } from '../../src/sim/envoy/index.js';
import { validateBootstrap, hasErrors, formatFindings } from '../../src/validate/index.js';
import { freePort, nginxAvailable, startNginx, testConfig, type NginxInstance } from '../support/nginx.js';
import { probe, tlsProbe } from '../support/http-probe.js';
import { chosenCert } from './support.js';

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Certificates by short name: CN and SAN DNS names. Self-signed, made with the openssl CLI. */
const CERTS: Record<string, string[]> = {
  default: ['default.test'],
  a: ['a.test', 'www.a.test', '*.api.a.test'],
  wilda: ['*.a.test'],
  b: ['b.test', '*.b.test'],
  c: ['www.c.org'],
};

function makeCerts(dir: string): void {
  for (const [name, dns] of Object.entries(CERTS)) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=${dns.map((d) => `DNS:${d}`).join(',')}`,
    ], { stdio: 'pipe' });
  }
}

function servers(dir: string, port: number, plain: number): string {
  const tls = (c: string) => `ssl_certificate ${join(dir, `${c}.crt`)}; ssl_certificate_key ${join(dir, `${c}.key`)};`;
  const ret = (srv: string, loc: string) => `return 200 "srv:${srv} loc:${loc}";`;
  const listen = (dflt = false) => `listen 127.0.0.1:${port} ssl${dflt ? ' default_server' : ''};`;
  return `
  ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 127.0.0.1:${plain} default_server; server_name _; return 301 https://$host$request_uri; }
  server { ${listen()} server_name a.test www.a.test; ${tls('a')}
    location / { ${ret('a', 'root')} }
    location = /exact { ${ret('a', 'exact')} }
    location ~ \\.php$ { ${ret('a', 'php')} }
  }
  server { ${listen(true)} server_name default.test; ${tls('default')}
    location / { ${ret('default', 'root')} }
    location /api/ { ${ret('default', 'api')} }
  }
  server { ${listen()} server_name *.api.a.test; ${tls('a')}
    location / { ${ret('api', 'root')} }
  }
  server { ${listen()} server_name *.a.test; ${tls('wilda')}
    location / { ${ret('wilda', 'root')} }
    location /api/ { ${ret('wilda', 'api')} }
  }
  server { ${listen()} server_name .b.test; ${tls('b')}
    location / { ${ret('b', 'root')} }
    location ^~ /static/ { ${ret('b', 'static')} }
    location ~ \\.php$ { ${ret('b', 'php')} }
  }
  server { ${listen()} server_name www.c.*; ${tls('c')}
    location / { ${ret('c', 'root')} }
  }
  server { ${listen()} server_name ~^re(\\d+)\\.test$; ${tls('default')}
    location / { ${ret('re', 'root')} }
  }
`;
}

const SNIS: (string | null)[] = [null, 'default.test', 'a.test', 'www.a.test', 'x.a.test', 'api.a.test', 'y.api.a.test', 'b.test', 'sub.b.test', 'www.c.org', 're7.test', 'unknown.test'];
const EXTRA_HOSTS = ['b.test', 'www.a.test', 'unknown.test', 'z.api.a.test'];
const PATHS = ['/', '/api/x', '/exact', '/x.php', '/static/a.php'];

/** Known, reported difference: a trailing-wildcard server name cannot be matched on SNI by Envoy. */
const CERT_DIFFERENCES = new Map([['www.c.org', { nginx: 'c', envoy: 'default' }]]);

const enabled = nginxAvailable() && opensslAvailable();

describe.skipIf(!enabled)('TLS: nginx and the evaluator agree on certificate, server and location', () => {
  let dir = '';
  let port = 0;
  let plain = 0;
  let nginx: NginxInstance | null = null;
  let bootstrap: any;
  let ev: (r: Parameters<ReturnType<typeof evaluator>>[0]) => EnvoyDecision;
  let reportText = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-tls-diff-'));
    makeCerts(dir);
    port = await freePort();
    plain = await freePort();
    const body = servers(dir, port, plain);
    const confFile = join(dir, 'nginx.conf');
    writeFileSync(confFile, `events {}\nhttp {\n${body}\n}\n`);
    const compiled = compile(confFile, {});
    expect(compiled.ok, compiled.diagnostics.map((d) => d.message).join('\n')).toBe(true);
    const findings = validateBootstrap(compiled.bootstrap);
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
    bootstrap = compiled.bootstrap;
    reportText = JSON.stringify([...compiled.report.directives, ...compiled.report.notes]);
    ev = evaluator(bootstrap);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    nginx = await startNginx(testConfig(dir, body), [port, plain]);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string | null, string, string][] = [];
  for (const sni of SNIS) {
    const hosts = [...new Set([sni ?? 'default.test', ...EXTRA_HOSTS])];
    for (const host of hosts) for (const path of PATHS) cases.push([sni, host, path]);
  }

  test(`${cases.length} requests agree`, async () => {
    const mismatches: string[] = [];
    let certDifferences = 0;
    const seen = { certs: new Set<string>(), bodies: new Set<string>() };
    for (const [sni, host, path] of cases) {
      const n = await tlsProbe(port, sni, host, path);
      seen.certs.add(n.certCn);
      seen.bodies.add(n.body);
      const d = ev({ port, address: '127.0.0.1', sni: sni ?? undefined, host, path, transport: 'tls' });
      const file = chosenCert(bootstrap, d) ?? '';
      const envoyCn = /([^/]+)\.crt$/.exec(file)?.[1] ?? '(none)';
      const envoyBody = d.kind === 'direct_response' ? d.body ?? '' : `(${d.kind})`;
      const what = `SNI ${sni ?? '(none)'} Host ${host} ${path}`;
      if (n.status !== 200 || n.body !== envoyBody) mismatches.push(`${what}: nginx ${n.status} ${JSON.stringify(n.body)} / envoy ${JSON.stringify(envoyBody)}`);
      const known = sni ? CERT_DIFFERENCES.get(sni) : undefined;
      if (known) {
        expect({ nginx: n.certCn, envoy: envoyCn }, what).toEqual(known);
        certDifferences++;
      } else if (n.certCn !== envoyCn) mismatches.push(`${what}: nginx presents ${n.certCn}, envoy ${envoyCn}`);
    }
    expect(mismatches).toEqual([]);
    expect(certDifferences).toBeGreaterThan(0);
    // the requests exercise every certificate and most locations
    expect([...seen.certs].sort()).toEqual(Object.keys(CERTS).sort());
    expect(seen.bodies.size).toBeGreaterThanOrEqual(10);
  }, 120_000);

  test('plain HTTP is redirected to https on the same host and URI, as nginx does', async () => {
    const targets = ['/', '/a/b?x=1&y=2', '/x.php', '/%7Euser/'];
    const hosts = ['a.test', 'A.Test', 'b.test:8080', 'unknown.test'];
    const diffs: string[] = [];
    for (const host of hosts) {
      for (const target of targets) {
        const n = await probe(plain, host, target);
        const d = ev({ port: plain, address: '127.0.0.1', host, path: target });
        const what = `${host} ${target}`;
        if (n.status !== d.status || n.headers['location'] !== d.redirectLocation) diffs.push(`${what}: nginx ${n.status} ${n.headers['location']} / envoy ${d.status} ${d.redirectLocation}`);
      }
    }
    // The reported differences of `return 301 https://$host$request_uri` (the return directive's report line):
    // nginx lowercases $host, Envoy keeps the client's case; $request_uri is the raw URI in nginx, Envoy
    // redirects to the normalised path (%7E → ~). Nothing else may differ.
    const known = (x: string) => x.startsWith('A.Test') || x.includes('%7E');
    expect(diffs.filter((x) => !known(x))).toEqual([]);
    expect(diffs.some((x) => x.startsWith('A.Test'))).toBe(true);
    expect(reportText).toMatch(/nginx lowercases `\$host`/);
    expect(reportText).toMatch(/`\$request_uri` is the client's raw URI in nginx/);
  });

  test('the certificate difference the test tolerates is the one the report states', () => {
    expect(reportText).toMatch(/www\.c\.\* cannot be matched against SNI/);
  });
});
