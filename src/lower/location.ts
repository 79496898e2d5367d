// `location` syntax and nginx's nesting rules (ngx_http_core_location).
import type { Directive } from '../parse/ast.js';
import type { LocationModifier } from '../ir/types.js';
import { pcreToRe2 } from './regex.js';
import { errorAt } from './util.js';
import { argCount, argValue } from '../parse/args.js';

export interface LocationHead {
  modifier: LocationModifier;
  pattern: string;
}

const MODIFIERS = new Map<string, LocationModifier>([
  ['=', 'exact'],
  ['^~', 'prefix-stop'],
  ['~', 'regex'],
  ['~*', 'regex-icase'],
]);

export function parseLocationHead(d: Directive): LocationHead {
  const count = argCount(d);
  if (count === 2) {
    const mod = argValue(d, 0)!;
    const pattern = argValue(d, 1)!;
    const modifier = MODIFIERS.get(mod);
    if (!modifier) throw errorAt(d.args[0]!.source, `invalid location modifier "${mod}"`, 'location-modifier');
    return { modifier, pattern };
  }
  if (count !== 1) throw errorAt(d.source, 'invalid number of arguments in "location" directive', 'arity');
  const a = argValue(d, 0)!;
  if (a.startsWith('=')) return { modifier: 'exact', pattern: a.slice(1) };
  if (a.startsWith('^~')) return { modifier: 'prefix-stop', pattern: a.slice(2) };
  if (a.startsWith('~*')) return { modifier: 'regex-icase', pattern: a.slice(2) };
  if (a.startsWith('~')) return { modifier: 'regex', pattern: a.slice(1) };
  if (a.startsWith('@')) return { modifier: 'named', pattern: a.slice(1) };
  return { modifier: 'prefix', pattern: a };
}

export function isRegex(m: LocationModifier): boolean {
  return m === 'regex' || m === 'regex-icase';
}

/** The RE2 form of a regex location; throws a positioned error for PCRE-only syntax. */
export function locationRe2(d: Directive, head: LocationHead): string {
  const conv = pcreToRe2(head.pattern, head.modifier === 'regex-icase');
  if (!conv.ok) {
    const arg = d.args[argCount(d) - 1]!;
    throw errorAt(arg.source, `location regex "${head.pattern}" has no RE2 form: ${conv.message} at offset ${conv.offset}`, 'pcre-only-regex');
  }
  return conv.re2;
}

/** nginx's checks for a nested location (same messages as nginx -t). */
export function checkNesting(d: Directive, head: LocationHead, parent: LocationHead | null): void {
  if (!parent) return;
  if (parent.modifier === 'exact') throw errorAt(d.source, `location "${head.pattern}" cannot be inside the exact location "${parent.pattern}"`, 'location-nesting');
  if (parent.modifier === 'named') throw errorAt(d.source, `location "${head.pattern}" cannot be inside the named location "${parent.pattern}"`, 'location-nesting');
  if (head.modifier === 'named') throw errorAt(d.source, `named location "@${head.pattern}" can be on the server level only`, 'location-nesting');
  if (!isRegex(head.modifier) && !isRegex(parent.modifier) && !head.pattern.startsWith(parent.pattern)) {
    throw errorAt(d.source, `location "${head.pattern}" is outside location "${parent.pattern}"`, 'location-nesting');
  }
}
