// toXdsResources leaves the bootstrap as it was and shares with it what the
// split does not rewrite (no copy of a large route table per reload): the
// resources are new objects only along the rewritten paths (listener, filter
// chains, HCMs, TLS contexts lifted to SDS, EDS clusters and their endpoints).
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile.js';
import { toXdsResources, type JsonObject } from '../../src/emit/envoy/xds.js';
import { formatFindings, validateXdsResources } from '../../src/validate/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

function bootstrapOf(name: string): JsonObject {
  const result = compile(path.join(fixtures, name, 'nginx.conf'));
  expect(result.ok).toBe(true);
  return result.bootstrap as JsonObject;
}

const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('toXdsResources shares, never mutates', () => {
  for (const name of ['40-tls-sni', '13-upstream-weights-backup-down', '04-location-kinds']) {
    it(`${name}: the bootstrap is unchanged, a second split gives the same resources, and they validate`, () => {
      const bootstrap = bootstrapOf(name);
      const before = json(bootstrap);
      const first = toXdsResources(bootstrap);
      expect(json(bootstrap)).toEqual(before);
      const second = toXdsResources(bootstrap);
      expect(json(second)).toEqual(json(first));
      // What a split of a private copy gives (the old deep-cloning behaviour).
      expect(json(first)).toEqual(json(toXdsResources(json(bootstrap))));
      const errors = validateXdsResources(first).filter((f) => f.severity === 'error');
      expect(errors, formatFindings(errors)).toEqual([]);
    });
  }

  it('the route configuration keeps the bootstrap virtual hosts; the listener, its chains and its HCM are new', () => {
    const bootstrap = bootstrapOf('04-location-kinds');
    const listener = ((bootstrap['static_resources'] as JsonObject)['listeners'] as JsonObject[])[0]!;
    const chain = (listener['filter_chains'] as JsonObject[])[0] ?? (listener['default_filter_chain'] as JsonObject);
    const hcm = (chain['filters'] as JsonObject[]).map((f) => f['typed_config'] as JsonObject).find((t) => 'route_config' in t)!;
    const routeConfig = hcm['route_config'] as JsonObject;
    const resources = toXdsResources(bootstrap);
    const route = resources.routes.find((r) => r['virtual_hosts'] === routeConfig['virtual_hosts']);
    expect(route, 'a RouteConfiguration sharing the virtual hosts').toBeDefined();
    expect(resources.listeners[0]).not.toBe(listener);
    expect(hcm['route_config']).toBe(routeConfig);
    expect(hcm['rds']).toBeUndefined();
  });

  it('TLS contexts lifted to SDS leave the bootstrap its certificates', () => {
    const bootstrap = bootstrapOf('40-tls-sni');
    const text = JSON.stringify(bootstrap);
    const resources = toXdsResources(bootstrap);
    expect(JSON.stringify(resources.listeners)).not.toContain('"tls_certificates"');
    expect(JSON.stringify(bootstrap)).toBe(text);
    expect(text).toContain('"tls_certificates"');
  });
});
