import { describe, expect, it } from 'vitest';
import { validateXdsResources, type XdsResources } from '../../src/validate/index.js';
import { camelKeys, fixture, pairs } from './helpers.js';

const HCM0 = 'listeners[0].filter_chains[0].filters[0].typed_config';

function resources(change?: (r: Record<string, any>) => void): XdsResources {
  const r = fixture('xds.yaml');
  change?.(r);
  return r as XdsResources;
}

describe('xDS resource sets', () => {
  it('a realistic LDS/RDS/CDS/EDS/SDS set has no findings', () => {
    expect(validateXdsResources(resources())).toEqual([]);
  });

  it('the same set with lowerCamel JSON names has no findings (cross-references read either name)', () => {
    expect(validateXdsResources(camelKeys(resources()) as XdsResources)).toEqual([]);
    const r = camelKeys(resources((x) => {
      x.routes[0].name = 'elsewhere';
    })) as XdsResources;
    expect(pairs(validateXdsResources(r)).map(([p]) => p)).toEqual([
      `listeners[0].filterChains[0].filters[0].typedConfig.rds.routeConfigName`,
      `listeners[0].filterChains[1].filters[0].typedConfig.rds.routeConfigName`,
    ]);
  });

  it('each resource is checked against its own v3 type', () => {
    const r = resources((x) => {
      x.routes[0].virtual_hosts[0].routes[0].route.timeout = '0';
      x.endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = -1;
      x.secrets[0].tls_certificate.private_key = { filename: '/a', inline_string: 'b' };
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['routes[0].virtual_hosts[0].routes[0].route.timeout', 'invalid Duration "0": expected a string like "1.5s" (seconds with an "s" suffix)'],
      ['endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value', 'uint32 value -1 is out of range [0, 4294967295]'],
      ['secrets[0].tls_certificate.private_key.inline_string', 'oneof specifier of envoy.config.core.v3.DataSource has more than one member set: filename and inline_string'],
    ]);
  });

  it('an RDS name with no RouteConfiguration', () => {
    const r = resources((x) => {
      x.routes[0].name = 'route_8443';
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      [`${HCM0}.rds.route_config_name`, 'RDS route_config_name "route_443" has no RouteConfiguration among the routes'],
      ['listeners[0].filter_chains[1].filters[0].typed_config.rds.route_config_name', 'RDS route_config_name "route_443" has no RouteConfiguration among the routes'],
    ]);
  });

  it('an EDS cluster with no ClusterLoadAssignment (service_name or cluster name)', () => {
    const r = resources((x) => {
      x.endpoints[1].cluster_name = 'shop_v1'; // the cluster asks for its service_name shop-v1
      x.endpoints.pop();
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['clusters[1]', 'EDS cluster "shop_v1" has no ClusterLoadAssignment named "shop-v1" among the endpoints'],
      ['clusters[2]', 'EDS cluster "shop_v2" has no ClusterLoadAssignment named "shop_v2" among the endpoints'],
    ]);
  });

  it('a route to a cluster CDS does not carry', () => {
    const r = resources((x) => {
      x.clusters.splice(2, 1);
      x.endpoints.splice(2, 1);
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['routes[0].virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name', 'route weighted_clusters references cluster "shop_v2", which is not defined in the clusters (CDS)'],
    ]);
  });

  it('EDS endpoints are IP literals', () => {
    const r = resources((x) => {
      x.endpoints[1].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'shop-1.internal';
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['endpoints[1].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address', "malformed IP address: shop-1.internal. Consider setting resolver_name or setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'"],
    ]);
  });

  it('an SDS secret name with no Secret', () => {
    const r = resources((x) => {
      x.secrets.pop();
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['listeners[0].filter_chains[1].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name', 'SDS secret "api_cert" has no Secret among the secrets'],
    ]);
  });

  it('names unique per resource type, and present', () => {
    const r = resources((x) => {
      x.clusters[2].name = 'api';
      x.endpoints[2].cluster_name = 'api';
      delete x.listeners[0].name;
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['listeners[0]', 'an xDS listener resource needs a non-empty name'],
      ['clusters[2].name', 'duplicate Cluster name "api" (first at clusters[0].name)'],
      ['endpoints[2].cluster_name', 'duplicate ClusterLoadAssignment name "api" (first at endpoints[0].cluster_name)'],
      // renaming shop_v2 leaves its route dangling
      ['routes[0].virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name', 'route weighted_clusters references cluster "shop_v2", which is not defined in the clusters (CDS)'],
    ]);
  });

  it('duplicate domains across the virtual hosts of one RouteConfiguration', () => {
    const r = resources((x) => {
      x.routes[0].virtual_hosts[1].domains.push('Shop.Example.com');
    });
    expect(pairs(validateXdsResources(r))).toEqual([
      ['routes[0].virtual_hosts[1].domains[1]', 'Only unique values for domains are permitted. Duplicate entry of domain shop.example.com in route route_443 (first at routes[0].virtual_hosts[0].domains[0])'],
    ]);
  });
});
