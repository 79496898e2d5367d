// An http `map` (IR HttpMap) as route header matchers. The routes of one level are
// first-match and final, so a map becomes ordered routes, one per key group in nginx's
// lookup order (src/lower/http-map.ts mapClasses):
// - dispatch (proxy_pass to the map's variable): each group's route, then the default's;
// - guard (`if ($v) { return …; }`): a route for each group whose value passes the test,
//   matching it and none of the groups before it whose value fails (exact keys beat
//   wildcards beat regexes whatever their order in the file), then the default's route
//   when it passes, matching none of the failing groups. Requests failing the test
//   match no guard route and go on to the level's routes.
import type { Action, HttpMap, Location, MapTest } from '../../ir/types.js';
import { type MapClass, mapClasses, testHolds } from '../../lower/http-map.js';
import { assertRe2, pcreToRe2, re2Test, searchWrap } from '../../lower/regex.js';
import type { Json } from './context.js';

/** The header a map's input is read from. */
function headerOf(map: HttpMap): string {
  const input = map.input;
  return input.kind === 'header' ? input.name : input.kind === 'method' ? ':method' : ':authority';
}

/** An absent header is nginx's empty value; pseudo-headers are never absent. */
function missingAsEmpty(map: HttpMap): Json {
  return map.input.kind === 'header' ? { treat_missing_header_as_empty: true } : {};
}

/** `with hostnames` nginx ignores one trailing dot of the value; Envoy strips it from :authority already. */
function dotted(map: HttpMap): boolean {
  return map.hostnames && map.input.kind === 'header';
}

const META = /[\\^$.|?*+()[\]{}]/;

/** A lowercased key as an RE2 literal matching it in any ASCII case (as nginx's lowercasing compares). */
function caseless(key: string): string {
  let out = '';
  for (const c of key) {
    if (c >= 'a' && c <= 'z') out += `[${c}${c.toUpperCase()}]`;
    else out += META.test(c) ? `\\${c}` : c;
  }
  return out;
}

function regexMatcher(name: string, regex: string): Json {
  assertRe2(regex);
  return { name, string_match: { safe_regex: { regex } } };
}

// The search form of each regex key, by map key (a map used by many locations is converted once).
const searchForms = new WeakMap<object, string>();

/** A regex key as Envoy's full match of nginx's search ($host: tested caseless on the :authority as sent, see http-map.ts). */
function searchFormOf(map: HttpMap, c: MapClass): string {
  const k = c.keys[0]!;
  let form = searchForms.get(k);
  if (form === undefined) {
    const conv = pcreToRe2(k.key, k.caseless || map.input.kind === 'host');
    if (!conv.ok) throw new Error(`unreachable: map key ~${k.key} was checked in lowering`);
    searchForms.set(k, (form = searchWrap(conv.re2)));
  }
  return form;
}

/** The matcher a key group's requests match (regexes: never an empty value, see emptyGuard). */
function classMatcher(map: HttpMap, c: MapClass): Json {
  const name = headerOf(map);
  const tail = dotted(map) ? '\\.?' : '';
  const alt = (parts: string[]): string => (parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`);
  switch (c.kind) {
    case 'exact': {
      const empty = c.keys.some((k) => k.key === '') ? missingAsEmpty(map) : {};
      if (c.keys.length === 1 && !tail) return { name, string_match: c.keys[0]!.key === '' ? { exact: '' } : { exact: c.keys[0]!.key, ignore_case: true }, ...empty };
      return { ...regexMatcher(name, alt(c.keys.map((k) => caseless(k.key))) + tail), ...empty };
    }
    case 'wildcard-prefix':
      // `*.x` takes `.x` too (nothing before the dot)
      return regexMatcher(name, '.*' + alt(c.keys.map((k) => caseless(k.key.slice(1)))) + tail);
    case 'wildcard-suffix':
      // `x.*` takes `x.` too, which a value is only as `x..` with its trailing dot dropped
      return regexMatcher(name, alt(c.keys.map((k) => caseless(k.key.slice(0, -1)))) + (tail ? '.+' : '.*'));
    case 'regex':
      return regexMatcher(name, searchFormOf(map, c));
  }
}

/** Whether a group's matcher takes the empty value, which nginx never tests with a regex. */
function takesEmpty(map: HttpMap, c: MapClass): boolean {
  return c.kind === 'regex' && re2Test(searchFormOf(map, c), '');
}

/** The matchers (ANDed) of a group's own route. */
function classMatchers(map: HttpMap, c: MapClass): Json[] {
  const own = classMatcher(map, c);
  return takesEmpty(map, c) ? [own, regexMatcher(headerOf(map), '.+')] : [own];
}

/** A group's matcher inverted: the requests it does not take (an absent header: empty). */
function notClass(map: HttpMap, c: MapClass): Json {
  return { ...classMatcher(map, c), invert_match: true, ...missingAsEmpty(map) };
}

/** One route of a fanned-out level: its extra header matchers and what it does. */
export interface MapRoute {
  suffix: string;
  headers: Json[];
  action: Action;
}

/**
 * A location's routes for its proxy_pass to a map variable: one per key group whose
 * value leads elsewhere than the default (groups at the end with the default's value
 * are left to the default's route), then the default's (no matcher), last.
 */
export function dispatchRoutes(loc: Location): MapRoute[] {
  const d = loc.dispatch!;
  const actionOf = new Map(d.actions.map((a) => [a.value, a.action]));
  const classes = mapClasses(d.map);
  let end = classes.length;
  while (end > 0 && classes[end - 1]!.value === d.map.default) end--;
  const out: MapRoute[] = classes.slice(0, end).map((c, i) => ({ suffix: `/map_${i}`, headers: classMatchers(d.map, c), action: actionOf.get(c.value)! }));
  out.push({ suffix: '', headers: [], action: loc.action });
  return out;
}

/** The header matcher lists (each ANDed, one route each) taking exactly the requests whose map value passes `test`. */
export function guardMatchers(map: HttpMap, test: MapTest): Json[][] {
  const out: Json[][] = [];
  const failing: Json[] = [];
  const classes = mapClasses(map);
  for (const c of classes) {
    if (testHolds(test, c.value)) out.push([...classMatchers(map, c), ...failing]);
    else failing.push(notClass(map, c));
  }
  if (!testHolds(test, map.default)) return out;
  // An empty value gets the default unless a "" key exists; a failing regex taking "" would keep it from the route below.
  const emptyKey = map.keys.some((k) => k.kind === 'exact' && k.key === '');
  if (!emptyKey && classes.some((c) => !testHolds(test, c.value) && takesEmpty(map, c))) {
    out.push([{ name: headerOf(map), string_match: { exact: '' }, ...missingAsEmpty(map) }]);
  }
  out.push(failing);
  return out;
}
