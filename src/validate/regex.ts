// Envoy compiles every RegexMatcher with RE2 when it loads the configuration
// and rejects the whole resource when one does not compile. Check each
// pattern with the real RE2 (re2-wasm), once per distinct pattern, unless
// re2-subset.ts shows it valid without compiling it.

import { createRequire } from 'node:module';
import { keyPath } from './findings.js';
import { provablyValidRe2 } from './re2-subset.js';
import { NO_FINDINGS, type LocalCheck } from './walk.js';

type Re2Constructor = new (pattern: string, flags?: string) => unknown;

const require = createRequire(import.meta.url);
let re2: Re2Constructor | undefined;

/** re2-wasm costs ~50 ms to instantiate: only configurations with a regex outside re2-subset.ts pay it. */
function RE2(): Re2Constructor {
  re2 ??= (require('re2-wasm') as { RE2: Re2Constructor }).RE2;
  return re2;
}

const verdicts = new Map<string, string | null>();

/** null when RE2 compiles `pattern`, else RE2's complaint. */
export function re2Problem(pattern: string): string | null {
  let verdict = verdicts.get(pattern);
  if (verdict === undefined) {
    if (provablyValidRe2(pattern)) verdict = null;
    else verdict = re2Verdict(pattern);
    if (verdicts.size < 50_000) verdicts.set(pattern, verdict);
  }
  return verdict;
}

/** RE2's own verdict (a WASM compile: milliseconds). */
export function re2Verdict(pattern: string): string | null {
  try {
    const compiled = new (RE2())(pattern, 'u') as { wrapper?: { delete?: () => void } };
    // re2-wasm's heap is a fixed 16 MB and an RE2 object is never freed on its own:
    // a few thousand compiles exhaust it, after which every compile aborts
    compiled.wrapper?.delete?.();
    return null;
  } catch (e) {
    // re2-wasm words it as a JS RegExp error; keep RE2's own part
    return (e as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /s, '');
  }
}

/** A RegexMatcher whose pattern RE2 refuses. */
export const regexCheck: LocalCheck = (site) => {
  const pattern = site.value.regex;
  if (typeof pattern !== 'string' || pattern === '') return NO_FINDINGS; // min_len reports the empty one
  const problem = re2Problem(pattern);
  if (problem === null) return NO_FINDINGS;
  return [{ path: keyPath(site.path, 'regex'), message: `invalid RE2 regex ${JSON.stringify(pattern)}: ${problem}`, severity: 'error' }];
};
