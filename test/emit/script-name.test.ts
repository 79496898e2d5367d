// A Lua script's name is the start of its text's SHA-256, whichever way Node hashes it:
// crypto.hash where it exists (Node 20.12 on), createHash on Node 20.11.
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

const state = vi.hoisted(() => ({ oneShot: true }));

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  // `hash` as Node 20.11 has it (absent) when state.oneShot is off
  return { ...real, get hash() { return state.oneShot ? real.hash : undefined; } };
});

const { statusGatedScript, statusGatedScriptName } = await import('../../src/emit/envoy/http-filters.js');

describe('Lua script names', () => {
  const text = statusGatedScript([['X-A', '1'], ['X-Ü', '5% "q"']]);
  const expected = `add_header.${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;

  it('with crypto.hash', () => {
    state.oneShot = true;
    expect(statusGatedScriptName(text)).toBe(expected);
  });

  it('without it (Node 20.11): the same name', () => {
    state.oneShot = false;
    expect(statusGatedScriptName(text)).toBe(expected);
    state.oneShot = true;
  });
});
