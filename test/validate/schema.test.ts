import { describe, expect, it } from 'vitest';
import { buildSchemaFromProtos, envoySchema } from '../../src/validate/schema.js';

describe('the Envoy schema digest', () => {
  it('the cached digest is exactly what parsing the shipped protos gives', () => {
    const fresh = buildSchemaFromProtos();
    const used = envoySchema();
    expect(Object.keys(used.messages).length).toBe(Object.keys(fresh.messages).length);
    expect(used).toEqual(fresh);
  });

  it('holds every type the compiler emits, and the protos left out are only those with unshipped imports', () => {
    const schema = envoySchema();
    for (const type of [
      'envoy.config.bootstrap.v3.Bootstrap',
      'envoy.config.listener.v3.Listener',
      'envoy.config.route.v3.RouteConfiguration',
      'envoy.config.cluster.v3.Cluster',
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      'envoy.extensions.filters.http.router.v3.Router',
      'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      'envoy.extensions.filters.http.compressor.v3.Compressor',
      'envoy.extensions.compression.gzip.compressor.v3.Gzip',
      'envoy.extensions.compression.brotli.compressor.v3.Brotli',
      'envoy.extensions.filters.http.cors.v3.Cors',
      'envoy.extensions.filters.http.lua.v3.Lua',
      'envoy.extensions.access_loggers.file.v3.FileAccessLog',
      'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
      'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      'envoy.extensions.transport_sockets.tls.v3.Secret',
      'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
      'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol',
      'envoy.extensions.filters.listener.original_src.v3.OriginalSrc',
      'envoy.extensions.filters.http.header_to_metadata.v3.Config',
      'envoy.extensions.filters.http.set_metadata.v3.Config',
      'envoy.extensions.filters.http.buffer.v3.Buffer',
      'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'envoy.service.discovery.v3.DiscoveryRequest',
      'xds.type.v3.TypedStruct',
    ]) {
      expect(schema.messages[type], type).toBeDefined();
    }
    // v2 leftovers, and v3 files importing opencensus/opentelemetry protos the package does not ship
    const v3Skipped = schema.skippedFiles.filter((f) => !/\/v2(alpha\d?|beta\d?)?\/|\/(redis|previous_priorities)\//.test(f));
    expect(v3Skipped).toEqual([
      'envoy/config/trace/v3/opencensus.proto',
      'envoy/config/trace/v3/trace.proto',
      'envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto',
      'envoy/service/metrics/v3/metrics_service.proto',
      'envoy/service/trace/v3/trace_service.proto',
    ]);
    expect(schema.skippedFiles).not.toContain('envoy/config/bootstrap/v3/bootstrap.proto');
  });

  it('keeps field names, JSON names, oneofs, rules and deprecations', () => {
    const action = envoySchema().messages['envoy.config.route.v3.RouteAction']!;
    const byName = new Map(action.fields.map((f) => [f.name, f]));
    expect(byName.get('prefix_rewrite')).toMatchObject({ json: 'prefixRewrite', kind: 'scalar', type: 'string', label: 'single' });
    expect(byName.get('cluster')).toMatchObject({ oneof: 'cluster_specifier', rules: { string: { min_len: 1 } } });
    expect(byName.get('timeout')).toMatchObject({ kind: 'message', type: 'google.protobuf.Duration' });
    const hvo = envoySchema().messages['envoy.config.core.v3.HeaderValueOption']!;
    expect(hvo.fields.find((f) => f.name === 'append')).toMatchObject({ deprecated: true });
    expect(envoySchema().enums['envoy.config.core.v3.ApiVersion']).toEqual({ values: { AUTO: 0, V2: 1, V3: 2 }, deprecatedValues: ['V2'] });
  });
});
