// `map` blocks (ngx_http_map_module, ngx_stream_map_module) as nginx looks values up:
// keys are lowercased; with `hostnames`, `*.x` / `.x` / `x.*` are wildcards;
// `~` keys are regexes tried in order after every hash lookup. A lookup is exact
// name → longest `*.` prefix wildcard → longest `.*` suffix wildcard → regexes
// (never for an empty value) → default. An `include` inside the block is spliced in
// by the loader (its statements follow it).
import type { Directive } from '../parse/ast.js';
import type { Src } from '../ir/types.js';
import { directivesOf, errorAt, srcOf } from './util.js';

export type MapKeyKind = 'exact' | 'wildcard-prefix' | 'wildcard-suffix' | 'regex';

export interface MapEntry {
  kind: MapKeyKind;
  /** Lowercased key; `*.x` for prefix wildcards (a `.x` key gives an exact `x` and a `*.x`), `x.*` for suffix ones; the regex source (without `~`/`~*`) for regex. */
  key: string;
  /** A `~*` regex key. */
  caseless: boolean;
  value: string;
  /** The key as written (`.x` for both halves of a dot key). */
  written: string;
  directive: Directive;
  source: Src;
}

export interface MapBlock {
  /** The variable the map reads, with `$` (`$ssl_preread_server_name`). */
  from: string;
  /** The variable it defines, with `$`. */
  to: string;
  hostnames: boolean;
  entries: MapEntry[];
  /** The `default` value; '' when the map has none (nginx's empty value). */
  defaultValue: string;
  defaultDirective: Directive | null;
  directive: Directive;
  source: Src;
}

/** nginx lowercases map keys and looked-up values byte by byte, ASCII letters only (ngx_hash_strlow). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Reads a `map` block; nginx's configuration errors (conflicting keys) are errors here too. */
export function readMap(d: Directive): MapBlock {
  const from = d.args[0]?.value;
  const to = d.args[1]?.value;
  if (from === undefined || to === undefined || d.args.length !== 2) throw errorAt(d.source, 'invalid number of arguments in "map" directive', 'arity');
  if (!to.startsWith('$')) throw errorAt(d.args[1]!.source, `invalid variable name "${to}"`, 'map-variable');
  const body = directivesOf(d.block);
  const hostnames = body.some((e) => e.name === 'hostnames' && e.args.length === 0);
  const map: MapBlock = { from, to, hostnames, entries: [], defaultValue: '', defaultDirective: null, directive: d, source: srcOf(d) };
  const seen = new Set<string>();
  const claim = (key: string, e: Directive): void => {
    if (seen.has(key)) throw errorAt(e.source, `conflicting parameter "${e.name}"`, 'map-conflict');
    seen.add(key);
  };
  for (const e of body) {
    if ((e.name === 'hostnames' || e.name === 'volatile') && e.args.length === 0) continue;
    if (e.name === 'include' && e.includes) continue; // its statements are spliced in after it
    if (e.args.length !== 1) throw errorAt(e.source, 'invalid number of the map parameters', 'map-arity');
    const value = e.args[0]!.value;
    if (e.name === 'default') {
      if (map.defaultDirective) throw errorAt(e.source, 'duplicate default map parameter', 'map-default');
      map.defaultValue = value;
      map.defaultDirective = e;
      continue;
    }
    const key = e.name.startsWith('\\') ? e.name.slice(1) : e.name;
    const entry = (kind: MapKeyKind, k: string, caseless = false): MapEntry => ({ kind, key: k, caseless, value, written: e.name, directive: e, source: srcOf(e) });
    if (e.name.startsWith('~')) {
      const caseless = e.name.startsWith('~*');
      map.entries.push(entry('regex', e.name.slice(caseless ? 2 : 1), caseless));
      continue;
    }
    const low = asciiLower(key);
    if (hostnames && low.startsWith('.') && low.length > 1) {
      // `.x` is one wildcard entry covering `x` and `*.x`: conflicts with either.
      if (seen.has('exact:' + low.slice(1)) || seen.has('prefix:' + low.slice(1))) throw errorAt(e.source, `conflicting parameter "${e.name}"`, 'map-conflict');
      claim('exact:' + low.slice(1), e);
      claim('prefix:' + low.slice(1), e);
      map.entries.push(entry('exact', low.slice(1)), entry('wildcard-prefix', '*' + low));
    } else if (hostnames && low.startsWith('*.') && low.length > 2) {
      claim('prefix:' + low.slice(2), e);
      map.entries.push(entry('wildcard-prefix', low));
    } else if (hostnames && low.endsWith('.*') && low.length > 2) {
      claim('suffix:' + low.slice(0, -2), e);
      map.entries.push(entry('wildcard-suffix', low));
    } else {
      claim('exact:' + low, e);
      map.entries.push(entry('exact', low));
    }
  }
  return map;
}

/**
 * The value nginx's map gives for `input` when no regex key exists (callers
 * check): exact, then the longest prefix wildcard, then the longest suffix
 * wildcard, then the default. With `hostnames`, one trailing dot is ignored.
 * (ngx_hash_find_wc_head/_tail: `*.x` takes anything ending in `.x`, `x.*`
 * anything starting with `x.`, an empty label included.)
 */
export function lookupStatic(map: MapBlock, input: string): string {
  let name = asciiLower(input);
  if (map.hostnames && name.endsWith('.')) name = name.slice(0, -1);
  const exact = map.entries.find((e) => e.kind === 'exact' && e.key === name);
  if (exact) return exact.value;
  let best: MapEntry | undefined;
  for (const e of map.entries) {
    if (e.kind !== 'wildcard-prefix') continue;
    // (nothing before the dot is enough: nginx's `*.x` takes `.x`, checked with nginx 1.22)
    if (name.endsWith(e.key.slice(1)) && (!best || e.key.length > best.key.length)) best = e;
  }
  if (best) return best.value;
  for (const e of map.entries) {
    if (e.kind !== 'wildcard-suffix') continue;
    // (nothing after the dot is enough: `x.*` takes `x.`, which a value `x..` is with its trailing dot dropped)
    if (name.startsWith(e.key.slice(0, -1)) && (!best || e.key.length > best.key.length)) best = e;
  }
  return best ? best.value : map.defaultValue;
}
