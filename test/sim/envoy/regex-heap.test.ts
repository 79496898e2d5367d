// The evaluator runs Envoy's regexes with re2-wasm, whose heap is a fixed 16 MB
// and whose objects are never freed on their own. `check`, `diff` and `explain`
// evaluate whole configurations: thousands of distinct regexes must not exhaust
// that heap (every later regex would then read as rejected by Envoy).
import { describe, expect, test } from 'vitest';
import { re2FullMatch, re2GlobalReplace } from '../../../src/sim/envoy/regex.js';

describe('evaluator RE2 heap', () => {
  test('7,000 distinct full-match regexes all compile and answer', () => {
    const failures: string[] = [];
    for (let i = 0; i < 7000 && failures.length <= 3; i++) {
      try {
        if (!re2FullMatch(`/api/v(?<version>[0-9]+)/w${i}/([0-9]+)`, `/api/v2/w${i}/17`)) failures.push(`${i}: no match`);
        if (re2FullMatch(`/api/v(?<version>[0-9]+)/w${i}/([0-9]+)`, `/api/v2/w${i + 1}/17`)) failures.push(`${i}: matched another`);
      } catch (e) {
        failures.push(`${i}: ${(e as Error).message.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test('a regex evicted and compiled again still answers the same', () => {
    // Far more than the kept set, then the first ones again.
    for (let i = 0; i < 600; i++) re2GlobalReplace(`/w${i}/([a-z]+)`, `/w${i}/abc`, '/x/\\1');
    expect(re2GlobalReplace('/w0/([a-z]+)', '/w0/abc/w0/de', '[\\1]')).toBe('[abc][de]');
    expect(re2FullMatch('/w1/([a-z]+)', '/w1/abc')).toBe(true);
  });

  test('an invalid regex is still reported as invalid', () => {
    expect(() => re2FullMatch('(?<=a)b', 'ab')).toThrow(/invalid RE2 regex/);
  });
});
