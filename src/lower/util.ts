// Small helpers shared by the lowering modules: AST access, nginx's size and
// time syntax, and variable templates. Plain functions over plain data.
import type { Directive, Statement, SourcePos, Diagnostic } from '../parse/ast.js';
import type { Src, Template, TemplatePart } from '../ir/types.js';
import { DirectiveNode } from '../parse/nodes.js';

// ---------------------------------------------------------------- one lowering run

// How the IR names source files during one lower() call (compile makes them
// relative to the main file's directory). Set for the run, so every Src is
// written once, final, where it is made, instead of a walk over the whole IR after.
let sourceFile: ((file: string) => string) | null = null;
let lastFile: string | null = null;
let lastName = '';

// Caches that live for one lower() call: keyed by this run's AST nodes and
// values, they are emptied when the run ends so nothing outlives it.
const runCaches: { clear(): void }[] = [];

/** A Map emptied at the end of every lower() call. */
export function runCache<K, V>(): Map<K, V> {
  const m = new Map<K, V>();
  runCaches.push(m);
  return m;
}

/** A Set emptied at the end of every lower() call. */
export function runSet<T>(): Set<T> {
  const s = new Set<T>();
  runCaches.push(s);
  return s;
}

/** Run one lowering with `fileName` applied to every source file the IR and the report name. */
export function lowerRun<T>(fileName: ((file: string) => string) | undefined, run: () => T): T {
  sourceFile = fileName ?? null;
  lastFile = null;
  try {
    return run();
  } finally {
    sourceFile = null;
    lastFile = null;
    for (const c of runCaches) c.clear();
  }
}

/** A source file's name as the IR writes it. */
export function fileName(file: string): string {
  if (sourceFile === null) return file;
  // Consecutive positions are nearly always in the same file.
  if (file !== lastFile) {
    lastFile = file;
    lastName = sourceFile(file);
  }
  return lastName;
}

export function src(pos: SourcePos): Src {
  return { file: fileName(pos.file), line: pos.line, col: pos.col };
}

/** `src(d.source)`: a parsed directive's position is made once, already named as the IR names its file. */
export function srcOf(d: Directive): Src {
  return d instanceof DirectiveNode ? d.sourceNamed(fileName(d.sourceFile())) : src(d.source);
}

// ---------------------------------------------------------------- AST access

// The per-level loops of lowering (here, and each module's mark function) step by
// index: they run once per directive and level, largely before the optimising
// compiler has seen them, where for…of allocates an iterator result per step.

export function directivesOf(block: Statement[] | undefined): Directive[] {
  if (!block) return [];
  // Counted first: the list is kept (a level's `ds`), and pushing onto [] would give it a 17-slot store.
  let n = 0;
  for (let i = 0; i < block.length; i++) if (block[i]!.kind === 'directive') n++;
  const out = new Array<Directive>(n);
  let k = 0;
  for (let i = 0; i < block.length; i++) {
    const s = block[i]!;
    if (s.kind === 'directive') out[k++] = s;
  }
  return out;
}

/**
 * One level of nginx's inheritance (the http block, a server, a location): its
 * directives and the same grouped by name, built once when the level is made
 * and shared by everything below it.
 */
export interface Level {
  ds: Directive[];
  byName: Map<string, Directive[]>;
  /** The directive families (directiveFamily) its names belong to, one bit each. */
  families: number;
}

export function levelOf(ds: Directive[]): Level {
  const byName = new Map<string, Directive[]>();
  let families = 0;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    const list = byName.get(d.name);
    if (list) list.push(d);
    else {
      byName.set(d.name, [d]);
      families |= familiesOf(d.name);
    }
  }
  return { ds, byName, families };
}

// ---------------------------------------------------------------- directive families

// A location holds a handful of directives, and a dozen passes (each module's
// marker, the inheritance checks) used to look at every one of them to find the
// few they handle, mostly none. A family is the set of names one such pass
// handles: a level knows which families its names belong to, found once per
// distinct name, so a pass over a level without its family is skipped.

const familyTests: ((name: string) => boolean)[] = [];
// Names seen so far and their families (a name's families never change once all are defined).
const familiesByName = new Map<string, number>();

/**
 * Defines a family by a test on directive names (it may accept names the pass
 * then ignores, never miss one it handles); returns its bit for `holds`.
 * Families are defined when their modules load, before any level is made.
 */
export function directiveFamily(test: (name: string) => boolean): number {
  if (familyTests.length === 31) throw new Error('at most 31 directive families');
  familyTests.push(test);
  familiesByName.clear(); // (a family defined late must not meet stale answers)
  return 1 << (familyTests.length - 1);
}

/** A directive family from a set of names. */
export function familyOfNames(names: ReadonlySet<string>): number {
  return directiveFamily((name) => names.has(name));
}

function familiesOf(name: string): number {
  let bits = familiesByName.get(name);
  if (bits === undefined) {
    bits = 0;
    for (let i = 0; i < familyTests.length; i++) if (familyTests[i]!(name)) bits |= 1 << i;
    familiesByName.set(name, bits);
  }
  return bits;
}

/** Whether a level has any directive of a family (`family`: directiveFamily's bit, or several or-ed). */
export function holds(level: Level, family: number): boolean {
  return (level.families & family) !== 0;
}

/** Whether any of `levels` has a directive of `family`. */
export function anyHolds(levels: readonly Level[], family: number): boolean {
  for (let i = 0; i < levels.length; i++) if ((levels[i]!.families & family) !== 0) return true;
  return false;
}

export function argValues(d: Directive): string[] {
  return d.args.map((a) => a.value);
}

/** Last occurrence of a simple directive at one level (nginx rejects most duplicates; the last wins otherwise). */
export function lastNamed(ds: Directive[], name: string): Directive | undefined {
  let found: Directive | undefined;
  for (const d of ds) if (d.name === name) found = d;
  return found;
}

/** A lowering error: bad input nginx itself would reject or that has no Envoy form at all. */
export class LowerError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export function errorAt(pos: SourcePos, message: string, code: string): LowerError {
  return new LowerError({ severity: 'error', message, source: { ...pos }, code });
}

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, M: 2592000000, y: 31536000000 };

// Inherited timeouts are read again for every location below their level.
const times = runCache<string, number | null>();

/** nginx time syntax (ngx_parse_time): `30`, `500ms`, `1m30s`, `2h`… → milliseconds; null when invalid. */
export function parseTimeMs(text: string): number | null {
  let ms = times.get(text);
  if (ms === undefined) times.set(text, (ms = readTime(text)));
  return ms;
}

function readTime(text: string): number | null {
  const re = /(\d+)(ms|s|m|h|d|w|M|y)?/gy;
  let total = 0;
  let pos = 0;
  if (text === '') return null;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * TIME_UNITS[m[2] ?? 's']!;
    pos = re.lastIndex;
  }
  return total;
}

/** nginx size syntax (ngx_parse_size): `1024`, `10k`, `1m`, `1g` → bytes; null when invalid. */
// client_max_body_size is read again for every location below the level that sets it.
const sizes = runCache<string, number | null>();

export function parseSize(text: string): number | null {
  let n = sizes.get(text);
  if (n === undefined) sizes.set(text, (n = readSize(text)));
  return n;
}

function readSize(text: string): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

/** Split an nginx value into literal text and variables (`$name`, `${name}`, `$1`). */
export function parseTemplate(raw: string): Template {
  const parts: TemplatePart[] = [];
  let text = ''; // literal text not yet pushed (a `$` that starts no variable stays in it)
  let i = 0;
  while (i < raw.length) {
    const dollar = raw.indexOf('$', i);
    if (dollar < 0) {
      text += raw.slice(i);
      break;
    }
    text += raw.slice(i, dollar);
    const v = variableAt(raw, dollar);
    if (v === null) {
      text += '$';
      i = dollar + 1;
      continue;
    }
    if (text) parts.push({ text });
    text = '';
    parts.push({ var: v.name });
    i = v.end;
  }
  if (text) parts.push({ text });
  return { raw, parts };
}

/** The variable named by the `$` at `at` (`$name`, `${name}`, `$1`) and where it ends, or null. */
function variableAt(raw: string, at: number): { name: string; end: number } | null {
  const j = at + 1;
  if (j >= raw.length) return null;
  if (raw[j] === '{') {
    const end = raw.indexOf('}', j);
    return end > j + 1 ? { name: raw.slice(j + 1, end), end: end + 1 } : null;
  }
  if (isDigit(raw.charCodeAt(j))) return { name: raw[j]!, end: j + 1 };
  let end = j;
  while (end < raw.length && isNameChar(raw.charCodeAt(end))) end++;
  return end > j ? { name: raw.slice(j, end), end } : null;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** [A-Za-z0-9_] */
function isNameChar(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

// Templates are plain data no one modifies: the same text (a header value, a
// proxy_pass URL) written in many locations is parsed once per run and shared.
const templates = runCache<string, Template>();

/** parseTemplate, shared for equal texts within one lowering run. */
export function templateOf(raw: string): Template {
  let t = templates.get(raw);
  if (!t) templates.set(raw, (t = parseTemplate(raw)));
  return t;
}

/**
 * One string naming a tuple of strings, for memo keys: each part is prefixed
 * with its length, so no two different tuples give the same key, whatever
 * characters the parts hold.
 */
export function tupleKey(parts: readonly string[]): string {
  let key = '';
  for (const p of parts) key += `${p.length}:${p}`;
  return key;
}

export function hasVariables(t: Template): boolean {
  return t.parts.some((p) => 'var' in p);
}

export function templateText(t: Template): string | null {
  return hasVariables(t) ? null : t.raw;
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
}
