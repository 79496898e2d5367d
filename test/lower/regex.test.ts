// PCRE → RE2: what translates (and means the same), what is rejected with the
// construct named, and nginx's search semantics as an RE2 full match.
import { describe, expect, test } from 'vitest';
import { pcreToRe2, searchWrap, wholeMatchWrap, re2Exec, re2Test, assertRe2 } from '../../src/lower/regex.js';
import { provablyValidRe2 } from '../../src/validate/re2-subset.js';
import { prng } from '../support/prng.js';

describe('pcreToRe2', () => {
  test.each([
    ['\\.php$', false, '\\.php$'],
    ['^/user/(?<id>\\d+)$', false, '^/user/(?P<id>\\d+)$'],
    ["^/(?'name'[a-z]+)", false, '^/(?P<name>[a-z]+)'],
    ['\\.(png|jpe?g)$', true, '(?i)\\.(png|jpe?g)$'],
    ['[^/]+\\Z', false, '[^/]+\\z'],
    ['[]a]', false, '[\\]a]'],
  ])('%s → %s', (pcre, icase, re2) => {
    const r = pcreToRe2(pcre, icase);
    expect(r).toEqual({ ok: true, re2 });
  });

  test.each([
    ['(?<=/admin)/x', 'look-behind', 0],
    ['/x(?<!y)', 'negative look-behind', 2],
    ['^/a(?=b)', 'look-ahead', 3],
    ['^/a(?!b)', 'negative look-ahead', 3],
    ['^/(\\w+)/\\1$', 'back-reference', 8],
    ['(?>a+)b', 'atomic group', 0],
    ['a++b', 'possessive quantifier', 1],
    ['\\Gabc', '\\G', 0],
    ['(a|(?R))', 'recursion', 3],
    ['(?(1)a|b)', 'conditional group', 0],
    ['\\k<n>', 'named back-reference', 0],
  ])('%s is rejected (%s)', (pcre, what, offset) => {
    const r = pcreToRe2(pcre);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(what);
      expect(r.offset).toBe(offset);
    }
  });

  test('group syntax inside a character class is literal', () => {
    expect(pcreToRe2('^/[(?=]x').ok).toBe(true);
  });

  test('syntax RE2 lacks is caught by compiling with real RE2', () => {
    const r = pcreToRe2('a{,3}(?x) b');
    expect(r.ok).toBe(false);
  });

  test('a pattern outside the subset known valid without compiling is still compiled: RE2 refuses it', () => {
    // non-ASCII text takes it out of re2-subset.ts's subset; the repetition is over RE2's limit of 1000
    const r = pcreToRe2('^/caféx{1001}$');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('not valid RE2');
  });

  test('the wrapped forms the emitter builds are checked too', () => {
    expect(() => assertRe2(searchWrap('^/caféx{1001}$'))).toThrow();
    expect(() => assertRe2(searchWrap('^/api/(?P<v>[0-9]+)$'))).not.toThrow();
  });
});

describe('search semantics', () => {
  test('R becomes .*(?:R).* and keeps its anchors', () => {
    const re = searchWrap(pcreToRe2('^/api').ok ? '^/api' : '');
    expect(re2Exec(`^(?:${re})$`, '/api/x')).not.toBeNull();
    expect(re2Exec(`^(?:${re})$`, '/x/api')).toBeNull();
    const php = searchWrap('\\.php$');
    expect(re2Exec(`^(?:${php})$`, '/a/b.php')).not.toBeNull();
    expect(re2Exec(`^(?:${php})$`, '/a/b.php/x')).toBeNull();
  });

  test('(?i) stays in front of the wrapper', () => {
    expect(searchWrap('(?i)\\.png$')).toBe('(?i).*(?:\\.png$).*');
  });

  test('wrappers are remembered per pattern, and stay right past the memo’s size limit (it is emptied, not kept growing)', () => {
    for (let i = 0; i < 25_000; i++) {
      expect(searchWrap(`^/w${i}$`)).toBe(`.*(?:^/w${i}$).*`);
      expect(wholeMatchWrap(`(?i)/w${i}`)).toBe(`(?i)^.*?(?:/w${i}).*$`);
    }
    expect(searchWrap('^/w7$')).toBe('.*(?:^/w7$).*');
  });

  test('the whole-match wrapper keeps the first match’s captures as group 1…', () => {
    const m = re2Exec(wholeMatchWrap('/old/([a-z]+)'), '/x/old/abc/old/def');
    expect(m?.[1]).toBe('abc');
  });
});

// re2-wasm's heap is a fixed 16 MB and never frees an RE2 object by itself: about
// 6,000 compiles exhaust it and every later compile aborts, which would report a
// valid location regex as "not valid RE2". Checks free their object; execs keep a
// bounded set. (The `é` puts each pattern outside the subset validate/re2-subset.ts
// proves valid without compiling, so every one of them is compiled.)
describe('RE2 heap', () => {
  test('7,000 distinct location regexes are all accepted and all run', () => {
    const failures: string[] = [];
    for (let i = 0; i < 7000; i++) {
      const r = pcreToRe2(`^/api/v(?<version>[0-9]+)/café${i}/([0-9]+)$`, false);
      if (!r.ok) failures.push(`${i}: ${r.message}`);
      else if (re2Exec(r.re2, `/api/v2/café${i}/17`)?.[1] !== '2') failures.push(`${i}: no match`);
      if (failures.length > 3) break;
    }
    expect(failures).toEqual([]);
  }, 60_000);
});

// re2Test answers with a JS RegExp for the patterns of validate/re2-subset.ts on printable
// ASCII (re2-wasm is then not loaded at all): it must agree with RE2 itself everywhere.
describe('re2Test agrees with RE2', () => {
  const agree = (pattern: string, input: string): void => {
    expect(re2Test(pattern, input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`).toBe(re2Exec(pattern, input) !== null);
  };

  test('the forms the emitter tests, and the edges of the translation', () => {
    const cases: [string, string[]][] = [
      ['.*(?:\\.php$).*', ['/a.php', '/a.php/x', '/', '//', '/A.PHP']],
      ['(?i).*(?:\\.(?:jpe?g|png)$).*', ['/x.JPG', '/x.jpeg', '/x.pngx', '/']],
      ['.*(?:^/api/v(?P<version>[0-9]+)/admin/([0-9]+)$).*', ['/api/v2/admin/17', '/api/v/admin/1', '//api/v2/admin/1']],
      ['^(.*?(?:^/old-admin/(.*)$).*)$', ['/old-admin/x', '/old-admin', '/x/old-admin/']],
      // `(?P<` as literal text: after a backslash, or inside a class
      ['\\(?P<', ['(P<', 'P<', '(?P<']],
      ['[(?P<]x', ['(x', 'Px', '<x', 'x']],
      ['a\\sb', ['a b', 'a\tb', 'ab']],
      ['^a.b$', ['a b', 'a\nb', 'a\u00e9b', 'a\u2028b']],
      ['(?i)k', ['K', 'k', '\u212a']],
      ['(?i)[^a-z]', ['A', '1', 'z']],
      ['(?i)[Z-a]', ['z', 'A', '_']],
      ['\\W\\S\\D', ['!x!', ' a ', '\u00a0a!']],
      ['x(?i)y', ['xY', 'XY']],
      ['', ['', 'a']],
      ['a|', ['b']],
    ];
    for (const [pattern, inputs] of cases) for (const input of inputs) agree(pattern, input);
  });

  test('seeded random patterns of the subset on random ASCII paths', () => {
    const tokens = [
      'a', 'b', 'Z', 'k', 's', '0', '7', '/', '-', ' ', '#', ',', ':', '.', '^', '$', '*', '+', '?', '*?', '+?', '??',
      '{2}', '{1,3}', '{2,}', '{0}', '(', ')', '(?:', '(?P<n>', '(?P<m>', '(?i)', '|', '[', ']', '[^', 'a-z', 'A-Z', '0-9', '-]',
      '\\.', '\\d', '\\w', '\\s', '\\S', '\\W', '\\D', '\\/', '\\-', '\\]', '\\(', '\\\\', '\\$', '.*', '.+',
    ];
    const chars = 'aAbBzZkKsS079/-_ .#,:$()[]\\';
    const rand = prng(20261121);
    let inSubset = 0;
    for (let n = 0; n < 2000; n++) {
      let pattern = (n % 4 === 0 ? '(?i)' : '') + '';
      const length = 1 + Math.floor(rand() * 10);
      for (let k = 0; k < length; k++) pattern += tokens[Math.floor(rand() * tokens.length)];
      if (!provablyValidRe2(pattern)) continue;
      inSubset++;
      for (let m = 0; m < 6; m++) {
        let input = '';
        const size = Math.floor(rand() * 8);
        for (let k = 0; k < size; k++) input += chars[Math.floor(rand() * chars.length)];
        agree(pattern, input);
      }
    }
    expect(inSubset).toBeGreaterThan(300); // the test means something only if many patterns take the JS path
  }, 60_000);
});
