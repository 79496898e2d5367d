// The report in a form that crosses to a worker thread cheaply. Copying 150,000 entry
// objects to another thread (structured clone) costs about as much as rendering them; the
// same entries as a table of distinct strings plus one Int32Array (transferred, not copied)
// cost a tenth of it. convert -o renders report.json and report.md from this on its writer
// thread while the main thread renders envoy.yaml; report.json is rendered from this form
// everywhere (render.ts).
import type { ReportEntry } from '../ir/types.js';
import type { Report, ReportSummary } from '../compile.js';

/** Entries as rows of six ints: file, line, col, directive, class, reason (strings as indexes into `strings`). */
export interface PackedEntries {
  strings: string[];
  rows: Int32Array;
}

export interface PackedReport {
  summary: ReportSummary;
  directives: PackedEntries;
  notes: PackedEntries;
}

export const PACKED_FIELDS = 6;

/**
 * The report packed, or null when an entry is not exactly the six fields with string and
 * int32 values (then only the objects themselves say what the renderers write).
 */
export function packReport(report: Report): PackedReport | null {
  const { directives, notes } = report;
  if (!Array.isArray(directives) || !Array.isArray(notes)) return null;
  // Both lists in one buffer, by one call: a second call of the packing loop, once it was
  // optimised during the first, would compile it all over again.
  const rows = new Int32Array((directives.length + notes.length) * PACKED_FIELDS);
  const strings = new StringTable();
  if (!packEntries(directives, notes, strings, rows)) return null;
  const table = strings.list();
  const split = directives.length * PACKED_FIELDS;
  return { summary: report.summary, directives: { strings: table, rows: rows.subarray(0, split) }, notes: { strings: table, rows: rows.subarray(split) } };
}

/** A report of any entries as rows of numbers: each field a string index, line and col as they are (for report.md). */
export interface LooselyPackedReport {
  summary: ReportSummary;
  directives: { strings: string[]; rows: Float64Array };
  notes: { strings: string[]; rows: Float64Array };
}

/**
 * The report's six fields of each entry as rows, whatever else an entry holds and whatever
 * its values are (a value that is not a string is tabled as its text): for report.md, which
 * reads only them, when packReport declines the report.
 */
export function packReportLoosely(report: Report): LooselyPackedReport {
  const strings = new StringTable();
  const list = (entries: ReportEntry[]): Float64Array => {
    const rows = new Float64Array(entries.length * PACKED_FIELDS);
    for (let i = 0, at = 0; i < entries.length; i++, at += PACKED_FIELDS) {
      const e = entries[i]!;
      rows[at] = strings.index(String(e.file));
      rows[at + 1] = e.line;
      rows[at + 2] = e.col;
      rows[at + 3] = strings.index(String(e.directive));
      rows[at + 4] = strings.index(String(e.class));
      rows[at + 5] = strings.index(String(e.reason));
    }
    return rows;
  };
  const directives = list(report.directives);
  const notes = list(report.notes);
  const table = strings.list();
  return { summary: report.summary, directives: { strings: table, rows: directives }, notes: { strings: table, rows: notes } };
}

export function unpackReport(packed: PackedReport): Report {
  return { summary: packed.summary, directives: unpackEntries(packed.directives), notes: unpackEntries(packed.notes) };
}

/** The buffers a postMessage can move instead of copying (each once: packReport's lists share one). */
export function packedBuffers(packed: PackedReport): ArrayBuffer[] {
  const directives = packed.directives.rows.buffer as ArrayBuffer;
  const notes = packed.notes.rows.buffer as ArrayBuffer;
  return directives === notes ? [directives] : [directives, notes];
}

/**
 * The entries of `directives`, then those of `notes`, into `rows`; false at an entry that
 * cannot be packed exactly. One loop for both: the change of list sets locals only (nothing
 * the optimised loop has not run before), and nothing but a constant follows the loop.
 */
function packEntries(directives: ReportEntry[], notes: ReportEntry[], strings: StringTable, rows: Int32Array): boolean {
  const split = directives.length;
  const total = split + notes.length;
  let list = directives;
  let base = 0;
  // Entries come file by file: the previous file's index is usually the one.
  let lastFile: string | undefined;
  let lastFileIndex = -1;
  for (let i = 0, at = 0; i < total; i++, at += PACKED_FIELDS) {
    if (i === split) {
      list = notes;
      base = split;
    }
    const e = list[i - base];
    if (!hasEntryKeys(e)) return false;
    // Each field read once (the entries come in many shapes: every read is a generic lookup).
    const { file, line, col, directive, class: cls, reason } = e;
    if (typeof file !== 'string' || !isInt32(line) || !isInt32(col) || typeof directive !== 'string' || typeof cls !== 'string' || typeof reason !== 'string') return false;
    if (file !== lastFile) {
      lastFile = file;
      lastFileIndex = strings.index(file);
    }
    rows[at] = lastFileIndex;
    rows[at + 1] = line;
    rows[at + 2] = col;
    rows[at + 3] = strings.index(directive);
    rows[at + 4] = strings.index(cls);
    rows[at + 5] = strings.index(reason);
  }
  return true;
}

function unpackEntries(packed: PackedEntries): ReportEntry[] {
  const { strings, rows } = packed;
  const entries = new Array<ReportEntry>(rows.length / PACKED_FIELDS);
  for (let i = 0, at = 0; at < rows.length; i++, at += PACKED_FIELDS) {
    // (the literal's key order is the entry's: report.json writes the keys in it)
    entries[i] = {
      file: strings[rows[at]!]!,
      line: rows[at + 1]!,
      col: rows[at + 2]!,
      directive: strings[rows[at + 3]!]!,
      class: strings[rows[at + 4]!] as ReportEntry['class'],
      reason: strings[rows[at + 5]!]!,
    };
  }
  return entries;
}

const KEYS = ['file', 'line', 'col', 'directive', 'class', 'reason'];

/** Own and inherited enumerable keys exactly the six, in order (what for…in and JSON see alike). */
function hasEntryKeys(e: ReportEntry | undefined): e is ReportEntry {
  if (typeof e !== 'object' || e === null || Object.getPrototypeOf(e) !== Object.prototype) return false;
  let i = 0;
  for (const key in e) {
    if (key !== KEYS[i]) return false;
    i++;
  }
  return i === PACKED_FIELDS;
}

/** -0 is not: it would come back as 0 (the same JSON, but not the same value). */
function isInt32(v: unknown): v is number {
  return typeof v === 'number' && (v | 0) === v && !Object.is(v, -0);
}

/** Distinct strings in order of first use. */
class StringTable {
  private readonly indexes = new Map<string, number>();
  private readonly strings: string[] = [];

  index(s: string): number {
    let i = this.indexes.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.indexes.set(s, i);
    }
    return i;
  }

  list(): string[] {
    return this.strings;
  }
}
