// `listen … ssl` whose default server has no ssl_certificate (none at server or
// http level, no ssl_reject_handshake): nginx -t refuses the config, and so must
// convert (exit 1, the listen's position, nginx's wording). Each config is also
// given to real nginx -t (with a self-signed certificate made here) so the rule
// (only the default server of each ssl address:port counts) is nginx's own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { NGINX_BIN, nginxTest } from '../support/nginx.js';
import { runCli } from '../review/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-nocert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const CERT = join(dir, 'c.pem');
const KEY = join(dir, 'k.pem');
const withCert = `ssl_certificate ${CERT}; ssl_certificate_key ${KEY};`;

/** [name, http body, the line:col of the listen convert must name, or null when the config is valid] */
const CASES: [string, string, string | null][] = [
  ['the only server has no certificate', 'server {\n listen 127.0.0.1:18443 ssl;\n return 200;\n}', '2:2'],
  ['the default (first) server has none, the second has one', `server {\n listen 127.0.0.1:18443 ssl;\n}\nserver {\n listen 127.0.0.1:18443 ssl;\n server_name b; ${withCert}\n}`, '2:2'],
  ['default_server without, first with', `server {\n listen 127.0.0.1:18443 ssl; ${withCert}\n}\nserver {\n listen 127.0.0.1:18443 ssl default_server;\n server_name b;\n}`, '5:2'],
  ['ssl on one listen of the port, the default server listens without it', `server {\n listen 127.0.0.1:18443;\n}\nserver {\n listen 127.0.0.1:18443 ssl;\n server_name b; ${withCert}\n}`, '2:2'],
  ['the default server has one, the second none', `server {\n listen 127.0.0.1:18443 ssl; ${withCert}\n}\nserver {\n listen 127.0.0.1:18443 ssl;\n server_name b;\n}`, null],
  ['the certificate is set at http level', `${withCert}\nserver {\n listen 127.0.0.1:18443 ssl;\n}`, null],
  ['ssl_reject_handshake on', 'server {\n listen 127.0.0.1:18443 ssl;\n ssl_reject_handshake on;\n}', null],
  ['no ssl at all', 'server {\n listen 127.0.0.1:18080;\n}', null],
];

function confText(body: string): string {
  return `events {}\nhttp {\n${body}\n}\n`;
}

describe('listen … ssl without ssl_certificate', () => {
  for (const [name, body, at] of CASES) {
    it(`${name}: ${at ? `error at ${at}` : 'accepted'}`, async () => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.conf`);
      writeFileSync(path, confText(body));
      const result = compile(path, {});
      const error = result.diagnostics.find((d) => d.severity === 'error');
      if (at === null) {
        expect(error?.message).toBeUndefined();
        return;
      }
      expect(result.ok).toBe(false);
      expect(error!.message).toMatch(/^no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in .*:\d+ \(the default server of 127\.0\.0\.1:18443\)$/);
      expect(`${error!.source!.line - 2}:${error!.source!.col}`).toBe(at); // the conf starts with 2 lines of its own
      const cli = await runCli(['convert', path]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('no "ssl_certificate" is defined for the "listen ... ssl" directive');
      expect(cli.stderr).toContain(`${path}:${error!.source!.line}:${error!.source!.col}`);
      expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  describe.skipIf(!NGINX_BIN || !opensslAvailable())('nginx -t agrees', () => {
    let made = false;
    for (const [name, body, at] of CASES) {
      it(name, () => {
        if (!made) execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', KEY, '-out', CERT, '-days', '1', '-subj', '/CN=a.test'], { stdio: 'pipe' });
        made = true;
        const t = nginxTest(confText(body));
        if (at === null) expect(t.stderr).not.toMatch(/emerg/);
        else expect(t.stderr).toMatch(/\[emerg\] no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive/);
        expect(t.status).toBe(at === null ? 0 : 1);
      });
    }
  });
});

describe('a fragment (sites-available): the enclosing http block may set the certificate', () => {
  it('converts, the ssl listen reported without TLS', () => {
    const path = join(dir, 'site.conf');
    writeFileSync(path, 'server {\n listen 443 ssl;\n server_name a.test;\n return 200;\n}\n');
    const result = compile(path, {});
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.report.notes.some((e) => e.directive === 'listen' && e.class === 'unsupported' && /no server on it has ssl_certificate/.test(e.reason))).toBe(true);
  });
});
