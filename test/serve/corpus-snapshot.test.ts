// The 137 real configurations of the shared corpus: each one that compiles
// can be served — its xDS split and its grpc profile validate against
// Envoy's protos and encode to binary.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { buildSnapshot, ResourceEncoder } from '../../src/serve/snapshot.js';
import { formatFindings, validateXdsResources } from '../../src/validate/index.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/corpus/nginx');
const configs = fs.existsSync(corpus) ? fs.readdirSync(corpus).filter((f) => f.endsWith('.conf')).sort() : [];

describe.skipIf(configs.length === 0)('every compiling corpus config can be served', () => {
  it('serves all of them', () => {
    let served = 0;
    const problems: string[] = [];
    for (const name of configs) {
      const result = compile(path.join(corpus, name));
      if (!result.ok || !result.bootstrap) continue;
      try {
        const snapshot = buildSnapshot(new ResourceEncoder(), toXdsResources(result.bootstrap));
        for (const profile of ['envoy', 'grpc'] as const) {
          const errors = validateXdsResources(snapshot.sources[profile]).filter((f) => f.severity === 'error');
          if (errors.length) problems.push(`${name} (${profile}):\n${formatFindings(errors.slice(0, 5))}`);
          void snapshot.profiles[profile];
        }
        served += 1;
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(served).toBeGreaterThan(20);
  });
});
