// Envoy's proto3 JSON → protobuf binary: the forms protobufjs alone gets
// wrong (Duration strings, bare wrappers, Struct, nested Any), checked by
// decoding the bytes again.
import { describe, it, expect } from 'vitest';
import { decodeResource, encodeMessage, encodeResource, ProtoJsonError } from '../../src/serve/proto-json.js';
import { lookupMessage } from '../../src/serve/proto-registry.js';

const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

describe('proto3 JSON encoder', () => {
  it('encodes durations, wrappers, Struct metadata and enums', () => {
    const bytes = encodeResource(CLUSTER, {
      name: 'c',
      connectTimeout: '1.5s',
      per_connection_buffer_limit_bytes: 32768,
      lb_policy: 'LEAST_REQUEST',
      metadata: { filter_metadata: { ngx2envoy: { upstream: 'c', weights: [1, 2], backup: false, note: null } } },
    });
    const decoded = decodeResource(CLUSTER, bytes) as Record<string, any>;
    expect(decoded['connect_timeout']).toEqual({ seconds: '1', nanos: 500000000 });
    expect(decoded['per_connection_buffer_limit_bytes']).toEqual({ value: 32768 });
    expect(decoded['lb_policy']).toBe('LEAST_REQUEST');
    const fields = decoded['metadata'].filter_metadata.ngx2envoy.fields;
    expect(fields.upstream).toEqual({ stringValue: 'c' });
    expect(fields.weights.listValue.values).toEqual([{ numberValue: 1 }, { numberValue: 2 }]);
    expect(fields.backup).toEqual({ boolValue: false });
    expect(fields.note).toEqual({ nullValue: 'NULL_VALUE' });
  });

  it('encodes a typed_config Any as the binary of its own type', () => {
    const options = {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
      common_http_protocol_options: { idle_timeout: '60s' },
    };
    const bytes = encodeResource(CLUSTER, { name: 'c', typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': options } });
    const any = (decodeResource(CLUSTER, bytes) as Record<string, any>)['typed_extension_protocol_options']['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(any.type_url).toBe(options['@type']);
    const inner = lookupMessage(options['@type']);
    const { ['@type']: _t, ...rest } = options;
    expect(Buffer.from(any.value, 'base64').equals(Buffer.from(encodeMessage(inner, rest)))).toBe(true);
    expect(inner.toObject(inner.decode(Buffer.from(any.value, 'base64')), { defaults: false })).toMatchObject({
      common_http_protocol_options: { idle_timeout: { seconds: { low: 60 } } },
    });
  });

  it('refuses unknown fields, bad enum names and malformed durations with the path', () => {
    expect(() => encodeResource(CLUSTER, { name: 'c', conect_timeout: '1s' })).toThrow(/unknown field "conect_timeout"/);
    expect(() => encodeResource(CLUSTER, { name: 'c', lb_policy: 'FASTEST' })).toThrow(ProtoJsonError);
    expect(() => encodeResource(CLUSTER, { name: 'c', connect_timeout: '5 seconds' })).toThrow(/Cluster\.connect_timeout: expected a duration/);
  });

  it('is deterministic', () => {
    const json = { name: 'c', connect_timeout: '2s', metadata: { filter_metadata: { a: { x: 1, y: 'z' } } } };
    expect(Buffer.from(encodeResource(CLUSTER, json)).equals(Buffer.from(encodeResource(CLUSTER, structuredClone(json))))).toBe(true);
  });
});
