// nginx regexes are PCRE searches over bytes. The model runs them as JavaScript
// regexes over "byte strings" (one char per byte, see uri.ts), which agree with
// PCRE for the syntax nginx configs use; the few PCRE-only spellings are
// translated, and what JavaScript cannot express is reported, never guessed.

export interface CompiledRegex {
  source: string;
  re: RegExp | null;
  /** Why the pattern could not be run (null when it can). */
  error: string | null;
}

const cache = new Map<string, CompiledRegex>();

/** Compiles an nginx regex (without the `~`/`~*` marker) for searching. */
export function compileNginxRegex(source: string, caseless: boolean): CompiledRegex {
  const key = `${caseless ? 'i' : 's'}:${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const made = translate(source, caseless);
  cache.set(key, made);
  return made;
}

function translate(source: string, caseless: boolean): CompiledRegex {
  let body = source;
  let flags = caseless ? 'i' : '';
  // A leading (?i) is how nginx users spell case-insensitivity inside the pattern.
  const inline = /^\(\?([a-z]+)\)/.exec(body);
  if (inline) {
    const opts = inline[1]!;
    if (/[^ims]/.test(opts)) return fail(source, `inline option (?${opts}) has no equivalent here`);
    for (const o of opts) if (!flags.includes(o)) flags += o;
    body = body.slice(inline[0].length);
  }
  // `(?i)` after a prefix without letters (`^(?i)www…`) makes the whole pattern caseless too.
  const later = /^(\^*)\(\?([a-z]+)\)/.exec(body);
  if (later && /^[ims]+$/.test(later[2]!)) {
    for (const o of later[2]!) if (!flags.includes(o)) flags += o;
    body = later[1]! + body.slice(later[0].length);
  }
  if (/\(\?[a-z]*-?[a-z]*\)/.test(body)) return fail(source, 'an inline option group in mid-pattern has no equivalent here');
  if (/\(\?[>|R0-9+&]|\(\?\(|\\G|[*+?}]\+/.test(body)) {
    return fail(source, 'atomic/possessive groups, recursion, conditionals and \\G are not supported');
  }
  body = body
    .replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\[zZ]/g, '$');
  try {
    return { source, re: new RegExp(body, flags), error: null };
  } catch (err) {
    return fail(source, err instanceof Error ? err.message : String(err));
  }
}

function fail(source: string, error: string): CompiledRegex {
  return { source, re: null, error };
}

/** The captures of a match: $0..$n by number and named ones by name. */
export interface Captures {
  numbered: string[];
  named: Record<string, string>;
}

export const NO_CAPTURES: Captures = { numbered: [], named: {} };

/** Searches `subject`; null when there is no match. Throws when the regex cannot run. */
export function searchRegex(compiled: CompiledRegex, subject: string): Captures | null {
  if (!compiled.re) throw new Error(`regex "${compiled.source}": ${compiled.error}`);
  compiled.re.lastIndex = 0;
  const m = compiled.re.exec(subject);
  if (!m) return null;
  const named: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.groups ?? {})) named[k] = v ?? '';
  return { numbered: Array.from(m, (v) => v ?? ''), named };
}
