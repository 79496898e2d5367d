// Encode Envoy's proto3 JSON (what the emitters write: snake_case or camelCase
// keys, "5s" durations, bare wrapper values, Struct as plain JSON, Any with
// "@type") into protobuf binary. protobufjs' fromObject alone gets Duration,
// wrappers, Struct and nested Any wrong and drops unknown keys, so the JSON is
// first converted field by field against the message type; unknown keys throw.
import protobuf from 'protobufjs';
import { envoyRoot, lookupMessage, TYPE_URL_PREFIX } from './proto-registry.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);

export class ProtoJsonError extends Error {}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `1.5s` → {seconds, nanos}. */
function durationToObject(text: Json, where: string): JsonObject {
  if (typeof text !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(text)) {
    throw new ProtoJsonError(`${where}: expected a duration like "5s", got ${JSON.stringify(text)}`);
  }
  const negative = text.startsWith('-');
  const [whole, frac = ''] = text.replace(/^-/, '').slice(0, -1).split('.');
  const sign = negative ? -1 : 1;
  return { seconds: sign * Number(whole), nanos: sign * Number(frac.padEnd(9, '0')) };
}

function timestampToObject(text: Json, where: string): JsonObject {
  const ms = typeof text === 'string' ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new ProtoJsonError(`${where}: expected an RFC 3339 timestamp`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function valueToObject(v: Json): JsonObject {
  // protobufjs' bundled struct.proto names these fields in camelCase.
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueToObject) } };
  return { structValue: structToObject(v) };
}

function structToObject(v: JsonObject): JsonObject {
  const fields: JsonObject = {};
  for (const key of Object.keys(v)) fields[key] = valueToObject(v[key]!);
  return { fields };
}

/** An Any in JSON form → {type_url, value: bytes}. */
function anyToObject(v: Json, where: string): { type_url: string; value: Uint8Array } {
  if (!isObject(v) || typeof v['@type'] !== 'string') {
    throw new ProtoJsonError(`${where}: an Any needs "@type"`);
  }
  const typeUrl = v['@type'];
  let inner: protobuf.Type;
  try {
    inner = lookupMessage(typeUrl);
  } catch {
    throw new ProtoJsonError(`${where}: unknown @type ${typeUrl}`);
  }
  const rest: JsonObject = {};
  for (const key of Object.keys(v)) if (key !== '@type') rest[key] = v[key]!;
  // Well-known types with a special JSON form carry it under "value".
  const payload = hasSpecialJson(inner.fullName) ? (rest['value'] ?? null) : rest;
  const url = typeUrl.includes('/') ? typeUrl : TYPE_URL_PREFIX + typeUrl;
  return { type_url: url, value: encodeMessage(inner, payload, where + `<${inner.name}>`) };
}

function hasSpecialJson(fullName: string): boolean {
  return (
    WRAPPERS.has(fullName) ||
    ['.google.protobuf.Duration', '.google.protobuf.Timestamp', '.google.protobuf.Struct', '.google.protobuf.Value', '.google.protobuf.ListValue', '.google.protobuf.FieldMask'].includes(fullName)
  );
}

/** Convert one JSON value for a field of message type `type` into protobufjs object form. */
function messageToObject(type: protobuf.Type, v: Json, where: string): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Duration':
      return durationToObject(v, where);
    case '.google.protobuf.Timestamp':
      return timestampToObject(v, where);
    case '.google.protobuf.Struct':
      if (!isObject(v)) throw new ProtoJsonError(`${where}: expected an object`);
      return structToObject(v);
    case '.google.protobuf.Value':
      return valueToObject(v);
    case '.google.protobuf.ListValue':
      if (!Array.isArray(v)) throw new ProtoJsonError(`${where}: expected a list`);
      return { values: v.map(valueToObject) };
    case '.google.protobuf.Any':
      return anyToObject(v, where);
    case '.google.protobuf.FieldMask':
      return { paths: typeof v === 'string' && v !== '' ? v.split(',') : [] };
  }
  if (WRAPPERS.has(type.fullName)) return { value: v };
  if (!isObject(v)) throw new ProtoJsonError(`${where}: expected an object for ${type.name}`);
  return fieldsToObject(type, v, where);
}

const camelIndex = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Fields by snake_case name and by lowerCamel JSON name. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = camelIndex.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), field);
    }
    camelIndex.set(type, index);
  }
  return index;
}

function scalarOrMessage(field: protobuf.Field, v: Json, where: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (v === null && resolved.fullName !== '.google.protobuf.Value') return undefined;
    return messageToObject(resolved, v, where);
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof v === 'string' && !(v in resolved.values)) {
      throw new ProtoJsonError(`${where}: ${JSON.stringify(v)} is not a value of ${resolved.name}`);
    }
    return v;
  }
  return v;
}

function fieldsToObject(type: protobuf.Type, v: JsonObject, where: string): JsonObject {
  const index = fieldIndex(type);
  const out: { [k: string]: unknown } = {};
  for (const key of Object.keys(v)) {
    const field = index.get(key);
    if (!field) throw new ProtoJsonError(`${where}: unknown field "${key}" in ${type.fullName.slice(1)}`);
    field.resolve();
    const value = v[key]!;
    const at = `${where}.${key}`;
    if (field.map) {
      if (!isObject(value)) throw new ProtoJsonError(`${at}: expected a map`);
      const m: { [k: string]: unknown } = {};
      for (const k of Object.keys(value)) m[k] = scalarOrMessage(field, value[k]!, `${at}.${k}`);
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new ProtoJsonError(`${at}: expected a list`);
      out[field.name] = value.map((item, i) => scalarOrMessage(field, item, `${at}[${i}]`));
    } else {
      const converted = scalarOrMessage(field, value, at);
      if (converted !== undefined) out[field.name] = converted;
    }
  }
  return out as JsonObject;
}

/** Encode a proto3-JSON message of `type` to binary. */
export function encodeMessage(type: protobuf.Type, json: unknown, where = type.name): Uint8Array {
  const object = messageToObject(type, json as Json, where);
  const message = type.fromObject(object as { [k: string]: unknown });
  return type.encode(message).finish();
}

/** Encode a resource given its type URL (type.googleapis.com/envoy...). */
export function encodeResource(typeUrl: string, json: unknown): Uint8Array {
  return encodeMessage(lookupMessage(typeUrl), json, lookupMessage(typeUrl).name);
}

/** Decode binary into protobufjs' plain object form (enums as names, longs as strings, Any kept as bytes). */
export function decodeResource(typeUrl: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupMessage(typeUrl);
  return type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String, defaults: false }) as Record<string, unknown>;
}

export { envoyRoot };

// ---------------------------------------------------------------- encoding with reuse

/**
 * Protobuf writes a message's fields one after the other in field-number
 * order, and a repeated message field as one (tag, length, bytes) record per
 * element. So a message's bytes are the concatenation of its fields' bytes in
 * that order, and an element's bytes do not depend on its neighbours: a route
 * table where one route changed needs only that route encoded again. The
 * result is byte-identical to encodeMessage. Every encoded piece (an element
 * of a split list at any level, or the run of fields between two split
 * fields) is kept by its JSON text, so JSON is turned into bytes once per
 * distinct content; an element found by its text is not split further (an
 * unchanged virtual host costs one JSON.stringify, not one per route).
 */
export class ReusingEncoder {
  /** Encoded pieces by type, then by JSON text. */
  private pieces = new Map<protobuf.Type, Map<string, Piece>>();
  private generation = 0;

  /**
   * `depth`: how many levels of repeated message fields are split below the
   * resource; elements at the last level are encoded whole (for a
   * RouteConfiguration: virtual hosts are split, their routes encoded whole).
   */
  constructor(private readonly depth = 2) {}

  encodeResource(typeUrl: string, json: unknown): Uint8Array {
    const type = lookupMessage(typeUrl);
    return this.split(type, json as Json, type.name, this.depth, null);
  }

  /** Forget the pieces no encoding used since the previous call. */
  sweep(): void {
    for (const byText of this.pieces.values()) {
      for (const [text, piece] of byText) if (piece.generation !== this.generation) byText.delete(text);
    }
    this.generation += 1;
  }

  /** How many pieces are kept (tests). */
  get size(): number {
    let n = 0;
    for (const byText of this.pieces.values()) n += byText.size;
    return n;
  }

  /** Mark a piece, and the pieces it was made of, as used by this generation. */
  private touch(piece: Piece): void {
    piece.generation = this.generation;
    if (piece.parts) for (const part of piece.parts) this.touch(part);
  }

  /**
   * The bytes of `json` as `type`, by its text when known; else made by
   * `make` (which records the pieces it used in `parts`) and kept.
   */
  private piece(type: protobuf.Type, json: Json, used: Piece[] | null, make: (parts: Piece[] | null) => Uint8Array): Piece {
    let byText = this.pieces.get(type);
    if (!byText) this.pieces.set(type, (byText = new Map()));
    const text = JSON.stringify(json);
    let piece = byText.get(text);
    if (piece) {
      this.touch(piece);
    } else {
      const parts: Piece[] = [];
      piece = new Piece(make(parts), this.generation, parts.length ? parts : null);
      byText.set(text, piece);
    }
    used?.push(piece);
    return piece;
  }

  /** `json` as `type`, its repeated message fields split `depth` levels down; pieces used go to `used`. */
  private split(type: protobuf.Type, json: Json, where: string, depth: number, used: Piece[] | null): Uint8Array {
    if (depth === 0) return this.piece(type, json, used, () => encodeMessage(type, json, where)).bytes;
    if (!isObject(json) || !isPlainMessage(type)) return encodeMessage(type, json, where);
    const index = fieldIndex(type);
    const keyed: Array<{ key: string; field: protobuf.Field }> = [];
    for (const key of Object.keys(json)) {
      const field = index.get(key);
      if (!field) return encodeMessage(type, json, where); // throws the usual "unknown field" error
      keyed.push({ key, field });
    }
    keyed.sort((a, b) => a.field.id - b.field.id);
    const parts: Uint8Array[] = [];
    let pending: JsonObject | null = null;
    const flush = () => {
      // The fields between split ones are kept too, by their own text (a cluster, a virtual host's domains).
      if (pending) {
        const run = pending;
        parts.push(this.piece(type, run, used, () => encodeMessage(type, run, where)).bytes);
      }
      pending = null;
    };
    for (const { key, field } of keyed) {
      const value = json[key]!;
      const elementType = splittableElements(field, value);
      if (!elementType) {
        (pending ??= {})[key] = value;
        continue;
      }
      flush();
      const tag = ((field.id << 3) | 2) >>> 0;
      (value as Json[]).forEach((item, i) => {
        const at = `${where}.${key}[${i}]`;
        const made =
          depth === 1
            ? this.piece(elementType, item, used, () => encodeMessage(elementType, item, at))
            : this.piece(elementType, item, used, (own) => this.split(elementType, item, at, depth - 1, own));
        parts.push(made.record(tag));
      });
    }
    flush();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/** An encoded piece, the generation that last used it, and the pieces it was made of (kept while it is). */
class Piece {
  /** The piece as an element of a repeated field: tag, length and bytes (kept for the last tag asked). */
  private framed: { tag: number; bytes: Uint8Array } | null = null;

  constructor(
    public bytes: Uint8Array,
    public generation: number,
    readonly parts: Piece[] | null,
  ) {}

  record(tag: number): Uint8Array {
    if (this.framed?.tag !== tag) {
      const head = lengthPrefix(tag, this.bytes.length);
      const framed = Buffer.concat([head, this.bytes]);
      this.framed = { tag, bytes: framed };
      // The bytes become a view of the record: one copy of them is kept, not two.
      this.bytes = framed.subarray(head.length);
    }
    return this.framed.bytes;
  }
}

/** A field's tag and a length, as varints (the head of a length-delimited record). */
function lengthPrefix(tag: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(10);
  let at = 0;
  for (let v of [tag, length]) {
    while (v > 0x7f) {
      out[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[at++] = v;
  }
  return out.subarray(0, at);
}

/** The element type of a repeated message field whose JSON is a list of objects (not a map, not a well-known type). */
function splittableElements(field: protobuf.Field, value: Json): protobuf.Type | null {
  if (!field.repeated || field.map || !Array.isArray(value)) return null;
  field.resolve();
  const type = field.resolvedType;
  if (!(type instanceof protobuf.Type) || !isPlainMessage(type)) return null;
  return value.every(isObject) ? type : null;
}

const plainMessage = new WeakMap<protobuf.Type, boolean>();

/** A message whose JSON is an object of its fields (not Any or a well-known type); memoised: fullName is computed on each read. */
function isPlainMessage(type: protobuf.Type): boolean {
  let plain = plainMessage.get(type);
  if (plain === undefined) {
    plain = !hasSpecialJson(type.fullName) && type.fullName !== '.google.protobuf.Any';
    plainMessage.set(type, plain);
  }
  return plain;
}
