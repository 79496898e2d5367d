// The report renderers: report.json is one JSON.stringify'd entry per line, to the byte however
// the entries look, and parses back to the report; report.md lists every entry to act on with
// its place and counts the rest.
import { describe, expect, test } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compile, type Report } from '../../src/compile.js';
import { renderReportJson, renderReportJsonBytes, renderReportMarkdown } from '../../src/report/render.js';
import type { ReportEntry } from '../../src/ir/types.js';
import { prng } from '../support/prng.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
const EXAMPLE = resolve(import.meta.dirname, '../../examples/nginx.conf');

/** report.json's layout, written the plain way: the summary on the first line, then one entry per line. */
function reference(report: Report): string {
  const list = (entries: ReportEntry[]): string =>
    entries.length === 0 ? '[]' : '[\n' + entries.map((e) => JSON.stringify(e) ?? 'null').join(',\n') + '\n]';
  return `{"summary":${JSON.stringify(report.summary)},\n"directives":${list(report.directives)},\n"notes":${list(report.notes)}}\n`;
}

/** The report as JSON reads it: what the former pretty-printed report.json held. */
function content(report: Report): unknown {
  return JSON.parse(JSON.stringify({ summary: report.summary, directives: report.directives, notes: report.notes }, null, 2));
}

function reportOf(directives: ReportEntry[], notes: ReportEntry[] = []): Report {
  const summary = { directives: directives.length, translated: 0, approximated: 0, ignored: 0, unsupported: 0, notes: notes.length };
  for (const e of directives) if (e.class in summary) summary[e.class]++;
  return { summary, directives, notes };
}

function entry(over: Partial<ReportEntry> = {}): ReportEntry {
  return { file: 'nginx.conf', line: 3, col: 5, directive: 'expires', class: 'unsupported', reason: '`expires` is not translated', ...over };
}

const compiledReports = [
  EXAMPLE,
  ...readdirSync(FIXTURES)
    .filter((d) => d !== 'parse' && existsSync(join(FIXTURES, d, 'report.json')))
    .map((d) => join(FIXTURES, d, 'nginx.conf')),
];

describe('report.json', () => {
  test.each(compiledReports)('is one entry per line and reads as the report for %s', (file) => {
    const result = compile(file, {});
    expect(result.ok).toBe(true);
    const text = renderReportJson(result.report);
    expect(text).toBe(reference(result.report));
    expect(JSON.parse(text)).toEqual(content(result.report));
    // summary line, directives line, each entry, the closing bracket, notes (one line when empty)
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\{"summary":\{"directives":\d+,/);
    expect(lines[1]).toBe('"directives":[');
    expect(lines.filter((l) => l.startsWith('{"file":')).length).toBe(result.report.directives.length + result.report.notes.length);
  });

  test('a report renders the same bytes every time', () => {
    const { report } = compile(EXAMPLE, {});
    expect(renderReportJsonBytes(report).equals(renderReportJsonBytes(report))).toBe(true);
  });

  test('escapes and encodes any string as JSON.stringify and UTF-8 do', () => {
    const odd = ['say "hi"', 'back\\slash', 'new\nline\ttab\r', 'arrow → ellipsis … emoji 🚀', 'lone \ud800 surrogate', '\u0000\u001f\u007f', '', 'café \u00ff\u0100 \u07ff\u0800 \u2028\u2029 \ufffd\uffff \u007f end', 'trail \udc00'];
    const directives = odd.map((s, i) => entry({ file: s || 'f.conf', directive: s, reason: s, line: i, col: i * 7 }));
    const report = reportOf(directives, [entry({ line: 0, col: 0, reason: odd[3]! })]);
    const bytes = renderReportJsonBytes(report);
    expect(bytes.equals(Buffer.from(reference(report), 'utf8'))).toBe(true);
    expect(renderReportJson(report)).toBe(reference(report));
    expect(JSON.parse(renderReportJson(report))).toEqual(content(report));
  });

  test('every UTF-16 code unit, alone and beside others, is quoted and encoded as JSON.stringify and UTF-8 do', () => {
    const units = Array.from({ length: 0x10000 }, (_, u) => String.fromCharCode(u));
    const directives = units.map((ch, u) => entry({ directive: ch, reason: `r ${ch} ${u}`, line: u }));
    directives.push(entry({ reason: 'pair 🚀 and lone \ud83d end' }), entry({ reason: '\ude80 first' }));
    const report = reportOf(directives);
    expect(renderReportJsonBytes(report).equals(Buffer.from(reference(report), 'utf8'))).toBe(true);
  });

  test('a class other than the four is written as JSON.stringify writes it', () => {
    const report = reportOf([entry(), entry({ class: 'experimental' as ReportEntry['class'] }), entry({ class: 'constructor' as ReportEntry['class'] })]);
    expect(renderReportJson(report)).toBe(reference(report));
  });

  test('entries of another shape are written as JSON.stringify writes them', () => {
    const reordered = { line: 1, file: 'a.conf', col: 2, directive: 'x', class: 'ignored', reason: 'r' } as ReportEntry;
    const extra = { ...entry(), hint: { see: ['a', 1] } } as ReportEntry;
    const missing = { file: 'a.conf', line: 1, col: 2, directive: 'x', class: 'ignored' } as ReportEntry;
    const withUndefined = { ...entry(), reason: undefined } as unknown as ReportEntry;
    const numbers = [1.5, -1, NaN, Infinity, 2 ** 31, 1e21, -0].map((n) => entry({ line: n, col: n }));
    const report = reportOf([entry(), reordered, extra, missing, withUndefined, ...numbers, entry({ line: 12345, col: 10 })]);
    expect(renderReportJson(report)).toBe(reference(report));
    expect(JSON.parse(renderReportJson(report))).toEqual(content(report));
  });

  test('one reason with thousands of directives (the entries of an untranslated map), some recurring with other classes', () => {
    const many = Array.from({ length: 3000 }, (_, i) =>
      entry({ line: i + 1, directive: `key_${i % 1200}`, class: i % 7 === 0 ? 'ignored' : 'unsupported', reason: 'entry of an untranslated `map`' }),
    );
    const report = reportOf([...many, entry(), ...many.slice(0, 40)], many.slice(100, 120));
    expect(renderReportJson(report)).toBe(reference(report));
  });

  test('long strings (copied as a whole), short ones, recurring in any order and in both lists, ASCII or not', () => {
    const rand = prng(11);
    const pick = (n: number): number => Math.floor(rand() * n);
    const long = (i: number): string => `reason ${i}: ` + 'x'.repeat(40 + i * 9) + (i % 2 === 0 ? ' → é 😀' : '') + (i % 3 === 0 ? ' "quoted" \\ ' : '');
    const reasons = [...Array.from({ length: 12 }, (_, i) => long(i)), 'short', 'é', ''];
    const many = Array.from({ length: 1500 }, () =>
      entry({ file: pick(5) === 0 ? 'conf.d/' + 'long-name-'.repeat(8) + '.conf' : 'nginx.conf', line: pick(5000), directive: 'd'.repeat(1 + pick(80)), reason: reasons[pick(reasons.length)]! }),
    );
    const report = reportOf(many, many.slice(200, 400).reverse());
    expect(renderReportJson(report)).toBe(reference(report));
    expect(renderReportJsonBytes(report).equals(Buffer.from(reference(report), 'utf8'))).toBe(true);
  });

  test('empty lists and the same values in many entries', () => {
    expect(renderReportJson(reportOf([]))).toBe(reference(reportOf([])));
    expect(renderReportJson(reportOf([]))).toBe('{"summary":{"directives":0,"translated":0,"approximated":0,"ignored":0,"unsupported":0,"notes":0},\n"directives":[],\n"notes":[]}\n');
    const rand = prng(7);
    const pick = (n: number): number => Math.floor(rand() * n);
    const files = ['nginx.conf', 'conf.d/a.conf', 'conf.d/b.conf'];
    const reasons = ['r1', 'r2 → x', 'r3 "q"'];
    const classes = ['translated', 'approximated', 'ignored', 'unsupported'] as const;
    const many = Array.from({ length: 2000 }, () =>
      entry({
        file: files[pick(files.length)]!,
        line: pick(100_000),
        col: pick(40),
        directive: ['proxy_pass', 'root', 'expires'][pick(3)]!,
        class: classes[pick(4)]!,
        reason: reasons[pick(reasons.length)]!,
      }),
    );
    const report = reportOf(many, many.slice(0, 10));
    expect(renderReportJson(report)).toBe(reference(report));
  });
});

describe('report.md', () => {
  test('summary, every entry to act on with its place, translated ones counted', () => {
    const directives = [
      entry({ line: 10, col: 1, directive: 'expires' }),
      entry({ line: 20, col: 3, directive: 'expires' }),
      entry({ line: 30, col: 3, directive: 'root', reason: 'nginx serves files here' }),
      entry({ line: 31, col: 3, directive: 'index', reason: 'nginx serves files here' }),
      entry({ line: 40, col: 9, directive: 'proxy_pass', class: 'approximated', reason: 'Host a|b\nsecond line' }),
      entry({ line: 2, col: 1, directive: 'events', class: 'ignored', reason: 'tuning' }),
      entry({ line: 5, col: 5, directive: 'location', class: 'translated', reason: 'route' }),
      entry({ line: 6, col: 5, directive: 'location', class: 'translated', reason: 'route' }),
      entry({ line: 7, col: 5, directive: 'listen', class: 'translated', reason: 'listener' }),
    ];
    const notes = [entry({ line: 0, col: 0, directive: 'server_tokens', class: 'approximated', reason: 'Envoy sends `server: envoy`' })];
    const md = renderReportMarkdown(reportOf(directives, notes));
    expect(md).toMatch(/^# Migration report\n\n9 directives: 3 translated, 1 approximated, 1 ignored, 4 unsupported; 1 notes\.\n/);
    expect(md).toContain('## Unsupported: 4 directives, 2 reasons');
    // the larger group first; one directive: places alone; several: each place names its directive
    expect(md).toContain('| `expires` is not translated | `expires` | 2 | nginx.conf:10:1, nginx.conf:20:3 |');
    expect(md).toContain('| nginx serves files here | `root`, `index` | 2 | nginx.conf:30:3 `root`, nginx.conf:31:3 `index` |');
    expect(md.indexOf('`expires` is not translated')).toBeLessThan(md.indexOf('nginx serves files here'));
    // a pipe or a newline in a reason stays inside its cell
    expect(md).toContain('| Host a\\|b second line | `proxy_pass` | 1 | nginx.conf:40:9 |');
    expect(md).toContain('| tuning | `events` | 1 | nginx.conf:2:1 |');
    // a note about the whole configuration names the file only
    expect(md).toContain('| approximated | Envoy sends `server: envoy` | `server_tokens` | 1 | nginx.conf |');
    expect(md).toContain('## Translated: 3 directives\n\n| directive | count |\n|---|---|\n| `location` | 2 |\n| `listen` | 1 |\n');
    expect(md).not.toContain('route');
    expect(md.indexOf('## Unsupported')).toBeLessThan(md.indexOf('## Approximated'));
    expect(md.indexOf('## Approximated')).toBeLessThan(md.indexOf('## Notes'));
    expect(md.indexOf('## Notes')).toBeLessThan(md.indexOf('## Ignored'));
    expect(md.indexOf('## Ignored')).toBeLessThan(md.indexOf('## Translated'));
  });

  test.each(compiledReports)('accounts for every entry of %s', (file) => {
    const { report } = compile(file, {});
    const md = renderReportMarkdown(report);
    for (const e of [...report.directives.filter((d) => d.class !== 'translated'), ...report.notes]) {
      const where = e.line > 0 ? `${e.file}:${e.line}:${e.col}` : e.file;
      const row = md.split('\n').find((l) => l.includes(e.reason.replace(/\|/g, '\\|').replace(/\n/g, ' ')) && new RegExp(`[| ,]${escapeRe(where)}[ ,|]`).test(l));
      expect(row, `${where} ${e.directive}: ${e.reason}`).toBeDefined();
    }
    const counts = new Map<string, number>();
    for (const e of report.directives) if (e.class === 'translated') counts.set(e.directive, (counts.get(e.directive) ?? 0) + 1);
    for (const [name, n] of counts) expect(md).toContain(`| \`${name}\` | ${n} |`);
  });

  test('many directives under one reason are counted in the row and named at each place', () => {
    const keys = Array.from({ length: 8 }, (_, i) => entry({ line: 100 + i, col: 9, directive: `tenant-${i}.example`, reason: 'entry of an untranslated `map`' }));
    const md = renderReportMarkdown(reportOf(keys));
    expect(md).toContain('| entry of an untranslated `map` | 8 directives | 8 | nginx.conf:100:9 `tenant-0.example`, ');
    expect(md).toContain('nginx.conf:107:9 `tenant-7.example` |');
  });

  test('entries of another shape (extra keys, odd numbers, keys reordered) are grouped and placed as any', () => {
    const extra = { ...entry({ line: 4, col: 2 }), hint: 'x' } as ReportEntry;
    const reordered = { reason: '`expires` is not translated', line: 9, file: 'b.conf', col: 1, directive: 'expires', class: 'unsupported' } as ReportEntry;
    const odd = entry({ line: 1.5, col: -0, class: 'ignored', reason: 'odd' });
    const md = renderReportMarkdown(reportOf([extra, reordered, odd, entry({ line: NaN, class: 'ignored', reason: 'odd' })]));
    expect(md).toContain('| `expires` is not translated | `expires` | 2 | nginx.conf:4:2, b.conf:9:1 |');
    expect(md).toContain('| odd | `expires` | 2 | nginx.conf:1.5:0, nginx.conf |');
  });

  test('a group stays of several directives once it has one more, whatever comes after', () => {
    const entries = [
      entry({ line: 1, directive: 'root', reason: 'static' }),
      entry({ line: 2, directive: 'root', reason: 'static' }),
      entry({ line: 3, directive: 'index', reason: 'static' }),
      entry({ line: 4, directive: 'root', reason: 'static' }),
    ];
    const md = renderReportMarkdown(reportOf(entries));
    expect(md).toContain('| static | `root`, `index` | 4 | nginx.conf:1:5 `root`, nginx.conf:2:5 `root`, nginx.conf:3:5 `index`, nginx.conf:4:5 `root` |');
  });

  test('notes are grouped by class and reason together', () => {
    const notes = [
      entry({ line: 1, class: 'approximated', reason: 'same' }),
      entry({ line: 2, class: 'unsupported', reason: 'same' }),
      entry({ line: 3, class: 'approximated', reason: 'same' }),
    ];
    const md = renderReportMarkdown(reportOf([], notes));
    expect(md).toContain('## Notes: 3 notes, 2 reasons');
    expect(md).toContain('| approximated | same | `expires` | 2 | nginx.conf:1:5, nginx.conf:3:5 |');
    expect(md).toContain('| unsupported | same | `expires` | 1 | nginx.conf:2:5 |');
  });

  test('a directive name with a backtick or a pipe keeps its code span and its cell', () => {
    const md = renderReportMarkdown(reportOf([entry({ directive: 'a`b|c' })]));
    expect(md).toContain('| `` a`b\\|c `` |');
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
