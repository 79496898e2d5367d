// The packed report (what convert -o hands to its writer thread): it unpacks to entries
// that render byte for byte as the originals, survives a real structured clone with its
// buffers moved, and refuses what it cannot carry exactly.
import { describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { compile, type Report } from '../../src/compile.js';
import { packedBuffers, packReport, unpackReport, type PackedReport } from '../../src/report/packed.js';
import { renderPackedReportFiles, renderPackedReportJson, renderReportJsonBytes, renderReportMarkdown } from '../../src/report/render.js';
import type { ReportEntry } from '../../src/ir/types.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
const EXAMPLE = resolve(import.meta.dirname, '../../examples/nginx.conf');
const compiled = [
  EXAMPLE,
  ...readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'report.json')))
    .map((d) => join(FIXTURES, d, 'nginx.conf')),
];

/** Through a real port, as postMessage sends it to the worker (buffers moved). */
function sent(packed: PackedReport): PackedReport {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(packed, packedBuffers(packed));
  const received = receiveMessageOnPort(port2)!.message as PackedReport;
  port1.close();
  return received;
}

function entry(over: Partial<ReportEntry> = {}): ReportEntry {
  return { file: 'nginx.conf', line: 3, col: 5, directive: 'expires', class: 'unsupported', reason: '`expires` is not translated', ...over };
}

function reportOf(directives: ReportEntry[], notes: ReportEntry[] = []): Report {
  return { summary: { directives: directives.length, translated: 0, approximated: 0, ignored: 0, unsupported: directives.length, notes: notes.length }, directives, notes };
}

describe('packed report', () => {
  test.each(compiled)('unpacks, after crossing a port, to the same report and the same files for %s', (file) => {
    const { report, ok } = compile(file, {});
    expect(ok).toBe(true);
    const json = renderReportJsonBytes(report);
    const md = renderReportMarkdown(report);
    const packed = packReport(report)!;
    expect(packed).not.toBeNull();
    const back = unpackReport(sent(packed));
    expect(back).toEqual(report);
    // key order too: report.json writes the keys in the entry's order
    for (let i = 0; i < back.directives.length; i++) expect(Object.keys(back.directives[i]!)).toEqual(Object.keys(report.directives[i]!));
    expect(renderReportJsonBytes(back).equals(json)).toBe(true);
    expect(renderReportMarkdown(back)).toBe(md);
    // report.json rendered from the rows themselves, as the writer thread does
    expect(renderPackedReportJson(sent(packReport(report)!)).equals(json)).toBe(true);
  });

  test('report.json of lists packed with tables of their own is that of the report they unpack to', () => {
    const directives = packReport(reportOf([entry(), entry({ line: 9, reason: 'é → "q"' })]))!.directives;
    const notes = packReport(reportOf([entry({ file: 'other.conf', line: 0, col: 0, reason: 'note' })]))!.directives;
    const packed: PackedReport = { summary: reportOf([]).summary, directives, notes };
    expect(packed.notes.strings).not.toBe(packed.directives.strings);
    expect(renderPackedReportJson(packed).equals(renderReportJsonBytes(unpackReport(packed)))).toBe(true);
  });

  test('the files the writer thread writes: report.json bytes and report.md text under DIR', () => {
    const { report } = compile(EXAMPLE, {});
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-packed-'));
    try {
      const files = renderPackedReportFiles(dir, sent(packReport(report)!));
      expect(files.map((f) => f.path)).toEqual([join(dir, 'report.json'), join(dir, 'report.md')]);
      expect(Buffer.from(files[0]!.bytes!).equals(renderReportJsonBytes(report))).toBe(true);
      expect(files[1]!.text).toBe(renderReportMarkdown(report));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each distinct string once, shared by both lists', () => {
    const directives = Array.from({ length: 1000 }, (_, i) => entry({ line: i + 1, reason: i % 2 ? 'odd' : 'even' }));
    const notes = [entry({ file: 'other.conf', line: 0, col: 0, class: 'approximated', reason: 'odd' })];
    const packed = packReport(reportOf(directives, notes))!;
    expect(packed.directives.strings).toBe(packed.notes.strings);
    expect([...packed.directives.strings].sort()).toEqual(['approximated', 'even', 'expires', 'nginx.conf', 'odd', 'other.conf', 'unsupported']);
    expect(packed.directives.rows.length).toBe(6000);
    expect(unpackReport(packed)).toEqual(reportOf(directives, notes));
  });

  test('either list empty, or the notes going on in the directives\' last file: each list comes back as it was', () => {
    const directives = [entry({ file: 'a.conf', line: 1 }), entry({ file: 'b.conf', line: 2, reason: 'b' })];
    const notes = [entry({ file: 'b.conf', line: 0, col: 0, class: 'approximated', reason: 'n' }), entry({ file: 'a.conf', line: 7 })];
    for (const r of [reportOf(directives, notes), reportOf([], notes), reportOf(directives, []), reportOf([], [])]) {
      const packed = packReport(r)!;
      expect(packed.directives.rows.length).toBe(r.directives.length * 6);
      expect(packed.notes.rows.length).toBe(r.notes.length * 6);
      expect(unpackReport(sent(packed))).toEqual(r);
      expect(renderPackedReportJson(sent(packReport(r)!)).equals(renderReportJsonBytes(r))).toBe(true);
    }
    // one buffer for both lists, moved once
    const packed = packReport(reportOf(directives, notes))!;
    expect(packedBuffers(packed)).toEqual([packed.directives.rows.buffer]);
  });

  test('unicode, empty strings, zero and large line numbers come back exactly', () => {
    const directives = [
      entry({ file: 'конф/ü.conf', reason: 'a "quoted" →\n reason', directive: '' }),
      entry({ line: 0, col: 0 }),
      entry({ line: 2 ** 31 - 1, col: 1 }),
      entry({ line: -1 }),
    ];
    const r = reportOf(directives);
    expect(unpackReport(sent(packReport(r)!))).toEqual(r);
  });

  // What cannot cross exactly makes packReport give up: the reports are then rendered on the main thread.
  test.each<[string, () => unknown]>([
    ['a fractional line', () => entry({ line: 1.5 })],
    ['a line past int32', () => entry({ line: 2 ** 31 })],
    ['-0', () => entry({ col: -0 })],
    ['NaN', () => entry({ line: NaN })],
    ['a string line', () => ({ ...entry(), line: '3' })],
    ['another key order', () => ({ line: 3, file: 'nginx.conf', col: 5, directive: 'expires', class: 'unsupported', reason: 'r' })],
    ['an extra key', () => ({ ...entry(), extra: 1 })],
    ['a missing key', () => {
      const e: Partial<ReportEntry> = entry();
      delete e.reason;
      return e;
    }],
    ['an inherited enumerable key', () => Object.assign(Object.create({ inherited: 1 }), entry())],
    ['null', () => null],
  ])('%s: not packed', (_, make) => {
    const directives = [entry(), make() as ReportEntry];
    expect(packReport(reportOf(directives))).toBeNull();
    expect(packReport(reportOf([entry()], directives))).toBeNull();
  });

  test('a hole in a list: not packed', () => {
    const directives = [entry()];
    directives.length = 2;
    expect(packReport(reportOf(directives))).toBeNull();
  });
});
