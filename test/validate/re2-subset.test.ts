// The RE2 subset recognizer may only say "valid" where RE2 itself (re2-wasm,
// as the validator calls it) compiles the pattern: checked on every regex of
// the golden fixtures, on patterns RE2 refuses, and on seeded random token
// strings built to sit near the subset's edges.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { provablyValidRe2 } from '../../src/validate/re2-subset.js';
import { re2Problem, re2Verdict } from '../../src/validate/regex.js';
import { parse as parseYaml } from 'yaml';
import { prng } from '../support/prng.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

function goldenRegexes(): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'regex' && typeof x === 'string') found.add(x);
        else visit(x);
      }
    }
  };
  for (const d of readdirSync(FIXTURES)) {
    const file = join(FIXTURES, d, 'envoy.yaml');
    if (existsSync(file)) visit(parseYaml(readFileSync(file, 'utf8')));
  }
  return [...found].sort();
}

describe('RE2 subset recognizer', () => {
  it('accepts the regexes the compiler emits (all of the golden fixtures) and RE2 agrees', () => {
    const regexes = goldenRegexes();
    expect(regexes.length).toBeGreaterThan(20);
    for (const r of regexes) {
      expect(re2Verdict(r), r).toBeNull();
      expect(provablyValidRe2(r), r).toBe(true);
    }
  });

  it('accepts the usual location regex forms', () => {
    for (const r of [
      '.*(?:^/api/v(?P<version>[0-9]+)/admin/([0-9]+)$).*',
      '(?i).*(?:\\.(?:jpe?g|png|gif|webp|svg)$).*',
      '^(.*?(?:^/old-admin/(.*)$).*)$',
      '^/(\\d{4})/(\\d{2})/([^/]+)$',
      '[a-zA-Z0-9_.-]+',
      '^/static/.+\\.(css|js)$',
    ]) {
      expect(provablyValidRe2(r), r).toBe(true);
      expect(re2Verdict(r), r).toBeNull();
    }
  });

  it('declines what RE2 refuses, and RE2 then has its say', () => {
    for (const r of ['(?<=a)b', '(?!a)b', '(a)\\1', 'a**', 'a{2}*', '(?P<n>a)(?P<n>b)', '[z-a]', 'a{2,1}', 'a{1001}', '(', ')', '[', '\\', '*a', '(?i)*', 'a|*']) {
      expect(provablyValidRe2(r), r).toBe(false);
      expect(re2Problem(r), r).not.toBeNull();
    }
  });

  it('never accepts a pattern RE2 refuses (3,000 seeded random patterns)', () => {
    const tokens = [
      'a', 'b', 'Z', '0', '7', '/', '-', ' ', '#', ',', ':', '.', '^', '$', '*', '+', '?', '*?', '+?', '??',
      '{2}', '{1,3}', '{2,}', '{0}', '{100}', '{101}', '{3,1}', '{,2}', '{', '}', '(', ')', '(?:', '(?P<n>', '(?P<m>',
      '(?P<1x>', '(?P<>', '(?i)', '(?i:', '(?=', '(?<', '|', '[', ']', '[^', 'a-z', 'z-a', '-]', '[]', '\\.', '\\d', '\\w',
      '\\S', '\\/', '\\-', '\\]', '\\1', '\\b', '\\x', '\\', '\\\\', '\\{', '\\$',
    ];
    const rand = prng(20260521);
    let accepted = 0;
    let refusedByRe2 = 0;
    for (let n = 0; n < 3000; n++) {
      const length = 1 + Math.floor(rand() * 12);
      let pattern = '';
      for (let k = 0; k < length; k++) pattern += tokens[Math.floor(rand() * tokens.length)];
      if (provablyValidRe2(pattern)) {
        accepted++;
        expect(re2Verdict(pattern), pattern).toBeNull();
      } else if (n % 5 === 0 && re2Verdict(pattern) !== null) refusedByRe2++;
    }
    // the test means something only if both sides are well represented
    expect(accepted).toBeGreaterThan(200);
    expect(refusedByRe2).toBeGreaterThan(100);
  });
});
