// `ngx2envoy check FILE --against DIR` through main(): the committed output of
// `convert -o DIR` is compared with a fresh compile of FILE.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ngx2envoy-check-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A working copy of a fixture as nginx.conf, converted into out/ as a CI job would have committed it. */
async function committed(fixture: string, extra: string[] = []): Promise<{ conf: string; out: string }> {
  const conf = join(work, 'nginx.conf');
  copyFileSync(join(FIXTURES, fixture), conf);
  const out = join(work, 'out');
  const r = await runCli(['convert', conf, '-o', out, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { conf, out };
}

describe('ngx2envoy check', () => {
  it('exits 0 when the configuration is unchanged', async () => {
    const { conf, out } = await committed('site.conf');
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('matches');
  });

  it('exits 1 on a changed location, naming the route and its new destination, then a unified diff', async () => {
    const { conf, out } = await committed('site.conf');
    const text = readFileSync(conf, 'utf8');
    writeFileSync(conf, text.replace('proxy_pass http://api_v1/v1/;', 'proxy_pass http://api_v2/v1/;'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    // Route-level summary first: the /api/ route of example.com now goes to api_v2.
    const summary = r.stdout.slice(0, r.stdout.indexOf('Files that differ'));
    expect(summary).toMatch(/prefix \/api\/ \(server_0\/loc_1\) changed: cluster api_v1 \(prefix_rewrite \/v1\/[^)]*\) → cluster api_v2/);
    // Then the unified diff of the Envoy file.
    expect(r.stdout).toMatch(/--- a\/.*envoy\.yaml/);
    expect(r.stdout).toMatch(/\n-\s+cluster: api_v1\n\+\s+cluster: api_v2\n/);
    expect(r.stdout.indexOf('Routes:')).toBeLessThan(r.stdout.indexOf('--- a/'));
  });

  it('exits 1 when a location is added, listing the new route', async () => {
    const { conf, out } = await committed('site.conf');
    const text = readFileSync(conf, 'utf8');
    writeFileSync(conf, text.replace('        location /img/ {', '        location /beta/ {\n            proxy_pass http://api_v2;\n        }\n\n        location /img/ {'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\+ \[listener_[^\]]*example\.com[^\]]*\] prefix \/beta\/ \(server_0\/loc_\d\) added → cluster api_v2/);
  });

  it('exits 0 for the same configuration with upstreams, prefix locations and servers reordered', async () => {
    const { conf, out } = await committed('site.conf');
    copyFileSync(join(FIXTURES, 'site-reordered.conf'), conf);
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.stdout + r.stderr).not.toContain('no longer matches');
    expect(r.code).toBe(0);
  });

  it('exits 1 when reordering servers changes the default server', async () => {
    const { conf, out } = await committed('site.conf');
    const text = readFileSync(conf, 'utf8').replace('listen 80 default_server;', 'listen 80;');
    // Without default_server the first server on the port is the default: move admin first.
    const admin = text.slice(text.indexOf('    server {\n        listen 80;\n        server_name admin'), text.lastIndexOf('}'));
    writeFileSync(conf, text.replace(admin, '').replace('    server {\n        listen 80;\n        server_name example.com', admin + '    server {\n        listen 80;\n        server_name example.com'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
  });

  it('exits 2 on a parse error, with its position', async () => {
    const { conf, out } = await committed('site.conf');
    const text = readFileSync(conf, 'utf8');
    const broken = text.replace('proxy_pass http://api_v2/;', 'proxy_pass http://api_v2/');
    writeFileSync(conf, broken);
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // The missing ";" is found at the next "}" (nginx: unexpected "}"), line and column given.
    const line = broken.split('\n').findIndex((l) => l.includes('proxy_pass http://api_v2/')) + 2;
    expect(r.stderr).toMatch(new RegExp(`nginx\\.conf:${line}:\\d+`));
    expect(r.stderr).toContain('unexpected "}"');
  });

  it('exits 2 when the directory does not exist', async () => {
    const conf = join(work, 'nginx.conf');
    copyFileSync(join(FIXTURES, 'site.conf'), conf);
    const r = await runCli(['check', conf, '--against', join(work, 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such directory');
  });

  it('follows the output format found in DIR (json)', async () => {
    const { conf, out } = await committed('site.conf', ['--format', 'json']);
    expect(readdirSync(out)).toContain('envoy.json');
    expect((await runCli(['check', conf, '--against', out])).code).toBe(0);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('return 200 "ok\\n";', 'return 204;'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/= \/healthz \(server_0\/loc_0\) changed: direct_response 200 "ok\\n" → direct_response 204/);
  });

  it('follows --mode xds output found in DIR', async () => {
    const { conf, out } = await committed('site.conf', ['--mode', 'xds']);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['listeners.yaml', 'routes.yaml', 'clusters.yaml', 'endpoints.yaml', 'bootstrap-ads.yaml']));
    expect((await runCli(['check', conf, '--against', out])).code).toBe(0);
    copyFileSync(join(FIXTURES, 'site-reordered.conf'), conf);
    expect((await runCli(['check', conf, '--against', out])).code).toBe(0);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('server 10.0.0.21:8080;', 'server 10.0.0.21:8081;'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('~ api_v2 changed: 10.0.0.21:8080 → 10.0.0.21:8081');
    expect(r.stdout).toContain('--mode xds');
  });

  it('exits 0 when only lines moved (a comment added on top), and says which files differ only in positions', async () => {
    const { conf, out } = await committed('site.conf');
    writeFileSync(conf, '# maintained by the platform team\n\n' + readFileSync(conf, 'utf8'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/envoy\.yaml.*differ only in order, names or source positions/);
  });

  it('still sees a changed value in an envoy.yaml whose comments also moved', async () => {
    const { conf, out } = await committed('site.conf');
    // The committed file was edited by hand (a timeout), and the config gained a line on top.
    const envoyFile = join(out, 'envoy.yaml');
    const yaml = readFileSync(envoyFile, 'utf8');
    const edited = yaml.replace(/cluster: api_v1\n/, 'cluster: api_v2\n');
    expect(edited).not.toBe(yaml);
    writeFileSync(envoyFile, edited);
    writeFileSync(conf, '# moved\n' + readFileSync(conf, 'utf8'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cluster api_v2 .*→ cluster api_v1|cluster api_v2[^\n]*→[^\n]*api_v1/);
  });

  it('does not print a line diff of more than 2,000 changed lines, and says so', async () => {
    // 1,100 locations all moved to another upstream: 2,200 changed lines in envoy.yaml.
    const conf = join(work, 'nginx.conf');
    const config = (up: string) =>
      ['events {}', 'http {', '  upstream a { server 10.0.0.1:80; }', '  upstream b { server 10.0.0.2:80; }', '  server {', '    listen 8080;', '    server_name big.example;']
        .concat(Array.from({ length: 1100 }, (_, i) => `    location /p${i}/ { proxy_pass http://${up}; }`))
        .concat(['  }', '}', ''])
        .join('\n');
    writeFileSync(conf, config('a'));
    const out = join(work, 'out');
    expect((await runCli(['convert', conf, '-o', out])).code).toBe(0);
    writeFileSync(conf, config('b'));
    const r = await runCli(['check', conf, '--against', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/envoy\.yaml: more than 2,000 lines changed \(committed [\d,]+ lines, recompiled [\d,]+\); the line diff is not shown/);
    expect(r.stdout).not.toMatch(/^--- a\/.*envoy\.yaml/m);
    // The route summary still names what changed.
    expect(r.stdout).toMatch(/prefix \/p1099\/ .*changed: cluster a .*→ cluster b/);
  }, 60_000);
});
