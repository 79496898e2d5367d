// Request decoding as Consul's Go handlers do it: encoding/json matches object
// keys to struct fields case-insensitively, and Consul's decodeBody also accepts
// the snake_case spellings of its config files (lib.TranslateKeys). A value of
// the wrong type is a 400 `Request decode failed: …`; unknown keys are ignored.

export class DecodeError extends Error {}

export type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'strings'
  | 'stringMap'
  | 'any'
  | { struct: Schema; name: string }
  | { list: Schema; name: string };

export interface Schema {
  [field: string]: FieldType;
}

function foldKey(key: string): string {
  return key.replace(/_/g, '').toLowerCase();
}

/** Decodes `value` into an object whose keys are the schema's canonical field names. */
export function decodeStruct(value: unknown, schema: Schema, structName: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type structs.${structName}`);
  }
  const byFold = new Map(Object.keys(schema).map((k) => [foldKey(k), k]));
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const field = byFold.get(foldKey(key));
    if (!field) continue; // encoding/json ignores unknown keys
    if (raw === null) continue;
    out[field] = decodeField(raw, schema[field]!, `${structName}.${field}`);
  }
  return out;
}

function decodeField(raw: unknown, type: FieldType, where: string): unknown {
  const fail = (goType: string) =>
    new DecodeError(`json: cannot unmarshal ${jsonKind(raw)} into Go struct field ${where} of type ${goType}`);
  if (type === 'any') return raw;
  if (type === 'string') {
    if (typeof raw !== 'string') throw fail('string');
    return raw;
  }
  if (type === 'int') {
    if (typeof raw !== 'number' || !Number.isInteger(raw)) throw fail('int');
    return raw;
  }
  if (type === 'bool') {
    if (typeof raw !== 'boolean') throw fail('bool');
    return raw;
  }
  if (type === 'strings') {
    if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string')) throw fail('[]string');
    return raw;
  }
  if (type === 'stringMap') {
    if (typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw as object).some((v) => typeof v !== 'string')) {
      throw fail('map[string]string');
    }
    return { ...(raw as Record<string, string>) };
  }
  if ('struct' in type) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw fail(`structs.${type.name}`);
    return decodeStruct(raw, type.struct, type.name);
  }
  if (!Array.isArray(raw)) throw fail(`[]*structs.${type.name}`);
  return raw.map((item) => decodeStruct(item, type.list, type.name));
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Go's time.ParseDuration for the forms Consul users write (`10s`, `1m30s`, `500ms`, `1.5h`). */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (text.length === 0) return null;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    total += parseFloat(m[1]!) * unitMs[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}

// ------------------------------------------------------------------ schemas

export const CHECK_TYPE: Schema = {
  CheckID: 'string',
  ID: 'string',
  Name: 'string',
  Notes: 'string',
  Status: 'string',
  ServiceID: 'string',
  HTTP: 'string',
  Method: 'string',
  Header: 'any',
  Body: 'string',
  TCP: 'string',
  UDP: 'string',
  GRPC: 'string',
  TTL: 'string',
  Interval: 'string',
  Timeout: 'string',
  TLSSkipVerify: 'bool',
  TLSServerName: 'string',
  DeregisterCriticalServiceAfter: 'string',
  FailuresBeforeWarning: 'int',
  FailuresBeforeCritical: 'int',
  SuccessBeforePassing: 'int',
  Args: 'strings',
  AliasService: 'string',
  AliasNode: 'string',
};

const WEIGHTS: Schema = { Passing: 'int', Warning: 'int' };

export const AGENT_SERVICE: Schema = {
  ID: 'string',
  Name: 'string',
  Kind: 'string',
  Tags: 'strings',
  Address: 'string',
  Port: 'int',
  Meta: 'stringMap',
  Weights: { struct: WEIGHTS, name: 'Weights' },
  EnableTagOverride: 'bool',
  TaggedAddresses: 'any',
  Check: { struct: CHECK_TYPE, name: 'CheckType' },
  Checks: { list: CHECK_TYPE, name: 'CheckType' },
  Connect: 'any',
  Proxy: 'any',
};

const CATALOG_SERVICE: Schema = {
  ID: 'string',
  Service: 'string',
  Kind: 'string',
  Tags: 'strings',
  Address: 'string',
  Port: 'int',
  Meta: 'stringMap',
  Weights: { struct: WEIGHTS, name: 'Weights' },
  EnableTagOverride: 'bool',
  TaggedAddresses: 'any',
};

const HEALTH_CHECK_DEFINITION: Schema = {
  HTTP: 'string',
  TCP: 'string',
  Method: 'string',
  Header: 'any',
  TLSSkipVerify: 'bool',
  TLSServerName: 'string',
  IntervalDuration: 'string',
  TimeoutDuration: 'string',
  DeregisterCriticalServiceAfterDuration: 'string',
};

const CATALOG_CHECK: Schema = {
  Node: 'string',
  CheckID: 'string',
  Name: 'string',
  Status: 'string',
  Notes: 'string',
  Output: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  Definition: { struct: HEALTH_CHECK_DEFINITION, name: 'HealthCheckDefinition' },
};

export const CATALOG_REGISTER: Schema = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  TaggedAddresses: 'any',
  NodeMeta: 'stringMap',
  Service: { struct: CATALOG_SERVICE, name: 'NodeService' },
  Check: { struct: CATALOG_CHECK, name: 'HealthCheck' },
  Checks: { list: CATALOG_CHECK, name: 'HealthCheck' },
  SkipNodeUpdate: 'bool',
};

export const CATALOG_DEREGISTER: Schema = {
  Node: 'string',
  Datacenter: 'string',
  ServiceID: 'string',
  CheckID: 'string',
};
