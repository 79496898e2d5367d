// Configuration inputs: an xDS resource set (LDS/RDS/CDS/EDS, proto3 JSON in
// lowerCamel as an ADS server would serve it), a Bootstrap whose HCM uses `rds`
// resolved against an xDS set, and inputs Envoy would not load.
// proto3 JSON: "accept both the lowerCamelCase name and the original proto field
// name" (https://protobuf.dev/programming-guides/proto3/#json); RDS:
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto#extensions-filters-network-http-connection-manager-v3-rds
import { describe, expect, it } from 'vitest';
import { evaluate, evaluator, EnvoyConfigError } from '../../../src/sim/envoy/index.js';
import { HCM_TYPE, ROUTER_TYPE } from './helpers.js';

const listener = {
  '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
  name: 'listener_0_0_0_0_80',
  address: { socketAddress: { address: '0.0.0.0', portValue: 80 } },
  filterChains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typedConfig: {
            '@type': HCM_TYPE,
            statPrefix: 'ingress',
            mergeSlashes: true,
            normalizePath: true,
            rds: { routeConfigName: 'route_80', configSource: { ads: {}, resourceApiVersion: 'V3' } },
            httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': ROUTER_TYPE } }],
          },
        },
      ],
    },
  ],
};

const routes = [
  {
    '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    name: 'route_80',
    virtualHosts: [
      {
        name: 'example',
        domains: ['example.com', 'www.example.com'],
        routes: [
          { match: { path: '/healthz' }, directResponse: { status: 200, body: { inlineString: 'ok' } } },
          {
            match: { prefix: '/api/' },
            route: { cluster: 'api_v1', prefixRewrite: '/v1/', timeout: '0s', hostRewriteLiteral: 'api.internal' },
            requestHeadersToAdd: [{ header: { key: 'x-forwarded-host', value: '%REQ(:authority)%' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
          },
        ],
      },
    ],
  },
];

const clusters = [
  {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'api_v1',
    type: 'EDS',
    edsClusterConfig: { edsConfig: { ads: {} } },
  },
];

const endpoints = [
  {
    '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    clusterName: 'api_v1',
    endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.11', portValue: 8080 } } } }] }],
  },
];

describe('xDS resource sets', () => {
  const ev = evaluator({ listeners: [listener], routes, clusters, endpoints });

  it('routes through LDS → RDS with lowerCamel fields', () => {
    expect(ev({ port: 80, host: 'www.example.com', path: '/api//users/../me?x=1' })).toMatchObject({
      kind: 'route',
      listener: 'listener_0_0_0_0_80',
      filterChain: 0,
      virtualHost: 'example',
      routeIndex: 1,
      cluster: 'api_v1',
      upstreamPath: '/v1/me?x=1',
      upstreamHost: 'api.internal',
      timeout: '0s',
      requestHeadersToAdd: [{ key: 'x-forwarded-host', value: 'www.example.com', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', level: 'route' }],
    });
    expect(ev({ port: 80, host: 'example.com', path: '/healthz' })).toMatchObject({ kind: 'direct_response', status: 200, body: 'ok' });
    expect(ev({ port: 80, host: 'nope.com', path: '/' }).kind).toBe('no_virtual_host');
  });

  it('a Bootstrap whose rds names a route configuration of the xDS set', () => {
    const bootstrap = { static_resources: { listeners: [listener], clusters } };
    const d = evaluate({ bootstrap, xds: { routes, endpoints } }, { port: 80, host: 'example.com', path: '/api/x' });
    expect(d).toMatchObject({ cluster: 'api_v1', upstreamPath: '/v1/x' });
    // without the route set, the listener has no routes
    const missing = evaluate(bootstrap, { port: 80, host: 'example.com', path: '/api/x' });
    expect(missing.kind).toBe('no_virtual_host');
    expect(missing.notes?.join(' ')).toMatch(/route_80/);
  });

  it('input that is no Envoy configuration is an EnvoyConfigError', () => {
    expect(() => evaluate({ hello: 1 }, { port: 80, host: 'a', path: '/' })).toThrow(EnvoyConfigError);
  });
});
