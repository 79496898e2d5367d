// RE2 as Envoy uses it, through the real RE2 compiled to WASM (re2-wasm).
//
// Envoy's RegexMatcher (google_re2) "matches the entire string" — RE2::FullMatch
// (https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/matcher/v3/regex.proto).
// RegexMatchAndSubstitute replaces every match — RE2::GlobalReplace with `\1`…`\9`
// groups (same page, "RegexMatchAndSubstitute").

import { createRequire } from 'node:module';
import { EnvoyConfigError } from './config.js';

const require = createRequire(import.meta.url);
// re2-wasm is CommonJS; load it through require so the types stay exact.
const { RE2 } = require('re2-wasm') as typeof import('re2-wasm');
type Re2 = InstanceType<typeof RE2>;

// re2-wasm's heap is a fixed 16 MB and an RE2 object is never freed on its own:
// a few thousand live objects exhaust it, after which every compile aborts and a
// valid configuration would read as rejected. The compiled objects kept are
// bounded (the least recently used freed first).
const CACHE_LIMIT = 256;
const fullCache = new Map<string, Re2>();
const searchCache = new Map<string, Re2>();

interface Re2Handle {
  wrapper?: { delete?: () => void };
}

function compile(source: string, flags: string, original: string): Re2 {
  try {
    return new RE2(source, flags);
  } catch (e) {
    throw new EnvoyConfigError(`invalid RE2 regex ${JSON.stringify(original)}: ${(e as Error).message}`);
  }
}

/** The compiled regex for `key` from `cache`, compiled and kept (evicting the least recently used) if absent. */
function cached(cache: Map<string, Re2>, key: string, make: () => Re2): Re2 {
  let re = cache.get(key);
  if (re) {
    // Map order is insertion order: re-inserting marks it most recently used.
    cache.delete(key);
    cache.set(key, re);
    return re;
  }
  re = make();
  if (cache.size >= CACHE_LIMIT) {
    const [oldest, old] = cache.entries().next().value as [string, Re2];
    cache.delete(oldest);
    (old as unknown as Re2Handle).wrapper?.delete?.();
  }
  cache.set(key, re);
  return re;
}

/** RE2::FullMatch: the whole input must match. `$` in RE2 (no multi-line) is end of text. */
export function re2FullMatch(pattern: string, input: string): boolean {
  const re = cached(fullCache, pattern, () => compile(`^(?:${pattern})$`, 'u', pattern));
  re.lastIndex = 0;
  return re.test(input);
}

/** Throws EnvoyConfigError when Envoy would reject the regex at load time. */
export function re2Check(pattern: string): void {
  re2FullMatch(pattern, '');
}

/** Expands an RE2 rewrite string: `\0`…`\9` are groups, `\\` is a backslash. */
function expandRewrite(rewrite: string, groups: (string | undefined)[]): string {
  let out = '';
  for (let i = 0; i < rewrite.length; i++) {
    const c = rewrite[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = rewrite[i + 1];
    if (next !== undefined && next >= '0' && next <= '9') {
      out += groups[Number(next)] ?? '';
      i++;
    } else if (next === '\\') {
      out += '\\';
      i++;
    } else {
      throw new EnvoyConfigError(`invalid RE2 rewrite string ${JSON.stringify(rewrite)}: lone backslash`);
    }
  }
  return out;
}

/**
 * RE2::GlobalReplace: every non-overlapping match, left to right; an empty match
 * right where the previous match ended is skipped (RE2 advances one character).
 */
export function re2GlobalReplace(pattern: string, input: string, rewrite: string): string {
  const re = cached(searchCache, pattern, () => compile(pattern, 'gu', pattern));
  let out = '';
  let pos = 0; // next unread input position
  let lastEnd = -1;
  let searchFrom = 0;
  while (searchFrom <= input.length) {
    re.lastIndex = searchFrom;
    const m = re.exec(input);
    if (!m) break;
    const start = m.index;
    const text = m[0] ?? '';
    if (text.length === 0 && start === lastEnd) {
      // Disallowed empty match at the end of the last one: copy one char and go on.
      if (start >= input.length) break;
      searchFrom = start + 1;
      continue;
    }
    out += input.slice(pos, start) + expandRewrite(rewrite, Array.from(m));
    pos = start + text.length;
    lastEnd = pos;
    searchFrom = text.length === 0 ? pos + 1 : pos;
    if (text.length === 0) {
      // The character after an empty match is copied as is.
      out += input.slice(pos, Math.min(pos + 1, input.length));
      pos = Math.min(pos + 1, input.length);
    }
  }
  return out + input.slice(pos);
}
