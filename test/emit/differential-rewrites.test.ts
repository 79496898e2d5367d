// Real nginx against the Envoy route evaluator's reading of the compiled
// configuration, on hand-written configs for what the generated differential
// test does not cover: rewrite flags, return forms (relative, captures, $uri,
// literal targets), the slash redirect, proxy_pass URI parts, nested ^~, and
// Host/port handling. Every request must reach the same place.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { evaluate } from '../../src/sim/envoy/index.js';
import { freePort, nginxAvailable, startNginx, testConfig } from '../support/nginx.js';
import { probe, startEchoBackends, type EchoReply } from '../support/http-probe.js';

type Outcome =
  | { kind: 'proxy'; backendPort: number; path: string; host: string | undefined }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'answer'; status: number; body?: string };

interface Case {
  name: string;
  /** http body; {{PORT}} is the listen port, {{B0}}… the echo backends. */
  body: string;
  hosts: string[];
  paths: string[];
}

const CASES: Case[] = [
  {
    name: 'rewrite flags',
    body: `
  server {
    listen 127.0.0.1:{{PORT}};
    rewrite ^/legacy/(.*)$ /modern/$1 permanent;
    rewrite ^/moved$ /elsewhere redirect;
    rewrite ^/blog/(\\d+)/(.*)$ https://blog.test/$1/$2 permanent;
    rewrite ^/drop-args$ /clean? redirect;
    location /api/ {
      rewrite ^/api/v1/(.*)$ /v1/$1 break;
      rewrite ^/api/(old|older)/(.*)$ /$2/from-$1 break;
      proxy_pass http://127.0.0.1:{{B0}};
    }
    location /uri/ {
      rewrite ^/uri/x/(.*)$ /rewritten/$1 break;
      proxy_pass http://127.0.0.1:{{B1}}/base/;
    }
    location /old/ {
      rewrite ^/old/(.*)$ /new/$1 redirect;
      return 404;
    }
    location / {
      proxy_pass http://127.0.0.1:{{B2}};
    }
  }`,
    hosts: ['r.test', 'R.Test'],
    paths: ['/legacy/a/b', '/legacy/a?x=1', '/moved', '/moved?q=2', '/blog/12/title?x', '/drop-args?a=1', '/api/v1/users?id=3', '/api/older/x', '/api/v2/x', '/api/', '/uri/x/1', '/uri/y/2?z', '/old/thing?k=v', '/old/', '/other', '/'],
  },
  {
    name: 'return forms',
    body: `
  server {
    listen 127.0.0.1:{{PORT}};
    server_name site.test;
    location = /rel { return 302 /relative/target; }
    location = /abs { return 301 https://other.test/new; }
    location = /uri { return 302 https://$host$uri; }
    location = /scheme { return 307 $scheme://$host/kept$request_uri; }
    location = /q { return 308 https://other.test/path?x=1; }
    location ~ ^/user/(\\d+)$ { return 301 /profile/$1; }
    location ~ ^/item/(?<id>\\d+)/(.*)$ { return 302 https://items.test/$2/$1; }
    location = /text { return 200 "plain text"; }
    location = /code { return 403; }
    location = /bare { return https://bare.test/; }
    location / { return 404 "none"; }
  }
  server {
    listen 127.0.0.1:{{PORT}};
    server_name old.test;
    return 301 http://new.test$request_uri;
  }`,
    hosts: ['site.test', 'SITE.test', 'old.test', 'unknown.test'],
    paths: ['/rel', '/rel?a=1', '/abs?a=1', '/uri?x=1', '/scheme?y=2', '/q?z', '/user/42', '/user/42?x', '/user/x', '/item/7/shoes', '/text', '/code', '/bare', '/x'],
  },
  {
    name: 'slash redirect, proxy URI parts, nested ^~',
    body: `
  upstream up { server 127.0.0.1:{{B0}}; }
  server {
    listen 127.0.0.1:{{PORT}};
    location /api/ { proxy_pass http://up/internal/; }
    location = /api { return 200 "exact api"; }
    location /app/ { proxy_pass http://127.0.0.1:{{B1}}; }
    location /short { proxy_pass http://up/long/; }
    location = /ping { proxy_pass http://up/health; }
    location /a/ {
      location ^~ /a/stop/ { proxy_pass http://127.0.0.1:{{B2}}; }
      location ~ \\.json$ { return 200 "nested json"; }
      proxy_pass http://127.0.0.1:{{B3}};
    }
    location ~ \\.txt$ { return 200 "txt"; }
    location / { return 200 "root"; }
  }`,
    hosts: ['s.test'],
    paths: ['/api', '/api/', '/api/x?y=1', '/app', '/app?q=1', '/app/z', '/short', '/shortcut/x', '/ping', '/ping?x', '/a', '/a/', '/a/x.json', '/a/x.txt', '/a/stop/x.json', '/a/stop/x.txt', '/a/stop', '/b.txt', '/zz'],
  },
  {
    name: 'rewrite last to fixed URIs',
    body: `
  server {
    listen 127.0.0.1:{{PORT}};
    rewrite ^/start$ /api/begin last;
    location /old/ {
      rewrite ^/old/page$ /new/page last;
      rewrite ^/old/gone$ /static/gone.html;
      proxy_pass http://127.0.0.1:{{B0}};
    }
    location /new/ { proxy_pass http://127.0.0.1:{{B1}}/v2/; }
    location /api/ { proxy_set_header X-Via api; proxy_pass http://127.0.0.1:{{B2}}; }
    location = /static/gone.html { return 410 "gone"; }
    location ~ \\.php$ { rewrite ^ /index.txt last; }
    location = /index.txt { return 200 "index"; }
    location / { return 200 "root"; }
  }`,
    hosts: ['l.test'],
    paths: ['/start', '/start?x=1', '/started', '/old/page', '/old/page?q=2', '/old/gone', '/old/gone?z', '/old/other', '/new/x', '/a.php', '/a.php?z', '/index.txt', '/x'],
  },
  {
    name: 'port_in_redirect and server_name_in_redirect',
    body: `
  server {
    listen 127.0.0.1:{{PORT}};
    server_name main.test alias.test;
    location = /rel { return 302 /target; }
    location /app/ { proxy_pass http://127.0.0.1:{{B0}}; }
    location /noport/ {
      port_in_redirect off;
      location = /noport/rel { return 302 /target; }
      location /noport/app/ { proxy_pass http://127.0.0.1:{{B0}}; }
    }
    location /named/ {
      server_name_in_redirect on;
      location = /named/rel { return 302 /target; }
    }
  }`,
    hosts: ['alias.test', 'main.test'],
    paths: ['/rel', '/app', '/noport/rel', '/noport/app', '/named/rel?x=1'],
  },
  {
    name: 'try_files to a named location (no files on disk)',
    body: `
  server {
    listen 127.0.0.1:{{PORT}};
    location / { try_files $uri $uri/ @app; }
    location /static/ { try_files $uri =404; }
    location @app { proxy_pass http://127.0.0.1:{{B0}}; }
  }`,
    hosts: ['t.test'],
    paths: ['/', '/x', '/x/y?q=1', '/static/a.css'],
  },
  {
    name: 'Host sent upstream',
    body: `
  upstream named { server 127.0.0.1:{{B0}}; }
  server {
    listen 127.0.0.1:{{PORT}};
    location /default-upstream/ { proxy_pass http://named; }
    location /default-inline/ { proxy_pass http://127.0.0.1:{{B1}}; }
    location /client/ { proxy_set_header Host $host; proxy_pass http://named; }
    location /literal/ { proxy_set_header Host api.internal; proxy_pass http://named; }
  }`,
    hosts: ['h.test', 'h.test:8080'],
    paths: ['/default-upstream/x', '/default-inline/x', '/client/x', '/literal/x'],
  },
];

function nginxOutcome(res: { status: number; headers: Record<string, string>; body: string }): Outcome {
  if (res.headers['x-echo-backend']) {
    const echo = JSON.parse(res.body) as EchoReply;
    return { kind: 'proxy', backendPort: echo.backendPort, path: echo.path, host: echo.host };
  }
  if ([301, 302, 303, 307, 308].includes(res.status) && res.headers['location']) return { kind: 'redirect', status: res.status, location: res.headers['location'] };
  const builtin = /<center>nginx/.test(res.body) || res.body === '';
  return builtin ? { kind: 'answer', status: res.status } : { kind: 'answer', status: res.status, body: res.body };
}

function clusterPort(bootstrap: any, name: string): number {
  const c = bootstrap.static_resources.clusters.find((x: any) => x.name === name);
  return c?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address?.port_value ?? -1;
}

function envoyOutcome(bootstrap: any, port: number, host: string, path: string, want: Outcome): Outcome {
  const d = evaluate(bootstrap, { port, address: '127.0.0.1', host, path, method: 'GET' });
  if (d.kind === 'route') return { kind: 'proxy', backendPort: clusterPort(bootstrap, d.cluster ?? ''), path: d.upstreamPath ?? '', host: d.upstreamHost };
  if (d.kind === 'redirect') return { kind: 'redirect', status: d.status ?? 0, location: d.redirectLocation ?? '' };
  if (d.kind === 'direct_response') {
    return want.kind === 'answer' && want.body === undefined ? { kind: 'answer', status: d.status ?? 0 } : { kind: 'answer', status: d.status ?? 0, body: d.body ?? '' };
  }
  return { kind: 'answer', status: 404 };
}

/** The reported difference: nginx lowercases $host in the Location it builds; Envoy keeps the client's case. */
function sameUpToHostCase(want: Outcome, got: Outcome): boolean {
  if (want.kind !== 'redirect' || got.kind !== 'redirect' || want.status !== got.status) return false;
  const low = (u: string) => u.replace(/^([a-z]+:\/\/)([^/]*)/i, (_m, s: string, a: string) => s + a.toLowerCase());
  return low(want.location) === low(got.location);
}

describe.skipIf(!nginxAvailable())('rewrite, return and proxy details agree with real nginx', () => {
  const work = mkdtempSync(join(tmpdir(), 'ngx2envoy-rw-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const c of CASES) {
    describe(c.name, () => {
      let port = 0;
      let bootstrap: any;
      let stop: () => Promise<void> = async () => {};
      beforeAll(async () => {
        port = await freePort();
        const backends: number[] = [];
        while (backends.length < 4) {
          const p = await freePort();
          if (p !== port && !backends.includes(p)) backends.push(p);
        }
        const body = c.body.replace(/\{\{PORT\}\}/g, String(port)).replace(/\{\{B(\d)\}\}/g, (_m, i: string) => String(backends[Number(i)]));
        const dir = mkdtempSync(join(work, 'case-'));
        const file = join(dir, 'nginx.conf');
        writeFileSync(file, testConfig(dir, body));
        const result = compile(file, {});
        if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
        bootstrap = result.bootstrap;
        const echo = await startEchoBackends(backends);
        mkdirSync(join(dir, 'tmp'), { recursive: true });
        const nginx = await startNginx(testConfig(dir, body), [port]).catch(async (e) => {
          await echo.stop();
          throw e;
        });
        stop = async () => {
          await nginx.stop();
          await echo.stop();
        };
      });
      afterAll(async () => stop());

      test('every request reaches the same place', async () => {
        const mismatches: string[] = [];
        for (const host of c.hosts) {
          for (const path of c.paths) {
            const want = nginxOutcome(await probe(port, host, path));
            const got = envoyOutcome(bootstrap, port, host, path, want);
            if (JSON.stringify(want) !== JSON.stringify(got) && !sameUpToHostCase(want, got)) {
              mismatches.push(`GET Host:${host} ${path}\n  nginx: ${JSON.stringify(want)}\n  envoy: ${JSON.stringify(got)}`);
            }
          }
        }
        expect(mismatches.join('\n')).toBe('');
      });
    });
  }
});

describe.skipIf(!nginxAvailable())('proxy_set_header inheritance agrees with real nginx', () => {
  const body = `
  proxy_set_header X-From http;
  proxy_set_header X-Real-IP $remote_addr;
  server {
    listen 127.0.0.1:{{PORT}};
    location /inherits/ { proxy_pass http://127.0.0.1:{{B0}}; }
    location /replaces/ {
      proxy_set_header X-From location;
      proxy_set_header X-Host $host;
      proxy_set_header X-Agent "$http_user_agent via";
      proxy_pass http://127.0.0.1:{{B0}};
    }
    location /nested/ {
      proxy_set_header X-Level outer;
      location /nested/inner/ { proxy_pass http://127.0.0.1:{{B0}}; }
      proxy_pass http://127.0.0.1:{{B0}};
    }
  }
  server {
    listen 127.0.0.1:{{PORT}};
    server_name own.test;
    proxy_set_header X-Server own;
    location / {
      proxy_set_header X-Empty "";
      proxy_pass http://127.0.0.1:{{B0}};
    }
  }`;
  let port = 0;
  let bootstrap: any;
  let stop: () => Promise<void> = async () => {};
  const work = mkdtempSync(join(tmpdir(), 'ngx2envoy-hdr-'));
  beforeAll(async () => {
    port = await freePort();
    let backend = await freePort();
    while (backend === port) backend = await freePort();
    const text = body.replace(/\{\{PORT\}\}/g, String(port)).replace(/\{\{B0\}\}/g, String(backend));
    const file = join(work, 'nginx.conf');
    writeFileSync(file, testConfig(work, text));
    const result = compile(file, {});
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
    bootstrap = result.bootstrap;
    const echo = await startEchoBackends([backend]);
    mkdirSync(join(work, 'tmp'), { recursive: true });
    const nginx = await startNginx(testConfig(work, text), [port]).catch(async (e) => {
      await echo.stop();
      throw e;
    });
    stop = async () => {
      await nginx.stop();
      await echo.stop();
      rmSync(work, { recursive: true, force: true });
    };
  });
  afterAll(async () => stop());

  test('the X-* headers the backend receives are the ones Envoy adds', async () => {
    const mismatches: string[] = [];
    for (const [host, path] of [['any.test', '/inherits/a'], ['Any.Test', '/replaces/a'], ['any.test', '/nested/a'], ['any.test', '/nested/inner/a'], ['own.test', '/x']]) {
      const res = await probe(port, host!, path!);
      const echo = JSON.parse(res.body) as EchoReply;
      const fromNginx = Object.fromEntries(Object.entries(echo.headers).filter(([k]) => k.startsWith('x-')).sort());
      const d = evaluate(bootstrap, { port, address: '127.0.0.1', host: host!, path: path!, method: 'GET' });
      const fromEnvoy = Object.fromEntries(
        (d.requestHeadersToAdd ?? [])
          .filter((h) => h.key.toLowerCase().startsWith('x-') && h.value.trim() !== '')
          // on the wire a header value loses its leading and trailing whitespace
          .map((h) => [h.key.toLowerCase(), h.value.trim()])
          .sort(),
      );
      // nginx lowercases $host (reported); compare that one case-insensitively.
      if (fromEnvoy['x-host']) fromEnvoy['x-host'] = fromEnvoy['x-host'].toLowerCase();
      if (JSON.stringify(fromNginx) !== JSON.stringify(fromEnvoy)) mismatches.push(`${host} ${path}\n  nginx: ${JSON.stringify(fromNginx)}\n  envoy: ${JSON.stringify(fromEnvoy)}`);
    }
    expect(mismatches.join('\n')).toBe('');
  });
});
