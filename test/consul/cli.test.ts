// `ngx2envoy consul register|deregister` end to end through main(): the real
// compiler on fixtures/nginx.conf, the real npm client, the double.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { compile } from '../../src/compile.js';
import { agentDefinitionFile, buildRegistrations, catalogRegisterPayload } from '../../src/emit/consul/index.js';
import { ConsulDouble } from '../support/consul-double.js';
import { fixtureBackends } from './fixture-ir.js';

const FIXTURE = resolve('test/consul/fixtures/nginx.conf');

/** Runs the CLI in-process, capturing what it writes and the exit code. */
async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, code: process.exitCode };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    await main(['node', 'ngx2envoy', ...args]);
    return { stdout: out.join(''), stderr: err.join(''), code: process.exitCode ?? 0 };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.code;
    for (const [k, v] of Object.entries(savedEnv)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

const doubles: ConsulDouble[] = [];
async function double(options: Parameters<typeof ConsulDouble.start>[0] = {}) {
  const d = await ConsulDouble.start(options);
  doubles.push(d);
  return d;
}
afterEach(async () => {
  while (doubles.length) await doubles.pop()!.stop();
});

async function index(d: ConsulDouble): Promise<string | null> {
  return (await fetch(`${d.addr}/v1/catalog/services`)).headers.get('x-consul-index');
}

describe('ngx2envoy consul', () => {
  it('the compiler gives the IR the emitter tests are written against', () => {
    const result = compile(FIXTURE);
    expect(result.ok).toBe(true);
    expect(result.ir!.backends).toEqual(fixtureBackends());
  });

  it('registers, is idempotent, and removes what left nginx.conf', async () => {
    const d = await double();
    const first = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n').filter((l) => l.startsWith('register'))).toHaveLength(5);
    expect(first.stdout).toContain(`skip       api_v1 unix:/run/api.sock (nginx.conf:9: unix socket`);
    expect(first.stdout).toContain(`consul agent ${d.addr}: 5 registered, 0 updated, 0 deregistered, 0 unchanged`);
    const services = (await (await fetch(`${d.addr}/v1/agent/services`)).json()) as Record<string, any>;
    expect(services['ngx2envoy-api-v1-10-0-0-11-8080'].Meta).toMatchObject({
      ngx2envoy_config: FIXTURE,
      nginx_source: 'nginx.conf:5',
      nginx_upstream: 'api_v1',
    });

    const before = await index(d);
    const writes = d.writes.length;
    const second = await cli(['consul', 'register', FIXTURE], { CONSUL_HTTP_ADDR: `127.0.0.1:${d.port}` });
    expect(second.stdout).toContain('0 registered, 0 updated, 0 deregistered, 5 unchanged');
    expect(await index(d)).toBe(before);
    expect(d.writes.length).toBe(writes);

    // The same config with api_v1 gone (and its location): its three instances are deregistered.
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-cli-'));
    const edited = readFileSync(FIXTURE, 'utf8')
      .replace(/ *upstream api_v1 \{[^}]*\}\n/, '')
      .replace(/ *location \/api\/ \{[^}]*\}\n/, '');
    writeFileSync(join(dir, 'nginx.conf'), edited);
    const third = await cli(['consul', 'register', join(dir, 'nginx.conf'), '--consul-addr', d.addr, '--config-id', FIXTURE]);
    expect(third.code).toBe(0);
    expect(third.stdout.split('\n').filter((l) => l.startsWith('deregister'))).toEqual([
      'deregister api-v1 ngx2envoy-api-v1-10-0-0-11-8080',
      'deregister api-v1 ngx2envoy-api-v1-10-0-0-12-8080',
      'deregister api-v1 ngx2envoy-api-v1-10-0-0-13-8080',
    ]);
    expect(await (await fetch(`${d.addr}/v1/catalog/service/api-v1`)).json()).toEqual([]);

    // deregister needs only the identity: here the config no longer exists at all.
    const gone = await cli(['consul', 'deregister', join(dir, 'deleted.conf'), '--consul-addr', d.addr, '--config-id', FIXTURE]);
    expect(gone.stdout).toContain('0 registered, 0 updated, 2 deregistered, 0 unchanged');
    expect(Object.keys((await (await fetch(`${d.addr}/v1/agent/services`)).json()) as object)).toEqual([]);
  });

  it('prints the plan on --dry-run and sends nothing', async () => {
    const d = await double();
    const before = await index(d);
    const run = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr, '--dry-run', '--mode', 'catalog']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        'register   127-0-0-1-9000 ngx2envoy-127-0-0-1-9000-127-0-0-1-9000 node=ngx2envoy-127-0-0-1 127.0.0.1:9000 weight=1',
        'register   api-v1 ngx2envoy-api-v1-10-0-0-11-8080 node=ngx2envoy-10-0-0-11 10.0.0.11:8080 weight=3',
        'register   api-v1 ngx2envoy-api-v1-10-0-0-12-8080 node=ngx2envoy-10-0-0-12 10.0.0.12:8080 weight=1',
        'register   api-v1 ngx2envoy-api-v1-10-0-0-13-8080 node=ngx2envoy-10-0-0-13 10.0.0.13:8080 weight=1',
        'register   legacy-pool ngx2envoy-legacy-pool-10-0-1-5-80 node=ngx2envoy-10-0-1-5 10.0.1.5:80 weight=1',
        'skip       api_v1 10.0.0.14:8080 (nginx.conf:8: down: nginx never sends requests to it, not registered)',
        'skip       api_v1 unix:/run/api.sock (nginx.conf:9: unix socket: a Consul instance is an address and a port, not registered)',
        `consul catalog ${d.addr}: 5 to register, 0 to update, 0 to deregister, 0 unchanged (dry run: nothing sent)`,
        '',
      ].join('\n'),
    );
    expect(await index(d)).toBe(before);
    expect(d.writes).toEqual([]);
  });

  it('a token-protected Consul refuses a call without a token: one line, exit 1, no stack trace', async () => {
    const d = await double({ aclToken: 'secret-token' });
    const refused = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr], { CONSUL_HTTP_TOKEN: undefined });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `ngx2envoy: consul: PUT /v1/agent/service/register refused (403): Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:write' on "127-0-0-1-9000"\n`,
    );
    const wrong = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr, '--token', 'guess']);
    expect(wrong).toMatchObject({ code: 1, stderr: 'ngx2envoy: consul: GET /v1/agent/services refused (403): ACL not found\n' });
    const ok = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr], { CONSUL_HTTP_TOKEN: 'secret-token' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('5 registered');
  });

  it('convert -o DIR writes the same registrations into DIR/consul/', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-convert-'));
    const run = await cli(['convert', FIXTURE, '-o', dir]);
    expect(run.code).toBe(0);
    const configId = relative(dir, FIXTURE);
    const regs = buildRegistrations(compile(FIXTURE).ir!, { configId });
    for (const service of regs.services) {
      expect(JSON.parse(readFileSync(join(dir, 'consul', 'agent', `${service.name}.json`), 'utf8'))).toEqual(agentDefinitionFile(service));
      expect(JSON.parse(readFileSync(join(dir, 'consul', 'catalog', `${service.name}.json`), 'utf8'))).toEqual(
        service.instances.map(catalogRegisterPayload),
      );
    }
    const names = JSON.parse(readFileSync(join(dir, 'consul', 'names.json'), 'utf8'));
    expect(names.not_registered.map((n: { server: string }) => n.server)).toEqual(['10.0.0.14:8080', 'unix:/run/api.sock']);
  });

  it('a 400 from Consul is one line with Consul\'s text, exit 1', async () => {
    const d = await double();
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-cli-'));
    writeFileSync(
      join(dir, 'nginx.conf'),
      'events {}\nhttp {\n  upstream any { server 0.0.0.0:8080; }\n  server { listen 8080; location / { proxy_pass http://any; } }\n}\n',
    );
    const run = await cli(['consul', 'register', join(dir, 'nginx.conf'), '--consul-addr', d.addr]);
    expect(run).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'ngx2envoy: consul: PUT /v1/agent/service/register refused (400): Invalid service address\n',
    });
  });

  it('bad input: a config error with file:line:col, an unreachable or malformed address, all exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-cli-'));
    writeFileSync(join(dir, 'nginx.conf'), 'events {}\nhttp {\n  upstream a { server 10.0.0.1; \n}\n');
    const bad = await cli(['consul', 'register', join(dir, 'nginx.conf'), '--consul-addr', '127.0.0.1:1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nginx\.conf:\d+:\d+: error: /);
    const d = await double();
    await d.stop();
    const down = await cli(['consul', 'register', FIXTURE, '--consul-addr', d.addr]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^ngx2envoy: consul: GET \/v1\/agent\/services to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$|^ngx2envoy: consul: GET \/v1\/agent\/services: .*ECONNREFUSED.*\n$/);
    const malformed = await cli(['consul', 'register', FIXTURE, '--consul-addr', 'ftp://x']);
    expect(malformed).toMatchObject({ code: 1, stderr: 'ngx2envoy: consul address "ftp://x": scheme must be http or https\n' });
  });
});
