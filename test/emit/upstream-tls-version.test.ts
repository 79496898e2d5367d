// TLS to upstreams: nginx offers up to TLS 1.3 by default; Envoy's client side
// stops at TLS 1.2 unless told (TlsParameters: "TLSv1_2 for clients"), so the
// maximum is always written. An explicit proxy_ssl_protocols wins.
import { describe, expect, it } from 'vitest';
import { upstreamTlsContext } from '../../src/emit/envoy/clusters.js';
import { validateMessage } from '../../src/validate/index.js';

const TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

describe('UpstreamTlsContext protocol range', () => {
  it('allows TLS 1.3 without proxy_ssl_protocols', () => {
    const ctx = upstreamTlsContext({});
    expect(ctx.common_tls_context.tls_params).toEqual({ tls_maximum_protocol_version: 'TLSv1_3' });
    expect(validateMessage(TYPE, withoutType(ctx))).toEqual([]);
  });

  it('keeps the range proxy_ssl_protocols gives', () => {
    const ctx = upstreamTlsContext({ protocols: ['TLSv1.2'] });
    expect(ctx.common_tls_context.tls_params).toMatchObject({ tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_2' });
    expect(validateMessage(TYPE, withoutType(ctx))).toEqual([]);
  });
});

function withoutType(ctx: Record<string, unknown>): Record<string, unknown> {
  const { '@type': _type, ...rest } = ctx;
  return rest;
}
