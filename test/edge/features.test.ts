// One block per edge feature (fixtures/41..47): what the compiled configuration
// says, read through the evaluator where it can follow it.
import { describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { compileFixture, compileText, hcmOf, reportLines } from './support.js';

const routesOf = (hcm: any): any[] => hcm.route_config.virtual_hosts.flatMap((v: any) => v.routes);
const cluster = (r: any, name: string) => r.bootstrap.static_resources.clusters.find((c: any) => c.name === name);

describe('41 HTTP/2 and gRPC', () => {
  const r = compileFixture('41-http2-grpc');
  const ev = evaluator(r.bootstrap);
  test('grpc_pass routes to HTTP/2 clusters; grpcs adds upstream TLS; no scheme means grpc://', () => {
    expect(ev({ port: 443, sni: 'grpc.test', host: 'grpc.test', path: '/helloworld.Greeter/SayHello', transport: 'tls', alpn: ['h2'] }).cluster).toBe('127.0.0.1_50051');
    expect(ev({ port: 443, sni: 'grpc.test', host: 'grpc.test', path: '/other.Svc/M', transport: 'tls', alpn: ['h2'] }).cluster).toBe('127.0.0.1_50052');
    for (const name of ['127.0.0.1_50051', '127.0.0.1_50052', 'vault.internal_8443']) {
      const opts = cluster(r, name).typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
      expect(opts.explicit_http_config).toEqual({ http2_protocol_options: {} });
    }
    expect(cluster(r, 'vault.internal_8443').transport_socket.name).toBe('envoy.transport_sockets.tls');
    expect(cluster(r, '127.0.0.1_50051').transport_socket).toBeUndefined();
    expect(cluster(r, '127.0.0.1_9000').typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toEqual({ http_protocol_options: {} });
  });
  test('listen … http2 offers h2 by ALPN; grpc_read_timeout and proxy_http_version 1.0 are reported', () => {
    const tls = r.bootstrap.static_resources.listeners.find((l: any) => l.name === 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(tls.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(reportLines(r, 'grpc_read_timeout')[0]!.class).toBe('unsupported');
    expect(reportLines(r, 'grpc_pass').every((e) => e.class === 'translated')).toBe(true);
    expect(reportLines(r, 'proxy_http_version').some((e) => e.class === 'approximated' && e.line === 27)).toBe(true);
  });
  test('HTTP/2 listeners get nginx\'s 128 concurrent streams; push is reported', () => {
    expect(hcmOf(r.bootstrap, 'listener_0.0.0.0_443').http2_protocol_options).toEqual({ max_concurrent_streams: 128 });
    const x = compileText('events {}\nhttp { http2_max_concurrent_streams 64; http2_push_preload on; server { listen 443 ssl http2; ssl_certificate /c/a.pem; ssl_certificate_key /c/a.key; return 200; } server { listen 80; return 200; } }');
    expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_443').http2_protocol_options).toEqual({ max_concurrent_streams: 64 });
    expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_80').http2_protocol_options).toBeUndefined();
    expect(reportLines(x, 'http2_max_concurrent_streams')[0]!.class).toBe('translated');
    expect(reportLines(x, 'http2_push_preload')[0]!.class).toBe('unsupported');
  });
  test('a grpc_pass URI part is an error, as in nginx', () => {
    expect(() => compileText('events {}\nhttp { server { listen 80; location / { grpc_pass grpc://127.0.0.1:1/x; } } }')).toThrow();
  });
});

describe('42 compression', () => {
  const r = compileFixture('42-compression');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
  const names = hcm.http_filters.map((f: any) => f.name);
  test('one compressor per distinct configuration, before the router', () => {
    // b.test has gzip (http level) and brotli: one filter per library
    expect(names).toEqual(['envoy.filters.http.buffer', 'envoy.filters.http.compressor', 'envoy.filters.http.compressor.1', 'envoy.filters.http.compressor.2.gzip', 'envoy.filters.http.compressor.2.brotli', 'envoy.filters.http.router']);
    // named in route order: /api/ (level 9) comes before / (level 5)
    const api = hcm.http_filters[1].typed_config;
    expect(api.response_direction_config.common_config).toEqual({ min_content_length: 1000, content_type: ['text/html', 'text/css', 'application/json'] });
    expect(api.compressor_library.typed_config.compression_level).toBe('COMPRESSION_LEVEL_9');
    expect(hcm.http_filters[2].typed_config.compressor_library.typed_config.compression_level).toBe('COMPRESSION_LEVEL_5');
    expect(hcm.http_filters[4].typed_config.compressor_library).toMatchObject({ name: 'brotli', typed_config: { quality: 4 } });
  });
  test('each route keeps only its own compressor; gzip off disables all', () => {
    // what each compressor does on the route a request takes, as Envoy resolves it (route > virtual host)
    const ev = evaluator(r.bootstrap, { filters: true });
    const on = (host: string, path: string) => {
      const d = ev({ port: 80, host, path });
      return Object.entries(d.filters ?? {})
        .filter(([name, c]) => name.includes('compressor') && c.config?.disabled !== true)
        .map(([name]) => name)
        .sort();
    };
    expect(on('a.test', '/')).toEqual(['envoy.filters.http.compressor.1']);
    expect(on('a.test', '/download/x')).toEqual([]);
    expect(on('a.test', '/api/x')).toEqual(['envoy.filters.http.compressor']);
    expect(on('b.test', '/')).toEqual(['envoy.filters.http.compressor.2.brotli', 'envoy.filters.http.compressor.2.gzip']);
  });
  test('gzip_proxied conditions and gzip_disable are reported as approximations', () => {
    expect(reportLines(r, 'gzip_proxied')[0]!.class).toBe('approximated');
    expect(reportLines(r, 'gzip_disable')[0]!.class).toBe('approximated');
    expect(reportLines(r, 'gzip')[0]!.class).toBe('translated');
  });
});

describe('43 access logs', () => {
  const r = compileFixture('43-access-logs');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
  test('per-server logs through route-name filters; access_log off leaves the route out', () => {
    const logs = hcm.access_log.map((a: any) => [a.typed_config.path, a.filter.extension_filter.typed_config.expression]);
    expect(logs).toEqual([
      ['/var/log/nginx/access.log', "xds.route_name in ['server_0/loc_0']"],
      ['/var/log/nginx/api.json', "xds.route_name in ['server_1/loc_0']"],
      ['/dev/stdout', "xds.route_name in ['server_1/loc_0']"],
    ]);
  });
  test('units and operators: $request_time → %DURATION% (reported), escape=json → json_format', () => {
    const text = hcm.access_log[0].typed_config.log_format.text_format_source.inline_string;
    expect(text).toContain('rt=%DURATION% uct=%UPSTREAM_CONNECTION_POOL_READY_DURATION% urt=%RESPONSE_DURATION% ua="%UPSTREAM_HOST%"');
    expect(text.endsWith('\n')).toBe(true);
    const json = hcm.access_log[1].typed_config.log_format.json_format;
    expect(json).toMatchObject({ status: '%RESPONSE_CODE%', uri: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', req_id: '%REQ(X-REQUEST-ID)%' });
    const timing = reportLines(r, 'log_format').find((e) => e.line === 5)!;
    expect(timing.class).toBe('approximated');
    expect(timing.reason).toMatch(/\$request_time is seconds with millisecond resolution/);
  });
  test('a variable without an operator is logged as "-" and reported', () => {
    const x = compileText('events {}\nhttp { log_format f \'$remote_addr $gzip_ratio\'; access_log /tmp/a.log f; server { listen 80; return 200; } }');
    const fmt = hcmOf(x.bootstrap, 'listener_0.0.0.0_80').access_log[0].typed_config.log_format.text_format_source.inline_string;
    expect(fmt).toBe('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% -\n');
    expect(reportLines(x, 'log_format')[0]).toMatchObject({ class: 'unsupported' });
  });
});

test('43b an access_log path with variables is reported and not emitted', () => {
  const x = compileText('events {}\nhttp { server { listen 80; server_name a.test; access_log /var/log/$host.log; return 200; } }');
  expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_80').access_log).toBeUndefined();
  expect(reportLines(x, 'access_log')[0]!.class).toBe('unsupported');
  expect(JSON.stringify(x.bootstrap)).not.toContain('$host');
});

describe('44 client IPs', () => {
  const r = compileFixture('44-real-ip');
  test('X-Forwarded-For: remote address from one trusted hop, no second append', () => {
    const h = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
    expect(h).toMatchObject({ use_remote_address: true, xff_num_trusted_hops: 1, skip_xff_append: true });
  });
  test('X-Real-IP: the custom header detection extension (exact when every peer is trusted)', () => {
    const h = hcmOf(r.bootstrap, 'listener_0.0.0.0_8080');
    expect(h.original_ip_detection_extensions[0].typed_config.header_name).toBe('x-real-ip');
    expect(h.use_remote_address).toBeUndefined();
    expect(reportLines(r, 'real_ip_header').find((e) => e.line === 20)!.class).toBe('translated');
  });
  test('proxy_protocol: the listener filter gives the address', () => {
    const l = r.bootstrap.static_resources.listeners.find((x: any) => x.name === 'listener_0.0.0.0_8443');
    expect(l.listener_filters[0].name).toBe('envoy.filters.listener.proxy_protocol');
    expect(reportLines(r, 'real_ip_header').find((e) => e.line === 30)!.class).toBe('translated');
  });
});

describe('45 client limits', () => {
  const r = compileFixture('45-client-limits');
  test('the default server\'s limits on the connection manager', () => {
    expect(hcmOf(r.bootstrap, 'listener_0.0.0.0_80')).toMatchObject({
      common_http_protocol_options: { idle_timeout: '30s', max_requests_per_connection: 500 },
      request_headers_timeout: '10s',
      stream_idle_timeout: '30s',
      max_request_headers_kb: 64,
    });
    expect(reportLines(r, 'keepalive_timeout').some((e) => e.class === 'approximated' && /differ from the default server/.test(e.reason))).toBe(true);
  });
  test('keepalive_timeout 0 on the default server: one request per connection', () => {
    const x = compileText('events {}\nhttp { keepalive_timeout 0; server { listen 80; return 200; } }');
    expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_80').common_http_protocol_options).toEqual({ max_requests_per_connection: 1, headers_with_underscores_action: 'DROP_HEADER' });
  });
});

describe('46 error_page', () => {
  const r = compileFixture('46-error-page');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
  test('redirect targets become local reply mappers scoped to their routes', () => {
    // the error_page mappers (nginx's own pages follow them: test/emit/local-replies.test.ts)
    const m = hcm.local_reply_config.mappers.filter((x: any) => x.headers_to_add);
    expect(m).toHaveLength(3);
    // error_page 502 also matches Envoy's upstream failures by their flags: or(status 502, flags)
    const first = (x: any) => x.filter.and_filter.filters[0];
    const code = (x: any) => (first(x).status_code_filter ?? first(x).or_filter.filters[0].status_code_filter).comparison.value.default_value;
    const nf = m.find((x: any) => code(x) === 404);
    expect(nf.status_code).toBe(301);
    expect(nf.headers_to_add[0].header).toEqual({ key: 'location', value: 'https://a.test/not-found' });
    // the server-level 404 page applies where no location replaces the error_page list
    expect(nf.filter.and_filter.filters[1].extension_filter.typed_config.expression).toContain("'server_0/loc_0'");
    expect(nf.filter.and_filter.filters[1].extension_filter.typed_config.expression).not.toContain("'server_0/loc_1'");
    const bad = m.filter((x: any) => code(x) === 502 || code(x) === 503);
    expect(bad.map((x: any) => x.status_code)).toEqual([302, 302]);
    const expr = bad[0].filter.and_filter.filters[1].extension_filter.typed_config.expression;
    expect(expr).toContain("'server_0/loc_1'");
    expect(expr).not.toContain("'server_0/loc_0'");
  });
  test('URI and named-location targets are reported unsupported', () => {
    const lines = reportLines(r, 'error_page');
    expect(lines.filter((e) => e.class === 'unsupported').map((e) => e.line)).toEqual([15, 16]);
  });
});

describe('47 headers with variables and request ids', () => {
  const r = compileFixture('47-request-id-headers');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_443');
  test('$request_id turns on request-id generation and never trusts the client\'s', () => {
    expect(hcm).toMatchObject({ generate_request_id: true, preserve_external_request_id: false });
  });
  test('request headers use Envoy formatters; an unknown variable is reported, never copied', () => {
    const ev = evaluator(r.bootstrap);
    const d = ev({ port: 443, sni: 'h.test', host: 'h.test', path: '/a?b=1', transport: 'tls', remoteAddress: '203.0.113.9', headers: { 'x-request-id': 'abc', 'user-agent': 'ua/1' } });
    const h = Object.fromEntries((d.requestHeadersToAdd ?? []).map((x) => [x.key, x.value]));
    expect(h['x-real-ip']).toBe('203.0.113.9');
    expect(h['x-forwarded-port']).toBe('443');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-client-agent']).toBe('ua/1');
    expect(h['x-unknown']).toBeUndefined();
    expect(JSON.stringify(r.bootstrap)).not.toContain('$geoip');
    expect(reportLines(r, 'proxy_set_header').find((e) => e.line === 25)!.class).toBe('unsupported');
  });
  test('add_header without `always` is added by a Lua script for nginx\'s statuses only', () => {
    const routes = routesOf(hcm);
    const stat = routes.find((x: any) => x.name === 'server_0/loc_1');
    expect(stat.response_headers_to_add.map((h: any) => h.header.key)).toEqual(['Strict-Transport-Security', 'X-Request-ID']);
    const ev = evaluator(r.bootstrap, { filters: true });
    const lua = ev({ port: 443, sni: 'h.test', host: 'h.test', path: '/static/a.css', transport: 'tls' }).filters!['envoy.filters.http.lua']!.script!;
    expect(lua).toContain('{ "X-Frame-Options", "SAMEORIGIN" }');
    for (const code of [200, 201, 204, 206, 301, 302, 303, 304, 307, 308]) expect(lua).toContain(`["${code}"] = true`);
    expect(lua).not.toContain('["404"]');
    expect(hcm.http_filters.map((f: any) => f.name).slice(-2)).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.router']);
    // the script is said once, in the Lua filter's source_codes; the route names it
    const sources = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.lua').typed_config.source_codes;
    expect(Object.values(sources).map((x: any) => x.inline_string)).toEqual([lua]);
    // location / has its own add_header list (inheritance): no Lua there
    expect(ev({ port: 443, sni: 'h.test', host: 'h.test', path: '/', transport: 'tls' }).filters!['envoy.filters.http.lua']!.script).toBeNull();
    expect(reportLines(r, 'add_header').find((e) => e.line === 14)!.class).toBe('translated');
  });

});

describe('48 tracing', () => {
  const r = compileFixture('48-tracing');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
  test('otel_* → the OpenTelemetry tracer with a gRPC collector cluster; untraced servers sample nothing', () => {
    expect(hcm.tracing.provider).toEqual({
      name: 'envoy.tracers.opentelemetry',
      typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', grpc_service: { envoy_grpc: { cluster_name: 'otel_collector' } }, service_name: 'edge-proxy' },
    });
    const c = cluster(r, 'otel_collector');
    expect(c.type).toBe('STRICT_DNS');
    expect(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'otel-collector.internal', port_value: 4317 });
    const routes = routesOf(hcm);
    expect(routes.find((x: any) => x.name === 'server_1/loc_0').tracing).toEqual({ overall_sampling: { numerator: 0 } });
    expect(routes.find((x: any) => x.name === 'server_0/loc_0').tracing).toBeUndefined();
    expect(r.report.summary.unsupported).toBe(0);
  });
  test('OpenTracing plugins are reported', () => {
    const x = compileText('events {}\nhttp { opentracing on; server { listen 80; return 200; } }');
    expect(reportLines(x, 'opentracing')[0]!.class).toBe('unsupported');
    expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_80').tracing).toBeUndefined();
  });
});

test('http-level edge directives are reported as translated even when the servers live elsewhere', () => {
  const x = compileText('events {}\nhttp { gzip on; gzip_vary on; keepalive_timeout 30; set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; include /nonexistent/*.conf; }');
  for (const d of ['gzip', 'gzip_vary', 'keepalive_timeout']) expect(reportLines(x, d)[0]!.class, d).toBe('translated');
  expect(reportLines(x, 'set_real_ip_from')[0]!.class).toBe('approximated');
});

describe('49 error_page to a static file', () => {
  const r = compileFixture('49-error-page-files');
  const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
  test('the file becomes the local reply body (as text/html) for the codes Envoy generates', () => {
    const m = hcm.local_reply_config.mappers.filter((x: any) => x.body?.filename);
    const first = (x: any) => x.filter.and_filter.filters[0];
    const codes = m.map((x: any) => (first(x).status_code_filter ?? first(x).or_filter.filters[0].status_code_filter).comparison.value.default_value);
    // 502 first: it also takes Envoy's upstream failures (503 with flag UF…), before the 503 page can
    expect(codes).toEqual([502, 500, 503, 504]);
    for (const x of m) {
      expect(x.body).toEqual({ filename: '/usr/share/nginx/html/50x.html' });
      expect(x.body_format_override).toEqual({ text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' }, content_type: 'text/html' });
      // nginx keeps the original status without `=code`: Envoy's failure, flagged, becomes nginx's 502
      expect(x.status_code).toBe(codes[m.indexOf(x)] === 502 ? 502 : undefined);
    }
  });
  test('targets nginx would proxy or cannot be resolved to a file are reported', () => {
    const lines = reportLines(r, 'error_page');
    expect(lines.filter((e) => e.class === 'unsupported').map((e) => e.line)).toEqual([14, 20]);
  });
});

test('a config without access_log is told that nginx logs by default and Envoy does not', () => {
  const x = compileText('events {}\nhttp { server { listen 80; return 200; } }');
  const n = reportLines(x, 'access_log');
  expect(n).toHaveLength(1);
  expect(n[0]!.class).toBe('approximated');
  expect(hcmOf(x.bootstrap, 'listener_0.0.0.0_80').access_log).toBeUndefined();
  const y = compileText('events {}\nhttp { access_log off; server { listen 80; return 200; } }');
  expect(reportLines(y, 'access_log').map((e) => e.class)).toEqual(['translated']);
});
