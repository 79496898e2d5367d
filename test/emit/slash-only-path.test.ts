// A path of only slashes: nginx merges `//` and `///` to `/`; Envoy's merge_slashes
// leaves `//`. The compiled routes must send `//` and `///` where nginx sends `/`
// (location, and the upstream path nginx builds), read by the Envoy evaluator and
// held to the nginx model.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { evaluate } from '../../src/sim/envoy/index.js';
import { routeNginx } from '../../src/sim/nginx/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-slashes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIGS: Record<string, string> = {
  'exact root': 'location = / { return 200 "root"; } location / { return 200 "prefix"; }',
  'prefix with a URI part': 'location / { proxy_pass http://127.0.0.1:9000/v2/; }',
  'regex on the root': 'location ~ ^/$ { return 200 "regex root"; } location / { return 200 "prefix"; }',
  'regex that only // matches': 'location ~ ^//$ { return 200 "never in nginx"; } location / { return 200 "prefix"; }',
  'root location with an if': 'location / { if ($uri ~ ^/$) { return 200 "if root"; } return 200 "prefix"; }',
  'server-level rewrite of the root': 'rewrite ^/$ /home permanent; location / { return 200 "prefix"; }',
  'server-level if on the root': 'if ($uri ~ ^/$) { return 200 "server if"; } location / { return 200 "prefix"; }',
};

describe('paths of only slashes go where nginx sends /', () => {
  for (const [name, body] of Object.entries(CONFIGS)) {
    it(name, () => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.conf`);
      writeFileSync(path, `events {}\nhttp { server { listen 80; ${body} } }\n`);
      const result = compile(path, {});
      expect(result.ok, result.diagnostics.map((d) => d.message).join('\n')).toBe(true);
      const root = evaluate(result.bootstrap as never, { port: 80, host: 'a.test', path: '/', method: 'GET' });
      const nginxRoot = routeNginx(result.ir!, { port: 80, host: 'a.test', target: '/' });
      for (const target of ['//', '///']) {
        const nginx = routeNginx(result.ir!, { port: 80, host: 'a.test', target });
        expect(nginx.location?.id).toBe(nginxRoot.location?.id);
        const envoy = evaluate(result.bootstrap as never, { port: 80, host: 'a.test', path: target, method: 'GET' });
        expect(envoy.kind).toBe(root.kind);
        expect(envoy.body).toBe(root.body);
        expect(envoy.upstreamPath).toBe(root.upstreamPath); // nginx sends the URI part for the merged `/`
        expect(envoy.redirectLocation).toBe(root.redirectLocation);
        expect(envoy.status).toBe(root.status);
        if (nginx.location) expect(envoy.routeName?.startsWith(nginx.location.id)).toBe(true);
      }
    });
  }
});
