// The report's summary: the directives counted by class (compile.ts summarise).
import { describe, expect, test } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compile, summarise } from '../../src/compile.js';
import type { ReportEntry } from '../../src/ir/types.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

function entry(cls: string): ReportEntry {
  return { file: 'nginx.conf', line: 1, col: 1, directive: 'x', class: cls as ReportEntry['class'], reason: 'r' };
}

describe('report summary', () => {
  const fixtures = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'report.json')));

  test.each(fixtures)('%s: every directive counted under its class, the notes counted', (name) => {
    const { report } = compile(join(FIXTURES, name, 'nginx.conf'), {});
    const byClass = { translated: 0, approximated: 0, ignored: 0, unsupported: 0 };
    for (const e of report.directives) byClass[e.class]++;
    expect(report.summary).toEqual({ directives: report.directives.length, ...byClass, notes: report.notes.length });
    // the key order is report.json's
    expect(Object.keys(report.summary)).toEqual(['directives', 'translated', 'approximated', 'ignored', 'unsupported', 'notes']);
  });

  test('classes met in any order, the last class first met late', () => {
    const entries = [...Array.from({ length: 50 }, () => entry('translated')), entry('ignored'), entry('approximated'), entry('translated'), entry('unsupported')];
    expect(summarise(entries, [entry('approximated')])).toEqual({ directives: 54, translated: 51, approximated: 1, ignored: 1, unsupported: 1, notes: 1 });
    expect(summarise([], [])).toEqual({ directives: 0, translated: 0, approximated: 0, ignored: 0, unsupported: 0, notes: 0 });
  });

  test('an entry of another class (never the compiler\'s) is counted under its own name, as before', () => {
    const s = summarise([entry('translated'), entry('other'), entry('unsupported')], []) as unknown as Record<string, number>;
    expect(s.translated).toBe(1);
    expect(s.unsupported).toBe(1);
    expect(s.directives).toBe(3);
    // (never set before: undefined + 1, as `s[cls]++` always gave)
    expect(s.other).toBeNaN();
  });
});
