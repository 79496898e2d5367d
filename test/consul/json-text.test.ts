// consul/'s agent and catalog files are written out as text (json-text.ts) instead of by
// JSON.stringify over the payload objects of formats.ts: the two must be the same bytes for
// every kind of instance (checks tcp, http, none; backup; stream; odd strings; empty lists).
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import {
  agentDefinitionFile,
  buildRegistrations,
  catalogRegisterPayload,
  type ConsulInstance,
  type ConsulServicePlan,
  renderConsulFilesUnder,
  consulBackendsOf,
  consulFileNames,
  consulFilePaths,
} from '../../src/emit/consul/index.js';
import { serviceFileTexts } from '../../src/emit/consul/json-text.js';
import { fixtureBackends, fixtureIr } from './fixture-ir.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

function expectSameAsPayloads(service: ConsulServicePlan): void {
  const texts = serviceFileTexts(service);
  expect(texts.agent).toBe(json(agentDefinitionFile(service)));
  expect(texts.catalog).toBe(json(service.instances.map(catalogRegisterPayload)));
}

describe('consul files as text', () => {
  it('are the payloads as JSON.stringify writes them, for every check kind', () => {
    for (const check of ['tcp', 'http', 'none'] as const) {
      const regs = buildRegistrations(fixtureIr(), { configId: '/etc/nginx/nginx.conf', check, httpPath: 'health' });
      for (const service of regs.services) expectSameAsPayloads(service);
    }
  });

  it('are the payloads for every fixture with backends (stream, backup, TLS, UDP)', () => {
    let services = 0;
    for (const dir of readdirSync(FIXTURES).sort()) {
      const r = compile(join(FIXTURES, dir, 'nginx.conf'), {});
      if (!r.ok || !r.ir) continue;
      for (const check of ['tcp', 'http'] as const) {
        for (const service of buildRegistrations(r.ir, { configId: dir, check }).services) {
          expectSameAsPayloads(service);
          services++;
        }
      }
    }
    expect(services).toBeGreaterThan(50);
  });

  it('escape strings as JSON.stringify does, and lay out empty lists and odd numbers alike', () => {
    const service = buildRegistrations(fixtureIr(), { configId: 'say "hi" \\ \n é 🚀 \ud800' }).services.find((s) => s.upstream === 'api_v1')!;
    const first = service.instances[0]!;
    const odd: ConsulInstance = {
      ...first,
      id: 'id "quoted"\t',
      service: 'svc\u0001',
      address: '::1',
      tags: [],
      meta: {},
      weight: 2.5,
      port: NaN,
      check: { ...first.check!, name: 'name \\ back', target: 'é', failuresBeforeCritical: 7 },
    };
    const noCheck: ConsulInstance = { ...first, check: null, tags: ['a', 'b "c"'] };
    expectSameAsPayloads({ ...service, instances: [odd, noCheck, ...service.instances] });
    expectSameAsPayloads({ ...service, instances: [] });
  });

  it('differ when an instance differs (the texts are made from the instance, not constants)', () => {
    const regs = buildRegistrations(fixtureIr(fixtureBackends()), { configId: 'a' });
    const service = regs.services.find((s) => s.upstream === 'api_v1')!;
    const changed = { ...service, instances: [{ ...service.instances[0]!, port: 9999, meta: { ...service.instances[0]!.meta, extra: 'x' } }] };
    const texts = serviceFileTexts(changed);
    expect(JSON.parse(texts.agent).services[0].port).toBe(9999);
    expect(JSON.parse(texts.catalog)[0].Service.Meta.extra).toBe('x');
  });

  it('are placed under any root as path.join places them', () => {
    const regs = buildRegistrations(fixtureIr(), { configId: 'a' });
    for (const root of ['', '.', './', '/', 'out', 'out/', './out//consul', '/abs/x/../consul', '../up/consul/.', 'a/b/c/']) {
      const files = renderConsulFilesUnder(root, regs);
      expect(files.length).toBeGreaterThan(2);
      for (const f of files) expect(f.path, root).toBe(join(root, relativeName(f.path)));
      const backends = consulBackendsOf(fixtureIr(), { configId: 'a' });
      expect(consulFilePaths(root, backends)).toEqual(consulFileNames(backends).map((name) => join(root, name)));
      expect(consulFilePaths(root, backends)).toEqual(files.map((f) => f.path));
    }
  });
});

/** The file's name under consul/ (names.json, agent/x.json or catalog/x.json). */
function relativeName(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] === 'names.json' ? 'names.json' : parts.slice(-2).join('/');
}
