// Location selection as nginx does it (ngx_http_core_find_location and its
// static tree search): exact `=` wins; else the longest prefix at this level,
// then recursively its nested locations; then this level's regexes in file
// order, unless the prefix found here is `^~`; the first matching regex wins
// (and its own nested locations are searched); else the deepest prefix found.
// A proxied prefix ending in "/" also catches its name without the slash
// (nginx's auto_redirect: a 301 to the name with the slash).
import type { Location, VirtualServer } from '../../ir/types.js';
import { compileNginxRegex, searchRegex, type Captures, NO_CAPTURES } from './regex.js';

export interface LocationChoice {
  /** The location whose configuration serves the request; null = the server level (no location matched). */
  location: Location | null;
  /** Ancestors of `location`, outermost first, then `location` itself. */
  chain: Location[];
  /** How the final location was reached. */
  by: 'exact' | 'prefix' | 'regex' | 'auto-redirect' | 'none';
  /** Captures of the regex location that matched ($1…, named). */
  captures: Captures;
}

type Rc = 'ok' | 'again' | 'done' | 'declined';

interface SearchState {
  current: Location | null;
  by: LocationChoice['by'];
  captures: Captures;
}

/** `uri` is the decoded, normalised URI (a byte string, see uri.ts). */
export function selectLocation(server: VirtualServer, uri: string): LocationChoice {
  const state: SearchState = { current: null, by: 'none', captures: NO_CAPTURES };
  findLocation(server.locations, uri, state);
  const chain = state.current ? pathTo(server.locations, state.current) : [];
  return { location: state.current, chain, by: state.by, captures: state.captures };
}

function findLocation(level: Location[], uri: string, state: SearchState): Rc {
  const found = findStatic(level, uri);
  let rc = found.rc;
  let noregex = false;
  if (found.location) {
    state.current = found.location;
    state.by = rc === 'ok' ? 'exact' : rc === 'done' ? 'auto-redirect' : 'prefix';
  }
  if (rc === 'again' && found.location) {
    noregex = found.location.modifier === 'prefix-stop';
    rc = findLocation(found.location.children, uri, state);
  }
  if (rc === 'ok' || rc === 'done') return rc;
  if (!noregex) {
    for (const loc of level) {
      if (loc.modifier !== 'regex' && loc.modifier !== 'regex-icase') continue;
      const captures = searchRegex(compileNginxRegex(loc.pattern, loc.modifier === 'regex-icase'), uri);
      if (!captures) continue;
      state.current = loc;
      state.by = 'regex';
      state.captures = captures;
      findLocation(loc.children, uri, state);
      return 'ok';
    }
  }
  return rc;
}

const isInclusive = (l: Location) => l.modifier === 'prefix' || l.modifier === 'prefix-stop';

/** nginx sets auto_redirect on a location whose name ends in "/" and whose handler is proxy_pass. */
export function hasAutoRedirect(l: Location): boolean {
  const proxies = l.action.kind === 'proxy' || (l.dispatch?.actions.some((a) => a.action.kind === 'proxy') ?? false);
  return proxies && l.pattern.endsWith('/') && (isInclusive(l) || l.modifier === 'exact');
}

/** The static tree search of one level, expressed over the plain list. */
function findStatic(level: Location[], uri: string): { rc: Rc; location: Location | null } {
  const exact = level.find((l) => l.modifier === 'exact' && l.pattern === uri);
  if (exact) return { rc: 'ok', location: exact };
  const sameName = level.find((l) => isInclusive(l) && l.pattern === uri);
  if (sameName) return { rc: 'again', location: sameName };
  const withSlash = level.filter((l) => (isInclusive(l) || l.modifier === 'exact') && l.pattern === uri + '/');
  if (withSlash.some(hasAutoRedirect)) {
    return { rc: 'done', location: withSlash.find((l) => l.modifier === 'exact') ?? withSlash[0]! };
  }
  let best: Location | null = null;
  for (const l of level) {
    if (!isInclusive(l) || !uri.startsWith(l.pattern)) continue;
    if (!best || l.pattern.length > best.pattern.length) best = l;
  }
  return best ? { rc: 'again', location: best } : { rc: 'declined', location: null };
}

function pathTo(level: Location[], target: Location): Location[] {
  for (const l of level) {
    if (l === target) return [l];
    const below = pathTo(l.children, target);
    if (below.length) return [l, ...below];
  }
  return [];
}
