// The status-gated Lua script lists its headers as Lua string literals: quotes,
// backslashes and control characters escaped (decimal escapes), anything else as written.
import { describe, expect, it } from 'vitest';
import { statusGatedScript } from '../../src/emit/envoy/http-filters.js';

/** The `local headers = { … }` line of a script. */
function headersLine(text: string): string {
  const line = text.split('\n').find((l) => l.startsWith('local headers = '));
  if (line === undefined) throw new Error('no headers line');
  return line;
}

describe('statusGatedScript', () => {
  it('writes plain names and values as they are, in order, comma-separated', () => {
    expect(headersLine(statusGatedScript([['X-A', '1'], ['X-Ü', '5% ok']]))).toBe('local headers = { { "X-A", "1" }, { "X-Ü", "5% ok" } }');
  });

  it('escapes quotes, backslashes and control characters', () => {
    const line = headersLine(statusGatedScript([['X-Q', 'say "hi"'], ['X-B', 'a\\b'], ['X-C', 'tab\there\x7f']]));
    expect(line).toBe('local headers = { { "X-Q", "say \\"hi\\"" }, { "X-B", "a\\\\b" }, { "X-C", "tab\\009here\\127" } }');
  });

  it('one header: no separator; the script keeps its status check and handler', () => {
    const text = statusGatedScript([['X-One', 'v']]);
    expect(headersLine(text)).toBe('local headers = { { "X-One", "v" } }');
    expect(text).toContain('function envoy_on_response(handle)');
    expect(text.startsWith('-- nginx add_header without `always`')).toBe(true);
  });
});
