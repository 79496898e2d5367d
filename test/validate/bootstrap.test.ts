import { describe, expect, it } from 'vitest';
import { formatFindings, validateBootstrap, validateMessage } from '../../src/validate/index.js';
import { camelKeys, errors, fixture, pairs } from './helpers.js';

const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const RC = `${HCM}.route_config`;
const VH = `${RC}.virtual_hosts[0]`;
const CLUSTERS = 'static_resources.clusters';

/** The fixture bootstrap with one change applied. */
function mutated(change: (b: Record<string, any>) => void): Record<string, any> {
  const b = fixture('bootstrap.yaml');
  change(b);
  return b;
}

const hcm = (b: Record<string, any>) => b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const vhost = (b: Record<string, any>, i = 0) => hcm(b).route_config.virtual_hosts[i];

describe('valid configurations pass', () => {
  it('a realistic bootstrap (HCM, filters, every route kind, TLS, clusters) has no findings', () => {
    expect(validateBootstrap(fixture('bootstrap.yaml'))).toEqual([]);
  });

  it('the same bootstrap written with lowerCamel JSON names has no findings', () => {
    expect(validateBootstrap(camelKeys(fixture('bootstrap.yaml')))).toEqual([]);
  });

  it('a single resource validates against its own type', () => {
    const cluster = fixture('bootstrap.yaml').static_resources.clusters[0];
    expect(validateMessage('envoy.config.cluster.v3.Cluster', cluster)).toEqual([]);
  });

  it('accepts the JSON forms protobuf accepts: int64 as string or number, Duration as object, base64 bytes, Struct', () => {
    expect(validateMessage('envoy.type.v3.Int64Range', { start: '-5', end: 10 })).toEqual([]);
    expect(validateMessage('envoy.config.route.v3.RouteAction', { cluster: 'a', timeout: { seconds: 5, nanos: 500 } })).toEqual([]);
    expect(validateMessage('envoy.config.core.v3.DataSource', { inline_bytes: 'aGVsbG8=' })).toEqual([]);
    expect(validateMessage('envoy.config.core.v3.Metadata', { filter_metadata: { ns: { any: [1, { json: null }] } } })).toEqual([]);
    // a JS undefined never reaches the JSON/YAML text: it is an absent field, as null is
    expect(validateMessage('envoy.config.core.v3.Node', { id: 'n', cluster: undefined, locality: null })).toEqual([]);
  });
});

describe('structural errors, each at its path', () => {
  it('unknown field deep inside a typed_config, with a suggestion', () => {
    const b = mutated((x) => {
      vhost(x).routes[2].route.prefix_rewrte = '/v3/';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.routes[2].route.prefix_rewrte`, 'unknown field "prefix_rewrte" in envoy.config.route.v3.RouteAction (did you mean "prefix_rewrite"?)'],
    ]);
  });

  it('an enum name Envoy does not define', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[0].lb_policy = 'LEAST_CONN';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${CLUSTERS}[0].lb_policy`, 'unknown value "LEAST_CONN" for enum envoy.config.cluster.v3.Cluster.LbPolicy; expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG'],
    ]);
  });

  it('an enum number that is not defined violates defined_only', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[0].lb_policy = 4; // 4 was ORIGINAL_DST_LB, removed in v3
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${CLUSTERS}[0].lb_policy`, 'value must be one of the defined enum values (4 is not defined in envoy.config.cluster.v3.Cluster.LbPolicy)'],
    ]);
  });

  it('two members of one oneof', () => {
    const b = mutated((x) => {
      vhost(x).routes[0].match.prefix = '/exact';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.routes[0].match.prefix`, 'oneof path_specifier of envoy.config.route.v3.RouteMatch has more than one member set: path and prefix'],
    ]);
  });

  it('a route with no action: the required oneof is unset', () => {
    const b = mutated((x) => {
      delete vhost(x).routes[7].route;
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.routes[7]`, 'oneof action of envoy.config.route.v3.Route requires exactly one of: route, redirect, direct_response, filter_action, non_forwarding_action'],
    ]);
  });

  it('Duration in wrong forms: a bare number, no unit, another unit, negative, an unknown object key', () => {
    const b = mutated((x) => {
      const c = x.static_resources.clusters;
      c[0].connect_timeout = 60;
      c[1].connect_timeout = '5';
      c[2].connect_timeout = '1m';
      c[3].connect_timeout = '-1s';
      c[4].connect_timeout = { seconds: 1, millis: 5 };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${CLUSTERS}[0].connect_timeout`, 'invalid Duration 60: expected a string like "1.5s"'],
      [`${CLUSTERS}[1].connect_timeout`, 'invalid Duration "5": expected a string like "1.5s" (seconds with an "s" suffix)'],
      [`${CLUSTERS}[2].connect_timeout`, 'invalid Duration "1m": expected a string like "1.5s" (seconds with an "s" suffix)'],
      [`${CLUSTERS}[3].connect_timeout`, 'invalid Duration -1s: Envoy requires a non-negative duration'],
      [`${CLUSTERS}[4].connect_timeout`, 'invalid Duration object: unknown key "millis" (only seconds and nanos)'],
    ]);
  });

  it('a wrapper written as an object', () => {
    const b = mutated((x) => {
      x.static_resources.listeners[0].per_connection_buffer_limit_bytes = { value: 32768 };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[0].per_connection_buffer_limit_bytes', 'google.protobuf.UInt32Value is written as a bare uint32 value in JSON/YAML, not as an object'],
    ]);
  });

  it('an unknown @type, and an Any without @type', () => {
    const b = mutated((x) => {
      hcm(x).http_filters[6].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr';
      hcm(x).http_filters[1].typed_config = { max_request_bytes: 5 };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${HCM}.http_filters[1].typed_config`, 'google.protobuf.Any without "@type"'],
      [`${HCM}.http_filters[6].typed_config["@type"]`, 'unknown @type "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr": no such message in Envoy\'s API (envoy.extensions.filters.http.router.v3.Routr)'],
    ]);
  });

  it('a uint32 out of range, and an integer written as a fraction', () => {
    const b = mutated((x) => {
      x.static_resources.listeners[0].per_connection_buffer_limit_bytes = 4294967296;
      hcm(x).http_filters[0].typed_config.token_bucket.max_tokens = 1.5;
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[0].per_connection_buffer_limit_bytes', 'google.protobuf.UInt32Value: uint32 value 4294967296 is out of range [0, 4294967295]'],
      [`${HCM}.http_filters[0].typed_config.token_bucket.max_tokens`, 'expected an integer (uint32), got 1.5'],
    ]);
  });

  it('a field set under both its proto name and its JSON name', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[0].connectTimeout = '2s';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${CLUSTERS}[0].connectTimeout`, 'field connect_timeout is set twice (as "connect_timeout" and "connectTimeout")'],
    ]);
  });

  it('repeated and map fields of the wrong JSON shape', () => {
    const b = mutated((x) => {
      vhost(x).domains = 'example.com';
      x.static_resources.clusters[0].typed_extension_protocol_options = [];
    });
    expect(pairs(errors(validateBootstrap(b)))).toEqual([
      [`${VH}.domains`, 'expected an array for repeated field domains, got "example.com"'],
      [`${VH}.domains`, 'value must contain at least 1 item(s) (it is empty or unset)'],
      [`${CLUSTERS}[0].typed_extension_protocol_options`, 'expected an object for map field typed_extension_protocol_options, got an array'],
    ]);
  });

  it('a deprecated field is a warning, not an error', () => {
    const b = mutated((x) => {
      const opt = vhost(x).request_headers_to_add[0];
      delete opt.append_action;
      opt.append = false;
    });
    const findings = validateBootstrap(b);
    expect(findings).toEqual([
      { path: `${VH}.request_headers_to_add[0].append`, message: 'field append of envoy.config.core.v3.HeaderValueOption is deprecated', severity: 'warning' },
    ]);
  });
});

describe('validate.rules', () => {
  it('a missing required message', () => {
    const b = mutated((x) => {
      delete vhost(x).routes[7].match;
    });
    expect(pairs(validateBootstrap(b))).toEqual([[`${VH}.routes[7].match`, 'value is required']]);
  });

  it('string min_len on an empty and on an unset field', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[2].name = '';
      delete hcm(x).stat_prefix;
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${HCM}.stat_prefix`, 'value length must be at least 1 characters (the field is unset)'],
      [`${CLUSTERS}[2].name`, 'value length must be at least 1 characters'],
      // the route to static_a now names a cluster that no longer exists
      [`${VH}.routes[3].route.weighted_clusters.clusters[0].name`, 'route weighted_clusters references cluster "static_a", which is not defined in static_resources.clusters'],
    ]);
  });

  it('numeric bounds: port above 65535, direct response status outside [200, 600)', () => {
    const b = mutated((x) => {
      x.static_resources.listeners[0].address.socket_address.port_value = 70000;
      vhost(x).routes[0].direct_response.status = 600;
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[0].address.socket_address.port_value', 'value must be less than or equal to 65535'],
      [`${VH}.routes[0].direct_response.status`, 'value must be inside range [200, 600)'],
    ]);
  });

  it('header names: a strict rule rejects a space, a loose one only NUL/CR/LF', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[0].typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].upstream_http_protocol_options = {
        auto_sni: true,
        override_auto_sni_header: 'x sni',
      };
      vhost(x).response_headers_to_add[0].header.key = 'X-Frame\nOptions';
      vhost(x).request_headers_to_add[0].header.key = 'X Forwarded Host'; // loose rule: allowed
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.response_headers_to_add[0].header.key`, 'value must be a valid HTTP header name: "X-Frame\\nOptions" contains NUL, CR or LF'],
      [
        `${CLUSTERS}[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options.override_auto_sni_header`,
        'value must be a valid HTTP header name: "x sni" is not an RFC 7230 token (optionally \':\'-prefixed)',
      ],
    ]);
  });

  it('Duration gt: a zero connect_timeout', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[1].connect_timeout = '0s';
    });
    expect(pairs(validateBootstrap(b))).toEqual([[`${CLUSTERS}[1].connect_timeout`, 'value must be greater than 0s']]);
  });
});

describe('cross-references', () => {
  it('a route to a cluster that does not exist (plain and weighted)', () => {
    const b = mutated((x) => {
      vhost(x).routes[2].route.cluster = 'app_v2';
      vhost(x).routes[3].route.weighted_clusters.clusters[1].name = 'static_c';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.routes[2].route.cluster`, 'route references cluster "app_v2", which is not defined in static_resources.clusters'],
      [`${VH}.routes[3].route.weighted_clusters.clusters[1].name`, 'route weighted_clusters references cluster "static_c", which is not defined in static_resources.clusters'],
    ]);
  });

  it('a tcp_proxy to a cluster that does not exist', () => {
    const b = mutated((x) => {
      x.static_resources.listeners[1].filter_chains[1].filters[0].typed_config.cluster = 'nowhere';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[1].filter_chains[1].filters[0].typed_config.cluster', 'tcp_proxy references cluster "nowhere", which is not defined in static_resources.clusters'],
    ]);
  });

  it('duplicate cluster and listener names', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[4].name = 'app';
      x.static_resources.clusters[4].load_assignment.cluster_name = 'app';
      x.static_resources.listeners[1].name = 'listener_0.0.0.0_8080';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[1].name', 'duplicate listener name "listener_0.0.0.0_8080" (first at static_resources.listeners[0].name)'],
      [`${CLUSTERS}[4].name`, 'duplicate cluster name "app" (first at static_resources.clusters[0].name)'],
      // the websocket route's cluster is gone with the rename
      [`${VH}.routes[6].route.cluster`, 'route references cluster "ws", which is not defined in static_resources.clusters'],
    ]);
  });

  it("a '*' inside a domain is literal to Envoy: a warning", () => {
    const b = mutated((x) => {
      vhost(x).domains.push('www.*.example.com', '*.example.*');
    });
    expect(validateBootstrap(b)).toEqual([
      { path: `${VH}.domains[4]`, message: `"www.*.example.com": Envoy takes '*' as a wildcard only as the whole domain or at its start or end (not both); here it matches a literal '*'`, severity: 'warning' },
      { path: `${VH}.domains[5]`, message: `"*.example.*": Envoy takes '*' as a wildcard only as the whole domain or at its start or end (not both); here it matches a literal '*'`, severity: 'warning' },
    ]);
  });

  it('two listeners bound to one address', () => {
    const b = mutated((x) => {
      x.static_resources.listeners[1].address.socket_address.port_value = 8080;
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[1].address', "listener 'listener_0.0.0.0_8443' has duplicate address 'TCP 0.0.0.0:8080' as existing listener 'listener_0.0.0.0_8080' (at static_resources.listeners[0])"],
    ]);
  });

  it('duplicate domains (case-insensitively), a second "*", and duplicate virtual host names', () => {
    const b = mutated((x) => {
      vhost(x, 1).domains = ['*', 'WWW.example.com'];
      vhost(x).domains.push('*');
      vhost(x, 1).name = 'example.com';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${RC}.virtual_hosts[1].name`, `duplicate virtual host name "example.com" (first at ${VH}.name)`],
      [`${RC}.virtual_hosts[1].domains[0]`, `Only a single wildcard domain is permitted in route route_8080 (first at ${VH}.domains[4])`],
      [`${RC}.virtual_hosts[1].domains[1]`, `Only unique values for domains are permitted. Duplicate entry of domain www.example.com in route route_8080 (first at ${VH}.domains[1])`],
    ]);
  });

  it('filter chains with the same match, and ones that overlap in one server name', () => {
    const same = mutated((x) => {
      x.static_resources.listeners[1].filter_chains[1].filter_chain_match = { server_names: ['secure.example.com'] };
    });
    expect(pairs(validateBootstrap(same))).toEqual([
      ['static_resources.listeners[1].filter_chains[1]', 'filter chain 1 has the same matching rules as filter chain 0 (*|*|*|secure.example.com|*|*|ANY|*|*); Envoy rejects the listener: multiple filter chains with the same matching rules are defined'],
    ]);
    const overlap = mutated((x) => {
      x.static_resources.listeners[1].filter_chains[1].filter_chain_match.server_names.push('Secure.example.com');
    });
    expect(errors(validateBootstrap(overlap))).toHaveLength(1);
  });

  it('an SDS secret with no sds_config must be a static secret', () => {
    const b = mutated((x) => {
      x.static_resources.secrets[0].name = 'other_cert';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[1].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name', 'SDS secret "secure_cert" has no sds_config and is not in static_resources.secrets'],
    ]);
  });

  it('RDS and EDS over ADS need dynamic_resources.ads_config, whose cluster must be static', () => {
    const b = mutated((x) => {
      const h = hcm(x);
      delete h.route_config;
      h.rds = { route_config_name: 'route_8080', config_source: { ads: {}, resource_api_version: 'V3' } };
      x.static_resources.clusters.push({
        name: 'eds_app',
        type: 'EDS',
        connect_timeout: '1s',
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      });
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${HCM}.rds.config_source.ads`, 'config source uses ADS but the bootstrap has no dynamic_resources.ads_config'],
      [`${CLUSTERS}[5].eds_cluster_config.eds_config.ads`, 'config source uses ADS but the bootstrap has no dynamic_resources.ads_config'],
    ]);
    b.dynamic_resources = {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
    };
    expect(pairs(validateBootstrap(b))).toEqual([
      ['dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', 'envoy_grpc references cluster "xds", which is not defined in static_resources.clusters as a static non-EDS cluster'],
    ]);
  });

  it('a REST API config source names its cluster, which must be static', () => {
    const b = mutated((x) => {
      const h = hcm(x);
      delete h.route_config;
      h.rds = {
        route_config_name: 'route_8080',
        config_source: { api_config_source: { api_type: 'REST', transport_api_version: 'V3', cluster_names: ['rds_server'], refresh_delay: '5s' } },
      };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${HCM}.rds.config_source.api_config_source.cluster_names[0]`, 'api_config_source references cluster "rds_server", which is not defined in static_resources.clusters as a static non-EDS cluster'],
    ]);
  });

  it('an ADS config names its server the gRPC way, through a static non-EDS cluster', () => {
    const b = mutated((x) => {
      x.dynamic_resources = { ads_config: { api_type: 'GRPC', transport_api_version: 'V3', cluster_names: ['app'] } };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['dynamic_resources.ads_config.cluster_names', 'an API config source of type GRPC must not have a cluster name specified (name the cluster in grpc_services)'],
      ['dynamic_resources.ads_config.grpc_services', 'an API config source of type GRPC needs a gRPC service'],
    ]);
    b.dynamic_resources.ads_config = { api_type: 'DELTA_GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'eds_xds' } }] };
    b.static_resources.clusters.push({
      name: 'eds_xds',
      type: 'EDS',
      connect_timeout: '1s',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', 'envoy_grpc references cluster "eds_xds", which is not defined in static_resources.clusters as a static non-EDS cluster'],
    ]);
  });

  it('endpoint addresses the cluster type can use: IPs for STATIC, one endpoint for LOGICAL_DNS; listeners bind IPs', () => {
    const b = mutated((x) => {
      const c = x.static_resources.clusters;
      c[2].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'static-a.internal';
      c[4].load_assignment.endpoints[0].lb_endpoints.push({ endpoint: { address: { socket_address: { address: 'ws2.internal', port_value: 9000 } } } });
      x.static_resources.listeners[0].address.socket_address.address = 'localhost';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[0].address.socket_address.address', 'malformed IP address: localhost (a listener binds an IP address, not a name)'],
      [`${CLUSTERS}[2].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address`, "malformed IP address: static-a.internal. Consider setting resolver_name or setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'"],
      [`${CLUSTERS}[4].load_assignment`, 'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint'],
    ]);
  });

  it('an EDS cluster without eds_config', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[4].type = 'EDS';
      delete x.static_resources.clusters[4].load_assignment;
    });
    expect(pairs(validateBootstrap(b))).toEqual([[`${CLUSTERS}[4]`, 'EDS cluster "ws" has no eds_cluster_config.eds_config']]);
  });
});

describe('extension categories and filter order', () => {
  it('a config of the wrong extension kind where Envoy looks up one kind', () => {
    const b = mutated((x) => {
      hcm(x).http_filters[1].typed_config = { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' };
      x.static_resources.listeners[0].listener_filters[0].typed_config = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb' };
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      ['static_resources.listeners[0].listener_filters[0].typed_config["@type"]', 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb is not a listener filter: Envoy looks this @type up among envoy.extensions.filters.listener.*'],
      [`${HCM}.http_filters[1].typed_config["@type"]`, 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector is not an HTTP filter: Envoy looks this @type up among envoy.extensions.filters.http.*, envoy.extensions.common.matching.*'],
    ]);
  });

  it('the router must be the last HTTP filter, and a terminal network filter the last network filter', () => {
    const b = mutated((x) => {
      const filters = x.static_resources.listeners[1].filter_chains[0].filters[0].typed_config.http_filters;
      filters.unshift(filters.pop());
      const chain = x.static_resources.listeners[1].filter_chains[1];
      chain.filters.push({ ...chain.filters[0], name: 'second_tcp_proxy' });
    });
    const h = 'static_resources.listeners[1].filter_chains[0].filters[0].typed_config.http_filters';
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${h}[0]`, 'terminal filter named envoy.filters.http.router of type envoy.extensions.filters.http.router.v3.Router must be the last filter in a http filter chain'],
      [`${h}[2]`, 'non-terminal filter named envoy.filters.http.set_metadata of type envoy.extensions.filters.http.set_metadata.v3.Config is the last filter in a http filter chain (the router filter must be last)'],
      ['static_resources.listeners[1].filter_chains[1].filters[0]', 'terminal filter named envoy.filters.network.tcp_proxy of type envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be the last filter in a network filter chain'],
    ]);
  });
});

describe('regexes Envoy compiles with RE2', () => {
  it('a look-behind in a route regex and a bad repetition in a rewrite pattern', () => {
    const b = mutated((x) => {
      vhost(x).routes[1].match.safe_regex.regex = '.*(?<=/app)\\.php';
      vhost(x).routes[3].route.regex_rewrite.pattern.regex = '^/static/(.**)$';
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.routes[1].match.safe_regex.regex`, 'invalid RE2 regex ".*(?<=/app)\\\\.php": invalid perl operator: (?<'],
      [`${VH}.routes[3].route.regex_rewrite.pattern.regex`, 'invalid RE2 regex "^/static/(.**)$": bad repetition operator: **'],
    ]);
  });
});

describe('header mutations Envoy refuses', () => {
  it('adding Host or a pseudo-header, removing one', () => {
    const b = mutated((x) => {
      vhost(x).request_headers_to_add[0].header.key = 'Host';
      vhost(x).routes[2].request_headers_to_add = [{ header: { key: ':authority', value: 'a' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }];
      vhost(x).response_headers_to_remove = ['server', ':status'];
    });
    expect(pairs(validateBootstrap(b))).toEqual([
      [`${VH}.response_headers_to_remove[1]`, '":status": :-prefixed or host headers may not be removed'],
      [`${VH}.request_headers_to_add[0].header.key`, '"Host": :-prefixed or host headers may not be modified'],
      [`${VH}.routes[2].request_headers_to_add[0].header.key`, '":authority": :-prefixed or host headers may not be modified'],
    ]);
  });
});

describe('formatFindings', () => {
  it('prints errors first, one per line, then a count', () => {
    const b = mutated((x) => {
      x.static_resources.clusters[0].lb_policy = 'NOPE';
      const opt = vhost(x).request_headers_to_add[0];
      delete opt.append_action;
      opt.append = true;
    });
    expect(formatFindings(validateBootstrap(b)).split('\n')).toEqual([
      `error: ${CLUSTERS}[0].lb_policy: unknown value "NOPE" for enum envoy.config.cluster.v3.Cluster.LbPolicy; expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG`,
      `warning: ${VH}.request_headers_to_add[0].append: field append of envoy.config.core.v3.HeaderValueOption is deprecated`,
      '1 error, 1 warning',
    ]);
    expect(formatFindings([])).toBe('no findings');
  });
});

// The walk skips a shared (non-extensible) object it already found clean: the emitter
// freezes what routes share. A shared object with a finding, or holding a message the
// cross-references collect, must still be reported and collected at every occurrence.
describe('shared (frozen) objects', () => {
  const deepFreeze = <T>(v: T): T => {
    if (v !== null && typeof v === 'object') {
      for (const x of Object.values(v)) deepFreeze(x);
      Object.freeze(v);
    }
    return v;
  };

  it('a shared invalid header list is reported at each route that carries it', () => {
    const shared = deepFreeze([{ header: { key: 'x-a', value: '1' }, append_action: 'APPEND_SOMETIMES' }]);
    const b = mutated((x) => {
      vhost(x).routes[0].response_headers_to_add = shared;
      vhost(x).routes[1].response_headers_to_add = shared;
    });
    const found = pairs(errors(validateBootstrap(b))).filter(([p]) => p.endsWith('append_action'));
    expect(found.map(([p]) => p)).toEqual([`${VH}.routes[0].response_headers_to_add[0].append_action`, `${VH}.routes[1].response_headers_to_add[0].append_action`]);
  });

  it('a shared valid header list stays valid and does not hide a later invalid one', () => {
    const good = deepFreeze([{ header: { key: 'x-a', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }]);
    const bad = deepFreeze([{ header: { key: 'x-a', value: '1' }, append_action: 'NOPE' }]);
    const b = mutated((x) => {
      vhost(x).routes[0].response_headers_to_add = good;
      vhost(x).routes[1].response_headers_to_add = good;
      vhost(x).routes[2].response_headers_to_add = bad;
    });
    expect(pairs(errors(validateBootstrap(b))).map(([p]) => p)).toEqual([`${VH}.routes[2].response_headers_to_add[0].append_action`]);
  });

  it('a shared route action naming a missing cluster is reported at each route (its walk collects it each time)', () => {
    const action = deepFreeze({ cluster: 'missing', timeout: '0s' });
    const b = mutated((x) => {
      for (const i of [0, 1]) {
        const r = vhost(x).routes[i];
        delete r.redirect;
        delete r.direct_response;
        r.route = action;
      }
    });
    const missing = errors(validateBootstrap(b)).filter((f) => f.message.includes('"missing"'));
    expect(missing.map((f) => f.path)).toEqual([`${VH}.routes[0].route.cluster`, `${VH}.routes[1].route.cluster`]);
  });

  it('a frozen bootstrap gives the findings the same bootstrap unfrozen gives', () => {
    const plain = mutated((x) => {
      vhost(x).routes[2].route.prefix_rewrte = '/v3/';
      x.static_resources.clusters[0].lb_policy = 'LEAST_CONN';
    });
    const frozen = deepFreeze(structuredClone(plain));
    expect(validateBootstrap(frozen)).toEqual(validateBootstrap(plain));
    expect(validateBootstrap(deepFreeze(fixture('bootstrap.yaml')))).toEqual([]);
  });
});
