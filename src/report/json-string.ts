// A string as the JSON string literal JSON.stringify makes of it, without calling it for
// the strings that need no escape (most: 36,600 of the benchmark report's 42,600). The test
// is for what JSON.stringify escapes: the quote, the backslash, control characters and
// surrogates (escaped when lone); two quotes around the rest cost half of its call.
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
