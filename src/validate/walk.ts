// The structural walk: a JSON value against an Envoy message type, as
// protobuf's JSON parser would read it (unknown keys, enum names, oneofs,
// scalar forms, well-known types, Any by @type), plus (validate.rules) and
// deprecation.
//
// Each message type is compiled once per process into a plan (a key → field
// table whose entries say, as small codes, how the value is checked: scalar,
// enum with its values, nested plan, well-known JSON form, rules), so the walk
// of a value is a table lookup and a switch, never a reading of the
// descriptors. The walk allocates nothing per value that passes: keys come
// from for-in (V8 serves them from the object's enum cache), the path is a
// stack of keys and indexes joined only when a finding is made, and Any
// type URLs are resolved once per distinct URL.
//
// Rule checks (rules.ts) run only where they can say something: an absent
// field whose rules pass when absent is skipped (decided once per type), and
// scalar values that passed a field's rules once pass again without a rerun.
//
// test/validate/reference holds the interpretive walker this replaced; the
// differential test checks both give the same findings.

import type { EnumSchema, EnvoySchema, FieldSchema, MessageSchema } from './schema.js';
import { indexPath, keyPath, type Finding } from './findings.js';
import { compileFieldRules, onlyRequired, type Check, type RuleContext } from './rules.js';
import {
  describe,
  isPlainObject,
  durationProblem,
  parseMapKey,
  parseTimestamp,
  scalarProblem,
  WRAPPERS,
} from './scalars.js';

interface ExtensionCategory {
  what: string;
  /** type name prefixes of that kind of extension */
  prefixes: string[];
  /** prefixes accepted too, not named in the message: their fit is checked elsewhere */
  elsewhere: string[];
  /** type name → whether it is of this kind (the same few types recur thousands of times) */
  member: Map<string, boolean>;
}

/** `elsewhere`: prefixes also accepted here, whose fit depends on the context and is checked in crossref.ts. */
function category(what: string, prefixes: string[], elsewhere: string[] = []): ExtensionCategory {
  return { what, prefixes, elsewhere, member: new Map() };
}

function inCategory(c: ExtensionCategory, name: string): boolean {
  let verdict = c.member.get(name);
  if (verdict === undefined) {
    verdict = startsWithAny(name, c.prefixes) || startsWithAny(name, c.elsewhere);
    c.member.set(name, verdict);
  }
  return verdict;
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (name.startsWith(p)) return true;
  return false;
}

const HTTP_FILTER = category('an HTTP filter', ['envoy.extensions.filters.http.', 'envoy.extensions.common.matching.']);
const PER_ROUTE = category('a per-route HTTP filter config', ['envoy.extensions.filters.http.', 'envoy.config.route.v3.FilterConfig']);

/**
 * Any fields where Envoy resolves the @type in one factory category: a
 * config of another category is "Didn't find a registered implementation".
 */
const EXTENSION_CATEGORIES: ReadonlyMap<string, ExtensionCategory> = new Map([
  ['envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.typed_config', HTTP_FILTER],
  ['envoy.config.listener.v3.Filter.typed_config', category('a network filter', ['envoy.extensions.filters.network.'])],
  // UDP listener filters (udp_proxy) too: which kind a listener takes is checked in crossref.ts (checkListenerFilterKinds)
  ['envoy.config.listener.v3.ListenerFilter.typed_config', category('a listener filter', ['envoy.extensions.filters.listener.'], ['envoy.extensions.filters.udp.'])],
  ['envoy.config.core.v3.TransportSocket.typed_config', category('a transport socket', ['envoy.extensions.transport_sockets.'])],
  ['envoy.config.accesslog.v3.AccessLog.typed_config', category('an access logger', ['envoy.extensions.access_loggers.'])],
  ['envoy.config.route.v3.RouteConfiguration.typed_per_filter_config', PER_ROUTE],
  ['envoy.config.route.v3.VirtualHost.typed_per_filter_config', PER_ROUTE],
  ['envoy.config.route.v3.Route.typed_per_filter_config', PER_ROUTE],
  ['envoy.config.route.v3.WeightedCluster.ClusterWeight.typed_per_filter_config', PER_ROUTE],
  [
    'envoy.config.cluster.v3.Cluster.typed_extension_protocol_options',
    category('upstream protocol options', ['envoy.extensions.upstreams.', 'envoy.extensions.filters.network.']),
  ],
]);

// How a field's value is written: its label, and what one element is.
const SINGLE = 0;
const REPEATED = 1;
const MAP = 2;

const SCALAR = 0;
const ENUM = 1;
const MESSAGE = 2;
/** a well-known type with its own JSON form (see WellKnown) */
const WELL_KNOWN = 3;

/** The well-known types whose JSON is not an object of their fields. */
const enum WellKnown {
  Wrapper,
  Duration,
  Timestamp,
  Struct,
  ListValue,
  Value,
  FieldMask,
  Empty,
  Any,
}

const WELL_KNOWN_TYPES: ReadonlyMap<string, WellKnown> = new Map([
  ['google.protobuf.Any', WellKnown.Any],
  ['google.protobuf.Duration', WellKnown.Duration],
  ['google.protobuf.Timestamp', WellKnown.Timestamp],
  ['google.protobuf.Struct', WellKnown.Struct],
  ['google.protobuf.Value', WellKnown.Value],
  ['google.protobuf.ListValue', WellKnown.ListValue],
  ['google.protobuf.FieldMask', WellKnown.FieldMask],
  ['google.protobuf.Empty', WellKnown.Empty],
  ...Object.keys(WRAPPERS).map((t): [string, WellKnown] => [t, WellKnown.Wrapper]),
]);

/** Wrapper type → the scalar type it wraps (a Map: a keyed read of an object is tuned to the first few names it sees). */
const WRAPPED: ReadonlyMap<string, string> = new Map(Object.entries(WRAPPERS));

/**
 * Scalars with a check that needs no call (the common JSON forms); any other
 * value goes to scalarProblem, which has the final word.
 */
const enum Scalar {
  String,
  Bool,
  Uint32,
  Int32,
  Other,
}

const SCALARS: ReadonlyMap<string, Scalar> = new Map([
  ['string', Scalar.String],
  ['bool', Scalar.Bool],
  ['uint32', Scalar.Uint32],
  ['int32', Scalar.Int32],
]);

/** True when `v` is certainly a valid JSON form of the scalar (false: ask scalarProblem). */
function plainScalar(kind: Scalar, v: unknown): boolean {
  switch (kind) {
    case Scalar.String:
      return typeof v === 'string';
    case Scalar.Bool:
      return typeof v === 'boolean';
    case Scalar.Uint32:
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
    case Scalar.Int32:
      return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
    default:
      return false;
  }
}

/**
 * One field of a message plan. The schema's FieldSchema objects differ in
 * which optional keys they carry (so reading them in the walk is a
 * megamorphic load): the plan copies what the walk reads into one shape.
 */
interface FieldPlan {
  f: FieldSchema;
  name: string;
  json: string;
  type: string;
  oneof: string | null;
  keyType: string;
  scalar: Scalar;
  /** the proto name when the JSON name differs: both keys in one object set the field twice */
  alias: string | null;
  /** SINGLE, REPEATED or MAP */
  label: number;
  /** what one element is: SCALAR, ENUM, MESSAGE or WELL_KNOWN (then `wellKnown` says which) */
  value: number;
  wellKnown: WellKnown;
  /** a message field's plan, compiled on first use */
  target: MessagePlan | null | undefined;
  /** an enum field's values (null when the type is unknown); NullValue is special */
  enumValues: EnumSchema | null;
  nullValue: boolean;
  /** JSON null is a value (google.protobuf.Value), not "unset" */
  nullIsValue: boolean;
  /** (validate.rules) of a oneof member, run when it is the member set */
  oneofCheck: RuleCheck | null;
  /** this field's bit among its message's always-checked fields (0: not one) */
  alwaysBit: number;
  /** setting it is what makes the message's local check worth running (LocalCheck.onlyWith) */
  wakesLocal: boolean;
  /** for an Any field where Envoy looks the type up among one kind of extension */
  category: ExtensionCategory | undefined;
  /** deprecated or disallowed: something to report whenever it is set */
  flagged: boolean;
}

interface MessagePlan {
  name: string;
  schema: MessageSchema;
  deprecated: boolean;
  /** both the proto name and the JSON name of each field */
  byKey: Map<string, FieldPlan>;
  /**
   * Non-oneof fields with rules: checked whether present or not (proto3
   * scalars have a value when absent). An absent field always gets the same
   * verdict, found once here: when it passes, an absent field is skipped.
   */
  always: AlwaysCheck[] | null;
  /** oneof name → member field names, for oneofs that must have a member set */
  requiredOneofs: RequiredOneof[] | null;
  /** kept for the cross-reference checks */
  collect: boolean;
  local: LocalCheck | undefined;
}

// (`always` and `requiredOneofs` are null when a message has none, never an empty list: an
// empty array literal is another kind of array for V8 than a list of objects, and the walk
// reading both would be recompiled when the second kind turns up)

interface RequiredOneof {
  name: string;
  members: string[];
}

interface AlwaysCheck {
  name: string;
  json: string;
  check: RuleCheck;
  /** its rules pass when the field is absent */
  absentPasses: boolean;
  /** its rules pass whenever the field is set (message.required alone) */
  setPasses: boolean;
}

/**
 * A field's compiled rules and the scalar values known to pass them. A rule
 * check is a pure function of the value, and the same few values (flags,
 * status codes, limits) recur thousands of times: each distinct one is
 * checked once. Values that fail are checked every time, so
 * each place they occur gets its finding.
 */
interface RuleCheck {
  run: Check;
  passing: Set<unknown>;
}

/** Per field: enough for the values that recur, bounded for those that never do. */
const MAX_PASSING = 256;

function ruleCheck(run: Check | null): RuleCheck | null {
  return run === null ? null : { run, passing: new Set() };
}

/** Fields whose presence the key loop records in a bit mask (more fall back to `in` lookups). */
const MAX_ALWAYS_BITS = 30;

/** A message met during the walk and its JSON path (joined when read). */
export interface Site {
  readonly value: Record<string, unknown>;
  readonly path: string;
}

/**
 * A check of one message on its own, run as the walk meets it (no copy of
 * the path kept): findings, or NO_FINDINGS. The site is only valid during
 * the call.
 */
export interface LocalCheck {
  (site: Site): readonly Finding[];
  /**
   * The keys (proto or JSON names) of the fields the check reads, when it finds nothing unless
   * one of them is set: the walk then runs it only for messages that set one.
   */
  readonly onlyWith?: readonly string[];
}

export const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/**
 * A message of a collected type met during the walk, for cross-reference
 * checks. Its path is kept relative to the collected message enclosing it
 * (a route's action below its route configuration): tens of thousands are
 * kept, few paths are ever read.
 */
export class Collected {
  constructor(
    /** its message type (full name) */
    readonly type: string,
    readonly value: Record<string, unknown>,
    /** the collected message enclosing it, if any */
    readonly parent: Collected | null,
    private readonly base: string,
    /** its path below its parent (below `base` when it has none) */
    readonly segs: ReadonlyArray<string | number>,
  ) {}

  /** its JSON path, joined on first use (most collected messages never need it) */
  get path(): string {
    let text = joinedPaths.get(this);
    if (text === undefined) joinedPaths.set(this, (text = joinPath(this.parent === null ? this.base : this.parent.path, this.segs)));
    return text;
  }
}

// Joined paths are kept beside the collected messages, not in a field of theirs: a field written
// after creation turns mutable on the map, which throws away the walk's optimised code (it makes
// Collected objects inline) in the middle of the walk. (few paths are read: a small weak map)
const joinedPaths = new WeakMap<Collected, string>();

function joinPath(base: string, segs: ReadonlyArray<string | number>): string {
  let p = base;
  for (const s of segs) p = typeof s === 'number' ? indexPath(p, s) : keyPath(p, s);
  return p;
}

/** What an Any's "@type" names, resolved once per distinct URL. */
type AnyTarget =
  | { kind: 'malformed' }
  /** a well-known type: its JSON goes under "value" */
  | { kind: 'wellKnown'; name: string; wellKnown: WellKnown }
  | { kind: 'unknown'; name: string }
  | { kind: 'message'; name: string; plan: MessagePlan; typedStruct: boolean };

const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** Plans for one schema and one choice of collected types and local checks. */
class Plans {
  private readonly plans = new Map<string, MessagePlan | null>();
  readonly anyTargets = new Map<string, AnyTarget>();

  constructor(
    readonly schema: EnvoySchema,
    private readonly collectTypes: ReadonlySet<string>,
    private readonly localChecks: ReadonlyMap<string, LocalCheck>,
  ) {}

  private readonly enums = new Map<string, EnumSchema | undefined>();

  /** An enum's values by its full name (rule checks ask for it on every enum value). */
  enumSchema(type: string): EnumSchema | undefined {
    let e = this.enums.get(type);
    if (e === undefined && !this.enums.has(type)) {
      e = this.schema.enums[type];
      this.enums.set(type, e);
    }
    return e;
  }

  /** The plan of a message type, or null when the schema has no such message. */
  message(name: string): MessagePlan | null {
    let plan = this.plans.get(name);
    if (plan === undefined) {
      plan = Object.hasOwn(this.schema.messages, name) ? this.build(name, this.schema.messages[name]!) : null;
      this.plans.set(name, plan);
    }
    return plan;
  }

  private build(name: string, msg: MessageSchema): MessagePlan {
    const plan: MessagePlan = {
      name,
      schema: msg,
      deprecated: msg.deprecated === true,
      byKey: new Map(),
      always: null,
      requiredOneofs: msg.requiredOneofs ? msg.requiredOneofs.map((o) => ({ name: o, members: msg.fields.filter((f) => f.oneof === o).map((f) => f.name) })) : null,
      collect: this.collectTypes.has(name),
      local: this.localChecks.get(name),
    };
    const always: AlwaysCheck[] = [];
    const alwaysFields: FieldPlan[] = [];
    for (const f of msg.fields) {
      const check = msg.rulesDisabled ? null : compileFieldRules(f);
      const fp = this.field(name, f, f.oneof ? ruleCheck(check) : null);
      plan.byKey.set(fp.name, fp);
      plan.byKey.set(fp.json, fp);
      if (check !== null && !f.oneof) {
        always.push({ name: f.name, json: f.json, check: ruleCheck(check)!, absentPasses: this.passesAbsent(check), setPasses: onlyRequired(f) });
        alwaysFields.push(fp);
      }
    }
    if (always.length > 0) plan.always = always;
    if (alwaysFields.length <= MAX_ALWAYS_BITS) alwaysFields.forEach((fp, i) => (fp.alwaysBit = 1 << i));
    for (const field of plan.local?.onlyWith ?? []) {
      const fp = plan.byKey.get(field);
      if (fp) fp.wakesLocal = true;
    }
    return plan;
  }

  /** Whether a rule check finds nothing on an absent field (rules are pure functions of the value). */
  private passesAbsent(check: Check): boolean {
    let passes = true;
    const probe: RuleContext = {
      error: () => {
        passes = false;
      },
      enumSchema: (type) => this.schema.enums[type],
    };
    check(probe, undefined, () => '');
    return passes;
  }

  private field(owner: string, f: FieldSchema, oneofCheck: RuleCheck | null): FieldPlan {
    const wellKnown = f.kind === 'message' ? WELL_KNOWN_TYPES.get(f.type) : undefined;
    return {
      f,
      name: f.name,
      json: f.json,
      type: f.type,
      oneof: f.oneof ?? null,
      keyType: f.keyType ?? 'string',
      scalar: SCALARS.get(f.type) ?? Scalar.Other,
      alias: f.json !== f.name ? f.name : null,
      label: f.label === 'repeated' ? REPEATED : f.label === 'map' ? MAP : SINGLE,
      value: f.kind === 'scalar' ? SCALAR : f.kind === 'enum' ? ENUM : wellKnown !== undefined ? WELL_KNOWN : MESSAGE,
      wellKnown: wellKnown ?? WellKnown.Any,
      target: undefined,
      enumValues: f.kind === 'enum' && Object.hasOwn(this.schema.enums, f.type) ? this.schema.enums[f.type]! : null,
      nullValue: f.type === 'google.protobuf.NullValue',
      nullIsValue: f.type === 'google.protobuf.Value',
      oneofCheck,
      alwaysBit: 0,
      wakesLocal: false,
      category: EXTENSION_CATEGORIES.get(`${owner}.${f.name}`),
      flagged: f.deprecated === true || f.disallowed === true,
    };
  }

  /** What an Any's type URL names (the URL is a string). */
  anyTarget(url: string): AnyTarget {
    let target = this.anyTargets.get(url);
    if (target === undefined) {
      const slash = url.lastIndexOf('/');
      const name = url.slice(slash + 1);
      const wellKnown = WELL_KNOWN_TYPES.get(name);
      const plan = slash < 0 || name === '' || wellKnown !== undefined ? null : this.message(name);
      if (slash < 0 || name === '') target = { kind: 'malformed' };
      else if (wellKnown !== undefined) target = { kind: 'wellKnown', name, wellKnown };
      else if (plan === null) target = { kind: 'unknown', name };
      else target = { kind: 'message', name, plan, typedStruct: TYPED_STRUCTS.has(name) };
      if (this.anyTargets.size < 10_000) this.anyTargets.set(url, target);
    }
    return target;
  }
}

const plansBySchema = new WeakMap<EnvoySchema, WeakMap<ReadonlySet<string>, WeakMap<ReadonlyMap<string, LocalCheck>, Plans>>>();

function plansFor(schema: EnvoySchema, collectTypes: ReadonlySet<string>, localChecks: ReadonlyMap<string, LocalCheck>): Plans {
  let byCollect = plansBySchema.get(schema);
  if (!byCollect) plansBySchema.set(schema, (byCollect = new WeakMap()));
  let byLocal = byCollect.get(collectTypes);
  if (!byLocal) byCollect.set(collectTypes, (byLocal = new WeakMap()));
  let plans = byLocal.get(localChecks);
  if (!plans) byLocal.set(localChecks, (plans = new Plans(schema, collectTypes, localChecks)));
  return plans;
}

/** The one Site a walker hands its local checks: its path is joined only if a check asks. */
class WalkSite implements Site {
  value: Record<string, unknown> = {};
  constructor(private readonly walker: Walker) {}
  get path(): string {
    return this.walker.currentPath();
  }
}

/**
 * A collected message beneath a remembered object, as a later meeting of
 * the object registers it again. Only plain data of the object's own
 * subtree: nothing here holds the document the object sat in.
 */
interface Replayed {
  readonly type: string;
  readonly value: Record<string, unknown>;
  /** its parent's index among the object's replayed messages, or -1: the collected message enclosing the object */
  readonly parent: number;
  /** its path below that parent (parent -1: below the object) */
  readonly segs: ReadonlyArray<string | number>;
}

/** What a clean object was walked as, and the messages collected beneath it, in walk order. */
interface Remembered<P> {
  readonly plan: P;
  readonly replay: readonly Replayed[];
}

const NOTHING_COLLECTED: readonly Replayed[] = Object.freeze([]);

interface CleanMap<V> {
  get(key: object): V | undefined;
  set(key: object, value: V): unknown;
}

/** Where a walker remembers the shared objects it found clean (see Walker.clean). */
interface Memory {
  readonly clean: CleanMap<Remembered<MessagePlan | FieldPlan>>;
  /** message objects walked as the contents of an Any (their "@type" is no field) */
  readonly cleanInAny: CleanMap<Remembered<MessagePlan>>;
  /** whether objects with collected messages beneath are remembered too (replayed when met again) */
  readonly replays: boolean;
  /** objects skipped because they were remembered */
  skipped: number;
}

/**
 * Shared objects found clean, kept by a caller across walks (serve validates
 * every reload, and a reload reuses the frozen virtual hosts of the servers
 * that did not change). An object remembered here is skipped in any later
 * walk that meets it as the same plan, and the messages collected beneath it
 * are registered again at its new place, so cross-reference checks see what
 * a full walk would give. Keyed weakly: an entry dies with its object.
 *
 * Sound because a non-extensible object the emitter makes is never modified
 * afterwards, nor anything reachable from it, and every check of the walk
 * reads only the value (see Walker.clean).
 */
export class WalkCache implements Memory {
  readonly clean = new WeakMap<object, Remembered<MessagePlan | FieldPlan>>();
  readonly cleanInAny = new WeakMap<object, Remembered<MessagePlan>>();
  readonly replays = true;
  /** objects skipped because they were remembered, over every walk with this cache (for tests and measurement) */
  skipped = 0;
}

/** A walker's own memory when no cache is given: one walk, and only objects with nothing collected beneath (as before caches). */
function walkMemory(): Memory {
  return { clean: new Map(), cleanInAny: new Map(), replays: false, skipped: 0 };
}

export class Walker implements RuleContext {
  readonly findings: Finding[] = [];
  readonly collected = new Map<string, Collected[]>();
  /** where the walk is: a path prefix plus a stack of keys and indexes, joined only for a finding */
  private base = '';
  private readonly segs: Array<string | number> = [];
  /** oneof name, member name pairs set in the messages being walked (each message truncates back to its start) */
  private readonly oneofs: string[] = [];
  private readonly plans: Plans;
  private readonly site = new WalkSite(this);
  /**
   * Shared values the walk found clean, with what they were walked as (a message plan, or a
   * repeated field's plan). The emitter freezes what many routes, listeners and clusters
   * share (header lists, per-filter configs): 40% of the benchmark's bootstrap is inside
   * 4,000 such objects. One walked with no finding and nothing collected gives the same
   * again wherever it recurs (the document does not change during a walk, and every check
   * reads only the value), so a later occurrence is skipped. Only objects that cannot be
   * extended are remembered: telling them apart reads one bit. With a WalkCache the memory
   * outlives the walk, and objects with collected messages beneath are remembered with them.
   */
  private readonly memory: Memory;
  /** Messages collected so far: without a cache, a walk that collects one is not skipped later. */
  private collectedCount = 0;
  /** every collected message in walk order, kept only when the memory replays (a remembered object's share is a slice) */
  private readonly log: Collected[] = [];
  /** the collected messages the walk is inside, and the depth of the path stack at each */
  private readonly enclosing: Collected[] = [];
  private readonly enclosingDepth: number[] = [];
  /** the current path, for rule checks that fail */
  readonly here: () => string = () => this.currentPath();

  constructor(
    private readonly schema: EnvoySchema,
    collectTypes: ReadonlySet<string> = new Set(),
    localChecks: ReadonlyMap<string, LocalCheck> = new Map(),
    cache?: WalkCache,
  ) {
    this.plans = plansFor(schema, collectTypes, localChecks);
    this.memory = cache ?? walkMemory();
  }

  currentPath(): string {
    return joinPath(this.base, this.segs);
  }

  error(path: string, message: string): void {
    this.findings.push({ path, message, severity: 'error' });
  }

  private err(message: string, key?: string): void {
    const p = this.currentPath();
    this.error(key === undefined ? p : keyPath(p, key), message);
  }

  private warn(message: string): void {
    this.findings.push({ path: this.currentPath(), message, severity: 'warning' });
  }

  enumSchema(type: string): EnumSchema | undefined {
    return this.plans.enumSchema(type);
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
    const wellKnown = WELL_KNOWN_TYPES.get(type);
    if (wellKnown !== undefined) this.wellKnown(wellKnown, type, value, undefined);
    else this.messageObject(this.plans.message(type), type, value);
  }

  private messageObject(plan: MessagePlan | null, type: string, value: unknown): void {
    if (plan === null) {
      this.err(`unknown message type ${type}`);
      return;
    }
    if (!isPlainObject(value)) {
      this.err(`expected an object (${type}), got ${describe(value)}`);
      return;
    }
    this.fields(plan, value, false);
  }

  /** The fields of one message object; inside an Any, "@type" is not a field. A shared object found clean is walked once. */
  private fields(msg: MessagePlan, obj: Record<string, unknown>, inAny: boolean): void {
    if (Object.isExtensible(obj)) {
      this.fieldsOf(msg, obj, inAny);
      return;
    }
    const clean = inAny ? this.memory.cleanInAny : this.memory.clean;
    if (this.skipRemembered(clean.get(obj), msg)) return;
    const findings = this.findings.length;
    const collected = this.collectedCount;
    this.fieldsOf(msg, obj, inAny);
    const remembered = this.remembered(msg, findings, collected);
    if (remembered !== undefined) clean.set(obj, remembered);
  }

  /**
   * A shared object just walked as `plan`, from where the walk had `findings` findings and
   * `collected` collected messages, as it is to be remembered: undefined when it had a finding
   * (it is walked, and its findings reported, wherever it recurs), or when something was
   * collected beneath it and the memory does not replay.
   */
  private remembered<P>(plan: P, findings: number, collected: number): Remembered<P> | undefined {
    if (this.findings.length !== findings) return undefined;
    if (this.collectedCount === collected) return { plan, replay: NOTHING_COLLECTED };
    return this.memory.replays ? { plan, replay: this.replayOf(this.collectedCount - collected) } : undefined;
  }

  /**
   * The last `count` messages collected (those beneath the object just walked; the path stack is
   * back at it), each with its parent and path relative to the object.
   */
  private replayOf(count: number): Replayed[] {
    const log = this.log;
    const top = this.enclosing.length - 1;
    // the enclosing collected message: the object's own path starts this far into its segments
    const outer = top < 0 ? null : this.enclosing[top]!;
    const skip = this.segs.length - (top < 0 ? 0 : this.enclosingDepth[top]!);
    const index = new Map<Collected, number>();
    const replay: Replayed[] = [];
    for (let i = log.length - count; i < log.length; i++) {
      const c = log[i]!;
      index.set(c, replay.length);
      const inner = c.parent === outer ? undefined : index.get(c.parent!);
      replay.push(
        inner === undefined
          ? { type: c.type, value: c.value, parent: -1, segs: c.segs.slice(skip) }
          : { type: c.type, value: c.value, parent: inner, segs: c.segs },
      );
    }
    return replay;
  }

  /** Skip a remembered object met again as the same plan, registering what was collected beneath it. */
  private skipRemembered<P>(remembered: Remembered<P> | undefined, plan: P): boolean {
    if (remembered === undefined || remembered.plan !== plan) return false;
    this.memory.skipped++;
    const replay = remembered.replay;
    if (replay.length === 0) return true;
    const top = this.enclosing.length - 1;
    const outer = top < 0 ? null : this.enclosing[top]!;
    // from the enclosing collected message (or the walk's base) to the object
    const toObject = this.segs.slice(top < 0 ? 0 : this.enclosingDepth[top]);
    const made: Collected[] = [];
    for (let i = 0; i < replay.length; i++) {
      const r = replay[i]!;
      const parent = r.parent < 0 ? outer : made[r.parent]!;
      const segs = r.parent < 0 ? (toObject.length === 0 ? r.segs : toObject.concat(r.segs)) : r.segs;
      made.push(this.register(new Collected(r.type, r.value, parent, this.base, segs)));
    }
    return true;
  }

  private fieldsOf(msg: MessagePlan, obj: Record<string, unknown>, inAny: boolean): void {
    if (msg.collect) this.collect(msg.name, obj);
    const local = msg.local;
    // the message's own check runs once its keys are seen (one that needs one of its fields set may not
    // run at all); its findings still go first. (One call, after the loop, for both kinds: a call there
    // only the rare kind reached had no type feedback, and threw the optimised walk away when first met.)
    const localAt = this.findings.length;
    let localWoken = local !== undefined && local.onlyWith === undefined;
    if (msg.deprecated) this.warn(`message ${msg.name} is deprecated`);
    const oneofs = this.oneofs;
    const oneofStart = oneofs.length;
    const segs = this.segs;
    const byKey = msg.byKey;
    // which always-checked fields are present, under their proto or their JSON name
    let byName = 0;
    let byJson = 0;
    // for-in walks own keys in Object.keys order (these are plain objects), without building an array
    for (const key in obj) {
      if (inAny && key === '@type') continue;
      const fp = byKey.get(key);
      if (fp === undefined) {
        this.err(unknownFieldMessage(msg, key), key);
        continue;
      }
      if (fp.alwaysBit !== 0) {
        if (key === fp.name) byName |= fp.alwaysBit;
        else byJson |= fp.alwaysBit;
      }
      if (fp.wakesLocal) localWoken = true;
      // the parser takes either name; both at once set the field twice
      if (fp.alias !== null && key === fp.json && fp.alias in obj) {
        this.err(`field ${fp.alias} is set twice (as "${fp.alias}" and "${key}")`, key);
        continue;
      }
      const value = obj[key];
      // JSON null = unset; undefined never reaches the output (JSON and YAML drop it)
      if (value === undefined || (value === null && !fp.nullIsValue)) continue;
      segs.push(key);
      const oneof = fp.oneof;
      if (oneof !== null) {
        const other = oneofMember(oneofs, oneofStart, oneof);
        if (other !== undefined) {
          this.err(`oneof ${oneof} of ${msg.name} has more than one member set: ${other} and ${fp.name}`);
        } else oneofs.push(oneof, fp.name);
      }
      if (fp.flagged) this.flaggedField(msg, fp.f);
      if (fp.label === SINGLE) this.single(fp, value);
      else if (fp.label === REPEATED) this.repeated(fp, value);
      else this.map(fp, value);
      if (fp.oneofCheck !== null) this.rules(fp.oneofCheck, value);
      segs.pop();
    }
    if (localWoken) this.runLocal(local!, obj, localAt);
    if (msg.always !== null) this.alwaysChecks(msg.always, obj, byName, byJson);
    if (msg.requiredOneofs !== null) this.requiredOneofsSet(msg, msg.requiredOneofs, oneofStart);
    // (popping, not setting length: that is a builtin call, slow at this rate)
    while (oneofs.length > oneofStart) oneofs.pop();
    if (msg.collect) {
      this.enclosing.pop();
      this.enclosingDepth.pop();
    }
  }

  /** Each oneof that must have a member set has one (the members set are on this.oneofs from `oneofStart`). */
  private requiredOneofsSet(msg: MessagePlan, required: RequiredOneof[], oneofStart: number): void {
    for (let i = 0; i < required.length; i++) {
      const oneof = required[i]!;
      if (oneofMember(this.oneofs, oneofStart, oneof.name) === undefined) {
        this.err(`oneof ${oneof.name} of ${msg.name} requires exactly one of: ${oneof.members.join(', ')}`);
      }
    }
  }

  /** The rules of fields checked present or absent; `byName`/`byJson`: the bits of those present. */
  private alwaysChecks(always: AlwaysCheck[], obj: Record<string, unknown>, byName: number, byJson: number): void {
    const masked = always.length <= MAX_ALWAYS_BITS;
    for (let i = 0; i < always.length; i++) {
      const a = always[i]!;
      let key: string | undefined;
      if (masked) {
        const bit = 1 << i;
        key = (byName & bit) !== 0 ? a.name : (byJson & bit) !== 0 ? a.json : undefined;
      } else key = a.name in obj ? a.name : a.json in obj ? a.json : undefined;
      if (key === undefined && a.absentPasses) continue;
      const value = key === undefined ? undefined : obj[key];
      if (a.setPasses && value !== undefined && value !== null) continue;
      this.segs.push(key ?? a.name);
      this.rules(a.check, value);
      this.segs.pop();
    }
  }

  /** Run a field's rules on `value` (the path is where the walk is), unless it is a scalar known to pass. */
  private rules(check: RuleCheck, value: unknown): void {
    // strings are left to the checks themselves: they are cheap on a string, and
    // hashing each distinct string instance for the set would cost as much
    const remembered = value === null || (typeof value !== 'object' && typeof value !== 'string');
    const passing = check.passing;
    if (remembered && passing.has(value)) return;
    const before = this.findings.length;
    check.run(this, value, this.here);
    if (remembered && this.findings.length === before && passing.size < MAX_PASSING) passing.add(value);
  }

  private flaggedField(msg: MessagePlan, field: FieldSchema): void {
    if (field.deprecated) this.warn(`field ${field.name} of ${msg.name} is deprecated`);
    if (field.disallowed) this.err(`field ${field.name} of ${msg.name} is disallowed by default in Envoy (deprecated)`);
  }

  /** Run a local check; its findings go at `at` in the list (where the message's own findings start). */
  private runLocal(check: LocalCheck, value: Record<string, unknown>, at: number): void {
    this.site.value = value;
    const found = check(this.site);
    if (found.length === 0) return;
    if (at === this.findings.length) for (let i = 0; i < found.length; i++) this.findings.push(found[i]!);
    else this.findings.splice(at, 0, ...found);
  }

  private collect(type: string, value: Record<string, unknown>): void {
    const top = this.enclosing.length - 1;
    const parent = top < 0 ? null : this.enclosing[top]!;
    const collected = this.register(new Collected(type, value, parent, this.base, this.segs.slice(top < 0 ? 0 : this.enclosingDepth[top])));
    this.enclosing.push(collected);
    this.enclosingDepth.push(this.segs.length);
  }

  /** Add a collected message to its type's list (and to the log a remembered object's share is taken from). */
  private register(collected: Collected): Collected {
    this.collectedCount++;
    const list = this.collected.get(collected.type) ?? this.newCollectedList(collected.type);
    list.push(collected);
    if (this.memory.replays) this.log.push(collected);
    return collected;
  }

  // (a few times per run: kept out of register, which is hot)
  private newCollectedList(type: string): Collected[] {
    const list: Collected[] = [];
    this.collected.set(type, list);
    return list;
  }

  private repeated(fp: FieldPlan, value: unknown): void {
    if (!Array.isArray(value)) {
      this.err(`expected an array for repeated field ${fp.name}, got ${describe(value)}`);
      return;
    }
    // a shared list (see `clean`) found clean as this field is walked once
    if (Object.isExtensible(value)) this.items(fp, value);
    else this.sharedOnce(fp, value, this.items);
  }

  /** Walks a frozen (shared) list or map with `walk` the first time; later, replays what was found. */
  private sharedOnce<T extends object>(fp: FieldPlan, value: T, walk: (fp: FieldPlan, value: T) => void): void {
    const clean = this.memory.clean;
    if (this.skipRemembered(clean.get(value), fp)) return;
    const findings = this.findings.length;
    const collected = this.collectedCount;
    walk.call(this, fp, value);
    const remembered = this.remembered(fp, findings, collected);
    if (remembered !== undefined) clean.set(value, remembered);
  }

  private items(fp: FieldPlan, value: unknown[]): void {
    const segs = this.segs;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      segs.push(i);
      if (item === null) this.err('null is not allowed as a repeated element');
      else this.single(fp, item);
      segs.pop();
    }
  }

  private map(fp: FieldPlan, value: unknown): void {
    if (!isPlainObject(value)) {
      this.err(`expected an object for map field ${fp.name}, got ${describe(value)}`);
      return;
    }
    // a shared map (see `clean`: the per-filter configs many routes carry) found clean as this field is walked once
    if (Object.isExtensible(value)) this.entries(fp, value);
    else this.sharedOnce(fp, value, this.entries);
  }

  private entries(fp: FieldPlan, value: Record<string, unknown>): void {
    const keyType = fp.keyType;
    const segs = this.segs;
    for (const key in value) {
      segs.push(key);
      if (keyType !== 'string') {
        const k = parseMapKey(keyType, key);
        if (!k.ok) this.err(k.message);
      }
      const v = value[key];
      if (v === null) this.err('null is not allowed as a map value');
      else this.single(fp, v);
      segs.pop();
    }
  }

  private single(fp: FieldPlan, value: unknown): void {
    switch (fp.value) {
      case MESSAGE: {
        let plan = fp.target;
        if (plan === undefined) plan = fp.target = this.plans.message(fp.type);
        this.messageObject(plan, fp.type, value);
        return;
      }
      case WELL_KNOWN:
        this.wellKnown(fp.wellKnown, fp.type, value, fp.category);
        return;
      case ENUM:
        this.enumValue(fp, value);
        return;
      default: {
        if (plainScalar(fp.scalar, value)) return;
        const problem = scalarProblem(fp.type, value);
        if (problem !== null) this.err(problem);
      }
    }
  }

  private enumValue(fp: FieldPlan, value: unknown): void {
    const type = fp.type;
    if (fp.nullValue) {
      if (value !== null && value !== 'NULL_VALUE') this.err(`expected null, got ${describe(value)}`);
      return;
    }
    const e = fp.enumValues;
    if (e === null) {
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

  /** A wrapper type (google.protobuf.UInt32Value…): a bare scalar of the wrapped type in JSON. */
  private wrapper(type: string, value: unknown): void {
    const wrapped = WRAPPED.get(type)!;
    if (isPlainObject(value)) {
      this.err(`${type} is written as a bare ${wrapped} value in JSON/YAML, not as an object`);
      return;
    }
    const problem = scalarProblem(wrapped, value);
    if (problem !== null) this.err(`${type}: ${problem}`);
  }

  private wellKnown(kind: WellKnown, type: string, value: unknown, category: ExtensionCategory | undefined): void {
    switch (kind) {
      case WellKnown.Duration: {
        const problem = durationProblem(value);
        if (problem !== null) this.err(problem);
        return;
      }
      case WellKnown.Any:
        this.any(value, category);
        return;
      case WellKnown.Wrapper:
        this.wrapper(type, value);
        return;
      case WellKnown.Timestamp: {
        const t = parseTimestamp(value);
        if (!t.ok) this.err(t.message);
        return;
      }
      case WellKnown.Struct:
        if (!isPlainObject(value)) this.err(`expected an object (google.protobuf.Struct), got ${describe(value)}`);
        return;
      case WellKnown.ListValue:
        if (!Array.isArray(value)) this.err(`expected an array (google.protobuf.ListValue), got ${describe(value)}`);
        return;
      case WellKnown.Value:
        return; // any JSON
      case WellKnown.FieldMask:
        if (typeof value !== 'string') this.err(`expected a string (google.protobuf.FieldMask), got ${describe(value)}`);
        return;
      case WellKnown.Empty:
        if (!isPlainObject(value) || !isEmptyObject(value)) this.err(`expected {} (google.protobuf.Empty), got ${describe(value)}`);
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
    const target = this.plans.anyTarget(url);
    switch (target.kind) {
      case 'malformed':
        this.err(`malformed type URL ${JSON.stringify(url)}: expected "type.googleapis.com/<full.type.Name>"`, '@type');
        return;
      case 'wellKnown':
        // a well-known type inside an Any carries its JSON form under "value"
        for (const k in value) {
          if (k !== '@type' && k !== 'value') this.err(`unknown field "${k}" in an Any holding ${target.name} (its JSON goes under "value")`, k);
        }
        this.segs.push('value');
        this.wellKnown(target.wellKnown, target.name, value.value, undefined);
        this.segs.pop();
        return;
      case 'unknown':
        this.err(`unknown @type ${JSON.stringify(url)}: no such message in Envoy's API (${target.name})`, '@type');
        return;
      case 'message':
        if (category && !target.typedStruct && !inCategory(category, target.name)) {
          this.err(`${target.name} is not ${category.what}: Envoy looks this @type up among ${category.prefixes.map((p) => `${p}*`).join(', ')}`, '@type');
        }
        this.fields(target.plan, value, true);
        if (target.typedStruct) this.typedStruct(value, category);
    }
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
    if (category && !inCategory(category, name)) {
      this.err(`${name} is not ${category.what}: Envoy looks this type up among ${category.prefixes.map((p) => `${p}*`).join(', ')}`, 'type_url');
    }
    this.segs.push('value');
    this.messageHere(name, value.value ?? {});
    this.segs.pop();
  }
}

function isEmptyObject(obj: Record<string, unknown>): boolean {
  for (const _ in obj) return false;
  return true;
}

/** The member set for `oneof` among the pairs pushed since `start`, if any. */
function oneofMember(pairs: string[], start: number, oneof: string): string | undefined {
  for (let i = start; i < pairs.length; i += 2) if (pairs[i] === oneof) return pairs[i + 1];
  return undefined;
}

function unknownFieldMessage(msg: MessagePlan, key: string): string {
  const guess = closestField(msg.schema, key);
  return `unknown field "${key}" in ${msg.name}${guess ? ` (did you mean "${guess}"?)` : ''}`;
}

function closestField(msg: MessageSchema, key: string): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  const lower = key.toLowerCase();
  for (const f of msg.fields) {
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
