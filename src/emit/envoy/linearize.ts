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

export function linearise(top: Location[]): Linearised {
  const unreachable: Linearised['unreachable'] = [];
  const prefixes: Node[] = [];
  const exacts: Node[] = [];
  const collect = (locs: Location[], parent: Node | null, depth: number): void => {
    for (const loc of locs) {
      const node: Node = { loc, parent, depth };
      if (isPrefix(loc)) {
        prefixes.push(node);
        collect(loc.children, node, depth + 1);
      } else if (loc.modifier === 'exact') exacts.push(node);
      else if (isRegex(loc)) {
        for (const c of loc.children) unreachable.push({ location: c, reason: `nested in regex location ${loc.id}: not reached in Envoy` });
      }
    }
  };
  collect(top, null, 0);

  const cache: SearchIndex = new WeakMap();
  const entries: RouteEntry[] = [];
  for (const n of [...exacts, ...prefixes]) {
    if (!n.loc.autoRedirect || n.loc.pattern.length < 2) continue;
    const uri = n.loc.pattern.slice(0, -1);
    if (staticSearch(top, uri, false, cache).redirect === n.loc) entries.push({ location: n.loc, match: { kind: 'slash-redirect', value: uri }, guard: null });
  }
  for (const e of exacts) {
    if (staticSearch(top, e.loc.pattern, false, cache).exact === e.loc) entries.push({ location: e.loc, match: { kind: 'path', value: e.loc.pattern }, guard: null });
    else unreachable.push({ location: e.loc, reason: `exact location "${e.loc.pattern}" is never reached: the static search for it ends elsewhere` });
  }
  const reachable = prefixes.filter((p) => {
    const chain = staticSearch(top, p.loc.pattern, true, cache).chain;
    if (chain.includes(p.loc)) return true;
    const winner = chain.length ? chain[chain.length - 1]!.id : 'none';
    unreachable.push({ location: p.loc, reason: `prefix location "${p.loc.pattern}" is never reached: a longer prefix at an outer level (${winner}) always wins` });
    return false;
  });
  reachable.sort((a, b) => b.loc.pattern.length - a.loc.pattern.length || b.depth - a.depth);
  const topRegexes = top.filter(isRegex);
  const lists = reachable.map((p) => regexesFor(p, topRegexes));
  const special = reachable.filter((_, i) => !sameList(lists[i]!, topRegexes));
  const normal = reachable.filter((_, i) => sameList(lists[i]!, topRegexes));
  // A prefix whose regex list differs from the top level's (`^~`, nested regexes)
  // may go before the unguarded top-level regexes when no ordinary prefix extends it.
  const hoist = special.every((q) => !normal.some((p) => p.loc.pattern.startsWith(q.loc.pattern)));
  const listOf = new Map(reachable.map((p, i) => [p, lists[i]!]));
  const guarded = (p: Node): void => {
    for (const r of listOf.get(p)!) entries.push({ location: r, match: { kind: 'regex', location: r }, guard: p.loc.pattern });
    entries.push({ location: p.loc, match: { kind: 'prefix', value: p.loc.pattern }, guard: null });
  };
  if (hoist) {
    special.forEach(guarded);
    for (const r of topRegexes) entries.push({ location: r, match: { kind: 'regex', location: r }, guard: null });
    for (const p of normal) entries.push({ location: p.loc, match: { kind: 'prefix', value: p.loc.pattern }, guard: null });
  } else {
    reachable.forEach(guarded);
    for (const r of topRegexes) entries.push({ location: r, match: { kind: 'regex', location: r }, guard: null });
  }
  return { entries, unreachable };
}

/** The regexes nginx tries, deepest level first, for URIs whose deepest prefix is `p`. */
function regexesFor(p: Node, topRegexes: Location[]): Location[] {
  const out: Location[] = [...p.loc.children.filter(isRegex)];
  let found: Node | null = p; // the prefix found at the level being considered
  while (found) {
    // `^~` on the prefix found at a level skips that level's regexes only.
    if (found.loc.modifier !== 'prefix-stop') {
      const level = found.parent ? found.parent.loc.children : topRegexes;
      out.push(...level.filter(isRegex));
    }
    found = found.parent;
  }
  return out;
}

function sameList(a: Location[], b: Location[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
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
