// PCRE (nginx) → RE2 (Envoy). nginx runs a PCRE *search*; Envoy's safe_regex is an
// RE2 *full match*. We translate the syntax RE2 shares with PCRE, reject what RE2
// cannot express (with the construct named), and compile-check every result with
// real RE2 (re2-wasm) once per distinct pattern.
import { createRequire } from 'node:module';
import { provablyValidRe2 } from '../validate/re2-subset.js';

const require = createRequire(import.meta.url);

interface Re2Object {
  exec(s: string): (string | undefined)[] | null;
  lastIndex: number;
  /** re2-wasm's handle on the WASM-side object: it is never freed on its own. */
  wrapper?: { delete?: () => void };
}
type Re2Constructor = new (pattern: string, flags?: string) => Re2Object;
let re2Constructor: Re2Constructor | undefined;

/** re2-wasm (CommonJS) costs tens of ms to instantiate: loaded on the first regex only. */
function RE2(): Re2Constructor {
  re2Constructor ??= (require('re2-wasm') as { RE2: Re2Constructor }).RE2;
  return re2Constructor;
}

// re2-wasm's heap is a fixed 16 MB and its RE2 objects are never collected: a
// compile-check frees its object at once, and the objects kept for re2Exec are
// bounded (the oldest freed first), or a few thousand regexes would exhaust the
// heap and every later compile would fail as if the pattern were invalid.
const EXEC_CACHE_LIMIT = 256;
const execCache = new Map<string, Re2Object>();

/**
 * Throws RE2's complaint when `pattern` does not compile. A pattern inside the subset
 * re2-subset.ts recognises as certainly valid (the usual location, rewrite and wrapped
 * forms) is not compiled: a WASM compile costs milliseconds and the answer is known.
 */
function compileCheck(pattern: string): void {
  if (provablyValidRe2(pattern)) return;
  const compiled = new (RE2())(pattern, 'u');
  compiled.wrapper?.delete?.();
}

function compiledForExec(pattern: string): Re2Object {
  let re = execCache.get(pattern);
  if (re) return re;
  re = new (RE2())(pattern, 'u');
  if (execCache.size >= EXEC_CACHE_LIMIT) {
    const [oldest, old] = execCache.entries().next().value as [string, Re2Object];
    execCache.delete(oldest);
    old.wrapper?.delete?.();
  }
  execCache.set(pattern, re);
  return re;
}

export interface Re2Ok {
  ok: true;
  /** The pattern in RE2 syntax, same meaning as the PCRE one (no search wrapper). */
  re2: string;
}
export interface Re2Err {
  ok: false;
  /** What RE2 lacks, e.g. "look-behind `(?<=`" and its 0-based offset in the pattern. */
  message: string;
  offset: number;
}

/**
 * The memos of this module live as long as the process (a server compiles again on each
 * change): each is emptied when it reaches this size, so a long run with ever new
 * patterns cannot grow them without end. (bench.conf needs a few hundred entries.)
 */
const MEMO_LIMIT = 20_000;

function remember<K, V>(memo: Map<K, V>, key: K, value: V): V {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

// By the pattern itself, one map per case mode: the IR's pattern strings are looked up again
// and again (each server, listener and rewrite step) and keep their hash; a key built per
// call would be hashed anew each time.
const translated = new Map<string, Re2Ok | Re2Err>();
const translatedIcase = new Map<string, Re2Ok | Re2Err>();

/** Translate a PCRE pattern to RE2 syntax; `icase` prepends `(?i)` (nginx `~*`). */
export function pcreToRe2(pattern: string, icase = false): Re2Ok | Re2Err {
  const cache = icase ? translatedIcase : translated;
  return cache.get(pattern) ?? remember(cache, pattern, translate(pattern, icase));
}

function translate(pattern: string, icase: boolean): Re2Ok | Re2Err {
  let out = '';
  let i = 0;
  let inClass = false;
  const fail = (message: string, offset: number): Re2Err => ({ ok: false, message, offset });
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return fail('trailing backslash', i);
      if (!inClass) {
        if (/[1-9]/.test(n)) return fail(`back-reference \`\\${n}\``, i);
        if (n === 'g') return fail('back-reference or subroutine `\\g`', i);
        if (n === 'k') return fail('named back-reference `\\k`', i);
        if (n === 'G') return fail('`\\G` (match start anchor)', i);
        if (n === 'K') return fail('`\\K` (match reset)', i);
        if (n === 'Z') {
          // PCRE \Z: end or before a final newline; a URI never ends in a raw newline here.
          out += '\\z';
          i += 2;
          continue;
        }
      }
      if (n === 'h' || n === 'H' || n === 'R' || n === 'X' || n === 'v' && !inClass || n === 'V') {
        return fail(`PCRE-only escape \`\\${n}\``, i);
      }
      out += c + n;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === ']' ) inClass = false;
      if (c === '[' && pattern[i + 1] === ':') {
        const end = pattern.indexOf(':]', i + 2);
        if (end > 0) {
          out += pattern.slice(i, end + 2);
          i = end + 2;
          continue;
        }
      }
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      // A `]` right after `[` or `[^` is literal in both dialects.
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith('<=')) return fail('look-behind `(?<=`', i);
      if (rest.startsWith('<!')) return fail('negative look-behind `(?<!`', i);
      if (rest.startsWith('=')) return fail('look-ahead `(?=`', i);
      if (rest.startsWith('!')) return fail('negative look-ahead `(?!`', i);
      if (rest.startsWith('>')) return fail('atomic group `(?>`', i);
      if (rest.startsWith('|')) return fail('branch reset group `(?|`', i);
      if (rest.startsWith('#')) return fail('comment group `(?#`', i);
      if (rest.startsWith('(')) return fail('conditional group `(?(`', i);
      if (/^(R|[+-]?\d|&|P>)/.test(rest)) return fail('recursion or subroutine call', i);
      if (rest.startsWith('P=')) return fail('named back-reference `(?P=`', i);
      const named = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest) ?? /^'([A-Za-z_][A-Za-z0-9_]*)'/.exec(rest);
      if (named) {
        out += `(?P<${named[1]}>`;
        i += 2 + named[0].length;
        continue;
      }
    }
    if ((c === '+') && i > 0 && /[*+?}]/.test(pattern[i - 1]!) && !isEscaped(pattern, i - 1)) {
      return fail('possessive quantifier', i - 1);
    }
    out += c;
    i++;
  }
  const re2 = (icase ? '(?i)' : '') + out;
  try {
    assertRe2(re2);
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/u: /s, '') : String(err);
    return fail(`not valid RE2: ${msg}`, 0);
  }
  return { ok: true, re2 };
}

function isEscaped(s: string, i: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= 0 && s[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

// The wrapped forms by pattern: the emitter wraps the same location or rewrite regex for
// every route and listener that uses it, and one string per pattern is also hashed once
// where it is looked up again (assertRe2, the emitter's memos).
const searchWrapped = new Map<string, string>();
const wholeMatchWrapped = new Map<string, string>();

/** nginx's search semantics as an RE2 full match. */
export function searchWrap(re2: string): string {
  return searchWrapped.get(re2) ?? remember(searchWrapped, re2, flagsPrefix(re2) + `.*(?:${re2.slice(flagsPrefix(re2).length)}).*`);
}

/** A pattern matching the whole string whose captures are those of the first PCRE match (for rewrites). */
export function wholeMatchWrap(re2: string): string {
  return wholeMatchWrapped.get(re2) ?? remember(wholeMatchWrapped, re2, flagsPrefix(re2) + `^.*?(?:${re2.slice(flagsPrefix(re2).length)}).*$`);
}

/** The `(?i)` a case-insensitive pattern starts with, kept in front of a wrapper. */
function flagsPrefix(re2: string): string {
  return re2.startsWith('(?i)') ? '(?i)' : '';
}

/** RE2 patterns known to compile (an entry is never false: a failing one throws each time). */
const compiles = new Map<string, true>();

/** Compile-check an RE2 pattern (translated or built by the emitter, wrappers included); throws with RE2's message. */
export function assertRe2(pattern: string): void {
  if (compiles.has(pattern)) return;
  compileCheck(pattern);
  remember(compiles, pattern, true);
}

/**
 * Whether an RE2 pattern finds a match in `input` (re2Exec(pattern, input) !== null), for
 * deciding at compile time what a regex does to a known path. A pattern in the subset
 * validate/re2-subset.ts recognises, with `(?i)` at most in front, means the same to a
 * JS RegExp on an input of printable ASCII, so re2-wasm (~35 ms to load and ~40 ms for its
 * first compile) is not needed for it:
 * - its items are ASCII literals, escaped punctuation, `.`, `^`, `$`, `\d \D \w \W \s \S`,
 *   classes of those (no `[` or `]` inside), groups, `(?P<name>…)` (JS: `(?<name>…)`),
 *   `|` and greedy or lazy `* + ? {n,m}` on one item: the same syntax in both;
 * - without RE2's `s` and `m` flags and on printable ASCII, `.` matches any character,
 *   `^`/`$` only the ends, `\s` only the space, `\d`/`\w` the same ASCII sets, and `(?i)`
 *   folds the same ASCII letters (no character outside ASCII is in the input to fold to);
 * - both search leftmost; whether a match exists does not depend on which one is chosen.
 * Anything else is asked of RE2 itself.
 */
export function re2Test(pattern: string, input: string): boolean {
  const js = jsRegExpOf(pattern);
  if (js !== null && isPrintableAscii(input)) return js.test(input);
  return re2Exec(pattern, input) !== null;
}

const jsRegExps = new Map<string, RegExp | null>();

function jsRegExpOf(pattern: string): RegExp | null {
  const known = jsRegExps.get(pattern);
  return known !== undefined ? known : remember(jsRegExps, pattern, toJsRegExp(pattern));
}

/** The JS RegExp meaning what `pattern` means to RE2 on printable ASCII, or null outside the subset (see re2Test). */
function toJsRegExp(pattern: string): RegExp | null {
  const icase = pattern.startsWith('(?i)');
  const body = icase ? pattern.slice(4) : pattern;
  if (body.includes('(?i)') || !provablyValidRe2(pattern)) return null;
  // `(?P<` opens a named group only outside a class and not after a backslash
  let js = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      js += c + body[i + 1]!;
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      js += c;
    } else if (c === '[') {
      inClass = true;
      js += c;
    } else if (c === '(' && body.startsWith('?P<', i + 1)) {
      js += '(?<';
      i += 3;
    } else js += c;
  }
  return new RegExp(js, icase ? 'i' : '');
}

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Run an RE2 pattern (used to evaluate a rewrite on a known URI at compile time). */
export function re2Exec(pattern: string, input: string): (string | undefined)[] | null {
  const re = compiledForExec(pattern);
  re.lastIndex = 0;
  return re.exec(input);
}
