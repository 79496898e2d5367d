// linearise as plain loops over small helpers gives exactly what the earlier
// closure-based version gave: the same entries (location, match, guard) in the
// same order, and the same unreachable locations with the same reasons, for
// random trees of every kind (nested prefixes, ^~, exact, regexes, locations
// nested in regexes, auto_redirect, wide indexed levels).
import { describe, expect, test } from 'vitest';
import type { Location } from '../../src/ir/types.js';
import { bareLocation } from '../support/ir-location.js';
import { isRegex as isRegexModifier } from '../../src/lower/location.js';
import { prng } from '../support/prng.js';
import { linearise, staticSearch, type Linearised, type RouteEntry, type SearchIndex } from '../../src/emit/envoy/linearize.js';

// ---- the earlier version (closures and array callbacks), kept here as the reference

const isRegex = (l: Location): boolean => isRegexModifier(l.modifier);
const isPrefix = (l: Location): boolean => l.modifier === 'prefix' || l.modifier === 'prefix-stop';

interface Node { loc: Location; parent: Node | null; depth: number }

function referenceLinearise(top: Location[]): Linearised {
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
  const same = (a: Location[], b: Location[]): boolean => a.length === b.length && a.every((l, i) => l === b[i]);
  const special = reachable.filter((_, i) => !same(lists[i]!, topRegexes));
  const normal = reachable.filter((_, i) => same(lists[i]!, topRegexes));
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

function regexesFor(p: Node, topRegexes: Location[]): Location[] {
  const out: Location[] = [...p.loc.children.filter(isRegex)];
  let found: Node | null = p;
  while (found) {
    if (found.loc.modifier !== 'prefix-stop') out.push(...(found.parent ? found.parent.loc.children : topRegexes).filter(isRegex));
    found = found.parent;
  }
  return out;
}

// ---- random trees

const PATTERNS = ['/', '/a', '/a/', '/a/b', '/a/b/', '/a/b/c', '/ab', '/b', '/b/', '/b/c', '/a/bc', '/c/', '/c/d'];
const REGEXES = ['^/a/b', 'c$', '\\.php$', '^/b', 'x'];

const loc = bareLocation;

function level(r: () => number, id: string, depth: number, wide: boolean): Location[] {
  const out: Location[] = [];
  const n = wide ? 24 + Math.floor(r() * 20) : 1 + Math.floor(r() * (depth === 0 ? 7 : 3));
  for (let i = 0; i < n; i++) {
    const cid = `${id}/${i}`;
    const kind = r();
    const nested = (): Location[] => (depth < 2 && r() < 0.4 ? level(r, cid, depth + 1, false) : []);
    // repeated patterns on purpose: the first location of a pattern wins the search
    const p = wide && r() < 0.5 ? `/w${i}${r() < 0.5 ? '/' : ''}` : PATTERNS[Math.floor(r() * PATTERNS.length)]!;
    let l: Location;
    if (kind < 0.45) l = loc(cid, r() < 0.3 ? 'prefix-stop' : 'prefix', p, nested());
    else if (kind < 0.65) l = loc(cid, 'exact', p, []);
    else l = loc(cid, r() < 0.3 ? 'regex-icase' : 'regex', REGEXES[Math.floor(r() * REGEXES.length)]!, nested());
    if (l.modifier !== 'regex' && l.modifier !== 'regex-icase' && p.endsWith('/') && p.length > 1 && r() < 0.5) l.autoRedirect = true;
    out.push(l);
  }
  return out;
}

/** Entries and unreachable locations as plain text: identity of locations by id. */
function shown(lin: Linearised): { entries: string[]; unreachable: string[] } {
  const match = (e: RouteEntry): string => (e.match.kind === 'regex' ? `regex ${e.match.location.id}` : `${e.match.kind} ${e.match.value}`);
  return {
    entries: lin.entries.map((e) => `${e.location.id} | ${match(e)} | ${e.guard ?? '-'}`),
    unreachable: lin.unreachable.map((u) => `${u.location.id} | ${u.reason}`),
  };
}

describe('linearise (plain loops) = the earlier closure-based linearise', () => {
  test.each(Array.from({ length: 400 }, (_, i) => i + 1))('random tree %i', (seed) => {
    const r = prng(seed * 6007);
    const top = level(r, 's', 0, seed % 5 === 0);
    const got = linearise(top);
    const want = referenceLinearise(top);
    expect(shown(got)).toEqual(shown(want));
    // the same objects, not equal copies
    got.entries.forEach((e, i) => expect(e.location).toBe(want.entries[i]!.location));
  });

  test('the trees cover every branch: hoisted and not, unreachable of all three kinds, slash redirects', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 400; seed++) {
      const r = prng(seed * 6007);
      const lin = linearise(level(r, 's', 0, seed % 5 === 0));
      for (const u of lin.unreachable) seen.add(u.reason.split(' ')[0]!);
      for (const e of lin.entries) seen.add(e.match.kind + (e.guard ? '+guard' : ''));
    }
    expect([...seen].sort()).toEqual(['exact', 'nested', 'path', 'prefix', 'regex', 'regex+guard', 'slash-redirect']);
  });
});
