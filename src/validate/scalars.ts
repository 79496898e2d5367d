// proto3 canonical JSON forms of scalars and of the well-known types with a
// special JSON mapping, as protobuf's JSON parser (which Envoy uses for JSON
// and, after converting, YAML) accepts them.

export type ScalarValue = number | bigint | string | boolean;
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (message: string): Parsed<never> => ({ ok: false, message });

const INT_RE = /^-?(0|[1-9][0-9]*)$/;

interface IntRange {
  min: bigint;
  max: bigint;
  /** the same bounds as numbers, for the 32-bit fast path */
  minNumber: number;
  maxNumber: number;
  /** 64-bit: values come back as bigint */
  wide: boolean;
}

function intRange(min: bigint, max: bigint, wide: boolean): IntRange {
  return { min, max, minNumber: Number(min), maxNumber: Number(max), wide };
}

const INT32 = intRange(-(2n ** 31n), 2n ** 31n - 1n, false);
const UINT32 = intRange(0n, 2n ** 32n - 1n, false);
const INT64 = intRange(-(2n ** 63n), 2n ** 63n - 1n, true);
const UINT64 = intRange(0n, 2n ** 64n - 1n, true);

const INT_RANGES: Record<string, IntRange> = {
  int32: INT32, sint32: INT32, sfixed32: INT32,
  uint32: UINT32, fixed32: UINT32,
  int64: INT64, sint64: INT64, sfixed64: INT64,
  uint64: UINT64, fixed64: UINT64,
};

export function isIntegerType(type: string): boolean {
  return type in INT_RANGES;
}

/** Integers: a JSON number or a decimal string; 64-bit values come back as bigint. */
function parseInteger(type: string, range: IntRange, v: unknown): Parsed<number | bigint> {
  // the common case, a 32-bit integer written as a JSON number, needs no BigInt
  if (!range.wide && typeof v === 'number' && Number.isInteger(v) && v >= range.minNumber && v <= range.maxNumber) return ok(v);
  let big: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return bad(`expected an integer (${type}), got ${v}`);
    if (range.wide && !Number.isSafeInteger(v)) {
      return bad(`${type} value ${v} is beyond 2^53 as a JSON number and loses precision; write it as a string`);
    }
    big = BigInt(v);
  } else if (typeof v === 'string' && INT_RE.test(v)) {
    big = BigInt(v);
  } else {
    return bad(`expected an integer (${type}), got ${describe(v)}`);
  }
  if (big < range.min || big > range.max) return bad(`${type} value ${String(v)} is out of range [${range.min}, ${range.max}]`);
  return ok(range.wide ? big : Number(big));
}

const FLOAT_MAX = 3.4028234663852886e38;

function parseFloating(type: string, v: unknown): Parsed<number> {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (v === 'NaN') return ok(NaN);
  else if (v === 'Infinity') return ok(Infinity);
  else if (v === '-Infinity') return ok(-Infinity);
  else if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) n = Number(v);
  else return bad(`expected a number (${type}), got ${describe(v)}`);
  if (type === 'float' && Math.abs(n) > FLOAT_MAX) return bad(`float value ${n} is out of range`);
  return ok(n);
}

const BASE64_RE = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Bytes are base64 (standard or URL-safe alphabet, padding optional); value is the decoded length. */
export function parseBytes(v: unknown): Parsed<Buffer> {
  if (typeof v !== 'string') return bad(`expected base64 bytes, got ${describe(v)}`);
  const body = v.replace(/=+$/, '');
  if (!BASE64_RE.test(v) || body.length % 4 === 1) return bad(`invalid base64 bytes ${JSON.stringify(truncate(v))}`);
  return ok(Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export function parseScalar(type: string, v: unknown): Parsed<ScalarValue> {
  const range = INT_RANGES[type];
  if (range) return parseInteger(type, range, v);
  switch (type) {
    case 'double':
    case 'float':
      return parseFloating(type, v);
    case 'bool':
      return typeof v === 'boolean' ? ok(v) : bad(`expected true or false, got ${describe(v)}`);
    case 'string':
      return typeof v === 'string' ? ok(v) : bad(`expected a string, got ${describe(v)}`);
    case 'bytes': {
      const b = parseBytes(v);
      return b.ok ? ok(v as string) : b;
    }
    default:
      return bad(`unsupported scalar type ${type}`);
  }
}

/** The structural check alone: null when `v` is a valid JSON form of `type` (no allocation on success). */
export function scalarProblem(type: string, v: unknown): string | null {
  switch (type) {
    case 'string':
      return typeof v === 'string' ? null : `expected a string, got ${describe(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? null : `expected true or false, got ${describe(v)}`;
    case 'uint32':
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return null;
      break;
    case 'int32':
      if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return null;
      break;
    case 'double':
      if (typeof v === 'number') return null;
      break;
  }
  const parsed = parseScalar(type, v);
  return parsed.ok ? null : parsed.message;
}

/** Map keys are always JSON strings; their text must parse as the key type. */
export function parseMapKey(type: string, key: string): Parsed<ScalarValue> {
  if (type === 'string') return ok(key);
  if (type === 'bool') return key === 'true' || key === 'false' ? ok(key === 'true') : bad(`map key ${JSON.stringify(key)} is not a bool`);
  return parseScalar(type, key);
}

export interface DurationValue {
  seconds: number;
  nanos: number;
}

const MAX_DURATION_SECONDS = 315_576_000_000;
const DURATION_RE = /^(-)?([0-9]+)(?:\.([0-9]{1,9}))?s$/;

/**
 * google.protobuf.Duration: the proto3 JSON string "1.5s"; Envoy's YAML also
 * takes the message form {seconds, nanos}. Envoy rejects negative durations
 * and seconds above 315576000000 (MessageUtil::validateDurationFields).
 */
export function parseDuration(v: unknown): Parsed<DurationValue> {
  let d: DurationValue;
  if (typeof v === 'string') {
    const m = DURATION_RE.exec(v);
    if (!m) return bad(`invalid Duration ${JSON.stringify(truncate(v))}: expected a string like "1.5s" (seconds with an "s" suffix)`);
    const sign = m[1] ? -1 : 1;
    d = { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
  } else if (isPlainObject(v)) {
    const extra = Object.keys(v).filter((k) => k !== 'seconds' && k !== 'nanos');
    if (extra.length > 0) return bad(`invalid Duration object: unknown key ${JSON.stringify(extra[0])} (only seconds and nanos)`);
    const s = v.seconds === undefined ? ok<number | bigint>(0) : parseInteger('int64', INT64, v.seconds);
    if (!s.ok) return bad(`invalid Duration seconds: ${s.message}`);
    const n = v.nanos === undefined ? ok<number | bigint>(0) : parseInteger('int32', INT32, v.nanos);
    if (!n.ok) return bad(`invalid Duration nanos: ${n.message}`);
    d = { seconds: Number(s.value), nanos: Number(n.value) };
    if (Math.abs(d.nanos) > 999_999_999) return bad('invalid Duration: nanos must be within ±999999999');
  } else {
    return bad(`invalid Duration ${describe(v)}: expected a string like "1.5s"`);
  }
  if (d.seconds < 0 || d.nanos < 0) return bad(`invalid Duration ${formatDuration(d)}: Envoy requires a non-negative duration`);
  if (d.seconds > MAX_DURATION_SECONDS) return bad(`invalid Duration: seconds exceed ${MAX_DURATION_SECONDS}`);
  return ok(d);
}

/** The structural check alone: null for a valid Duration; common strings like "60s" cost one regex test. */
export function durationProblem(v: unknown): string | null {
  if (typeof v === 'string' && v.charCodeAt(0) !== 45 /* - */ && v.length < 14 && DURATION_RE.test(v)) return null;
  const d = parseDuration(v);
  return d.ok ? null : d.message;
}

export function compareDuration(a: DurationValue, b: DurationValue): number {
  return a.seconds !== b.seconds ? Math.sign(a.seconds - b.seconds) : Math.sign(a.nanos - b.nanos);
}

export function formatDuration(d: DurationValue): string {
  const neg = d.seconds < 0 || d.nanos < 0;
  const s = Math.abs(d.seconds);
  const n = Math.abs(d.nanos);
  const frac = n === 0 ? '' : `.${String(n).padStart(9, '0').replace(/0+$/, '')}`;
  return `${neg ? '-' : ''}${s}${frac}s`;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** google.protobuf.Timestamp: RFC 3339, e.g. "1972-01-01T10:00:20.021Z"; value in ms since the epoch. */
export function parseTimestamp(v: unknown): Parsed<number> {
  if (typeof v !== 'string' || !TIMESTAMP_RE.test(v) || Number.isNaN(Date.parse(v))) {
    return bad(`invalid Timestamp ${describe(v)}: expected RFC 3339 like "2024-01-01T00:00:00Z"`);
  }
  return ok(Date.parse(v));
}

/** Wrapper message → the scalar its JSON form is. */
export const WRAPPERS: Readonly<Record<string, string>> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A short description of a JSON value for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(truncate(v));
  return String(v);
}
