// Every real-world config of the shared corpus converts without a crash: either
// a valid Envoy bootstrap whose report accounts for every directive of the
// input (includes too), or clean diagnostics with a position (a missing
// include, input nginx itself rejects).
import { describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { validateBootstrap, formatFindings, hasErrors } from '../../src/validate/index.js';
import type { Statement } from '../../src/parse/ast.js';

const DIR = '/work/shared/corpus/nginx';
const files = readdirSync(DIR).filter((f) => f.endsWith('.conf')).sort();

function countDirectives(stmts: Statement[]): number {
  let n = 0;
  for (const s of stmts) {
    if (s.kind !== 'directive') continue;
    n += 1 + countDirectives(s.block ?? []);
  }
  return n;
}

describe('corpus converts', () => {
  test('the corpus is there', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
  });

  test.each(files)('%s', (file) => {
    const r = compile(join(DIR, file), {});
    if (!r.ok) {
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      expect(errors.length).toBeGreaterThan(0);
      for (const d of errors) {
        expect(d.message).not.toMatch(/internal|undefined|TypeError/);
        expect(d.source.line).toBeGreaterThan(0);
      }
      return;
    }
    // One report entry per directive of the spliced tree, each with one class.
    expect(r.report.directives.length).toBe(countDirectives(r.parsed.root));
    for (const e of r.report.directives) {
      expect(['translated', 'approximated', 'ignored', 'unsupported']).toContain(e.class);
      expect(e.reason.length).toBeGreaterThan(0);
    }
    const s = r.report.summary;
    expect(s.translated + s.approximated + s.ignored + s.unsupported).toBe(s.directives);
    const findings = validateBootstrap(r.bootstrap);
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });
});
