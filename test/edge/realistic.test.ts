// fixtures/50-edge-realistic: a typical edge (Let's Encrypt certificates for
// several subdomains, HTTP → HTTPS, websockets, default server, forwarded-for,
// gzip, access logs) converts with nothing unsupported, and the compiled
// configuration behaves as nginx would for the requests that matter.
import { describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { chosenCert, compileFixture, hcmOf, listenerNamed } from './support.js';

const r = compileFixture('50-edge-realistic');
const ev = evaluator(r.bootstrap);
const le = (name: string) => `/etc/letsencrypt/live/${name}/fullchain.pem`;

describe('realistic edge', () => {
  test('nothing is unsupported', () => {
    const bad = [...r.report.directives, ...r.report.notes].filter((e) => e.class === 'unsupported');
    expect(bad).toEqual([]);
    expect(r.report.summary.unsupported).toBe(0);
  });

  test('HTTP is redirected to HTTPS on the same host and URI', () => {
    const d = ev({ port: 80, host: 'grafana.example.com', path: '/d/abc?x=1' });
    expect(d).toMatchObject({ kind: 'redirect', status: 301, redirectLocation: 'https://grafana.example.com/d/abc?x=1' });
  });

  test.each([
    ['example.com', le('example.com')],
    ['www.example.com', le('example.com')],
    ['grafana.example.com', le('grafana.example.com')],
    ['static.example.com', le('static.example.com')],
    ['unknown.example.org', le('example.com')],
  ])('SNI %s gets %s', (sni, cert) => {
    const d = ev({ port: 443, sni, host: sni, path: '/', transport: 'tls', alpn: ['h2'] });
    expect(chosenCert(r.bootstrap, d)).toBe(cert);
  });

  test('the default server answers unknown names with 404; known names reach their upstream', () => {
    expect(ev({ port: 443, sni: 'x.test', host: 'x.test', path: '/', transport: 'tls' })).toMatchObject({ kind: 'direct_response', status: 404 });
    expect(ev({ port: 443, sni: 'example.com', host: 'example.com', path: '/', transport: 'tls' }).cluster).toBe('app');
    expect(ev({ port: 443, sni: 'grafana.example.com', host: 'grafana.example.com', path: '/api/live/ws', transport: 'tls' }).cluster).toBe('grafana');
  });

  test('websocket locations upgrade; X-Forwarded-For is appended with the client address', () => {
    const routes = hcmOf(r.bootstrap, 'listener_0.0.0.0_443').route_config.virtual_hosts.flatMap((v: any) => v.routes);
    const ws = routes.find((x: any) => x.name === 'server_2/loc_1');
    expect(ws.route.upgrade_configs).toEqual([{ upgrade_type: 'websocket' }]);
    const d = ev({ port: 443, sni: 'example.com', host: 'example.com', path: '/', transport: 'tls', headers: { 'x-forwarded-for': '192.0.2.1' }, remoteAddress: '198.51.100.7' });
    const xff = d.requestHeadersToAdd?.find((h) => h.key.toLowerCase() === 'x-forwarded-for');
    expect(xff?.value).toBe('198.51.100.7');
  });

  test('gzip with nginx\'s types, level and minimum length on every listener', () => {
    for (const name of ['listener_0.0.0.0_80', 'listener_0.0.0.0_443', 'listener_[::]_443']) {
      const hcm = hcmOf(r.bootstrap, name);
      const c = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.compressor');
      expect(c.typed_config.response_direction_config.common_config.min_content_length).toBe(256);
      expect(c.typed_config.response_direction_config.common_config.content_type).toContain('application/json');
      expect(c.typed_config.compressor_library.typed_config.compression_level).toBe('COMPRESSION_LEVEL_6');
      expect(hcm.http_filters[hcm.http_filters.length - 1].name).toBe('envoy.filters.http.router');
    }
  });

  test('access logs: main format per server, grafana to its own file, static not logged', () => {
    const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_443');
    const logs = hcm.access_log.map((a: any) => ({ path: a.typed_config.path, expr: a.filter?.extension_filter.typed_config.expression ?? null }));
    expect(logs.map((l: any) => l.path)).toEqual(['/var/log/nginx/access.log', '/var/log/nginx/grafana.access.log']);
    expect(logs[0].expr).toContain("'server_2/loc_0'");
    expect(logs[0].expr).not.toContain('server_3');
    expect(logs[0].expr).not.toContain('server_4');
    expect(logs[1].expr).toContain("'server_3/loc_0'");
    const fmt = hcm.access_log[0].typed_config.log_format.text_format_source.inline_string;
    expect(fmt).toContain('"%REQ(X-FORWARDED-FOR)%" rt=%DURATION%');
  });

  test('all TLS chains of a port share one route table; HTTP/2 offered by ALPN', () => {
    const l = listenerNamed(r.bootstrap, 'listener_0.0.0.0_443');
    expect(new Set(l.filter_chains.map((c: any) => JSON.stringify(c.filters))).size).toBe(1);
    for (const c of l.filter_chains) expect(c.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
  });

  test('keepalive_timeout reaches the connection manager', () => {
    expect(hcmOf(r.bootstrap, 'listener_0.0.0.0_443').common_http_protocol_options).toEqual({ idle_timeout: '65s', max_requests_per_connection: 1000, headers_with_underscores_action: 'DROP_HEADER' });
  });
});
