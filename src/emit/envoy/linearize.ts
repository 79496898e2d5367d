// nginx's location search (ngx_http_core_find_location) as an ordered,
// first-match list of route entries (design.md §3):
//   1. exact locations the static search reaches;
//   2. reachable prefix locations, longest first (deeper first on ties), each
//      preceded by the regexes nginx tries for URIs whose deepest prefix it is,
//      guarded by a `:path` prefix header matcher;
//   3. the top-level regexes, unguarded.
// Prefixes whose regex list is the top level's need no guarded copies: one
// unguarded block of the top-level regexes placed before them serves them all,
// as long as every other prefix (`^~`, nested regexes) that some ordinary
// prefix does not extend is placed before that block. With no `^~` and no
// nesting this is exact → regexes → prefixes longest-first. Locations nginx
// never reaches are returned separately.
import type { Location } from '../../ir/types.js';

export type EntryMatch =
  | { kind: 'path'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'regex'; location: Location }
  /** nginx's auto_redirect: `value` (the location name without its slash) answers 301 to the location name. */
  | { kind: 'slash-redirect'; value: string };

export interface RouteEntry {
  location: Location;
  match: EntryMatch;
  /** `:path` prefix a regex entry is guarded by (the deepest prefix it stands for). */
  guard: string | null;
}

export interface Linearised {
  entries: RouteEntry[];
  unreachable: { location: Location; reason: string }[];
}

const isRegex = (l: Location): boolean => l.modifier === 'regex' || l.modifier === 'regex-icase';
const isPrefix = (l: Location): boolean => l.modifier === 'prefix' || l.modifier === 'prefix-stop';

interface Node {
  loc: Location;
  parent: Node | null;
  depth: number;
}

// linearise runs once per server on cold code: it is written as plain loops over
// small helpers (no closures, no callbacks), so that V8 compiles a small graph
// and a new array or object shape met later recompiles only the helper it hits.
export function linearise(top: Location[]): Linearised {
  const found: Collected = { prefixes: [], exacts: [], unreachable: [] };
  collectNodes(top, null, 0, found);
  const unreachable = found.unreachable;
  const cache: SearchIndex = new WeakMap();
  const entries: RouteEntry[] = [];
  slashRedirects(top, found.exacts, cache, entries);
  slashRedirects(top, found.prefixes, cache, entries);
  reachableExacts(top, found.exacts, cache, entries, unreachable);
  const reachable = reachablePrefixes(top, found.prefixes, cache, unreachable);
  reachable.sort(longestFirst);
  const topRegexes = regexesOf(top);
  // A prefix whose regex list differs from the top level's (`^~`, nested regexes)
  // may go before the unguarded top-level regexes when no ordinary prefix extends it.
  const special: Node[] = [];
  const specialLists: Location[][] = [];
  const normal: Node[] = [];
  for (let i = 0; i < reachable.length; i++) {
    const p = reachable[i]!;
    const list = regexesFor(p, topRegexes);
    if (sameList(list, topRegexes)) normal.push(p);
    else {
      special.push(p);
      specialLists.push(list);
    }
  }
  if (noneExtended(special, normal)) {
    for (let i = 0; i < special.length; i++) pushGuarded(entries, special[i]!, specialLists[i]!);
    pushRegexes(entries, topRegexes, null);
    for (let i = 0; i < normal.length; i++) pushPrefix(entries, normal[i]!);
  } else {
    // every prefix in order, each after its own regexes (guarded)
    for (let i = 0; i < reachable.length; i++) {
      const p = reachable[i]!;
      pushGuarded(entries, p, regexesFor(p, topRegexes));
    }
    pushRegexes(entries, topRegexes, null);
  }
  return { entries, unreachable };
}

/** The tree's exact and prefix locations (file order, depth first), and what nginx never reaches under a regex location. */
interface Collected {
  prefixes: Node[];
  exacts: Node[];
  unreachable: Linearised['unreachable'];
}

function collectNodes(locs: Location[], parent: Node | null, depth: number, out: Collected): void {
  for (let i = 0; i < locs.length; i++) {
    const loc = locs[i]!;
    if (isPrefix(loc)) {
      const node: Node = { loc, parent, depth };
      out.prefixes.push(node);
      collectNodes(loc.children, node, depth + 1, out);
    } else if (loc.modifier === 'exact') out.exacts.push({ loc, parent, depth });
    else if (isRegex(loc)) nestedInRegex(loc, out.unreachable);
  }
}

function nestedInRegex(loc: Location, unreachable: Linearised['unreachable']): void {
  for (const c of loc.children) unreachable.push({ location: c, reason: `nested in regex location ${loc.id}: not reached in Envoy` });
}

/** nginx's auto_redirect: `/a/` answers `/a` with a 301 where the static search for `/a` ends on it. */
function slashRedirects(top: Location[], nodes: Node[], cache: SearchIndex, entries: RouteEntry[]): void {
  for (let i = 0; i < nodes.length; i++) {
    const loc = nodes[i]!.loc;
    if (!loc.autoRedirect || loc.pattern.length < 2) continue;
    const uri = loc.pattern.slice(0, -1);
    if (staticSearch(top, uri, false, cache).redirect === loc) entries.push({ location: loc, match: { kind: 'slash-redirect', value: uri }, guard: null });
  }
}

function reachableExacts(top: Location[], exacts: Node[], cache: SearchIndex, entries: RouteEntry[], unreachable: Linearised['unreachable']): void {
  for (let i = 0; i < exacts.length; i++) {
    const loc = exacts[i]!.loc;
    if (staticSearch(top, loc.pattern, false, cache).exact === loc) entries.push({ location: loc, match: { kind: 'path', value: loc.pattern }, guard: null });
    else unreachable.push({ location: loc, reason: `exact location "${loc.pattern}" is never reached: the static search for it ends elsewhere` });
  }
}

/** The prefixes the static search reaches (in order); the others are reported unreachable. */
function reachablePrefixes(top: Location[], prefixes: Node[], cache: SearchIndex, unreachable: Linearised['unreachable']): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i]!;
    const chain = staticSearch(top, p.loc.pattern, true, cache).chain;
    if (chain.includes(p.loc)) out.push(p);
    else shadowedPrefix(p, chain, unreachable);
  }
  return out;
}

function shadowedPrefix(p: Node, chain: Location[], unreachable: Linearised['unreachable']): void {
  const winner = chain.length ? chain[chain.length - 1]!.id : 'none';
  unreachable.push({ location: p.loc, reason: `prefix location "${p.loc.pattern}" is never reached: a longer prefix at an outer level (${winner}) always wins` });
}

/** Longest pattern first, deeper first on ties (Array.prototype.sort is stable: file order after that). */
function longestFirst(a: Node, b: Node): number {
  return b.loc.pattern.length - a.loc.pattern.length || b.depth - a.depth;
}

/** Whether no `normal` prefix extends (starts with) a `special` one. */
function noneExtended(special: Node[], normal: Node[]): boolean {
  for (let i = 0; i < special.length; i++) {
    const q = special[i]!.loc.pattern;
    for (let j = 0; j < normal.length; j++) if (normal[j]!.loc.pattern.startsWith(q)) return false;
  }
  return true;
}

function pushGuarded(entries: RouteEntry[], p: Node, regexes: Location[]): void {
  pushRegexes(entries, regexes, p.loc.pattern);
  pushPrefix(entries, p);
}

function pushRegexes(entries: RouteEntry[], regexes: Location[], guard: string | null): void {
  for (let i = 0; i < regexes.length; i++) {
    const r = regexes[i]!;
    entries.push({ location: r, match: { kind: 'regex', location: r }, guard });
  }
}

function pushPrefix(entries: RouteEntry[], p: Node): void {
  entries.push({ location: p.loc, match: { kind: 'prefix', value: p.loc.pattern }, guard: null });
}

/** A level's regex locations, in file order. */
function regexesOf(level: Location[]): Location[] {
  const out: Location[] = [];
  for (let i = 0; i < level.length; i++) if (isRegex(level[i]!)) out.push(level[i]!);
  return out;
}

/** The regexes nginx tries, deepest level first, for URIs whose deepest prefix is `p`. */
function regexesFor(p: Node, topRegexes: Location[]): Location[] {
  const out = regexesOf(p.loc.children);
  let found: Node | null = p; // the prefix found at the level being considered
  while (found) {
    // `^~` on the prefix found at a level skips that level's regexes only.
    if (found.loc.modifier !== 'prefix-stop') {
      const level = found.parent ? found.parent.loc.children : topRegexes;
      for (let i = 0; i < level.length; i++) if (isRegex(level[i]!)) out.push(level[i]!);
    }
    found = found.parent;
  }
  return out;
}

function sameList(a: Location[], b: Location[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One level's locations indexed for the static search (first location wins on a repeated pattern, as a scan would). */
interface LevelIndex {
  exact: Map<string, Location>;
  /** Patterns named by a prefix or exact location: the URI itself is a location, no auto_redirect. */
  named: Set<string>;
  slash: Map<string, Location>;
  prefix: Map<string, Location>;
  /** Distinct prefix pattern lengths, longest first. */
  prefixLengths: number[];
}

/** Indexes per level list, for the searches of one linearisation (a cache keyed by the level array). */
export type SearchIndex = WeakMap<Location[], LevelIndex>;

/** Below this many locations a level is scanned: building maps would cost more than the scans it saves. */
const INDEXED_LEVEL = 24;

function levelIndex(level: Location[], cache: SearchIndex): LevelIndex | null {
  if (level.length < INDEXED_LEVEL) return null;
  let index = cache.get(level);
  if (index) return index;
  index = { exact: new Map(), named: new Set(), slash: new Map(), prefix: new Map(), prefixLengths: [] };
  for (const l of level) {
    if (l.modifier === 'exact' && !index.exact.has(l.pattern)) index.exact.set(l.pattern, l);
    if (isPrefix(l) || l.modifier === 'exact') index.named.add(l.pattern);
    if (l.autoRedirect && !index.slash.has(l.pattern)) index.slash.set(l.pattern, l);
    if (isPrefix(l) && !index.prefix.has(l.pattern)) index.prefix.set(l.pattern, l);
  }
  index.prefixLengths = [...new Set([...index.prefix.keys()].map((p) => p.length))].sort((a, b) => b - a);
  cache.set(level, index);
  return index;
}

/**
 * ngx_http_core_find_static_location, level by level: an exact location equal
 * to the URI ends the search; else the longest prefix descends into its nested
 * locations. `ignoreExact` gives the prefix chain alone. Pass the same `cache`
 * to repeated searches over one tree: each level is then indexed once, and a
 * search costs a map lookup per distinct prefix length instead of a scan.
 */
export function staticSearch(
  top: Location[],
  uri: string,
  ignoreExact: boolean,
  cache: SearchIndex = new WeakMap(),
): { exact: Location | null; chain: Location[]; redirect?: Location } {
  const chain: Location[] = [];
  let level = top;
  for (;;) {
    const index = levelIndex(level, cache);
    const step = index ? indexedStep(index, uri, ignoreExact) : scannedStep(level, uri, ignoreExact);
    if (step.done) return { exact: step.exact ?? null, chain, redirect: step.redirect };
    const best = step.best;
    chain.push(best);
    level = best.children;
  }
}

type Step = { done: true; exact?: Location; redirect?: Location } | { done: false; best: Location };

/** One level of the search over a level's index. */
function indexedStep(index: LevelIndex, uri: string, ignoreExact: boolean): Step {
  if (!ignoreExact) {
    const exact = index.exact.get(uri);
    if (exact) return { done: true, exact };
    // auto_redirect (NGX_DONE): no location of this level is named `uri`, one named `uri/` redirects.
    if (!index.named.has(uri)) {
      const redirect = index.slash.get(uri + '/');
      if (redirect) return { done: true, redirect };
    }
  }
  for (const length of index.prefixLengths) {
    if (length > uri.length) continue;
    const best = index.prefix.get(uri.slice(0, length));
    if (best) return { done: false, best };
  }
  return { done: true };
}

/** The same step by scanning the level (first location wins on a repeated pattern). */
function scannedStep(level: Location[], uri: string, ignoreExact: boolean): Step {
  if (!ignoreExact) {
    const exact = level.find((l) => l.modifier === 'exact' && l.pattern === uri);
    if (exact) return { done: true, exact };
    if (!level.some((l) => (isPrefix(l) || l.modifier === 'exact') && l.pattern === uri)) {
      const redirect = level.find((l) => l.autoRedirect && l.pattern === uri + '/');
      if (redirect) return { done: true, redirect };
    }
  }
  let best: Location | null = null;
  for (const l of level) if (isPrefix(l) && uri.startsWith(l.pattern) && (!best || l.pattern.length > best.pattern.length)) best = l;
  return best ? { done: false, best } : { done: true };
}
