// http `map` blocks that route requests: `proxy_pass http://$tenant_upstream;` and
// `if ($bad_bot) { return 403; }` where the variable comes from a map on a request
// value Envoy's route matchers can test (a header, $host, $http_host, $request_method).
// Envoy routes are first-match: the map's keys become header matchers on ordered
// routes, in nginx's lookup order (exact keys → longest `*.x` → longest `x.*` →
// regexes in order → default; checked with nginx 1.22):
// - exact and wildcard keys are compared with the value lowercased (ASCII);
// - with `hostnames`, one trailing dot of the value is ignored, by regexes too;
// - regexes are searched in the value as it is (for $host: lowercased), never in an
//   empty one; an absent header is an empty value, found by a `""` key only.
import type { Directive } from '../parse/ast.js';
import type { HttpMap, MapInput, MapKey } from '../ir/types.js';
import { readMap, type MapBlock } from './map-block.js';
import { pcreToRe2 } from './regex.js';
import { directivesOf, type Level, runCache, runSet, srcOf } from './util.js';
import type { Reporter } from './classify.js';

/** Routes one map may add to a location (the bench's 2,000-entry map stays reported). */
export const MAX_MAP_ROUTES = 64;

/** Longest alternation of keys on one route (Envoy's RE2 program size limit is set to 10,000). */
const MAX_ALTERNATION = 2000;

/** A map a route can test, with how exactly, or why it cannot be tested. */
export type MapUse =
  | { ok: true; map: HttpMap; block: MapBlock; cls: 'translated' | 'approximated'; how: string }
  | { ok: false; why: string; block: MapBlock | null };

// The maps of an http level by the variable they define (lowercased, without `$`).
const mapsByHttp = runCache<Level, Map<string, Directive[]>>();
const uses = runCache<Directive, MapUse>();

/** The map defining `$name` at this http level, read on first use; null when no map defines it. */
export function httpMapOf(http: Level, name: string): MapUse | null {
  let byVar = mapsByHttp.get(http);
  if (!byVar) {
    byVar = new Map();
    for (const d of http.byName.get('map') ?? []) {
      const v = /^\$\{?(\w+)\}?$/.exec(d.args[1]?.value ?? '')?.[1]?.toLowerCase();
      if (v) byVar.set(v, [...(byVar.get(v) ?? []), d]);
    }
    mapsByHttp.set(http, byVar);
  }
  const ds = byVar.get(name.toLowerCase());
  if (!ds) return null;
  if (ds.length > 1) return { ok: false, why: `$${name} is defined by ${ds.length} maps`, block: null };
  let use = uses.get(ds[0]!);
  if (!use) uses.set(ds[0]!, (use = mapUse(ds[0]!)));
  return use;
}

function mapUse(d: Directive): MapUse {
  const block = readMap(d);
  const input = mapInputOf(block.from);
  if ('why' in input) return { ok: false, why: input.why, block };
  const keys: MapKey[] = block.entries.map((e) => ({ kind: e.kind, key: e.key, caseless: e.caseless, value: e.value, source: e.source }));
  const values = [block.defaultValue, ...keys.map((k) => k.value)];
  const variable = values.find((v) => v.includes('$'));
  if (variable !== undefined) return { ok: false, why: `its value \`${variable}\` holds variables`, block };
  for (const k of keys) {
    if (k.kind !== 'regex') continue;
    const conv = pcreToRe2(k.key, k.caseless);
    if (!conv.ok) return { ok: false, why: `its regex key \`~${k.caseless ? '*' : ''}${k.key}\` has no RE2 form: ${conv.message}`, block };
    if (input.kind === 'host' && !k.caseless && !lowercaseSafe(k.key)) {
      return { ok: false, why: `its regex key \`~${k.key}\` is case-sensitive and names capitals, hex or flags: nginx tests the lowercased $host, Envoy the :authority as sent`, block };
    }
    if (input.kind === 'header' && block.hostnames) {
      return { ok: false, why: 'with `hostnames` nginx tests its regex keys on the header without its trailing dot, which a route matcher cannot strip', block };
    }
  }
  const to = block.to.replace(/^\$\{?|\}$/g, '');
  const map: HttpMap = { variable: to.toLowerCase(), input, hostnames: block.hostnames, keys, default: block.defaultValue, source: srcOf(d) };
  return input.kind === 'header' || input.kind === 'http_host'
    ? { ok: true, map, block, cls: 'approximated', how: approximation(input, block.from) }
    : { ok: true, map, block, cls: 'translated', how: `${block.from} is ${input.kind === 'host' ? ':authority (port and trailing dot stripped; exact and wildcard keys compared ignoring case, as nginx compares the lowercased $host)' : ':method'}` };
}

function approximation(input: MapInput, from: string): string {
  if (input.kind === 'http_host') return `${from} is the Host header as sent, Envoy's :authority has had a port and a trailing dot stripped`;
  const name = input.kind === 'header' ? input.name : '';
  return `${from} is the ${name} header (absent: empty, as in nginx); a request with several ${name} lines: nginx reads the first (Cookie and X-Forwarded-For: all, joined), Envoy matches their values joined with ","`;
}

/** The request value a map reads, or why a route cannot test it. */
export function mapInputOf(from: string): MapInput | { why: string } {
  const m = /^\$\{?(\w+)\}?$/.exec(from);
  if (!m) return { why: `it reads \`${from}\`, not one variable` };
  const name = m[1]!.toLowerCase();
  if (name === 'host') return { kind: 'host' };
  if (name === 'http_host') return { kind: 'http_host' };
  if (name === 'request_method') return { kind: 'method' };
  if (name.startsWith('http_') && name.length > 5) return { kind: 'header', name: name.slice(5).replace(/_/g, '-') };
  if (name.startsWith('arg_')) return { why: `it reads ${from}: nginx finds the first argument of that name ignoring case, Envoy's query_parameters matcher names it with its case` };
  if (name.startsWith('cookie_')) return { why: `it reads ${from}: nginx finds the first cookie of that name ignoring case across Cookie lines, which no route matcher on the Cookie header says exactly` };
  return { why: `it reads ${from}, which Envoy's route matchers cannot test` };
}

/**
 * Whether a case-sensitive regex means on a lowercased value what it means, made
 * caseless, on the value as sent: no capital letter outside an escape (`\S`, `\W`),
 * no hex or unicode escape, no inline flags.
 */
function lowercaseSafe(pcre: string): boolean {
  for (let i = 0; i < pcre.length; i++) {
    const c = pcre[i]!;
    if (c === '\\') {
      const n = pcre[i + 1] ?? '';
      if (n === 'x' || n === 'u' || n === 'p' || n === 'P' || n === 'Q' || /[0-9]/.test(n)) return false;
      i++;
      continue;
    }
    if (c >= 'A' && c <= 'Z') return false;
    if (c === '(' && pcre[i + 1] === '?' && !/^\(\?(?::|P?<[A-Za-z_]|')/.test(pcre.slice(i))) return false;
  }
  return true;
}

/** One step of nginx's lookup as a route tests it: exact keys of one value, wildcards, or one regex. */
export interface MapClass {
  kind: MapKey['kind'];
  keys: MapKey[];
  value: string;
}

// Classes by map (a map used by many locations is ordered once).
const classesOf = new WeakMap<HttpMap, MapClass[]>();

/**
 * The map's keys in nginx's lookup order: exact keys grouped by value (they never
 * overlap), `*.x` longest first, `x.*` longest first (neighbours of one value grouped),
 * then each regex in order. A group longer than MAX_ALTERNATION is split.
 */
export function mapClasses(map: HttpMap): MapClass[] {
  let out = classesOf.get(map);
  if (out) return out;
  out = [];
  const exact = new Map<string, MapKey[]>();
  for (const k of map.keys) if (k.kind === 'exact') exact.set(k.value, [...(exact.get(k.value) ?? []), k]);
  for (const [value, keys] of exact) pushGrouped(out, 'exact', keys, value);
  for (const kind of ['wildcard-prefix', 'wildcard-suffix'] as const) {
    const wild = map.keys.filter((k) => k.kind === kind).sort((a, b) => b.key.length - a.key.length);
    for (let i = 0; i < wild.length; ) {
      let j = i + 1;
      while (j < wild.length && wild[j]!.value === wild[i]!.value) j++;
      pushGrouped(out, kind, wild.slice(i, j), wild[i]!.value);
      i = j;
    }
  }
  for (const k of map.keys) if (k.kind === 'regex') out.push({ kind: 'regex', keys: [k], value: k.value });
  classesOf.set(map, out);
  return out;
}

function pushGrouped(out: MapClass[], kind: MapKey['kind'], keys: MapKey[], value: string): void {
  let group: MapKey[] = [];
  let size = 0;
  for (const k of keys) {
    if (group.length && size + k.key.length > MAX_ALTERNATION) {
      out.push({ kind, keys: group, value });
      group = [];
      size = 0;
    }
    group.push(k);
    size += k.key.length * 2 + 1;
  }
  if (group.length) out.push({ kind, keys: group, value });
}

/** nginx's `if ($v)`, `if ($v = x)`, `if ($v != x)` on a value. */
export function testHolds(test: { op: 'truthy' } | { op: 'equals' | 'differs'; value: string }, value: string): boolean {
  if (test.op === 'truthy') return value !== '' && value !== '0';
  return (value === test.value) === (test.op === 'equals');
}

// The variables each server's `set`s write, gathered once per server.
const setsByServer = runCache<Level, Set<string>>();

/** Whether any `set` in a server (its locations and `if`s included) writes `$name`: then the map does not decide it alone. */
export function serverSets(server: Level, name: string): boolean {
  let names = setsByServer.get(server);
  if (!names) {
    const found = new Set<string>();
    const walk = (ds: Directive[]): void => {
      for (const d of ds) {
        if (d.name === 'set' && d.args[0]) found.add(d.args[0].value.replace(/^\$\{?|\}$/g, '').toLowerCase());
        if (d.block) walk(directivesOf(d.block));
      }
    };
    walk(server.ds);
    setsByServer.set(server, (names = found));
  }
  return names.has(name);
}

// Maps reported translated in this run (a map used by many locations is marked once).
const marked = runSet<Directive>();

/** Reports a map (and its entries) as what its first translated use makes of it. */
export function markMapUsed(use: Extract<MapUse, { ok: true }>, r: Reporter, by: string): void {
  const d = use.block.directive;
  if (marked.has(d)) return;
  marked.add(d);
  const reason = `\`map\` ${use.block.from} → $${use.map.variable}: its keys are header matchers on the routes of the ${by} (and any other use translated), in nginx's lookup order; ${use.how}`;
  r.override(d, use.cls, reason);
  const entry = `key of the map at ${use.map.source.file}:${use.map.source.line}: a header matcher where the map is used`;
  for (const e of directivesOf(d.block)) {
    if (e.name === 'include' && e.includes) continue; // (its own entry; the keys it brings follow it)
    if (e.name === 'hostnames' && e.args.length === 0) r.override(e, use.cls, 'keys are host names: wildcards, one trailing dot of the value ignored (in the matchers)');
    else if (e.name === 'volatile' && e.args.length === 0) r.override(e, 'ignored', 'the value is not cached per request: no difference for route matchers');
    else r.override(e, use.cls, e.name === 'default' ? `the map's default: the route after its keys' routes` : entry);
  }
}
