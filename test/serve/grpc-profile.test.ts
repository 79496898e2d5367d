// The grpc profile: what a proxyless gRPC client is served instead of the
// Envoy resources (see src/serve/grpc-profile.ts for the why of each change).
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { toXdsResources, type JsonObject } from '../../src/emit/envoy/xds.js';
import { grpcProfile, UNROUTABLE_CLUSTER } from '../../src/serve/grpc-profile.js';
import { profileOfNode } from '../../src/serve/streams.js';
import { validateXdsResources } from '../../src/validate/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const envoy = toXdsResources(parse(fs.readFileSync(path.join(here, 'fixtures/two-backends.yaml'), 'utf8')));
const grpc = grpcProfile(envoy);
const byName = (list: JsonObject[], name: string) => list.find((r) => (r['name'] ?? r['cluster_name']) === name)!;

describe('grpc profile', () => {
  it('is valid against Envoy protos', () => {
    expect(validateXdsResources(grpc).filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('serves an api_listener per server name (with and without port) and per compiled listener', () => {
    expect(grpc.listeners.map((l) => l['name'])).toEqual([
      'api.example.com',
      'api.example.com:8080',
      'listener_0_0_0_0_8080',
      'other.example.com',
      'other.example.com:8080',
    ]);
    const hcm = (byName(grpc.listeners, 'api.example.com')['api_listener'] as JsonObject)['api_listener'] as JsonObject;
    expect(hcm['rds']).toEqual({ config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'route_8080' });
    expect((hcm['http_filters'] as JsonObject[]).map((f) => f['name'])).toEqual(['envoy.filters.http.router']);
  });

  it('adds host:port domains and sends local replies to a cluster without endpoints', () => {
    const vhosts = byName(grpc.routes, 'route_8080')['virtual_hosts'] as JsonObject[];
    expect(vhosts[0]!['domains']).toEqual(['api.example.com', 'api.example.com:8080']);
    const redirect = (vhosts[1]!['routes'] as JsonObject[])[0]!;
    expect(redirect['redirect']).toBeUndefined();
    expect(redirect['route']).toEqual({ cluster: UNROUTABLE_CLUSTER });
    expect(byName(grpc.clusters, UNROUTABLE_CLUSTER)['type']).toBe('EDS');
    expect(byName(grpc.endpoints, UNROUTABLE_CLUSTER)['endpoints']).toEqual([]);
  });

  it('uses policies and endpoints gRPC accepts', () => {
    expect(byName(envoy.clusters, 'beta')['lb_policy']).toBe('LEAST_REQUEST');
    expect(byName(grpc.clusters, 'beta')['lb_policy']).toBe('ROUND_ROBIN');
    // A hostname backend: EDS without endpoints (gRPC needs IP endpoints).
    expect(byName(grpc.clusters, 'dns_backend')['type']).toBe('EDS');
    expect(byName(grpc.endpoints, 'dns_backend')['endpoints']).toEqual([]);
    const locality = (byName(grpc.endpoints, 'alpha')['endpoints'] as JsonObject[])[0]!;
    expect(locality['locality']).toEqual({ region: 'ngx2envoy', zone: 'p0-0' });
    expect(locality['load_balancing_weight']).toBe(1);
  });

  it('is chosen for gRPC clients by user agent or node metadata', () => {
    expect(profileOfNode({ id: 'x', user_agent_name: 'gRPC Node Pure JS' })).toBe('grpc');
    expect(profileOfNode({ id: 'x', user_agent_name: 'envoy' })).toBe('envoy');
    expect(profileOfNode({ id: 'x', metadata: { fields: { 'ngx2envoy.profile': { string_value: 'grpc' } } } })).toBe('grpc');
    expect(profileOfNode(null)).toBe('envoy');
  });
});
