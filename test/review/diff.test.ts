// `ngx2envoy diff OLD NEW` through main(): route-level changes and concrete
// requests whose destination changes, as text and as the documented JSON.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DiffDocument } from '../../src/review/diff.js';
import { runCli } from './run-cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const SITE = join(FIXTURES, 'site.conf');
const REORDERED = join(FIXTURES, 'site-reordered.conf');

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ngx2envoy-diff-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function variant(name: string, edit: (text: string) => string): string {
  const path = join(work, name);
  writeFileSync(path, edit(readFileSync(SITE, 'utf8')));
  return path;
}

async function diffJson(a: string, b: string): Promise<{ code: number; doc: DiffDocument }> {
  const r = await runCli(['diff', a, b, '--json']);
  expect(r.stderr).toBe('');
  return { code: r.code, doc: JSON.parse(r.stdout) as DiffDocument };
}

describe('ngx2envoy diff', () => {
  it('--json of equivalent configurations reports no change (reordered upstreams, locations, servers)', async () => {
    const { code, doc } = await diffJson(SITE, REORDERED);
    expect(doc.schema).toBe('ngx2envoy.diff/v1');
    expect(doc.routes).toEqual([]);
    expect(doc.clusters).toEqual([]);
    expect(doc.listeners).toEqual([]);
    expect(doc.virtualHosts).toEqual([]);
    expect(doc.reordered).toEqual([]);
    expect(doc.requests).toEqual([]);
    expect(doc.probes).toBeGreaterThan(100);
    expect(doc.equivalent).toBe(true);
    expect(code).toBe(0);
  });

  it('a route whose destination stays but whose settings change names the settings', async () => {
    const changed = variant('timeouts.conf', (t) => t.replace('proxy_pass http://api_v1/v1/;', 'proxy_pass http://api_v1/v1/; proxy_read_timeout 5s;'));
    const { code, doc } = await diffJson(SITE, changed);
    expect(code).toBe(1);
    const route = doc.routes.find((r) => r.match === 'prefix /api/' && r.virtualHost.endsWith('example.com,www.example.com'))!;
    expect(route.change).toBe('changed');
    expect(route.before).toMatch(/^cluster api_v1.*; route\.idle_timeout "60s"/);
    expect(route.after).toMatch(/^cluster api_v1.*; route\.idle_timeout "5s"/);
  });

  it('names the changed route and the requests that now go elsewhere', async () => {
    const changed = variant('new.conf', (t) => t.replace('proxy_pass http://api_v1/v1/;', 'proxy_pass http://api_v2/v1/;'));
    const { code, doc } = await diffJson(SITE, changed);
    expect(code).toBe(1);
    expect(doc.equivalent).toBe(false);
    const routes = doc.routes.filter((r) => r.virtualHost.endsWith('example.com,www.example.com'));
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({ match: 'prefix /api/', route: 'server_0/loc_1', change: 'changed' });
    expect(routes[0]!.before).toMatch(/^cluster api_v1/);
    expect(routes[0]!.after).toMatch(/^cluster api_v2/);
    const req = doc.requests.find((r) => r.host === 'example.com' && r.path === '/api/x');
    expect(req?.before).toMatchObject({ kind: 'route', cluster: 'api_v1', path: '/v1/x' });
    expect(req?.after).toMatchObject({ kind: 'route', cluster: 'api_v2', path: '/v1/x' });
    // /api/v2/ has its own location: unaffected.
    expect(doc.requests.some((r) => r.path.startsWith('/api/v2/'))).toBe(false);
    const text = await runCli(['diff', SITE, changed]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('GET example.com/api/x: api_v1 /v1/x → api_v2 /v1/x');
  });

  it('reports added and removed clusters, endpoints, and a location removed', async () => {
    const changed = variant('new.conf', (t) =>
      t
        .replace('server 10.0.0.21:8080;', 'server 10.0.0.22:8080;')
        .replace(/ {8}location \/doc\/ \{\n {12}proxy_pass http:\/\/web;\n {8}\}\n\n/, ''),
    );
    const { doc } = await diffJson(SITE, changed);
    expect(doc.clusters).toEqual([
      { name: 'api_v2', change: 'changed', before: ['10.0.0.21:8080'], after: ['10.0.0.22:8080'] },
    ]);
    const removed = doc.routes.filter((r) => r.change === 'removed');
    expect(removed.map((r) => r.match)).toContain('prefix /doc/');
    // /doc/x still reaches `web` through `location /`: same cluster, so not a changed destination.
    expect(doc.requests.filter((r) => r.path === '/doc/x')).toEqual([]);
  });

  it('a new regex location that shadows a prefix shows up as changed requests', async () => {
    const changed = variant('new.conf', (t) => t.replace('        location / {', '        location ~ ^/img/.*\\.svg$ {\n            return 403;\n        }\n\n        location / {'));
    const { doc } = await diffJson(SITE, changed);
    const svg = doc.requests.find((r) => r.host === 'example.com' && r.path.endsWith('.svg'));
    expect(svg?.before.cluster).toBe('web');
    expect(svg?.after).toMatchObject({ kind: 'direct_response', status: 403 });
  });

  it('exits 2 on bad input, with the position', async () => {
    const broken = variant('bad.conf', (t) => t.replace('return 301 http://example.com$request_uri;', 'return 301 http://example.com$request_uri'));
    const r = await runCli(['diff', SITE, broken]);
    expect(r.code).toBe(2);
    const line = readFileSync(broken, 'utf8').split('\n').findIndex((l) => l.includes('return 301')) + 2;
    expect(r.stderr).toMatch(new RegExp(`bad\\.conf:${line}:\\d+`));
    expect(r.stderr).toContain('unexpected "}"');
    expect(r.stdout).toBe('');
  });

  it('human output has no colour when not on a terminal', async () => {
    const changed = variant('new.conf', (t) => t.replace('proxy_pass http://api_v1/v1/;', 'proxy_pass http://api_v2/v1/;'));
    const r = await runCli(['diff', SITE, changed]);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('a server moved to another port: listener added, its virtual host moved, its requests now unrouted on :80', async () => {
    const changed = variant('new.conf', (t) => t.replace('listen 80;\n        server_name admin.example.com;', 'listen 8080;\n        server_name admin.example.com;'));
    const { doc } = await diffJson(SITE, changed);
    expect(doc.listeners).toEqual([{ name: 'listener_0.0.0.0_8080', change: 'added', before: null, after: ['0.0.0.0:8080'] }]);
    expect(doc.virtualHosts.map((v) => `${v.change} ${v.name}`)).toEqual(
      expect.arrayContaining(['removed listener_0.0.0.0_80 admin.example.com', 'added listener_0.0.0.0_8080 *']),
    );
    // On :80 admin.example.com now reaches the default server (web), not api_v1.
    const moved = doc.requests.find((r) => r.port === 80 && r.host === 'admin.example.com' && r.path === '/');
    expect(moved?.before.cluster).toBe('api_v1');
    expect(moved?.after.cluster).toBe('web');
  });
});
