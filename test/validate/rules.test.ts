import { describe, expect, it } from 'vitest';
import { validateMessage } from '../../src/validate/index.js';
import { compileFieldRules, ENFORCED_RULES, ruleKinds } from '../../src/validate/rules.js';
import { envoySchema, type FieldSchema } from '../../src/validate/schema.js';
import { pairs } from './helpers.js';

/** Every "<kind>.<rule>" the shipped Envoy/xds protos use, with one field that uses it. */
function rulesInSchema(): Map<string, string> {
  const used = new Map<string, string>();
  for (const [type, msg] of Object.entries(envoySchema().messages)) {
    for (const f of msg.fields) {
      if (!f.rules) continue;
      for (const kind of ruleKinds(f.rules)) if (!used.has(kind)) used.set(kind, `${type}.${f.name}`);
    }
  }
  return used;
}

describe('which validate.rules are enforced', () => {
  it('every rule kind used by a shipped Envoy proto is enforced', () => {
    const used = rulesInSchema();
    const unenforced = [...used].filter(([kind]) => !ENFORCED_RULES.has(kind)).map(([kind, where]) => `${kind} (${where})`);
    expect(unenforced).toEqual([]);
    // the list a reader can check against protoc-gen-validate's validate.proto
    expect([...used.keys()].sort()).toEqual([
      'any.required',
      'bool.const',
      'bytes.max_len',
      'bytes.min_len',
      'double.gt',
      'double.gte',
      'double.lte',
      'duration.gt',
      'duration.gte',
      'duration.lt',
      'duration.lte',
      'duration.required',
      'enum.defined_only',
      'enum.not_in',
      'float.gte',
      'int32.gt',
      'int32.gte',
      'int32.lte',
      'int64.gt',
      'map.keys',
      'map.min_pairs',
      'map.values',
      'message.required',
      'repeated.items',
      'repeated.max_items',
      'repeated.min_items',
      'repeated.unique',
      'string.ignore_empty',
      'string.in',
      'string.max_bytes',
      'string.max_len',
      'string.min_bytes',
      'string.min_len',
      'string.pattern',
      'string.strict',
      'string.well_known_regex',
      'uint32.gt',
      'uint32.gte',
      'uint32.lt',
      'uint32.lte',
      'uint64.gt',
      'uint64.gte',
      'uint64.lt',
      'uint64.lte',
    ]);
  });
});

describe('rule semantics', () => {
  it('repeated.min_items and items rules (domains)', () => {
    expect(pairs(validateMessage('envoy.config.route.v3.VirtualHost', { name: 'v', domains: [] }))).toEqual([
      ['domains', 'value must contain at least 1 item(s) (it is empty or unset)'],
    ]);
    expect(pairs(validateMessage('envoy.config.route.v3.VirtualHost', { name: 'v', domains: ['a.com', 'b\r.com'] }))).toEqual([
      ['domains[1]', 'value must be a valid HTTP header value: "b\\r.com" contains NUL, CR or LF'],
    ]);
  });

  it('repeated items string.in (router strict_check_headers)', () => {
    const json = { strict_check_headers: ['x-envoy-max-retries', 'x-custom'] };
    expect(pairs(validateMessage('envoy.extensions.filters.http.router.v3.Router', json))).toEqual([
      ['strict_check_headers[1]', 'value must be in list ["x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-max-retries", "x-envoy-retry-grpc-on", "x-envoy-retry-on"]'],
    ]);
  });

  it('uint32.gte on a set wrapper, not on an absent one (lb endpoint weight)', () => {
    const endpoint = { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } };
    expect(validateMessage('envoy.config.endpoint.v3.LbEndpoint', endpoint)).toEqual([]);
    expect(pairs(validateMessage('envoy.config.endpoint.v3.LbEndpoint', { ...endpoint, load_balancing_weight: 0 }))).toEqual([
      ['load_balancing_weight', 'value must be greater than or equal to 1'],
    ]);
  });

  it('double range (Percent) and string.pattern (path_separated_prefix)', () => {
    expect(pairs(validateMessage('envoy.type.v3.Percent', { value: 150 }))).toEqual([['value', 'value must be inside range [0, 100]']]);
    expect(pairs(validateMessage('envoy.config.route.v3.RouteMatch', { path_separated_prefix: '/api/' }))).toEqual([
      ['path_separated_prefix', 'value does not match regex pattern "^[^?#]+[^?#/]$"'],
    ]);
  });

  it('enum.not_in with one listed value, including the unset zero value (health check method)', () => {
    expect(pairs(validateMessage('envoy.config.core.v3.HealthCheck.HttpHealthCheck', { path: '/healthz', method: 'CONNECT' }))).toEqual([
      ['method', 'value CONNECT must not be in list [6]'],
    ]);
  });

  it('string.in (rate limit request_type) and any.required (typed extension config)', () => {
    expect(pairs(validateMessage('envoy.extensions.filters.http.ratelimit.v3.RateLimit', {
      domain: 'd',
      request_type: 'sometimes',
      rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'rl' } }, transport_api_version: 'V3' },
    }))).toEqual([['request_type', 'value must be in list ["internal", "external", "both", ""]']]);
    expect(pairs(validateMessage('envoy.config.core.v3.TypedExtensionConfig', { name: 'x' }))).toEqual([['typed_config', 'value is required']]);
  });

  it('duration.required and duration.gte (retry back-off)', () => {
    expect(pairs(validateMessage('envoy.config.route.v3.RetryPolicy.RetryBackOff', {}))).toEqual([['base_interval', 'value is required']]);
    expect(pairs(validateMessage('envoy.config.core.v3.BackoffStrategy', { base_interval: '0.0005s' }))).toEqual([
      ['base_interval', 'value must be greater than or equal to 0.001s'],
    ]);
  });

  it('map keys rules (metadata namespaces must be non-empty)', () => {
    expect(pairs(validateMessage('envoy.config.core.v3.Metadata', { filter_metadata: { '': { a: 1 } } }))).toEqual([
      ['filter_metadata[""]', 'map key "": value length must be at least 1 characters'],
    ]);
  });

  it('string.max_bytes counts UTF-8 bytes, min_len counts characters', () => {
    const long = 'é'.repeat(8193); // 16386 bytes, 8193 characters
    expect(pairs(validateMessage('envoy.config.core.v3.HeaderValue', { key: 'x', value: long }))).toEqual([
      ['value', 'value length must be at most 16384 bytes'],
    ]);
    expect(validateMessage('envoy.config.core.v3.HeaderValue', { key: '\u{1F600}' })).toEqual([]);
  });
});

describe('well-known types', () => {
  it('an Any holding a well-known type carries it under "value"', () => {
    const ok = { name: 'n', typed_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'x' } };
    expect(validateMessage('envoy.config.core.v3.TypedExtensionConfig', ok)).toEqual([]);
    const bad = { name: 'n', typed_config: { '@type': 'type.googleapis.com/google.protobuf.UInt32Value', value: 'x', extra: 1 } };
    expect(pairs(validateMessage('envoy.config.core.v3.TypedExtensionConfig', bad))).toEqual([
      ['typed_config.extra', 'unknown field "extra" in an Any holding google.protobuf.UInt32Value (its JSON goes under "value")'],
      ['typed_config.value', 'google.protobuf.UInt32Value: expected an integer (uint32), got "x"'],
    ]);
  });

  it('a TypedStruct is checked as the type it names', () => {
    const ts = (value: unknown) => ({
      name: 'n',
      typed_config: {
        '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
        type_url: 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer',
        value,
      },
    });
    expect(validateMessage('envoy.config.core.v3.TypedExtensionConfig', ts({ max_request_bytes: 10 }))).toEqual([]);
    expect(pairs(validateMessage('envoy.config.core.v3.TypedExtensionConfig', ts({ max_request_byte: 10 })))).toEqual([
      ['typed_config.value.max_request_byte', 'unknown field "max_request_byte" in envoy.extensions.filters.http.buffer.v3.Buffer (did you mean "max_request_bytes"?)'],
      ['typed_config.value.max_request_bytes', 'value is required'],
    ]);
  });

  it('Timestamp, Empty, bytes and bool forms', () => {
    expect(pairs(validateMessage('envoy.config.core.v3.DataSource', { inline_bytes: 'not base64!' }))).toEqual([
      ['inline_bytes', 'invalid base64 bytes "not base64!"'],
    ]);
    expect(pairs(validateMessage('envoy.config.route.v3.RouteMatch', { prefix: '/', case_sensitive: 'false' }))).toEqual([
      ['case_sensitive', 'google.protobuf.BoolValue: expected true or false, got "false"'],
    ]);
    expect(validateMessage('envoy.config.core.v3.RuntimeFeatureFlag', { runtime_key: 'k', default_value: true })).toEqual([]);
  });
});

describe('enforced rules no shipped proto uses yet, on synthetic fields', () => {
  const run = (field: Partial<FieldSchema> & Pick<FieldSchema, 'rules'>, raw: unknown): string[] => {
    const messages: string[] = [];
    const check = compileFieldRules({ name: 'f', json: 'f', kind: 'scalar', type: 'uint32', label: 'single', ...field });
    check!({ error: (p, m) => messages.push(`${p}: ${m}`), enumSchema: () => undefined }, raw, () => 'f');
    return messages;
  };

  it('an exclusive numeric range (gt above lt) accepts either side', () => {
    const rules = { uint32: { gt: 5, lt: 3 } };
    expect(run({ rules }, 2)).toEqual([]);
    expect(run({ rules }, 6)).toEqual([]);
    expect(run({ rules }, 4)).toEqual(['f: value must be less than 3 or greater than 5']);
  });

  it('numeric const, in and not_in; ignore_empty skips the zero value', () => {
    expect(run({ rules: { uint32: { const: 7 } } }, 8)).toEqual(['f: value must equal 7']);
    expect(run({ rules: { uint32: { in: [1, 2] } } }, 3)).toEqual(['f: value must be in list [1, 2]']);
    expect(run({ rules: { uint32: { not_in: [0] } } }, undefined)).toEqual(['f: value must not be in list [0] (the field is unset, so it is 0)']);
    expect(run({ rules: { uint32: { gt: 10, ignore_empty: true } } }, undefined)).toEqual([]);
    expect(run({ type: 'int64', rules: { int64: { lte: 5 } } }, '9007199254740993')).toEqual(['f: value must be less than or equal to 5']);
  });

  it('string len, prefix, suffix, contains, not_contains, const, well-known hostname', () => {
    const str = (rules: Record<string, unknown>, raw: unknown) => run({ type: 'string', rules: { string: rules } }, raw);
    expect(str({ len: 3 }, 'ab')).toEqual(['f: value length must be 3 characters']);
    expect(str({ prefix: '/' }, 'a')).toEqual(['f: value does not have prefix "/"']);
    expect(str({ suffix: 's' }, 'a')).toEqual(['f: value does not have suffix "s"']);
    expect(str({ contains: 'x' }, 'a')).toEqual(['f: value does not contain substring "x"']);
    expect(str({ not_contains: 'a' }, 'a')).toEqual(['f: value contains substring "a"']);
    expect(str({ const: 'k' }, 'a')).toEqual(['f: value must equal "k"']);
    expect(str({ hostname: true }, 'a..b')).toEqual(['f: value must be a valid hostname']);
    expect(str({ ip: true }, '10.0.0.1')).toEqual([]);
  });

  it('repeated unique and max_items; map min/max pairs', () => {
    const rep = (rules: Record<string, unknown>, raw: unknown) => run({ type: 'string', label: 'repeated', rules: { repeated: rules } }, raw);
    expect(rep({ unique: true }, ['a', 'b', 'a'])).toEqual(['f[2]: repeated value must contain unique items: "a" repeats']);
    expect(rep({ max_items: 1 }, ['a', 'b'])).toEqual(['f: value must contain no more than 1 item(s), has 2']);
    const map = (rules: Record<string, unknown>, raw: unknown) => run({ type: 'string', label: 'map', keyType: 'string', rules: { map: rules } }, raw);
    expect(map({ min_pairs: 1 }, undefined)).toEqual(['f: value must contain at least 1 pair(s)']);
    expect(map({ max_pairs: 1 }, { a: 'x', b: 'y' })).toEqual(['f: value must contain no more than 1 pair(s)']);
  });

  it('bytes lengths count decoded bytes; any.in checks the type URL; timestamp bounds', () => {
    expect(run({ type: 'bytes', rules: { bytes: { max_len: 2 } } }, 'aGVsbG8=')).toEqual(['f: value length must be at most 2 bytes']);
    const url = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
    expect(run({ kind: 'message', type: 'google.protobuf.Any', rules: { any: { in: ['x'] } } }, { '@type': url })).toEqual([`f: type URL must be in list [x]`]);
    expect(run({ kind: 'message', type: 'google.protobuf.Timestamp', rules: { timestamp: { gt: { seconds: 900_000_000 } } } }, '2000-01-01T00:00:00Z')).toEqual([]);
    expect(run({ kind: 'message', type: 'google.protobuf.Timestamp', rules: { timestamp: { gt: { seconds: 900_000_000 } } } }, '1997-01-01T00:00:00Z')).toEqual([
      'f: value must be greater than 1998-07-09T16:00:00.000Z',
    ]);
  });
});
