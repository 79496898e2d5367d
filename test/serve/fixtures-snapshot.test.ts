// Every project fixture that compiles can be served: its xDS split and its
// grpc profile validate against Envoy's protos and encode to binary (every
// typed_config the compiler emits has a loadable proto).
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { buildSnapshot, ResourceEncoder } from '../../src/serve/snapshot.js';
import { formatFindings, validateXdsResources } from '../../src/validate/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');
const fixtures = fs
  .readdirSync(root)
  .filter((d) => fs.existsSync(path.join(root, d, 'nginx.conf')))
  .sort();

describe('every compiling fixture can be served', () => {
  it('has fixtures to check', () => {
    expect(fixtures.length).toBeGreaterThan(10);
  });

  for (const name of fixtures) {
    it(name, () => {
      const result = compile(path.join(root, name, 'nginx.conf'));
      if (!result.ok) return; // the bad-input fixtures: serve refuses them like convert does
      const snapshot = buildSnapshot(new ResourceEncoder(), toXdsResources(result.bootstrap));
      for (const profile of ['envoy', 'grpc'] as const) {
        const errors = validateXdsResources(snapshot.sources[profile]).filter((f) => f.severity === 'error');
        expect(errors, `${profile} profile:\n${formatFindings(errors)}`).toEqual([]);
        for (const type of snapshot.profiles[profile].values()) {
          for (const r of type.resources.values()) expect(r.bytes.length, `${r.typeUrl} ${r.name}`).toBeGreaterThan(0);
        }
      }
    });
  }
});
