// nginx finds the upstream a proxy_pass names case-insensitively; had it taken
// `legacy.pool` for a host name, `nginx -t` would fail to resolve it.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { nginxAvailable, nginxTest, testConfig } from '../support/nginx.js';

const HTTP_BODY = `
  upstream Legacy.Pool { server 127.0.0.1:9100; }
  server {
    listen 127.0.0.1:8080;
    location /a/ { proxy_pass http://legacy.pool; }
    location /b/ { proxy_pass http://LEGACY.POOL/x/; }
  }
`;

describe('upstream names are matched case-insensitively', () => {
  test.skipIf(!nginxAvailable())('nginx takes both spellings for the upstream (no DNS lookup of legacy.pool)', () => {
    const r = nginxTest((prefix) => testConfig(prefix, HTTP_BODY));
    expect(r.stderr).not.toMatch(/host not found/);
    expect(r.status).toBe(0);
  });

  test('the compiler routes both to the upstream cluster and makes no inline backend', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-upcase-'));
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, `events {}\nhttp {${HTTP_BODY}}\n`);
    const result = compile(file, {});
    expect(result.ok).toBe(true);
    expect(result.ir!.backends.map((b) => b.name)).toEqual(['Legacy.Pool']);
    const clusters = (result.bootstrap.static_resources.clusters as { name: string }[]).map((c) => c.name);
    expect(clusters).toEqual(['Legacy.Pool']);
  });
});
