// ngx_http_map_module's lookup (ngx_http_map_variable, ngx_http_map_find), on the IR's
// HttpMap: with `hostnames` one trailing dot of the value is dropped; the value,
// lowercased (ASCII), is looked up as an exact key, then the longest `*.x` wildcard,
// then the longest `x.*` wildcard (an empty label is enough: `.x`, `x.`); then, for a non-empty value, the regexes in order on
// the value as it is; else the default.
import type { HttpMap } from '../../ir/types.js';
import { compileNginxRegex, searchRegex } from './regex.js';

export function mapLookup(map: HttpMap, input: string): string {
  const value = map.hostnames && input.endsWith('.') ? input.slice(0, -1) : input;
  const low = value.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  const exact = map.keys.find((k) => k.kind === 'exact' && k.key === low);
  if (exact) return exact.value;
  // `*.x` takes any value ending in `.x` (`.x` itself too), `x.*` any starting with `x.` (ngx_hash_find_wc_head/_tail)
  const wildcard = longest(map, 'wildcard-prefix', (k) => low.endsWith(k.slice(1))) ?? longest(map, 'wildcard-suffix', (k) => low.startsWith(k.slice(0, -1)));
  if (wildcard !== undefined) return wildcard;
  if (value !== '') {
    for (const k of map.keys) if (k.kind === 'regex' && searchRegex(compileNginxRegex(k.key, k.caseless), value)) return k.value;
  }
  return map.default;
}

function longest(map: HttpMap, kind: 'wildcard-prefix' | 'wildcard-suffix', takes: (key: string) => boolean): string | undefined {
  let best: { key: string; value: string } | undefined;
  for (const k of map.keys) if (k.kind === kind && takes(k.key) && (!best || k.key.length > best.key.length)) best = k;
  return best?.value;
}
