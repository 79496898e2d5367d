// Bounded, seeded fuzzing: mutations of corpus files (byte flips, deletions,
// duplicated quotes/braces/semicolons, truncations) must never make the parser
// throw; every error must be a Diagnostic whose line:col lies inside the file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseText, toTokens, type Diagnostic } from '../../src/parse/index.js';
import { prng } from '../support/prng.js';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/nginx');
const SEED = 0x6e67696e; // "ngin"
const MUTATIONS = 3000;


const SPECIAL = ['"', "'", '{', '}', ';', '\\', '#', '$', '\n', '\u0000', ')', '${'];

function mutate(text: string, random: () => number): string {
  const pick = (n: number) => Math.floor(random() * n);
  let out = text;
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(out.length + 1);
    switch (pick(6)) {
      case 0: // flip a character to another byte value
        out = out.slice(0, at) + String.fromCharCode(pick(256)) + out.slice(at + 1);
        break;
      case 1: // delete a run
        out = out.slice(0, at) + out.slice(at + 1 + pick(8));
        break;
      case 2: {
        // duplicate a quote, brace or semicolon found near the position
        const found = out.slice(at).search(/["'{};]/);
        if (found >= 0) out = out.slice(0, at + found) + out[at + found] + out.slice(at + found);
        break;
      }
      case 3: // insert a character nginx treats specially
        out = out.slice(0, at) + SPECIAL[pick(SPECIAL.length)] + out.slice(at);
        break;
      case 4: // truncate
        out = out.slice(0, at);
        break;
      default: {
        // delete the next quote, brace or semicolon
        const found = out.slice(at).search(/["'{};]/);
        if (found >= 0) out = out.slice(0, at + found) + out.slice(at + found + 1);
      }
    }
  }
  return out;
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function lineLength(text: string, line: number): number {
  return Array.from(text.split('\n')[line - 1] ?? '').length;
}

/** A diagnostic is clean when it is plain data pointing inside the file. */
function problemWith(d: Diagnostic, text: string, file: string): string | null {
  if (d.severity !== 'error') return `severity ${d.severity}`;
  if (typeof d.message !== 'string' || d.message === '') return 'no message';
  if (d.source.file !== file) return `file ${d.source.file}`;
  const { line, col } = d.source;
  if (!Number.isInteger(line) || line < 1 || line > lineCount(text)) return `line ${line}`;
  if (!Number.isInteger(col) || col < 1 || col > lineLength(text, line) + 1) return `col ${col} on line ${line}`;
  if (d.lineText === undefined) return 'no line text';
  return null;
}

describe('fuzz: mutated corpus files give clean diagnostics, never a throw', () => {
  const sources = readdirSync(CORPUS)
    .filter((f) => f.endsWith('.conf'))
    .sort()
    .map((f) => readFileSync(join(CORPUS, f), 'utf8'));

  it(`${MUTATIONS} mutations (seed ${SEED.toString(16)})`, () => {
    const random = prng(SEED);
    const problems: string[] = [];
    let withErrors = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const text = mutate(sources[i % sources.length]!, random);
      let config;
      try {
        config = parseText(text, 'fuzz.conf');
        toTokens(config.root);
      } catch (err) {
        problems.push(`#${i}: threw ${(err as Error).message}`);
        continue;
      }
      if (config.errors.length > 0) withErrors++;
      for (const d of config.errors) {
        const problem = problemWith(d, text, 'fuzz.conf');
        if (problem) problems.push(`#${i}: ${problem}: ${d.message}`);
      }
      if ((config.errors.length > 0) !== (config.files[0]!.status === 'failed')) problems.push(`#${i}: status disagrees with errors`);
    }
    expect(problems).toEqual([]);
    // The mutations do exercise the error paths (a fuzz that never fails proves little).
    expect(withErrors).toBeGreaterThan(MUTATIONS / 2);
  });
});
