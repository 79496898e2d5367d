// `ngx2envoy explain FILE METHOD URL` through main(): both columns, the verdict,
// the JSON document, and bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExplainDocument } from '../../src/review/explain.js';
import { paint, wantColor } from '../../src/review/style.js';
import { runCli } from './run-cli.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'nginx.conf');

describe('ngx2envoy explain', () => {
  it('names the nginx server and location with file:line and the Envoy route and cluster, and agrees', async () => {
    const r = await runCli(['explain', EXAMPLE, 'GET', 'http://example.com/api/x?y=1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const row = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(name)) ?? '';
    expect(row('server')).toMatch(/server_0 \(exact example\.com\) nginx\.conf:11 +listener_0\.0\.0\.0_80 \/ server_0/);
    expect(row('location')).toMatch(/\/api\/ server_0\/loc_1 nginx\.conf:19 +route server_0\/loc_1/);
    expect(row('action')).toMatch(/proxy_pass → api_v1 nginx\.conf:20 +route → cluster api_v1/);
    expect(row('upstream path')).toMatch(/\/v1\/x\?y=1 +\/v1\/x\?y=1/);
    expect(r.stdout).toContain('AGREE: both send it to api_v1 as /v1/x?y=1');
  });

  it('--from: the client address allow/deny test, on both sides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-explain-from-'));
    try {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, 'events {}\nhttp { server { listen 80; location /admin/ { allow 10.0.0.0/8; deny all; proxy_pass http://10.1.1.1:80; } } }\n');
      const inside = await runCli(['explain', conf, 'GET', 'http://a.test/admin/', '--from', '10.2.3.4', '--json']);
      expect(inside.code).toBe(0);
      const doc = JSON.parse(inside.stdout) as ExplainDocument;
      expect(doc.request.from).toBe('10.2.3.4');
      expect(doc.nginx.outcome).toMatchObject({ kind: 'proxy', cluster: '10.1.1.1_80' });
      expect(doc.envoy).toMatchObject({ kind: 'route', cluster: '10.1.1.1_80' });
      const outside = await runCli(['explain', conf, 'GET', 'http://a.test/admin/']);
      expect(outside.code).toBe(0);
      expect(outside.stdout).toMatch(/error 403: access forbidden by rule \(deny at nginx\.conf:2\)/);
      expect(outside.stdout).toMatch(/direct_response 403/);
      const bad = await runCli(['explain', conf, 'GET', 'http://a.test/admin/', '--from', 'x.y']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('invalid --from "x.y"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says DISAGREE, and why, where Envoy sends something else (exit 1)', async () => {
    const r = await runCli(['explain', EXAMPLE, 'GET', 'http://www.example.com//static//a.png']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DISAGREE');
    expect(r.stdout).toContain('upstream path: nginx sends //static//a.png, Envoy sends /static/a.png');
  });

  it('takes the Host from --header and the port from --port; --json has the documented shape', async () => {
    const r = await runCli(['explain', EXAMPLE, 'get', '/some/path?x=1', '--header', 'Host: old.example.com', '--port', '80', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as ExplainDocument;
    expect(doc.schema).toBe('ngx2envoy.explain/v1');
    expect(doc.request).toMatchObject({ method: 'GET', port: 80, host: 'old.example.com', target: '/some/path?x=1' });
    expect(doc.nginx.server).toMatchObject({ id: 'server_1', matchedBy: 'exact', name: 'old.example.com' });
    expect(doc.nginx.location).toBeNull();
    expect(doc.nginx.outcome).toMatchObject({ kind: 'redirect', status: 301, location: 'http://example.com/some/path?x=1' });
    expect(doc.envoy).toMatchObject({ kind: 'redirect', status: 301, redirectLocation: 'http://example.com/some/path?x=1' });
    expect(doc).toMatchObject({ agree: true, exact: true, differences: [] });
  });

  it('a regex location: nginx and Envoy both pick it over the prefix /', async () => {
    const r = await runCli(['explain', EXAMPLE, 'GET', 'http://example.com/img/LOGO.PNG', '--json']);
    const doc = JSON.parse(r.stdout) as ExplainDocument;
    expect(doc.nginx.location).toMatchObject({ id: 'server_0/loc_3', modifier: 'regex-icase' });
    expect(doc.envoy).toMatchObject({ kind: 'route', routeName: 'server_0/loc_3', cluster: '127.0.0.1_9001' });
    expect(r.code).toBe(0);
  });

  it('exits 2 on a configuration that does not parse, with the position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-explain-'));
    try {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, 'events {}\nhttp {\n    server {\n        listen 80;\n        location / { return 200 "x" }\n    }\n}\n');
      const r = await runCli(['explain', conf, 'GET', '/']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/nginx\.conf:5:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed --header (exit 2)', async () => {
    const r = await runCli(['explain', EXAMPLE, 'GET', '/', '--header', 'no-colon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--header wants "Name: value"');
  });
});

describe('colour', () => {
  it('only on a terminal and never with NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect(wantColor(tty)).toBe(true);
      expect(wantColor(pipe)).toBe(false);
      process.env.NO_COLOR = '1';
      expect(wantColor(tty)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
    expect(paint(true).red('x')).toBe('\u001b[31mx\u001b[0m');
    expect(paint(false).red('x')).toBe('x');
  });
});
