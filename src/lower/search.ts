// nginx's location search for one known URI (ngx_http_core_find_location),
// used at compile time where the URI is fixed: a `rewrite … last` to a literal
// URI re-runs the search, and its result can be decided here once.
import type { Location } from '../ir/types.js';
import { pcreToRe2, re2Exec } from './regex.js';

export type SearchResult = { kind: 'location'; location: Location } | { kind: 'slash-redirect'; location: Location } | { kind: 'none' };

const isPrefix = (l: Location): boolean => l.modifier === 'prefix' || l.modifier === 'prefix-stop';
const isRegex = (l: Location): boolean => l.modifier === 'regex' || l.modifier === 'regex-icase';

function regexMatches(l: Location, uri: string): boolean {
  const c = pcreToRe2(l.pattern, l.modifier === 'regex-icase');
  return c.ok && re2Exec(c.re2, uri) !== null;
}

/** The location nginx uses for `uri` among the server's top-level locations. */
export function findLocation(top: Location[], uri: string): SearchResult {
  const r = search(top, uri);
  if (r.kind === 'redirect' && r.loc) return { kind: 'slash-redirect', location: r.loc };
  return r.loc ? { kind: 'location', location: r.loc } : { kind: 'none' };
}

type Step = { kind: 'final' | 'found' | 'redirect'; loc: Location | null };

function search(level: Location[], uri: string): Step {
  const exact = level.find((l) => l.modifier === 'exact' && l.pattern === uri);
  if (exact) return { kind: 'final', loc: exact };
  if (!level.some((l) => (isPrefix(l) || l.modifier === 'exact') && l.pattern === uri)) {
    const slash = level.find((l) => l.autoRedirect && l.pattern === uri + '/');
    if (slash) return { kind: 'redirect', loc: slash };
  }
  let best: Location | null = null;
  for (const l of level) if (isPrefix(l) && uri.startsWith(l.pattern) && (!best || l.pattern.length > best.pattern.length)) best = l;
  let found: Location | null = best;
  if (best) {
    const nested = search(best.children, uri);
    if (nested.kind !== 'found') return nested;
    found = nested.loc ?? best;
  }
  if (!(best && best.modifier === 'prefix-stop')) {
    for (const l of level) if (isRegex(l) && regexMatches(l, uri)) return { kind: 'final', loc: l };
  }
  return { kind: 'found', loc: found };
}
