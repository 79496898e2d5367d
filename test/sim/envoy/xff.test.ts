// x-forwarded-for as the connection manager leaves it: use_remote_address
// appends the peer address unless skip_xff_append
// (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto#envoy-v3-api-field-extensions-filters-network-http-connection-manager-v3-httpconnectionmanager-skip-xff-append).
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/sim/envoy/index.js';
import { bootstrap } from './helpers.js';

const routes = `
name: r
virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
      - match: { prefix: "/" }
        route: { cluster: c }
        request_headers_to_add:
          - header: { key: x-seen-xff, value: "%REQ(x-forwarded-for)%" }
          - header: { key: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" }
`;

function seenXff(hcm: Record<string, unknown>): string | undefined {
  const d = evaluate(bootstrap(routes, { hcm }), { port: 8080, host: 'a', path: '/', remoteAddress: '198.51.100.7', headers: { 'x-forwarded-for': '192.0.2.1' } });
  return d.requestHeadersToAdd?.find((h) => h.key === 'x-seen-xff')?.value;
}

describe('x-forwarded-for and the connection manager', () => {
  it('use_remote_address appends the peer address', () => {
    expect(seenXff({ use_remote_address: true })).toBe('192.0.2.1,198.51.100.7');
  });
  it('skip_xff_append keeps the header as the client sent it', () => {
    expect(seenXff({ use_remote_address: true, skip_xff_append: true })).toBe('192.0.2.1');
  });
  it('without use_remote_address nothing is appended', () => {
    expect(seenXff({})).toBe('192.0.2.1');
  });
});

// The trusted client address (%DOWNSTREAM_REMOTE_ADDRESS%) per
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-for

function client(hcm: Record<string, unknown>, headers: Record<string, string> = {}): string | undefined {
  const d = evaluate(bootstrap(routes, { hcm }), { port: 8080, host: 'a', path: '/', remoteAddress: '198.51.100.7', headers });
  return d.requestHeadersToAdd?.find((h) => h.key === 'x-client')?.value;
}

describe('the trusted client address', () => {
  const xff = { 'x-forwarded-for': '203.0.113.1, 192.0.2.1' };
  it('use_remote_address false (the default) trusts the last X-Forwarded-For address', () => {
    expect(client({}, xff)).toBe('192.0.2.1');
    expect(client({})).toBe('198.51.100.7');
  });
  it('use_remote_address true: the peer; with xff_num_trusted_hops N the Nth address from the right', () => {
    expect(client({ use_remote_address: true }, xff)).toBe('198.51.100.7');
    expect(client({ use_remote_address: true, xff_num_trusted_hops: 1 }, xff)).toBe('192.0.2.1');
    expect(client({ use_remote_address: true, xff_num_trusted_hops: 2 }, xff)).toBe('203.0.113.1');
    expect(client({ use_remote_address: true, xff_num_trusted_hops: 3 }, xff)).toBe('198.51.100.7');
  });
  it('use_remote_address false with N hops: the (N+1)th from the right', () => {
    expect(client({ xff_num_trusted_hops: 1 }, xff)).toBe('203.0.113.1');
  });
  it('the custom header extension', () => {
    const ext = { original_ip_detection_extensions: [{ name: 'c', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig', header_name: 'x-real-ip' } }] };
    expect(client(ext, { 'x-real-ip': '192.0.2.9', ...xff })).toBe('192.0.2.9');
    expect(client(ext, xff)).toBe('198.51.100.7');
  });
});
