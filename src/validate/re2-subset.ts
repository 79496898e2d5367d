// A linear-time recognizer for a conservative subset of RE2's syntax, so the
// validator need not build a WASM RE2 object for the usual route regex
// (~3 ms each with re2-wasm, and a configuration has thousands).
//
// It answers only "certainly valid": true means RE2 (through re2-wasm, as
// regex.ts calls it) compiles the pattern; false means "not shown here", and
// the caller asks RE2 itself. So it may decline valid patterns, never accept
// an invalid one (test/validate/re2-subset.test.ts checks that against RE2
// on generated patterns). The subset: printable ASCII; literals; `.`; `^`
// `$`; `\d \D \w \W \s \S` and escaped punctuation; classes of literals,
// ranges and those escapes (a `-` first or last is literal); `(…)`, `(?:…)`, `(?P<name>…)` with distinct
// names; `(?i)`; `|`; `* + ?` (non-greedy too) and `{n}` `{n,}` `{n,m}` on a
// single character item. Length and counted repetition are capped so the
// compiled program stays far below RE2's size limit.

const MAX_LENGTH = 500;
/** the largest count in a {n,m} accepted here (RE2 allows 1000) */
const MAX_COUNT = 100;
/** the sum of the counts of a pattern's {n,m}: bounds the copies RE2 makes */
const MAX_COUNTED = 200;

/** Escaped punctuation RE2 reads as the literal character. */
const PUNCT_ESCAPES = new Set(['.', '/', '-', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '\\', '^', '$']);
const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

/** What one item of a concatenation is, for what may follow it. */
const enum Item {
  /** one character's worth: a literal, `.`, an escape, a class (may take any quantifier) */
  Single,
  /** a group (may take * + ?) */
  Group,
  /** `^`, `$` or `(?i)`: takes no quantifier here */
  Bare,
}

class SubsetParser {
  private i = 0;
  private counted = 0;
  private readonly names = new Set<string>();

  constructor(private readonly s: string) {}

  accepts(): boolean {
    const s = this.s;
    if (s.length > MAX_LENGTH) return false;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c > 0x7e) return false;
    }
    return this.alternation() && this.i === s.length;
  }

  private alternation(): boolean {
    if (!this.concatenation()) return false;
    while (this.s[this.i] === '|') {
      this.i++;
      if (!this.concatenation()) return false;
    }
    return true;
  }

  private concatenation(): boolean {
    const s = this.s;
    while (this.i < s.length && s[this.i] !== '|' && s[this.i] !== ')') {
      const item = this.item();
      if (item === null) return false;
      if (!this.atQuantifier()) continue;
      if (item === Item.Bare || !this.quantifier(item)) return false;
      // stacked repetition (a**, a{2}*) is RE2's "bad repetition operator"
      if (this.atQuantifier()) return false;
    }
    return true;
  }

  private atQuantifier(): boolean {
    const c = this.s[this.i];
    return c === '*' || c === '+' || c === '?' || c === '{';
  }

  private item(): Item | null {
    const s = this.s;
    const c = s[this.i]!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass() ? Item.Single : null;
      case '\\': {
        const next = s[this.i + 1];
        if (next === undefined || !(PUNCT_ESCAPES.has(next) || CLASS_ESCAPES.has(next))) return null;
        this.i += 2;
        return Item.Single;
      }
      case '^':
      case '$':
        this.i++;
        return Item.Bare;
      case '.':
        this.i++;
        return Item.Single;
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ']':
        return null;
      default:
        this.i++;
        return Item.Single;
    }
  }

  private group(): Item | null {
    const s = this.s;
    if (s.startsWith('(?i)', this.i)) {
      this.i += 4;
      return Item.Bare;
    }
    if (s.startsWith('(?:', this.i)) this.i += 3;
    else if (s.startsWith('(?P<', this.i)) {
      const end = s.indexOf('>', this.i + 4);
      if (end < 0) return null;
      const name = s.slice(this.i + 4, end);
      if (!NAME_RE.test(name) || this.names.has(name)) return null;
      this.names.add(name);
      this.i = end + 1;
    } else if (s[this.i + 1] === '?') return null;
    else this.i += 1;
    if (!this.alternation() || s[this.i] !== ')') return null;
    this.i++;
    return Item.Group;
  }

  /** `[`, an optional `^`, one or more items, `]`. */
  private charClass(): boolean {
    const s = this.s;
    this.i++;
    if (s[this.i] === '^') this.i++;
    let items = 0;
    while (s[this.i] !== ']') {
      if (this.i >= s.length) return false;
      if (s[this.i] === '-' && (items === 0 || s[this.i + 1] === ']')) {
        this.i++; // a literal '-' first or last
      } else if (s[this.i] === '\\' && CLASS_ESCAPES.has(s[this.i + 1] ?? '')) {
        this.i += 2;
        if (s[this.i] === '-') return false;
      } else {
        const lo = this.classChar();
        if (lo === null) return false;
        if (s[this.i] === '-' && s[this.i + 1] !== ']') {
          this.i++;
          const hi = s[this.i] === '\\' ? null : this.classChar();
          if (hi === null || hi < lo) return false;
        }
      }
      items++;
    }
    this.i++;
    return items > 0;
  }

  /** A literal character of a class (escaped punctuation included), as a code. */
  private classChar(): number | null {
    const s = this.s;
    const c = s[this.i];
    if (c === undefined || c === '[' || c === ']' || c === '-') return null;
    if (c === '\\') {
      const next = s[this.i + 1];
      if (next === undefined || !PUNCT_ESCAPES.has(next)) return null;
      this.i += 2;
      return next.charCodeAt(0);
    }
    this.i++;
    return c.charCodeAt(0);
  }

  /** `*`, `+`, `?` or `{n}`, `{n,}`, `{n,m}` (on a single item only), optionally non-greedy. */
  private quantifier(item: Item): boolean {
    const s = this.s;
    if (s[this.i] === '{') {
      if (item !== Item.Single) return false;
      const m = /^\{([0-9]{1,3})(?:(,)([0-9]{1,3})?)?\}/.exec(s.slice(this.i, this.i + 10));
      if (!m) return false;
      const min = Number(m[1]);
      const max = m[3] === undefined ? (m[2] ? min + 1 : min) : Number(m[3]);
      if (min > MAX_COUNT || max > MAX_COUNT || min > max) return false;
      this.counted += max;
      if (this.counted > MAX_COUNTED) return false;
      this.i += m[0].length;
    } else this.i++;
    if (s[this.i] === '?') this.i++;
    return true;
  }
}

/** True when `pattern` is in the subset above, hence certainly compiles with RE2. */
export function provablyValidRe2(pattern: string): boolean {
  return new SubsetParser(pattern).accepts();
}
