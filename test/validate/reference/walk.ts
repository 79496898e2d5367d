// The validator as it was before the compiled walk (kept verbatim for the
// differential test: test/validate/differential.test.ts): the reference the
// fast validator in src/validate must agree with, finding for finding.

// The structural walk: a JSON value against an Envoy message type, as
// protobuf's JSON parser would read it (unknown keys, enum names, oneofs,
// scalar forms, well-known types, Any by @type), plus (validate.rules) and
// deprecation. Linear in the size of the document; per-type lookups are
// compiled once per process.

import type { EnvoySchema, FieldSchema, MessageSchema } from '../../../src/validate/schema.js';
import { indexPath, keyPath, type Finding } from '../../../src/validate/findings.js';
import { compileFieldRules, type Check, type RuleContext } from './rules.js';
import {
  describe,
  isPlainObject,
  durationProblem,
  parseMapKey,
  parseTimestamp,
  scalarProblem,
  WRAPPERS,
} from '../../../src/validate/scalars.js';

interface CompiledField {
  f: FieldSchema;
  /** its (validate.rules), compiled; null when it has none or rules are disabled */
  check: Check | null;
  /** a message field whose type has its own JSON form (Duration, wrappers, Any…) */
  special: boolean;
  /** a message field's type, compiled on first use */
  target?: CompiledMessage | undefined;
  /** for an Any field where Envoy looks the type up among one kind of extension */
  category: ExtensionCategory | undefined;
}

interface ExtensionCategory {
  what: string;
  /** type name prefixes of that kind of extension */
  prefixes: string[];
  /** prefixes accepted too, not named in the message */
  elsewhere?: string[];
}

const HTTP_FILTER: ExtensionCategory = { what: 'an HTTP filter', prefixes: ['envoy.extensions.filters.http.', 'envoy.extensions.common.matching.'] };
const PER_ROUTE: ExtensionCategory = { what: 'a per-route HTTP filter config', prefixes: ['envoy.extensions.filters.http.', 'envoy.config.route.v3.FilterConfig'] };

/**
 * Any fields where Envoy resolves the @type in one factory category: a
 * config of another category is "Didn't find a registered implementation".
 */
const EXTENSION_CATEGORIES: Readonly<Record<string, ExtensionCategory>> = {
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.typed_config': HTTP_FILTER,
  'envoy.config.listener.v3.Filter.typed_config': { what: 'a network filter', prefixes: ['envoy.extensions.filters.network.'] },
  // UDP listener filters are accepted too; their fit to the listener's protocol is a cross-reference (checkListenerFilterKinds)
  'envoy.config.listener.v3.ListenerFilter.typed_config': { what: 'a listener filter', prefixes: ['envoy.extensions.filters.listener.'], elsewhere: ['envoy.extensions.filters.udp.'] },
  'envoy.config.core.v3.TransportSocket.typed_config': { what: 'a transport socket', prefixes: ['envoy.extensions.transport_sockets.'] },
  'envoy.config.accesslog.v3.AccessLog.typed_config': { what: 'an access logger', prefixes: ['envoy.extensions.access_loggers.'] },
  'envoy.config.route.v3.RouteConfiguration.typed_per_filter_config': PER_ROUTE,
  'envoy.config.route.v3.VirtualHost.typed_per_filter_config': PER_ROUTE,
  'envoy.config.route.v3.Route.typed_per_filter_config': PER_ROUTE,
  'envoy.config.route.v3.WeightedCluster.ClusterWeight.typed_per_filter_config': PER_ROUTE,
  'envoy.config.cluster.v3.Cluster.typed_extension_protocol_options': {
    what: 'upstream protocol options',
    prefixes: ['envoy.extensions.upstreams.', 'envoy.extensions.filters.network.'],
  },
};

interface CompiledMessage {
  name: string;
  schema: MessageSchema;
  /** both the proto name and the JSON name of each field */
  byKey: Map<string, CompiledField>;
  /** non-oneof fields with rules: checked whether present or not (proto3 scalars have a value when absent) */
  rulesAlways: CompiledField[];
  /** oneof name → member field names, for oneofs that must have a member set */
  requiredOneofs: Array<{ name: string; members: string[] }>;
}

/** A message met during the walk and its JSON path (joined when read). */
export interface Site {
  readonly value: Record<string, unknown>;
  readonly path: string;
}

/**
 * A check of one message on its own, run as the walk meets it (no copy of
 * the path kept): findings, or NO_FINDINGS.
 */
export type LocalCheck = (site: Site) => readonly Finding[];

export const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** A message of a collected type met during the walk, for cross-reference checks. */
export class Collected {
  private text: string | undefined;

  constructor(
    readonly value: Record<string, unknown>,
    private readonly base: string,
    private readonly segs: ReadonlyArray<string | number>,
  ) {}

  /** its JSON path, joined on first use (most collected messages never need it) */
  get path(): string {
    this.text ??= joinPath(this.base, this.segs);
    return this.text;
  }
}

function joinPath(base: string, segs: ReadonlyArray<string | number>): string {
  let p = base;
  for (const s of segs) p = typeof s === 'number' ? indexPath(p, s) : keyPath(p, s);
  return p;
}

const compiledBySchema = new WeakMap<EnvoySchema, Map<string, CompiledMessage>>();

function compiledFor(schema: EnvoySchema): Map<string, CompiledMessage> {
  let cache = compiledBySchema.get(schema);
  if (!cache) {
    cache = new Map();
    compiledBySchema.set(schema, cache);
  }
  return cache;
}

function compile(schema: EnvoySchema, name: string): CompiledMessage | undefined {
  const cache = compiledFor(schema);
  const hit = cache.get(name);
  if (hit) return hit;
  const msg = schema.messages[name];
  if (!msg) return undefined;
  const byKey = new Map<string, CompiledField>();
  const fields: CompiledField[] = msg.fields.map((f) => ({
    f,
    check: msg.rulesDisabled ? null : compileFieldRules(f),
    special: f.kind === 'message' && SPECIAL_JSON.has(f.type),
    category: EXTENSION_CATEGORIES[`${name}.${f.name}`],
  }));
  for (const cf of fields) {
    byKey.set(cf.f.name, cf);
    byKey.set(cf.f.json, cf);
  }
  const compiled: CompiledMessage = {
    name,
    schema: msg,
    byKey,
    rulesAlways: fields.filter((cf) => cf.check !== null && !cf.f.oneof),
    requiredOneofs: (msg.requiredOneofs ?? []).map((o) => ({
      name: o,
      members: msg.fields.filter((f) => f.oneof === o).map((f) => f.name),
    })),
  };
  cache.set(name, compiled);
  return compiled;
}

const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** Well-known types whose JSON is not an object of their fields. */
const SPECIAL_JSON = new Set([
  'google.protobuf.Any',
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.FieldMask',
  'google.protobuf.Empty',
  ...Object.keys(WRAPPERS),
]);

export class Walker implements RuleContext {
  readonly findings: Finding[] = [];
  readonly collected = new Map<string, Collected[]>();
  /** where the walk is: a path prefix plus a stack of keys and indexes, joined only for a finding */
  private base = '';
  private readonly segs: Array<string | number> = [];
  /** oneof name, member name pairs set in the messages being walked (each message truncates back to its start) */
  private readonly oneofs: string[] = [];
  private readonly compiled: Map<string, CompiledMessage>;
  /** the current path, for rule checks that fail */
  readonly here: () => string = () => this.path();

  constructor(
    private readonly schema: EnvoySchema,
    private readonly collectTypes: ReadonlySet<string> = new Set(),
    private readonly localChecks: ReadonlyMap<string, LocalCheck> = new Map(),
  ) {
    this.compiled = compiledFor(schema);
  }

  private path(): string {
    return joinPath(this.base, this.segs);
  }

  error(path: string, message: string): void {
    this.findings.push({ path, message, severity: 'error' });
  }

  private err(message: string, key?: string): void {
    const p = this.path();
    this.error(key === undefined ? p : keyPath(p, key), message);
  }

  private warn(message: string): void {
    this.findings.push({ path: this.path(), message, severity: 'warning' });
  }

  enumSchema(type: string) {
    return this.schema.enums[type];
  }

  hasMessage(type: string): boolean {
    return type in this.schema.messages;
  }

  /** Walk `value` as a message of `type` (full name, no leading dot); findings' paths start at `path`. */
  message(type: string, value: unknown, path: string): void {
    this.base = path;
    this.segs.length = 0;
    this.messageHere(type, value);
  }

  private messageHere(type: string, value: unknown): void {
    if (SPECIAL_JSON.has(type)) {
      this.wellKnown(type, value);
      return;
    }
    this.messageObject(this.compiled.get(type) ?? compile(this.schema, type), type, value);
  }

  private messageObject(compiled: CompiledMessage | undefined, type: string, value: unknown): void {
    if (!compiled) {
      this.err(`unknown message type ${type}`);
      return;
    }
    if (!isPlainObject(value)) {
      this.err(`expected an object (${type}), got ${describe(value)}`);
      return;
    }
    this.fields(compiled, value, false);
  }

  /** The fields of one message object; inside an Any, "@type" is not a field. */
  private fields(msg: CompiledMessage, obj: Record<string, unknown>, inAny: boolean): void {
    if (this.collectTypes.has(msg.name)) this.collect(msg.name, obj);
    const local = this.localChecks.get(msg.name);
    if (local) this.runLocal(local, obj);
    if (msg.schema.deprecated) this.warn(`message ${msg.name} is deprecated`);
    const oneofs = this.oneofs;
    const oneofStart = oneofs.length;
    const keys = Object.keys(obj);
    const segs = this.segs;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (inAny && key === '@type') continue;
      const cf = msg.byKey.get(key);
      if (!cf) {
        this.err(unknownFieldMessage(msg, key), key);
        continue;
      }
      const field = cf.f;
      // the parser takes either name; both at once set the field twice
      if (key === field.json && field.json !== field.name && field.name in obj) {
        this.err(`field ${field.name} is set twice (as "${field.name}" and "${key}")`, key);
        continue;
      }
      const value = obj[key];
      // JSON null = unset; undefined never reaches the output (JSON and YAML drop it)
      if (value === undefined || (value === null && field.type !== 'google.protobuf.Value')) continue;
      segs.push(key);
      if (field.oneof) {
        const other = oneofMember(oneofs, oneofStart, field.oneof);
        if (other !== undefined) {
          this.err(`oneof ${field.oneof} of ${msg.name} has more than one member set: ${other} and ${field.name}`);
        } else oneofs.push(field.oneof, field.name);
      }
      if (field.deprecated) this.warn(`field ${field.name} of ${msg.name} is deprecated`);
      if (field.disallowed) this.err(`field ${field.name} of ${msg.name} is disallowed by default in Envoy (deprecated)`);
      this.fieldValue(cf, value);
      if (cf.check !== null && field.oneof) cf.check(this, value, this.here);
      segs.pop();
    }
    const always = msg.rulesAlways;
    for (let i = 0; i < always.length; i++) {
      const { f, check } = always[i]!;
      const key = f.name in obj ? f.name : f.json in obj ? f.json : undefined;
      segs.push(key ?? f.name);
      check!(this, key === undefined ? undefined : obj[key], this.here);
      segs.pop();
    }
    for (const oneof of msg.requiredOneofs) {
      if (oneofMember(oneofs, oneofStart, oneof.name) === undefined) {
        this.err(`oneof ${oneof.name} of ${msg.name} requires exactly one of: ${oneof.members.join(', ')}`);
      }
    }
    oneofs.length = oneofStart;
  }

  private runLocal(check: LocalCheck, value: Record<string, unknown>): void {
    const walker = this;
    const found = check({
      value,
      get path() {
        return walker.path();
      },
    });
    for (const f of found) this.findings.push(f);
  }

  private collect(type: string, value: Record<string, unknown>): void {
    let list = this.collected.get(type);
    if (!list) {
      list = [];
      this.collected.set(type, list);
    }
    list.push(new Collected(value, this.base, this.segs.slice()));
  }

  private fieldValue(cf: CompiledField, value: unknown): void {
    const field = cf.f;
    if (field.label === 'repeated') {
      if (!Array.isArray(value)) {
        this.err(`expected an array for repeated field ${field.name}, got ${describe(value)}`);
        return;
      }
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        this.segs.push(i);
        if (item === null) this.err('null is not allowed as a repeated element');
        else this.singleValue(cf, item);
        this.segs.pop();
      }
    } else if (field.label === 'map') {
      if (!isPlainObject(value)) {
        this.err(`expected an object for map field ${field.name}, got ${describe(value)}`);
        return;
      }
      for (const key of Object.keys(value)) {
        this.segs.push(key);
        const k = parseMapKey(field.keyType ?? 'string', key);
        if (!k.ok) this.err(k.message);
        const v = value[key];
        if (v === null) this.err('null is not allowed as a map value');
        else this.singleValue(cf, v);
        this.segs.pop();
      }
    } else {
      this.singleValue(cf, value);
    }
  }

  private singleValue(cf: CompiledField, value: unknown): void {
    const field = cf.f;
    if (field.kind === 'message') {
      if (cf.special) this.wellKnown(field.type, value, cf.category);
      else this.messageObject((cf.target ??= compile(this.schema, field.type)), field.type, value);
    } else if (field.kind === 'enum') this.enumValue(field.type, value);
    else {
      const problem = scalarProblem(field.type, value);
      if (problem !== null) this.err(problem);
    }
  }

  private enumValue(type: string, value: unknown): void {
    if (type === 'google.protobuf.NullValue') {
      if (value !== null && value !== 'NULL_VALUE') this.err(`expected null, got ${describe(value)}`);
      return;
    }
    const e = this.schema.enums[type];
    if (!e) {
      this.err(`unknown enum type ${type}`);
      return;
    }
    if (typeof value === 'string') {
      if (!(value in e.values)) {
        this.err(`unknown value ${JSON.stringify(value)} for enum ${type}; expected one of ${Object.keys(e.values).join(', ')}`);
      } else if (e.deprecatedValues?.includes(value)) {
        this.warn(`enum value ${value} of ${type} is deprecated`);
      }
    } else if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) this.err(`invalid enum number ${value} for ${type}`);
    } else {
      this.err(`expected an enum value name (${type}), got ${describe(value)}`);
    }
  }

  private wellKnown(type: string, value: unknown, category?: ExtensionCategory): void {
    const wrapped = WRAPPERS[type];
    if (wrapped) {
      if (isPlainObject(value)) {
        this.err(`${type} is written as a bare ${wrapped} value in JSON/YAML, not as an object`);
        return;
      }
      const problem = scalarProblem(wrapped, value);
      if (problem !== null) this.err(`${type}: ${problem}`);
      return;
    }
    switch (type) {
      case 'google.protobuf.Duration': {
        const problem = durationProblem(value);
        if (problem !== null) this.err(problem);
        return;
      }
      case 'google.protobuf.Timestamp': {
        const t = parseTimestamp(value);
        if (!t.ok) this.err(t.message);
        return;
      }
      case 'google.protobuf.Struct':
        if (!isPlainObject(value)) this.err(`expected an object (google.protobuf.Struct), got ${describe(value)}`);
        return;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value)) this.err(`expected an array (google.protobuf.ListValue), got ${describe(value)}`);
        return;
      case 'google.protobuf.Value':
        return; // any JSON
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string') this.err(`expected a string (google.protobuf.FieldMask), got ${describe(value)}`);
        return;
      case 'google.protobuf.Empty':
        if (!isPlainObject(value) || Object.keys(value).length > 0) this.err(`expected {} (google.protobuf.Empty), got ${describe(value)}`);
        return;
      case 'google.protobuf.Any':
        this.any(value, category);
        return;
    }
  }

  /** Any: {"@type": "type.googleapis.com/<full.name>", ...fields}, resolved against every loaded type. */
  private any(value: unknown, category: ExtensionCategory | undefined): void {
    if (!isPlainObject(value)) {
      this.err(`expected an object with "@type" (google.protobuf.Any), got ${describe(value)}`);
      return;
    }
    const url = value['@type'];
    if (url === undefined) {
      this.err('google.protobuf.Any without "@type"');
      return;
    }
    if (typeof url !== 'string') {
      this.err(`"@type" must be a string, got ${describe(url)}`, '@type');
      return;
    }
    const slash = url.lastIndexOf('/');
    const name = url.slice(slash + 1);
    if (slash < 0 || name === '') {
      this.err(`malformed type URL ${JSON.stringify(url)}: expected "type.googleapis.com/<full.type.Name>"`, '@type');
      return;
    }
    if (SPECIAL_JSON.has(name)) {
      // a well-known type inside an Any carries its JSON form under "value"
      for (const k of Object.keys(value)) {
        if (k !== '@type' && k !== 'value') this.err(`unknown field "${k}" in an Any holding ${name} (its JSON goes under "value")`, k);
      }
      this.segs.push('value');
      this.wellKnown(name, value.value);
      this.segs.pop();
      return;
    }
    const compiled = compile(this.schema, name);
    if (!compiled) {
      this.err(`unknown @type ${JSON.stringify(url)}: no such message in Envoy's API (${name})`, '@type');
      return;
    }
    if (category && !TYPED_STRUCTS.has(name) && ![...category.prefixes, ...(category.elsewhere ?? [])].some((p) => name.startsWith(p))) {
      this.err(`${name} is not ${category.what}: Envoy looks this @type up among ${category.prefixes.map((p) => `${p}*`).join(', ')}`, '@type');
    }
    this.fields(compiled, value, true);
    if (TYPED_STRUCTS.has(name)) this.typedStruct(value, category);
  }

  /** TypedStruct carries another message as a Struct: Envoy converts it, so check it as that type. */
  private typedStruct(value: Record<string, unknown>, category: ExtensionCategory | undefined): void {
    const url = value.type_url ?? value.typeUrl;
    if (typeof url !== 'string') return;
    const name = url.slice(url.lastIndexOf('/') + 1);
    if (!this.hasMessage(name)) {
      this.err(`unknown type_url ${JSON.stringify(url)}: no such message in Envoy's API`, 'type_url');
      return;
    }
    if (category && ![...category.prefixes, ...(category.elsewhere ?? [])].some((p) => name.startsWith(p))) {
      this.err(`${name} is not ${category.what}: Envoy looks this type up among ${category.prefixes.map((p) => `${p}*`).join(', ')}`, 'type_url');
    }
    this.segs.push('value');
    this.messageHere(name, value.value ?? {});
    this.segs.pop();
  }
}

/** The member set for `oneof` among the pairs pushed since `start`, if any. */
function oneofMember(pairs: string[], start: number, oneof: string): string | undefined {
  for (let i = start; i < pairs.length; i += 2) if (pairs[i] === oneof) return pairs[i + 1];
  return undefined;
}

function unknownFieldMessage(msg: CompiledMessage, key: string): string {
  const guess = closestField(msg, key);
  return `unknown field "${key}" in ${msg.name}${guess ? ` (did you mean "${guess}"?)` : ''}`;
}

function closestField(msg: CompiledMessage, key: string): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  const lower = key.toLowerCase();
  for (const f of msg.schema.fields) {
    for (const candidate of [f.name, f.json]) {
      const d = editDistance(lower, candidate.toLowerCase());
      if (d < bestDistance) {
        bestDistance = d;
        best = f.name;
      }
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
