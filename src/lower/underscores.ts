// underscores_in_headers / ignore_invalid_headers: nginx (by default) ignores a
// request header whose name has `_`, so it never reaches the upstream; Envoy
// passes it unless the connection manager drops it (headers_with_underscores_action).
import type { Directive } from '../parse/ast.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import type { Level } from './util.js';

/** What nginx does with a request header named with `_`: drop it, or pass it on. */
export function underscoreHeadersAt(levels: Level[]): 'drop' | 'allow' {
  const allowed = effectiveSimple(levels, 'underscores_in_headers')?.args[0]?.value === 'on';
  const ignoreInvalid = effectiveSimple(levels, 'ignore_invalid_headers')?.args[0]?.value !== 'off';
  // An invalid header is dropped only while ignore_invalid_headers is on; otherwise nginx keeps it.
  return !allowed && ignoreInvalid ? 'drop' : 'allow';
}

export function markUnderscores(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name === 'underscores_in_headers') {
      r.mark(d, 'translated', d.args[0]?.value === 'on' ? 'headers_with_underscores_action ALLOW' : 'headers_with_underscores_action DROP_HEADER (unless ignore_invalid_headers off)');
    } else if (d.name === 'ignore_invalid_headers') {
      r.mark(
        d,
        'approximated',
        d.args[0]?.value === 'off'
          ? 'invalid header names are kept: headers_with_underscores_action ALLOW; Envoy still rejects names that are not HTTP tokens'
          : 'headers named with `_` are dropped (DROP_HEADER, unless underscores_in_headers on); nginx also drops names with other characters than letters, digits and `-` (e.g. `.`), which Envoy passes',
      );
    }
  }
}
