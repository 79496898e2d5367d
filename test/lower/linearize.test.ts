// The location linearisation against nginx's own search algorithm: for random
// location trees (every kind, nesting, ^~, exact, regexes) and URIs derived from
// them, the first matching route entry must name the location nginx picks
// (or the slash redirect nginx answers for a `*_pass` location named `uri/`).
import { describe, expect, test } from 'vitest';
import type { Location, LocationModifier } from '../../src/ir/types.js';
import { bareLocation } from '../support/ir-location.js';
import { linearise, type RouteEntry } from '../../src/emit/envoy/linearize.js';

// ---- a reference implementation of ngx_http_core_find_location (written from nginx's C)

const isRegex = (l: Location): boolean => l.modifier === 'regex' || l.modifier === 'regex-icase';
const jsRegex = (l: Location): RegExp => new RegExp(l.pattern, l.modifier === 'regex-icase' ? 'i' : '');

/** A slash redirect (NGX_DONE) answered for the location named `uri/`. */
const REDIRECT = (l: Location): string => `redirect:${l.id}`;

/** nginx's static tree: a node named exactly `uri` wins; else a `*_pass` location named `uri/` redirects. */
function slashRedirect(level: Location[], uri: string): Location | null {
  for (const l of level) if ((l.modifier === 'exact' || l.modifier === 'prefix' || l.modifier === 'prefix-stop') && l.pattern === uri) return null;
  const target = level.find((l) => l.autoRedirect && l.pattern === uri + '/');
  if (!target) return null;
  return { ...target, id: REDIRECT(target) };
}

/** Returns the location nginx uses for `uri` among `level` (null: the server's own). */
function ngxFind(level: Location[], uri: string): Location | null {
  // static: exact equal ends it; else the longest prefix, then its nested locations
  const exact = level.find((l) => l.modifier === 'exact' && l.pattern === uri);
  if (exact) return exact;
  const done = slashRedirect(level, uri);
  if (done) return done;
  let best: Location | null = null;
  for (const l of level) {
    if ((l.modifier === 'prefix' || l.modifier === 'prefix-stop') && uri.startsWith(l.pattern)) {
      if (!best || l.pattern.length > best.pattern.length) best = l;
    }
  }
  let found: Location | null = best;
  if (best) {
    const nested = ngxFindNested(best, uri);
    if (nested.final) return nested.loc;
    found = nested.loc ?? best;
  }
  if (!(best && best.modifier === 'prefix-stop')) {
    for (const l of level) if (isRegex(l) && jsRegex(l).test(uri)) return l;
  }
  return found;
}

/** Search inside a found prefix: {final} when an exact or a regex decided. */
function ngxFindNested(parent: Location, uri: string): { loc: Location | null; final: boolean } {
  const level = parent.children;
  const exact = level.find((l) => l.modifier === 'exact' && l.pattern === uri);
  if (exact) return { loc: exact, final: true };
  const done = slashRedirect(level, uri);
  if (done) return { loc: done, final: true };
  let best: Location | null = null;
  for (const l of level) {
    if ((l.modifier === 'prefix' || l.modifier === 'prefix-stop') && uri.startsWith(l.pattern)) {
      if (!best || l.pattern.length > best.pattern.length) best = l;
    }
  }
  let deepest: Location | null = best;
  if (best) {
    const nested = ngxFindNested(best, uri);
    if (nested.final) return nested;
    deepest = nested.loc ?? best;
  }
  if (!(best && best.modifier === 'prefix-stop')) {
    for (const l of level) if (isRegex(l) && jsRegex(l).test(uri)) return { loc: l, final: true };
  }
  return { loc: deepest, final: false };
}

// ---- the linearised order read first-match, as Envoy does

function firstMatch(entries: RouteEntry[], uri: string): Location | null {
  for (const e of entries) {
    if (e.guard !== null && !uri.startsWith(e.guard)) continue;
    if (e.match.kind === 'path' && uri === e.match.value) return e.location;
    if (e.match.kind === 'slash-redirect' && uri === e.match.value) return { ...e.location, id: REDIRECT(e.location) };
    if (e.match.kind === 'prefix' && uri.startsWith(e.match.value)) return e.location;
    if (e.match.kind === 'regex' && jsRegex(e.match.location).test(uri)) return e.location;
  }
  return null;
}

// ---- generated trees

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PREFIXES = ['/', '/a', '/a/', '/a/b', '/a/b/', '/a/b/c', '/ab', '/b', '/b/c', '/a/bc'];
const NARROW_PREFIXES = PREFIXES;
/** Wide levels (the search indexes a level of 24 or more locations instead of scanning it). */
const WIDE_PREFIXES = [...PREFIXES, ...['/a/', '/a/b/', '/b/', '/c/', '/'].flatMap((p) => ['x', 'y', 'z', 'xy', 'b', 'c'].flatMap((s) => [p + s, p + s + '/']))];
const REGEXES = ['^/a/b', 'c$', '\\.php$', '^/b', 'b/c', '^/a/?$', 'x'];

const loc = bareLocation;

function genLevel(r: () => number, id: string, parentPrefix: string | null, depth: number, wide = false): Location[] {
  const out: Location[] = [];
  const used = new Set<string>();
  const PREFIXES = wide ? WIDE_PREFIXES : NARROW_PREFIXES;
  const n = wide ? 30 + Math.floor(r() * 50) : 1 + Math.floor(r() * (depth === 0 ? 6 : 3));
  for (let i = 0; i < n; i++) {
    const kind = r();
    const cid = `${id}/loc_${i}`;
    if (kind < 0.45) {
      const cands = PREFIXES.filter((p) => parentPrefix === null || p.startsWith(parentPrefix));
      const p = cands[Math.floor(r() * cands.length)];
      if (p === undefined || used.has(p)) continue;
      used.add(p);
      const mod: LocationModifier = r() < 0.3 ? 'prefix-stop' : 'prefix';
      const children = depth < 2 && r() < 0.5 ? genLevel(r, cid, p, depth + 1, wide && r() < 0.3) : [];
      const l = loc(cid, mod, p, children);
      if (p.endsWith('/') && p.length > 1 && r() < 0.5) l.autoRedirect = true; // a proxy_pass location
      out.push(l);
    } else if (kind < 0.65) {
      const cands = PREFIXES.filter((p) => parentPrefix === null || p.startsWith(parentPrefix));
      const p = cands[Math.floor(r() * cands.length)];
      if (p === undefined || used.has('=' + p)) continue;
      used.add('=' + p);
      const l = loc(cid, 'exact', p);
      if (p.endsWith('/') && p.length > 1 && r() < 0.3) l.autoRedirect = true;
      out.push(l);
    } else {
      const re = REGEXES[Math.floor(r() * REGEXES.length)]!;
      out.push(loc(cid, r() < 0.3 ? 'regex-icase' : 'regex', re));
    }
  }
  return out;
}

function uris(wide = false): string[] {
  const base = [...(wide ? WIDE_PREFIXES : PREFIXES), '/c', '/A/B', '/x.php', '/a/b/c/d', '/a/bx', '/a/b/x.php', '/b/cc', '/abc', '/zz', '/a/bcx'];
  return [...new Set([...base, ...base.map((b) => b + 'c'), ...base.map((b) => b + '/c')])];
}

describe('location linearisation equals nginx location search', () => {
  test('the example of design.md: nested ^~ stops only its own level', () => {
    const inner = loc('s/loc_0/loc_0', 'prefix-stop', '/a/b');
    const innerRe = loc('s/loc_0/loc_1', 'regex', 'c$');
    const outer = loc('s/loc_0', 'prefix', '/a', [inner, innerRe]);
    const topRe = loc('s/loc_1', 'regex', '\\.php$');
    const top = [outer, topRe];
    const { entries } = linearise(top);
    for (const u of ['/a/b/x.php', '/a/x.php', '/a/c', '/a/b/c', '/z.php', '/q']) {
      expect(firstMatch(entries, u)?.id ?? null, u).toBe(ngxFind(top, u)?.id ?? null);
    }
    // /a/b/x.php: nested ^~ /a/b skips nested regexes only; the top-level .php regex still wins
    expect(firstMatch(entries, '/a/b/x.php')?.id).toBe('s/loc_1');
  });

  test('a nested prefix shadowed by a longer top-level one is reported unreachable', () => {
    const nested = loc('s/loc_0/loc_0', 'prefix', '/a/b/c');
    const top = [loc('s/loc_0', 'prefix', '/a', [nested]), loc('s/loc_1', 'prefix', '/a/b')];
    const { entries, unreachable } = linearise(top);
    expect(unreachable.map((u) => u.location.id)).toEqual(['s/loc_0/loc_0']);
    expect(entries.some((e) => e.location.id === 's/loc_0/loc_0')).toBe(false);
  });

  test('without ^~ and nesting the order collapses to exact, regexes, prefixes longest first', () => {
    const top = [loc('s/l0', 'prefix', '/'), loc('s/l1', 'regex', 'x'), loc('s/l2', 'exact', '/e'), loc('s/l3', 'prefix', '/ab')];
    const { entries } = linearise(top);
    expect(entries.map((e) => `${e.location.id}${e.guard ? '@' + e.guard : ''}`)).toEqual(['s/l2', 's/l1', 's/l3', 's/l0']);
  });

  test.each(Array.from({ length: 300 }, (_, i) => i + 1))('random tree %i', (seed) => {
    const r = rng(seed * 7919);
    const top = genLevel(r, 's', null, 0);
    const { entries } = linearise(top);
    for (const u of uris()) {
      expect(firstMatch(entries, u)?.id ?? null, `${u} in ${JSON.stringify(top.map(show))}`).toBe(ngxFind(top, u)?.id ?? null);
    }
  });
});

describe('wide levels (indexed search) give the same linearisation as nginx', () => {
  test.each(Array.from({ length: 60 }, (_, i) => i + 1))('wide random tree %i', (seed) => {
    const r = rng(seed * 104729);
    const top = genLevel(r, 's', null, 0, true);
    expect(top.length).toBeGreaterThanOrEqual(24);
    const { entries } = linearise(top);
    for (const u of uris(true)) {
      expect(firstMatch(entries, u)?.id ?? null, `${u} in ${JSON.stringify(top.map(show))}`).toBe(ngxFind(top, u)?.id ?? null);
    }
  });
});

function show(l: Location): unknown {
  return [l.modifier, l.pattern, ...(l.children.length ? [l.children.map(show)] : [])];
}
