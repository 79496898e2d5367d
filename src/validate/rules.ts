// protoc-gen-validate's (validate.rules), enforced on the JSON the way the
// generated C++ validators in Envoy enforce them on the parsed message:
// proto3 scalars are checked even when absent (their default is their value),
// messages, wrappers, Duration and Any only when set (`required` aside), and a
// oneof member only when it is the member set.

import { isIP } from 'node:net';
import type { EnumSchema, FieldKind, FieldSchema } from './schema.js';
import { indexPath, keyPath } from './findings.js';
import {
  compareDuration,
  formatDuration,
  isPlainObject,
  parseBytes,
  parseDuration,
  parseScalar,
  parseTimestamp,
  WRAPPERS,
  type DurationValue,
} from './scalars.js';

/** A JSON path built only when a finding needs it: rule checks mostly pass. */
export type Loc = () => string;

export interface RuleContext {
  error(path: string, message: string): void;
  enumSchema(type: string): EnumSchema | undefined;
}

interface ElementType {
  kind: FieldKind;
  type: string;
}

type Rules = Record<string, unknown>;

const NUMERIC_KINDS = [
  'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'float', 'double',
];
const NUMERIC_RULES = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'ignore_empty'];

/** Every rule this module enforces, as "<kind>.<rule>". */
export const ENFORCED_RULES: ReadonlySet<string> = new Set([
  ...NUMERIC_KINDS.flatMap((k) => NUMERIC_RULES.map((r) => `${k}.${r}`)),
  'bool.const',
  ...['const', 'len', 'min_len', 'max_len', 'len_bytes', 'min_bytes', 'max_bytes', 'pattern', 'prefix', 'suffix',
    'contains', 'not_contains', 'in', 'not_in', 'well_known_regex', 'strict', 'ignore_empty',
    'hostname', 'ip', 'ipv4', 'ipv6', 'address', 'uuid'].map((r) => `string.${r}`),
  ...['len', 'min_len', 'max_len', 'ignore_empty'].map((r) => `bytes.${r}`),
  ...['const', 'defined_only', 'in', 'not_in'].map((r) => `enum.${r}`),
  'message.required',
  ...['min_items', 'max_items', 'unique', 'items', 'ignore_empty'].map((r) => `repeated.${r}`),
  ...['min_pairs', 'max_pairs', 'keys', 'values', 'no_sparse', 'ignore_empty'].map((r) => `map.${r}`),
  ...['required', 'in', 'not_in'].map((r) => `any.${r}`),
  ...['required', 'const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in'].map((r) => `duration.${r}`),
  ...['required', 'const', 'lt', 'lte', 'gt', 'gte'].map((r) => `timestamp.${r}`),
]);

/** Every "<kind>.<rule>" used by a rules object, element rules (items/keys/values) included. */
export function ruleKinds(rules: Rules, out: Set<string> = new Set()): Set<string> {
  for (const [kind, body] of Object.entries(rules)) {
    if (!isPlainObject(body)) {
      out.add(kind);
      continue;
    }
    for (const [rule, value] of Object.entries(body)) {
      out.add(`${kind}.${rule}`);
      const nested = (kind === 'repeated' && rule === 'items') || (kind === 'map' && (rule === 'keys' || rule === 'values'));
      if (nested && isPlainObject(value)) ruleKinds(value, out);
    }
  }
  return out;
}

/** What an absent list or map is checked as (shared: the checks only read them). */
const NO_ITEMS: unknown[] = Object.freeze([]) as unknown as unknown[];
const NO_PAIRS: Record<string, unknown> = Object.freeze({});

/** A compiled rule check; `raw` undefined means absent. */
export type Check = (ctx: RuleContext, raw: unknown, path: Loc) => void;

function fail(ctx: RuleContext, path: Loc, message: string): void {
  ctx.error(path(), message);
}

/**
 * Whether a field's rules ask only that it be set (message.required): then
 * a field that is set passes them without running the check.
 */
export function onlyRequired(field: FieldSchema): boolean {
  const rules = field.rules;
  if (!rules || field.label !== 'single') return false;
  const kinds = Object.keys(rules);
  return kinds.length === 1 && kinds[0] === 'message';
}

/**
 * Compile one field's rules into a check over its JSON value (undefined or
 * null when absent), once per field: the walk calls it for every instance.
 */
export function compileFieldRules(field: FieldSchema): Check | null {
  const rules = field.rules;
  if (!rules) return null;
  const elem: ElementType = { kind: field.kind, type: field.type };
  if (field.label === 'repeated') {
    const r = rules.repeated;
    if (!isPlainObject(r)) return null;
    const items = isPlainObject(r.items) ? compileSingle(r.items, elem) : null;
    const cursor = new ItemCursor();
    return (ctx, raw, path) => checkRepeated(ctx, r, items, Array.isArray(raw) ? raw : NO_ITEMS, path, cursor);
  }
  if (field.label === 'map') {
    const r = rules.map;
    if (!isPlainObject(r)) return null;
    const keyType = field.keyType ?? 'string';
    const keys = isPlainObject(r.keys) ? compileSingle(r.keys, { kind: 'scalar', type: keyType }) : null;
    const values = isPlainObject(r.values) ? compileSingle(r.values, elem) : null;
    return (ctx, raw, path) => checkMap(ctx, r, keys, values, isPlainObject(raw) ? raw : NO_PAIRS, path);
  }
  const single = compileSingle(rules, elem);
  return (ctx, raw, path) => single(ctx, raw === null ? undefined : raw, path);
}

/**
 * Where the item being checked is: one per compiled repeated field, reused
 * for every list it checks (an item check never reaches another list's
 * check, and reads the path only while it runs), so checking items
 * allocates no closure per list.
 */
class ItemCursor {
  list: Loc = () => '';
  index = 0;
  readonly at: Loc = () => indexPath(this.list(), this.index);
}

function checkRepeated(ctx: RuleContext, r: Rules, items: Check | null, list: unknown[], path: Loc, cursor: ItemCursor): void {
  if (r.ignore_empty === true && list.length === 0) return;
  if (typeof r.min_items === 'number' && list.length < r.min_items) {
    fail(ctx, path, `value must contain at least ${r.min_items} item(s)${list.length === 0 ? ' (it is empty or unset)' : ''}`);
  }
  if (typeof r.max_items === 'number' && list.length > r.max_items) {
    fail(ctx, path, `value must contain no more than ${r.max_items} item(s), has ${list.length}`);
  }
  if (r.unique === true) checkUniqueItems(ctx, list, path);
  if (items) {
    cursor.list = path;
    for (let i = 0; i < list.length; i++) {
      cursor.index = i;
      items(ctx, list[i] ?? undefined, cursor.at);
    }
  }
}

function checkUniqueItems(ctx: RuleContext, list: unknown[], path: Loc): void {
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const key = JSON.stringify(item);
    if (seen.has(key)) ctx.error(indexPath(path(), i), `repeated value must contain unique items: ${key} repeats`);
    seen.add(key);
  });
}

function checkMap(ctx: RuleContext, r: Rules, keys: Check | null, values: Check | null, map: Record<string, unknown>, path: Loc): void {
  const names = Object.keys(map);
  if (r.ignore_empty === true && names.length === 0) return;
  if (typeof r.min_pairs === 'number' && names.length < r.min_pairs) fail(ctx, path, `value must contain at least ${r.min_pairs} pair(s)`);
  if (typeof r.max_pairs === 'number' && names.length > r.max_pairs) fail(ctx, path, `value must contain no more than ${r.max_pairs} pair(s)`);
  for (const key of names) {
    const at = (): string => keyPath(path(), key);
    if (keys) {
      const keyCtx: RuleContext = { error: (p, m) => ctx.error(p, `map key ${JSON.stringify(key)}: ${m}`), enumSchema: (t) => ctx.enumSchema(t) };
      keys(keyCtx, key, at);
    }
    if (r.no_sparse === true && map[key] === null) fail(ctx, at, 'map value must not be null (no_sparse)');
    if (values) values(ctx, map[key] ?? undefined, at);
  }
}

/** The rules of a single (non-repeated) value, one check per rule kind. */
function compileSingle(rules: Rules, elem: ElementType): Check {
  const checks: Check[] = [];
  for (const kind of Object.keys(rules)) {
    const body = rules[kind];
    if (!isPlainObject(body)) continue;
    const check = compileKind(kind, body, elem);
    if (check) checks.push(check);
  }
  if (checks.length === 1) return checks[0]!;
  return (ctx, raw, path) => {
    for (let i = 0; i < checks.length; i++) checks[i]!(ctx, raw, path);
  };
}

const SKIP = Symbol('skip');

function compileKind(kind: string, body: Rules, elem: ElementType): Check | null {
  switch (kind) {
    case 'message':
      return body.required === true ? (ctx, raw, path) => raw === undefined && fail(ctx, path, 'value is required') : null;
    case 'duration': {
      // the same few timeouts recur thousands of times: remember the strings that pass
      const passing = new Set<string>();
      return (ctx, raw, path) => {
        if (typeof raw === 'string' && passing.has(raw)) return;
        if (checkDuration(ctx, path, body, raw) && typeof raw === 'string' && passing.size < 1000) passing.add(raw);
      };
    }
    case 'timestamp':
      return (ctx, raw, path) => checkTimestamp(ctx, path, body, raw);
    case 'any':
      return (ctx, raw, path) => checkAny(ctx, path, body, raw);
    case 'enum':
      return (ctx, raw, path) => checkEnum(ctx, path, body, elem, raw);
    case 'string': {
      const rules = compileString(body);
      if (rules.length === 0) return null;
      const limits = stringLimits(body);
      return (ctx, raw, path) => {
        if (limits !== null && typeof raw === 'string' && withinLimits(limits, raw)) return;
        const v = scalarToCheck(body, elem, raw, 'string');
        if (v === SKIP) return;
        for (let i = 0; i < rules.length; i++) {
          const problem = rules[i]!(v as string, raw === undefined);
          if (problem !== null) fail(ctx, path, problem);
        }
      };
    }
    case 'bytes':
      return (ctx, raw, path) => {
        const v = scalarToCheck(body, elem, raw, 'bytes');
        if (v !== SKIP) checkBytes(ctx, path, body, v as string);
      };
    case 'bool':
      return (ctx, raw, path) => {
        const v = scalarToCheck(body, elem, raw, 'bool');
        if (v !== SKIP && typeof body.const === 'boolean' && v !== body.const) fail(ctx, path, `value must equal ${body.const}`);
      };
    default:
      if (!NUMERIC_KINDS.includes(kind)) return null;
      return (ctx, raw, path) => {
        const v = scalarToCheck(body, elem, raw, kind);
        if (v !== SKIP) checkNumber(ctx, path, body, v as number | bigint, raw === undefined);
      };
  }
}

const DEFAULTS: Record<string, unknown> = { string: '', bytes: '', bool: false };

/** 32-bit integer types: a JSON number in range is its own value. */
const SMALL_NUMBERS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['int32', [-0x80000000, 0x7fffffff]],
  ['sint32', [-0x80000000, 0x7fffffff]],
  ['sfixed32', [-0x80000000, 0x7fffffff]],
  ['uint32', [0, 0xffffffff]],
  ['fixed32', [0, 0xffffffff]],
]);

/**
 * The value a scalar rule sees: a proto3 scalar's own (absent = its default),
 * a wrapper's (absent = not checked, as PGV does for wrappers), or SKIP.
 */
function scalarToCheck(body: Rules, elem: ElementType, raw: unknown, scalarType: string): unknown {
  if (raw === undefined) {
    if (body.ignore_empty === true || (elem.kind === 'message' && WRAPPERS[elem.type] !== undefined)) return SKIP;
    return DEFAULTS[scalarType] ?? 0;
  }
  if (typeof raw === 'string' && scalarType === 'string') return body.ignore_empty === true && raw === '' ? SKIP : raw;
  // the common JSON forms, read as parseScalar would read them but without allocating its result
  if (typeof raw === 'boolean' && scalarType === 'bool') return raw;
  if (typeof raw === 'number') {
    const bounds = SMALL_NUMBERS.get(scalarType);
    const plain = bounds === undefined ? scalarType === 'double' : Number.isInteger(raw) && raw >= bounds[0] && raw <= bounds[1];
    if (plain) return body.ignore_empty === true && raw === 0 ? SKIP : raw;
  }
  const parsed = parseScalar(scalarType, raw);
  if (!parsed.ok) return SKIP; // the structural walk already reported it
  if (body.ignore_empty === true && (parsed.value === '' || parsed.value === 0 || parsed.value === 0n)) return SKIP;
  return parsed.value;
}

// The checks below keep their closures out of the common path: a function
// whose closures capture a local allocates a context on every call.

function checkNumber(ctx: RuleContext, path: Loc, body: Rules, v: number | bigint, absent: boolean): void {
  if (body.const === undefined && body.in === undefined && body.not_in === undefined && numberInRange(body, v)) return;
  numberProblems(ctx, path, body, v, absent);
}

function numberProblems(ctx: RuleContext, path: Loc, body: Rules, v: number | bigint, absent: boolean): void {
  const unset = absent ? ' (the field is unset, so it is 0)' : '';
  if (body.const !== undefined && v != (body.const as number)) fail(ctx, path, `value must equal ${body.const}${unset}`);
  if (Array.isArray(body.in) && !body.in.some((x) => x == v)) fail(ctx, path, `value must be in list [${body.in.join(', ')}]${unset}`);
  if (Array.isArray(body.not_in) && body.not_in.some((x) => x == v)) fail(ctx, path, `value must not be in list [${body.not_in.join(', ')}]${unset}`);
  const range = rangeCheck(body, (bound) => compareNumbers(v, bound as number), String);
  if (range) fail(ctx, path, range + unset);
}

/** Every bound satisfied: rangeCheck has nothing to say (the common case, without its closures). */
function numberInRange(body: Rules, v: number | bigint): boolean {
  return (
    (body.gt === undefined || v > (body.gt as number)) &&
    (body.gte === undefined || v >= (body.gte as number)) &&
    (body.lt === undefined || v < (body.lt as number)) &&
    (body.lte === undefined || v <= (body.lte as number))
  );
}

function compareNumbers(a: number | bigint, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * PGV's gt/gte/lt/lte: with both bounds, lower < upper means "inside the
 * range", lower >= upper means "outside it" (an exclusive range).
 */
function rangeCheck(body: Rules, cmp: (bound: unknown) => number, show: (bound: unknown) => string): string | null {
  const lowKey = body.gt !== undefined ? 'gt' : body.gte !== undefined ? 'gte' : null;
  const highKey = body.lt !== undefined ? 'lt' : body.lte !== undefined ? 'lte' : null;
  const lowOk = lowKey === null || (lowKey === 'gt' ? cmp(body.gt) > 0 : cmp(body.gte) >= 0);
  const highOk = highKey === null || (highKey === 'lt' ? cmp(body.lt) < 0 : cmp(body.lte) <= 0);
  if (lowKey && highKey) {
    const low = body[lowKey];
    const high = body[highKey];
    const lowText = `${lowKey === 'gt' ? '(' : '['}${show(low)}`;
    const highText = `${show(high)}${highKey === 'lt' ? ')' : ']'}`;
    // a lower bound above the upper one makes an exclusive range: either side will do
    const inside = boundsAscending(low, high);
    if (inside && !(lowOk && highOk)) return `value must be inside range ${lowText}, ${highText}`;
    if (!inside && !(lowOk || highOk)) {
      const below = highKey === 'lt' ? `less than ${show(high)}` : `less than or equal to ${show(high)}`;
      const above = lowKey === 'gt' ? `greater than ${show(low)}` : `greater than or equal to ${show(low)}`;
      return `value must be ${below} or ${above}`;
    }
    return null;
  }
  if (!lowOk) return lowKey === 'gt' ? `value must be greater than ${show(body.gt)}` : `value must be greater than or equal to ${show(body.gte)}`;
  if (!highOk) return highKey === 'lt' ? `value must be less than ${show(body.lt)}` : `value must be less than or equal to ${show(body.lte)}`;
  return null;
}

function boundsAscending(low: unknown, high: unknown): boolean {
  if (typeof low === 'number' && typeof high === 'number') return low < high;
  const a = durationBound(low);
  const b = durationBound(high);
  return compareDuration(a, b) < 0;
}

function durationBound(v: unknown): DurationValue {
  const o = isPlainObject(v) ? v : {};
  return { seconds: Number(o.seconds ?? 0), nanos: Number(o.nanos ?? 0) };
}

/** True when a present, well-formed duration passes every rule (nothing reported). */
function checkDuration(ctx: RuleContext, path: Loc, body: Rules, raw: unknown): boolean {
  if (raw === undefined) {
    if (body.required === true) fail(ctx, path, 'value is required');
    return false;
  }
  const parsed = parseDuration(raw);
  if (!parsed.ok) return false;
  if (body.const === undefined && body.in === undefined && body.not_in === undefined && durationInRange(body, parsed.value)) return true;
  durationProblems(ctx, path, body, parsed.value);
  return false;
}

/** Every bound satisfied (compared as rangeCheck compares them, without its closures). */
function durationInRange(body: Rules, d: DurationValue): boolean {
  return (
    (body.gt === undefined || compareToBound(d, body.gt) > 0) &&
    (body.gte === undefined || compareToBound(d, body.gte) >= 0) &&
    (body.lt === undefined || compareToBound(d, body.lt) < 0) &&
    (body.lte === undefined || compareToBound(d, body.lte) <= 0)
  );
}

/** compareDuration(d, durationBound(bound)) without the bound's object. */
function compareToBound(d: DurationValue, bound: unknown): number {
  const o = isPlainObject(bound) ? bound : NO_PAIRS;
  const seconds = Number(o.seconds ?? 0);
  const nanos = Number(o.nanos ?? 0);
  return d.seconds !== seconds ? Math.sign(d.seconds - seconds) : Math.sign(d.nanos - nanos);
}

function durationProblems(ctx: RuleContext, path: Loc, body: Rules, d: DurationValue): void {
  const show = (b: unknown): string => formatDuration(durationBound(b));
  if (body.const !== undefined && compareDuration(d, durationBound(body.const)) !== 0) fail(ctx, path, `value must equal ${show(body.const)}`);
  if (Array.isArray(body.in) && !body.in.some((b) => compareDuration(d, durationBound(b)) === 0)) {
    fail(ctx, path, `value must be in list [${body.in.map(show).join(', ')}]`);
  }
  if (Array.isArray(body.not_in) && body.not_in.some((b) => compareDuration(d, durationBound(b)) === 0)) {
    fail(ctx, path, `value must not be in list [${body.not_in.map(show).join(', ')}]`);
  }
  const range = rangeCheck(body, (b) => compareDuration(d, durationBound(b)), show);
  if (range) fail(ctx, path, range);
}

function checkTimestamp(ctx: RuleContext, path: Loc, body: Rules, raw: unknown): void {
  if (raw === undefined) {
    if (body.required === true) fail(ctx, path, 'value is required');
    return;
  }
  const parsed = parseTimestamp(raw);
  if (!parsed.ok) return;
  const ms = (b: unknown): number => durationBound(b).seconds * 1000 + durationBound(b).nanos / 1e6;
  const range = rangeCheck(body, (b) => Math.sign(parsed.value - ms(b)), (b) => new Date(ms(b)).toISOString());
  if (range) fail(ctx, path, range);
  if (body.const !== undefined && parsed.value !== ms(body.const)) fail(ctx, path, `value must equal ${new Date(ms(body.const)).toISOString()}`);
}

function checkAny(ctx: RuleContext, path: Loc, body: Rules, raw: unknown): void {
  if (raw === undefined) {
    if (body.required === true) fail(ctx, path, 'value is required');
    return;
  }
  const url = isPlainObject(raw) ? raw['@type'] : undefined;
  if (typeof url !== 'string') return;
  if (Array.isArray(body.in) && !body.in.includes(url)) fail(ctx, path, `type URL must be in list [${body.in.join(', ')}]`);
  if (Array.isArray(body.not_in) && body.not_in.includes(url)) fail(ctx, path, `type URL must not be in list [${body.not_in.join(', ')}]`);
}

/** number → first name, per enum (aliases share a number) */
const enumNames = new WeakMap<EnumSchema, Map<number, string>>();

function enumName(schema: EnumSchema, n: number): string | undefined {
  let names = enumNames.get(schema);
  if (!names) {
    names = new Map();
    for (const [k, v] of Object.entries(schema.values)) if (!names.has(v)) names.set(v, k);
    enumNames.set(schema, names);
  }
  return names.get(n);
}

function checkEnum(ctx: RuleContext, path: Loc, body: Rules, elem: ElementType, raw: unknown): void {
  const schema = ctx.enumSchema(elem.type);
  if (!schema) return;
  // the usual case: a value written by name under defined_only alone, which a name defines
  if (typeof raw === 'string' && body.const === undefined && body.in === undefined && body.not_in === undefined && Object.hasOwn(schema.values, raw)) return;
  let n: number;
  if (raw === undefined) n = 0;
  else if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && raw in schema.values) n = schema.values[raw]!;
  else return; // the structural walk already reported it
  const name = enumName(schema, n);
  const shown = name ?? String(n);
  if (body.defined_only === true && name === undefined) fail(ctx, path, `value must be one of the defined enum values (${n} is not defined in ${elem.type})`);
  if (typeof body.const === 'number' && n !== body.const) fail(ctx, path, `value must equal ${body.const}`);
  if (Array.isArray(body.in) && !body.in.includes(n)) fail(ctx, path, `value ${shown} must be in list [${body.in.join(', ')}]`);
  if (Array.isArray(body.not_in) && body.not_in.includes(n)) {
    fail(ctx, path, `value ${shown} must not be in list [${body.not_in.join(', ')}]${raw === undefined ? ' (the field is unset, so it is the zero value)' : ''}`);
  }
}

// PGV's well-known header regexes (validate.h), strict and loose forms.
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;

const patternCache = new Map<string, RegExp | null>();

function compiledPattern(pattern: string): RegExp | null {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = null;
    }
    patternCache.set(pattern, re);
  }
  return re;
}

/** One string rule: a message when `s` breaks it, else null. */
type StringRule = (s: string, absent: boolean) => string | null;

/**
 * The usual string rules (lengths and PGV's header rules) as plain numbers,
 * so a passing value is recognised in one monomorphic call; null when the
 * rules hold anything else (the rule list then judges every value).
 */
interface StringLimits {
  minLen: number;
  maxLen: number;
  minBytes: number;
  maxBytes: number;
  header: HeaderRule;
}

const enum HeaderRule {
  None,
  /** strict: false — no NUL, CR or LF */
  Loose,
  StrictName,
  StrictValue,
}

const LIMIT_KEYS = new Set(['min_len', 'max_len', 'min_bytes', 'max_bytes', 'well_known_regex', 'strict']);

function stringLimits(body: Rules): StringLimits | null {
  if (!Object.keys(body).every((k) => LIMIT_KEYS.has(k))) return null;
  const num = (k: string, none: number): number => (typeof body[k] === 'number' ? (body[k] as number) : none);
  const which = body.well_known_regex;
  const name = which === 'HTTP_HEADER_NAME' || which === 1;
  const value = which === 'HTTP_HEADER_VALUE' || which === 2;
  if (which !== undefined && !name && !value) return null;
  const strict = body.strict !== false;
  return {
    minLen: num('min_len', 0),
    maxLen: num('max_len', Infinity),
    minBytes: num('min_bytes', 0),
    maxBytes: num('max_bytes', Infinity),
    header: !name && !value ? HeaderRule.None : !strict ? HeaderRule.Loose : name ? HeaderRule.StrictName : HeaderRule.StrictValue,
  };
}

/** True when `s` passes every rule `limits` stands for (the same tests as compileString's). */
function withinLimits(limits: StringLimits, s: string): boolean {
  if (s.length < 2 * limits.minLen && codePoints(s) < limits.minLen) return false;
  if (s.length > limits.maxLen && codePoints(s) > limits.maxLen) return false;
  if (s.length < limits.minBytes && Buffer.byteLength(s, 'utf8') < limits.minBytes) return false;
  if (s.length * 3 > limits.maxBytes && Buffer.byteLength(s, 'utf8') > limits.maxBytes) return false;
  switch (limits.header) {
    case HeaderRule.Loose:
      return !hasNulCrLf(s);
    case HeaderRule.StrictName:
      return HEADER_NAME_STRICT.test(s);
    case HeaderRule.StrictValue:
      return HEADER_VALUE_STRICT.test(s);
    default:
      return true;
  }
}

/** The string rules present in `body`, each compiled once (most fields carry one or two). */
function compileString(body: Rules): StringRule[] {
  const rules: StringRule[] = [];
  const unset = (absent: boolean): string => (absent ? ' (the field is unset)' : '');
  const num = (k: string): number | undefined => (typeof body[k] === 'number' ? (body[k] as number) : undefined);
  const text = (k: string): string | undefined => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  const add = (rule: StringRule): void => {
    rules.push(rule);
  };
  const konst = text('const');
  if (konst !== undefined) add((s) => (s !== konst ? `value must equal ${JSON.stringify(konst)}` : null));
  const len = num('len');
  if (len !== undefined) add((s, a) => (codePoints(s) !== len ? `value length must be ${len} characters${unset(a)}` : null));
  const minLen = num('min_len');
  // a string of n UTF-16 units has at least n/2 code points: only short ones need counting
  if (minLen !== undefined) add((s, a) => (s.length < 2 * minLen && codePoints(s) < minLen ? `value length must be at least ${minLen} characters${unset(a)}` : null));
  const maxLen = num('max_len');
  if (maxLen !== undefined) add((s) => (s.length > maxLen && codePoints(s) > maxLen ? `value length must be at most ${maxLen} characters` : null));
  const lenBytes = num('len_bytes');
  if (lenBytes !== undefined) add((s, a) => (Buffer.byteLength(s, 'utf8') !== lenBytes ? `value length must be ${lenBytes} bytes${unset(a)}` : null));
  const minBytes = num('min_bytes');
  if (minBytes !== undefined) add((s, a) => (s.length < minBytes && Buffer.byteLength(s, 'utf8') < minBytes ? `value length must be at least ${minBytes} bytes${unset(a)}` : null));
  const maxBytes = num('max_bytes');
  // a UTF-16 unit is at most 3 UTF-8 bytes
  if (maxBytes !== undefined) add((s) => (s.length * 3 > maxBytes && Buffer.byteLength(s, 'utf8') > maxBytes ? `value length must be at most ${maxBytes} bytes` : null));
  const pattern = text('pattern');
  const re = pattern === undefined ? null : compiledPattern(pattern);
  if (re) add((s, a) => (!re.test(s) ? `value does not match regex pattern ${JSON.stringify(pattern)}${unset(a)}` : null));
  const prefix = text('prefix');
  if (prefix !== undefined) add((s) => (!s.startsWith(prefix) ? `value does not have prefix ${JSON.stringify(prefix)}` : null));
  const suffix = text('suffix');
  if (suffix !== undefined) add((s) => (!s.endsWith(suffix) ? `value does not have suffix ${JSON.stringify(suffix)}` : null));
  const contains = text('contains');
  if (contains !== undefined) add((s) => (!s.includes(contains) ? `value does not contain substring ${JSON.stringify(contains)}` : null));
  const notContains = text('not_contains');
  if (notContains !== undefined) add((s) => (s.includes(notContains) ? `value contains substring ${JSON.stringify(notContains)}` : null));
  const list = (v: unknown[]): string => `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  const inList = Array.isArray(body.in) ? body.in : undefined;
  if (inList) add((s, a) => (!inList.includes(s) ? `value must be in list ${list(inList)}${unset(a)}` : null));
  const notIn = Array.isArray(body.not_in) ? body.not_in : undefined;
  if (notIn) add((s) => (notIn.includes(s) ? `value must not be in list ${list(notIn)}` : null));
  const header = headerRule(body);
  if (header) add(header);
  const wellKnown = wellKnownStringRule(body);
  if (wellKnown) add(wellKnown);
  return rules;
}

/** Length in code points (PGV counts runes), without materialising them. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff) n--;
  }
  return n;
}

/** NUL, CR or LF: what PGV's loose (strict: false) header rule rejects. */
function hasNulCrLf(s: string): boolean {
  return s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0 || s.indexOf('\0') >= 0;
}

function headerRule(body: Rules): StringRule | null {
  const strict = body.strict !== false; // PGV: strict defaults to true
  const which = body.well_known_regex;
  const loose = (what: string) => (s: string): string | null =>
    hasNulCrLf(s) ? `value must be a valid HTTP header ${what}: ${JSON.stringify(s)} contains NUL, CR or LF` : null;
  if (which === 'HTTP_HEADER_NAME' || which === 1) {
    if (!strict) return loose('name');
    return (s) => (HEADER_NAME_STRICT.test(s) ? null : `value must be a valid HTTP header name: ${JSON.stringify(s)} is not an RFC 7230 token (optionally ':'-prefixed)`);
  }
  if (which === 'HTTP_HEADER_VALUE' || which === 2) {
    if (!strict) return loose('value');
    return (s) => (HEADER_VALUE_STRICT.test(s) ? null : `value must be a valid HTTP header value: ${JSON.stringify(s)} contains a control character`);
  }
  return null;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function wellKnownStringRule(body: Rules): StringRule | null {
  const checks: Array<[boolean, (s: string) => boolean, string]> = [
    [body.hostname === true, (s) => HOSTNAME_RE.test(s), 'value must be a valid hostname'],
    [body.ip === true, (s) => isIP(s) !== 0, 'value must be a valid IP address'],
    [body.ipv4 === true, (s) => isIP(s) === 4, 'value must be a valid IPv4 address'],
    [body.ipv6 === true, (s) => isIP(s) === 6, 'value must be a valid IPv6 address'],
    [body.address === true, (s) => isIP(s) !== 0 || HOSTNAME_RE.test(s), 'value must be a valid hostname or IP address'],
    [body.uuid === true, (s) => UUID_RE.test(s), 'value must be a valid UUID'],
  ];
  const active = checks.filter(([on]) => on);
  if (active.length === 0) return null;
  return (s) => active.find(([, ok]) => !ok(s))?.[2] ?? null;
}

function checkBytes(ctx: RuleContext, path: Loc, body: Rules, raw: string): void {
  const decoded = raw === '' ? null : parseBytes(raw);
  const n = decoded?.ok ? decoded.value.length : 0;
  if (typeof body.len === 'number' && n !== body.len) fail(ctx, path, `value length must be ${body.len} bytes`);
  if (typeof body.min_len === 'number' && n < body.min_len) fail(ctx, path, `value length must be at least ${body.min_len} bytes`);
  if (typeof body.max_len === 'number' && n > body.max_len) fail(ctx, path, `value length must be at most ${body.max_len} bytes`);
}
