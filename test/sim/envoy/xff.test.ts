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
