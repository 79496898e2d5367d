import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentDefinitionFile,
  agentRegisterPayload,
  buildRegistrations,
  catalogRegisterPayload,
  consulBackendsOf,
  consulFileNames,
  consulOutputFiles,
  dnsLabel,
  instanceHash,
  renderConsulFiles,
  renderConsulFilesOf,
  writeConsulOutputs,
} from '../../src/emit/consul/index.js';
import { FIXTURE_FILE, fixtureBackends, fixtureIr } from './fixture-ir.js';

function api(registrations = buildRegistrations(fixtureIr())) {
  return registrations.services.find((s) => s.upstream === 'api_v1')!;
}

describe('consul registrations from the IR', () => {
  it('names services DNS-safe and records the mapping', () => {
    const regs = buildRegistrations(fixtureIr());
    expect(regs.services.map((s) => [s.upstream, s.name])).toEqual([
      ['127.0.0.1_9000', '127-0-0-1-9000'],
      ['api_v1', 'api-v1'],
      ['legacy.pool', 'legacy-pool'],
    ]);
    const names = JSON.parse(renderConsulFiles(regs).get('names.json')!);
    expect(names.services[1]).toEqual({
      upstream: 'api_v1',
      kind: 'upstream',
      service: 'api-v1',
      source: `${FIXTURE_FILE}:4`,
      instances: [
        'ngx2envoy-api-v1-10-0-0-11-8080',
        'ngx2envoy-api-v1-10-0-0-12-8080',
        'ngx2envoy-api-v1-10-0-0-13-8080',
      ],
    });
  });

  it('gives colliding sanitised names a stable suffix', () => {
    const backends = fixtureBackends();
    const twin = { ...backends[1]!, name: 'api-v1' };
    const regs = buildRegistrations(fixtureIr([backends[0]!, twin, backends[1]!, backends[2]!]));
    expect(regs.services.map((s) => s.name)).toEqual(['127-0-0-1-9000', 'api-v1', 'api-v1-2', 'legacy-pool']);
    const ids = regs.services.flatMap((s) => s.instances.map((i) => i.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does not register unix sockets and down servers, and says why', () => {
    const regs = buildRegistrations(fixtureIr());
    expect(regs.skipped.map((s) => [s.server, s.source.line, s.reason.split(':')[0]])).toEqual([
      ['10.0.0.14:8080', 8, 'down'],
      ['unix:/run/api.sock', 9, 'unix socket'],
    ]);
    const notes = writeConsulOutputs(fixtureIr(), mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-'))).notes;
    expect(notes.map((n) => `${n.file}:${n.line} ${n.directive}`)).toEqual([`${FIXTURE_FILE}:8 server`, `${FIXTURE_FILE}:9 server`]);
  });

  it('keeps instance ids stable when servers are reordered', () => {
    const ids = (r: ReturnType<typeof buildRegistrations>) =>
      r.services.flatMap((s) => s.instances.map((i) => `${i.id}=${i.meta.ngx2envoy_hash}`)).sort();
    const backends = fixtureBackends();
    const reordered = backends.map((b) => ({ ...b, servers: [...b.servers].reverse() }));
    expect(ids(buildRegistrations(fixtureIr(reordered)))).toEqual(ids(buildRegistrations(fixtureIr(backends))));
  });

  it('writes the agent service definition format field by field', () => {
    const file = agentDefinitionFile(api());
    expect(file.services).toHaveLength(3);
    expect(file.services[0]).toEqual({
      id: 'ngx2envoy-api-v1-10-0-0-11-8080',
      name: 'api-v1',
      address: '10.0.0.11',
      port: 8080,
      tags: ['ngx2envoy'],
      meta: {
        managed_by: 'ngx2envoy',
        ngx2envoy_config: FIXTURE_FILE,
        nginx_upstream: 'api_v1',
        nginx_source: `${FIXTURE_FILE}:5`,
        nginx_backup: 'false',
        nginx_max_fails: '1',
        nginx_fail_timeout: '10000ms',
        ngx2envoy_hash: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
      weights: { passing: 3, warning: 1 },
      check: {
        name: 'nginx upstream api_v1 server 10.0.0.11:8080',
        tcp: '10.0.0.11:8080',
        interval: '10s',
        timeout: '10s',
        status: 'passing',
      },
    });
    // max_fails=3 fail_timeout=30s: a probe every 10s, critical after 3 consecutive failures.
    expect(file.services[1]!.check).toEqual({
      name: 'nginx upstream api_v1 server 10.0.0.12:8080',
      tcp: '10.0.0.12:8080',
      interval: '10s',
      timeout: '10s',
      failures_before_critical: 3,
      status: 'passing',
    });
    expect(file.services[2]!.tags).toEqual(['ngx2envoy', 'backup']);
    expect((file.services[2]!.meta as Record<string, string>).nginx_backup).toBe('true');
  });

  it('writes the agent API body with PascalCase keys and Weights', () => {
    const instance = api().instances[0]!;
    const body = agentRegisterPayload(instance);
    expect(Object.keys(body)).toEqual(['ID', 'Name', 'Address', 'Port', 'Tags', 'Meta', 'Weights', 'Check']);
    expect(body.Weights).toEqual({ Passing: 3, Warning: 1 });
    expect(body.Check).toEqual({
      Name: 'nginx upstream api_v1 server 10.0.0.11:8080',
      TCP: '10.0.0.11:8080',
      Interval: '10s',
      Timeout: '10s',
      Status: 'passing',
    });
  });

  it('writes the catalog body for a host that runs no agent', () => {
    const body = catalogRegisterPayload(api().instances[1]!);
    expect(body).toEqual({
      Node: 'ngx2envoy-10-0-0-12',
      Address: '10.0.0.12',
      NodeMeta: { 'external-node': 'true', 'external-probe': 'true', managed_by: 'ngx2envoy' },
      Service: {
        ID: 'ngx2envoy-api-v1-10-0-0-12-8080',
        Service: 'api-v1',
        Address: '10.0.0.12',
        Port: 8080,
        Tags: ['ngx2envoy'],
        Meta: expect.objectContaining({ nginx_source: `${FIXTURE_FILE}:6`, nginx_max_fails: '3' }),
        Weights: { Passing: 1, Warning: 1 },
      },
      Checks: [
        {
          Node: 'ngx2envoy-10-0-0-12',
          CheckID: 'service:ngx2envoy-api-v1-10-0-0-12-8080',
          Name: 'nginx upstream api_v1 server 10.0.0.12:8080',
          ServiceID: 'ngx2envoy-api-v1-10-0-0-12-8080',
          Status: 'passing',
          Definition: { TCP: '10.0.0.12:8080', IntervalDuration: '10s', TimeoutDuration: '10s' },
        },
      ],
    });
  });

  it('registers max_fails=0 without a check, and builds HTTP checks on request', () => {
    const legacy = buildRegistrations(fixtureIr()).services.find((s) => s.upstream === 'legacy.pool')!;
    expect(legacy.instances[0]!.check).toBeNull();
    expect(agentRegisterPayload(legacy.instances[0]!)).not.toHaveProperty('Check');
    const http = api(buildRegistrations(fixtureIr(), { check: 'http', httpPath: 'healthz' })).instances[0]!;
    expect(agentRegisterPayload(http).Check).toMatchObject({ HTTP: 'http://10.0.0.11:8080/healthz', Interval: '10s' });
    const none = api(buildRegistrations(fixtureIr(), { check: 'none' })).instances[0]!;
    expect(none.check).toBeNull();
  });

  it('writes DIR/consul/ deterministically and drops definitions of removed services', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-consul-'));
    mkdirSync(join(dir, 'consul', 'agent'), { recursive: true });
    writeFileSync(join(dir, 'consul', 'agent', 'gone.json'), '{}');
    const out = writeConsulOutputs(fixtureIr(), dir);
    expect(out.files).toEqual([
      'consul/agent/127-0-0-1-9000.json',
      'consul/agent/api-v1.json',
      'consul/agent/legacy-pool.json',
      'consul/catalog/127-0-0-1-9000.json',
      'consul/catalog/api-v1.json',
      'consul/catalog/legacy-pool.json',
      'consul/names.json',
    ]);
    expect(existsSync(join(dir, 'consul', 'agent', 'gone.json'))).toBe(false);
    const first = out.files.map((f) => readFileSync(join(dir, f), 'utf8'));
    writeConsulOutputs(fixtureIr(), dir);
    expect(out.files.map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(first);
    expect(readdirSync(join(dir, 'consul', 'catalog'))).toHaveLength(3);
    expect(JSON.parse(first[1]!)).toEqual(agentDefinitionFile(api()));
  });

  it('hashes an instance as sha256 of its fields with the meta sorted, the hash itself left out', () => {
    for (const instance of buildRegistrations(fixtureIr(), { check: 'http' }).services.flatMap((svc) => svc.instances)) {
      // The definition the hash has always had: [key, value] pairs sorted as Array.prototype.sort sorts them.
      const meta = Object.fromEntries(Object.entries(instance.meta).filter(([k]) => k !== 'ngx2envoy_hash').sort());
      const material = JSON.stringify([instance.id, instance.service, instance.address, instance.port, instance.tags, meta, instance.weight, instance.check]);
      const expected = createHash('sha256').update(material).digest('hex').slice(0, 16);
      expect(instanceHash(instance)).toBe(expected);
      expect(instance.meta.ngx2envoy_hash).toBe(expected);
    }
  });

  it('gives the same DNS label for a name however often it is asked, with the caller\'s fallback', () => {
    expect(dnsLabel('10.0.0.11', 'host')).toBe('10-0-0-11');
    expect(dnsLabel('10.0.0.11', 'host')).toBe('10-0-0-11');
    expect(dnsLabel('API_v1', 'upstream')).toBe('api-v1');
    expect(dnsLabel('___', 'host')).toBe('host');
    expect(dnsLabel('___', 'upstream')).toBe('upstream');
    expect(dnsLabel('x'.repeat(70) + '-y', 'host')).toBe('x'.repeat(63));
  });
});

// convert -o hands the backends to its writer thread (a structured clone), which makes the
// files there; the main thread names them without making them.
describe('consul/ made from the backends elsewhere', () => {
  const FIXTURES = join(import.meta.dirname, '../../fixtures');
  const configs = readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'nginx.conf')))
    .map((d) => join(FIXTURES, d, 'nginx.conf'));

  it.each(configs)('%s: the same files after the copy, named in advance', async (conf) => {
    const { compile } = await import('../../src/compile.js');
    const result = compile(conf, {});
    if (!result.ir) return; // a fixture of bad input
    const backends = consulBackendsOf(result.ir, { configId: 'nginx.conf' });
    const made = renderConsulFilesOf('/out/consul', structuredClone(backends));
    expect(made).toEqual(consulOutputFiles(result.ir, '/out', { configId: 'nginx.conf' }));
    expect(consulFileNames(backends).map((n) => join('/out/consul', n))).toEqual(made.map((f) => f.path));
  });

  it('servers that are not registered (down, unix) make no files; a backend with one registrable server does', () => {
    const ir = fixtureIr();
    const base = ir.backends[0]!;
    ir.backends.push(
      { ...base, name: 'all_down', servers: base.servers.map((s) => ({ ...s, down: true })) },
      { ...base, name: 'all_unix', servers: base.servers.map((s) => ({ ...s, unix: true })) },
      { ...base, name: 'one_up', servers: base.servers.map((s, i) => ({ ...s, down: i > 0 })) },
    );
    const backends = consulBackendsOf(ir, { configId: 'x' });
    const names = consulFileNames(backends);
    expect(names).toEqual(renderConsulFilesOf('', backends).map((f) => f.path));
    expect(names).toContain('agent/one-up.json');
    expect(names.filter((n) => n.includes('all-down') || n.includes('all-unix'))).toEqual([]);
  });
});
