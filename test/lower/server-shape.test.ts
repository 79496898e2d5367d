// Every server (and its edge) is built with the same fields in the same order, absent
// ones undefined, so JSON and the emitters see what they saw before; try_files to a named
// location is resolved per server whichever servers before it had pending ones; add_header
// lines are reported at the position their header op holds.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';
import type { CompiledConfig, Location, VirtualServer } from '../../src/ir/types.js';

function lowered(conf: string): CompiledConfig {
  const res = lower(parseText(conf, 'shape.conf'));
  if (!res.ir) throw new Error(res.errors.map((e) => e.message).join('; '));
  return res.ir;
}

const SHAPES = `events {}
http {
  server { listen 80; server_name a.test; location / { return 200; } }
  server {
    listen 443 ssl http2; server_name b.test;
    ssl_certificate /etc/c.pem; ssl_certificate_key /etc/k.pem;
    allow 10.0.0.0/8; deny all;
    auth_basic "x"; auth_basic_user_file /etc/htpasswd;
    access_log off; server_tokens off; more_set_headers "X-A: 1";
  }
  server { server_name c.test; return 301 /; }
}
`;

describe('server objects', () => {
  test('own one list of keys, in one order, and so do their edges', () => {
    const servers = lowered(SHAPES).servers;
    expect(servers.length).toBe(3);
    for (const s of servers) expect(Object.keys(s)).toEqual(Object.keys(servers[0]!));
    for (const s of servers) expect(Object.keys(s.edge!)).toEqual(Object.keys(servers[0]!.edge!));
  });

  test('keep absent what is not set: JSON carries only the settings in effect', () => {
    const [plain, full, redirect] = lowered(SHAPES).servers.map((s) => JSON.parse(JSON.stringify(s)) as VirtualServer);
    expect(Object.keys(plain!)).toEqual(['id', 'names', 'listenerNames', 'rewrites', 'locations', 'fallback', 'edge', 'source']);
    expect(Object.keys(full!)).toEqual(['id', 'names', 'listenerNames', 'rewrites', 'locations', 'fallback', 'tls', 'edge', 'fallbackAccess', 'fallbackAuth', 'source']);
    expect(Object.keys(redirect!)).toEqual(['id', 'names', 'listenerNames', 'rewrites', 'locations', 'fallback', 'edge', 'source']);
    expect(Object.keys(plain!.edge!)).toEqual(['compression', 'accessLogs', 'accessLogDefault', 'realIp', 'limits', 'errorPages', 'tracing', 'usesRequestId', 'underscoreHeaders']);
    expect(full!.edge!.accessLogDefault).toBeUndefined();
    expect(full!.edge!.serverTokens).toBe('off');
    expect(full!.edge!.moreHeaders).toBeDefined();
  });

  test('a server listening twice on one address names its listener once; http2 on reaches each listen', () => {
    const ir = lowered(`events {}\nhttp { server { listen 8080; listen 127.0.0.1:8081; listen 8080 default_server; http2 on; } }\n`);
    expect(ir.servers[0]!.listenerNames).toEqual(['listener_0.0.0.0_8080', 'listener_127.0.0.1_8081']);
    expect(ir.listeners.map((l) => [l.name, l.http2])).toEqual([
      ['listener_0.0.0.0_8080', true],
      ['listener_127.0.0.1_8081', true],
    ]);
  });
});

describe('try_files to a named location, server by server', () => {
  const CONF = `events {}
http {
  server { listen 80; location / { try_files $uri @gone; } }
  server { listen 81; location / { try_files $uri @app; } location @app { proxy_pass http://127.0.0.1:9001; } }
  server { listen 82; location /x/ { location /x/y/ { try_files $uri @app; } } location @app { proxy_pass http://127.0.0.1:9002; } }
  server { listen 83; location / { try_files $uri =404; } location @app { proxy_pass http://127.0.0.1:9003; } }
}
`;
  const ir = lowered(CONF);
  const loc = (server: number, ...path: number[]): Location => {
    let l = ir.servers[server]!.locations[path[0]!]!;
    for (const i of path.slice(1)) l = l.children[i]!;
    return l;
  };

  test('a server without named locations keeps its static answer and does not stop later servers', () => {
    expect(loc(0, 0).action).toMatchObject({ kind: 'static', status: 404 });
    expect(loc(1, 0).action).toMatchObject({ kind: 'proxy', backend: '127.0.0.1_9001' });
    // nested locations are reached too
    expect(loc(2, 0, 0).action).toMatchObject({ kind: 'proxy', backend: '127.0.0.1_9002' });
  });

  test('named locations are reported as used or unreachable', () => {
    const named = ir.report.filter((e) => e.directive === 'location' && e.reason.startsWith('named location'));
    expect(named.map((e) => [e.line, e.class])).toEqual([
      [4, 'approximated'],
      [5, 'approximated'],
      [6, 'unsupported'],
    ]);
  });
});

describe('add_header lines', () => {
  test('are reported at their own position, at every level', () => {
    const conf = 'events {}\nhttp {\n  add_header X-H 1;\n  server {\n    listen 80;\n    add_header X-S 2 always;\n    location / {\n        add_header X-L $host;\n      return 200;\n    }\n  }\n}\n';
    const ir = lowered(conf);
    const lines = ir.report.filter((e) => e.directive === 'add_header').map((e) => [e.file, e.line, e.col]);
    expect(lines).toEqual([
      ['shape.conf', 3, 3],
      ['shape.conf', 6, 5],
      ['shape.conf', 8, 9],
    ]);
    const ops = ir.servers[0]!.locations[0]!.policy.addHeaders;
    expect(ops.map((o) => [o.name, o.source.line, o.source.col])).toEqual([['X-L', 8, 9]]);
  });
});
