// The validator as it was before the compiled walk (kept verbatim for the
// differential test: test/validate/differential.test.ts): the reference the
// fast validator in src/validate must agree with, finding for finding.

// Envoy compiles every RegexMatcher with RE2 when it loads the configuration
// and rejects the whole resource when one does not compile. Check each
// pattern with the real RE2 (re2-wasm), once per distinct pattern.

import { createRequire } from 'node:module';
import { keyPath } from '../../../src/validate/findings.js';
import { NO_FINDINGS, type LocalCheck } from './walk.js';

type Re2Constructor = new (pattern: string, flags?: string) => unknown;

const require = createRequire(import.meta.url);
let re2: Re2Constructor | undefined;

/** re2-wasm costs ~75 ms to instantiate: only configurations with a regex pay it. */
function RE2(): Re2Constructor {
  re2 ??= (require('re2-wasm') as { RE2: Re2Constructor }).RE2;
  return re2;
}

const verdicts = new Map<string, string | null>();

/** null when RE2 compiles `pattern`, else RE2's complaint. */
export function re2Problem(pattern: string): string | null {
  let verdict = verdicts.get(pattern);
  if (verdict === undefined) {
    try {
      new (RE2())(pattern, 'u');
      verdict = null;
    } catch (e) {
      // re2-wasm words it as a JS RegExp error; keep RE2's own part
      verdict = (e as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /s, '');
    }
    if (verdicts.size < 50_000) verdicts.set(pattern, verdict);
  }
  return verdict;
}

/** A RegexMatcher whose pattern RE2 refuses. */
export const regexCheck: LocalCheck = (site) => {
  const pattern = site.value.regex;
  if (typeof pattern !== 'string' || pattern === '') return NO_FINDINGS; // min_len reports the empty one
  const problem = re2Problem(pattern);
  if (problem === null) return NO_FINDINGS;
  return [{ path: keyPath(site.path, 'regex'), message: `invalid RE2 regex ${JSON.stringify(pattern)}: ${problem}`, severity: 'error' }];
};
