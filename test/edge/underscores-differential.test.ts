// Request headers named with `_`: real nginx drops them by default
// (underscores_in_headers off + ignore_invalid_headers on) and passes them when
// either is changed; the compiled listener's headers_with_underscores_action must
// say the same (DROP_HEADER ⇔ nginx dropped it). Settings at http and server level.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { freePort, nginxAvailable, startNginx, testConfig } from '../support/nginx.js';
import { startEchoBackends, type EchoReply } from '../support/http-probe.js';

/** The upstream's view of one request carrying `x_under` and `x-dash`. */
function send(port: number): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: 'a.test', x_under: '1', 'x-dash': '2' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as EchoReply));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Case {
  http: string;
  server: string;
}

const CASES: Case[] = [
  { http: '', server: '' },
  { http: '', server: 'underscores_in_headers on;' },
  { http: '', server: 'ignore_invalid_headers off;' },
  { http: 'underscores_in_headers on;', server: '' },
  { http: 'underscores_in_headers on;', server: 'underscores_in_headers off;' },
  { http: 'underscores_in_headers off;', server: 'underscores_in_headers off; ignore_invalid_headers off;' },
];

describe.skipIf(!nginxAvailable())('headers named with `_`: nginx vs headers_with_underscores_action', () => {
  const work = mkdtempSync(join(tmpdir(), 'ngx2envoy-us-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`http { ${c.http} } server { ${c.server} }`, async () => {
      const [port, backend] = [await freePort(), await freePort()];
      const body = `${c.http}\n server { listen 127.0.0.1:${port}; server_name a.test; ${c.server} location / { proxy_pass http://127.0.0.1:${backend}; } }`;
      const confPath = join(work, `c${port}.conf`);
      writeFileSync(confPath, testConfig(work, body));
      const result = compile(confPath, {});
      expect(result.ok).toBe(true);
      const listener = (result.bootstrap as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { common_http_protocol_options?: { headers_with_underscores_action?: string } } }[] }[] }[] } })
        .static_resources.listeners[0]!;
      const action = listener.filter_chains[0]!.filters[0]!.typed_config.common_http_protocol_options?.headers_with_underscores_action;
      const echo = await startEchoBackends([backend]);
      const nginx = await startNginx((prefix) => testConfig(prefix, body), [port]).catch(async (e) => {
        await echo.stop();
        throw e;
      });
      try {
        const seen = await send(port);
        expect(seen.headers['x-dash']).toBe('2');
        const dropped = seen.headers['x_under'] === undefined;
        expect(action).toBe(dropped ? 'DROP_HEADER' : 'ALLOW');
      } finally {
        await nginx.stop();
        await echo.stop();
      }
    });
  }
});
