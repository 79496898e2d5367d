// The migration report as text: report.json (every directive, for tools and for
// `check`) and report.md (for the person doing the migration).
//
// report.json is JSON with one entry per line, in UTF-8:
//
//   {"summary":{"directives":2,…},
//   "directives":[
//   {"file":"nginx.conf","line":1,"col":1,"directive":"events","class":"ignored","reason":"…"},
//   {"file":"nginx.conf","line":2,"col":1,"directive":"http","class":"translated","reason":"…"}
//   ],
//   "notes":[]}
//
// Each entry line is JSON.stringify(entry). One line per entry keeps the file greppable and
// its diffs one line per changed directive, at about a third of the pretty-printed size. It
// has one entry per directive (150,000 on the benchmark), so it is assembled as bytes from
// the packed report (packed.ts) instead of by the generic serializer: no large string to
// build and then encode again for writing, and each distinct string (file, directive,
// class, reason) is quoted and encoded once per render.
//
// report.md leads with what a migrating user has to act on: every unsupported,
// approximated and ignored directive and every note with its file:line:col, grouped by
// reason (the same reason usually recurs in every server), and the translated
// directives as counts by name. report.json keeps the full list.
import { join } from 'node:path';
import type { ReportEntry } from '../ir/types.js';
import type { Report } from '../compile.js';
import { jsonString } from './json-string.js';
import { PACKED_FIELDS, packReport, packReportLoosely, type PackedReport } from './packed.js';

/** DIR/report.json and DIR/report.md from a packed report: what the writer thread calls. */
export function renderPackedReportFiles(dir: string, packed: PackedReport): { path: string; bytes?: Uint8Array; text?: string }[] {
  return [
    { path: join(dir, 'report.json'), bytes: renderPackedReportJson(packed) },
    { path: join(dir, 'report.md'), text: renderPackedReportMarkdown(packed) },
  ];
}

export function renderReportJson(report: Report): string {
  return renderReportJsonBytes(report).toString('utf8');
}

/**
 * report.json as the UTF-8 bytes written to disk. Building bytes, not a string, spares the
 * string and its encoding when the file is written. The report is rendered packed (see
 * packed.ts): every distinct string quoted and encoded once, into one buffer, and each entry
 * copied from its slices with line and col written as digits between them; the exact size is
 * known before anything is copied. A report that cannot be packed (entries of another shape:
 * never the compiler's) is written entry by entry as JSON.stringify writes each.
 */
export function renderReportJsonBytes(report: Report): Buffer {
  const packed = packReport(report);
  return packed ? renderPackedReportJson(packed) : renderReportJsonPlain(report);
}

/** report.json of a packed report (what the writer thread renders). */
export function renderPackedReportJson(packed: PackedReport): Buffer {
  const directivesQuoted = new QuotedStrings(packed.directives.strings);
  // (one table for both lists: packReport shares it, and a postMessage keeps it shared)
  const notesQuoted = packed.notes.strings === packed.directives.strings ? directivesQuoted : new QuotedStrings(packed.notes.strings);
  const lists = [entryList(packed.directives.rows, directivesQuoted), entryList(packed.notes.rows, notesQuoted)];
  const open = utf8('{"summary":' + (JSON.stringify(packed.summary) ?? 'null') + ',\n"directives":');
  const between = utf8(',\n"notes":');
  const close = utf8('}\n');
  const out = Buffer.allocUnsafe(open.length + lists[0]!.size + between.length + lists[1]!.size + close.length);
  let at = copy(out, 0, open);
  at = lists[0]!.write(out, at);
  at = copy(out, at, between);
  at = lists[1]!.write(out, at);
  at = copy(out, at, close);
  if (at !== out.length) throw new Error(`report.json: wrote ${at} bytes of ${out.length}`); // the sizing pass is wrong: a bug here
  return out;
}

/** The same layout for any report, each entry as JSON.stringify writes it in an array (`null` for a hole). */
function renderReportJsonPlain(report: Report): Buffer {
  const list = (entries: ReportEntry[]): string => {
    if (!Array.isArray(entries)) return JSON.stringify(entries) ?? 'null';
    if (entries.length === 0) return '[]';
    return '[\n' + Array.from(entries, (e) => JSON.stringify(e) ?? 'null').join(',\n') + '\n]';
  };
  return utf8('{"summary":' + (JSON.stringify(report.summary) ?? 'null') + ',\n"directives":' + list(report.directives) + ',\n"notes":' + list(report.notes) + '}\n');
}

function copy(out: Buffer, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/** A constant of a few bytes, byte by byte: cheaper than a call to set() (six per entry). */
function copyTiny(out: Buffer, at: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) out[at + k] = bytes[k]!;
  return at + bytes.length;
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const LIST_OPEN = utf8('[\n');
const LIST_CLOSE = utf8('\n]');
const EMPTY_LIST = utf8('[]');
const ENTRY_SEPARATOR = utf8(',\n');
// An entry: {"file":F,"line":L,"col":C,"directive":D,"class":K,"reason":R}
const BEFORE_FILE = utf8('{"file":');
const BEFORE_LINE = utf8(',"line":');
const BEFORE_COL = utf8(',"col":');
const BEFORE_DIRECTIVE = utf8(',"directive":');
const BEFORE_CLASS = utf8(',"class":');
const BEFORE_REASON = utf8(',"reason":');
const ENTRY_CLOSE = utf8('}');
const ENTRY_CONSTANT_SIZE =
  BEFORE_FILE.length + BEFORE_LINE.length + BEFORE_COL.length + BEFORE_DIRECTIVE.length + BEFORE_CLASS.length + BEFORE_REASON.length + ENTRY_CLOSE.length;
/** Slices shorter than this are copied byte by byte (most are: classes, directives, the file). */
const SHORT_SLICE = 64;

/**
 * The strings of a packed report as JSON string literals in UTF-8, all in one buffer: string
 * i is bytes[start[i]..start[i + 1]). One encoding for all of them instead of a small buffer
 * per distinct string (there are 40,000 on the benchmark).
 */
class QuotedStrings {
  readonly bytes: Buffer;
  readonly start: Int32Array;
  /** Views of the long literals, by index (null until first written). */
  private readonly views: (Uint8Array | null)[];

  constructor(strings: string[]) {
    const quoted = strings.map(jsonString);
    const text = quoted.join('');
    this.bytes = utf8(text);
    this.start = new Int32Array(quoted.length + 1);
    // As many bytes as characters: all ASCII, each literal's length is its size in bytes.
    const ascii = this.bytes.length === text.length;
    this.start[quoted.length] = fillStarts(this.start, quoted, ascii);
    this.views = new Array<Uint8Array | null>(quoted.length).fill(null);
  }

  size(i: number): number {
    return this.start[i + 1]! - this.start[i]!;
  }

  /**
   * A long literal by one native copy from a view of it, made at its first use and kept:
   * most reasons recur (153,000 entries, 40,000 reasons), and Buffer.copy makes a view per call.
   */
  private writeLong(out: Buffer, at: number, i: number, from: number, to: number): number {
    let view = this.views[i]!;
    if (view === null) {
      view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + from, to - from);
      this.views[i] = view;
    }
    out.set(view, at);
    return at + view.length;
  }

  write(out: Buffer, at: number, i: number): number {
    const from = this.start[i]!;
    const to = this.start[i + 1]!;
    if (to - from >= SHORT_SLICE) return this.writeLong(out, at, i, from, to);
    const bytes = this.bytes;
    for (let k = from; k < to; k++) out[at++] = bytes[k]!;
    return at;
  }
}

/**
 * Where each literal starts; returns where the last ends. (Hot loops here end in a bare
 * return: code after a loop that the optimising compiler took over mid-way has never run,
 * and the first thing it does there would throw the optimised code away.)
 */
function fillStarts(start: Int32Array, quoted: string[], ascii: boolean): number {
  let at = 0;
  for (let i = 0; i < quoted.length; i++) {
    start[i] = at;
    at += ascii ? quoted[i]!.length : Buffer.byteLength(quoted[i]!, 'utf8');
  }
  return at;
}

/** One list of entries laid out; `write` copies it into the output. */
interface EntryList {
  size: number;
  write(out: Buffer, at: number): number;
}

/** Rows of six ints (see PackedEntries): file, line, col, directive, class, reason. */
function entryList(rows: Int32Array, quoted: QuotedStrings): EntryList {
  const n = rows.length / PACKED_FIELDS;
  if (n === 0) return { size: EMPTY_LIST.length, write: (out, at) => copy(out, at, EMPTY_LIST) };
  const size = LIST_OPEN.length + LIST_CLOSE.length + (n - 1) * ENTRY_SEPARATOR.length + n * ENTRY_CONSTANT_SIZE + rowsSize(rows, quoted);
  const write = (out: Buffer, start: number): number => copy(out, writeRows(out, copy(out, start, LIST_OPEN), rows, quoted), LIST_CLOSE);
  return { size, write };
}

/** The bytes of the rows' strings and numbers (what is not constant). */
function rowsSize(rows: Int32Array, quoted: QuotedStrings): number {
  let size = 0;
  for (let at = 0; at < rows.length; at += PACKED_FIELDS) {
    size += quoted.size(rows[at]!) + numberSize(rows[at + 1]!) + numberSize(rows[at + 2]!);
    size += quoted.size(rows[at + 3]!) + quoted.size(rows[at + 4]!) + quoted.size(rows[at + 5]!);
  }
  return size;
}

/** The entries, separated; returns where they end. */
function writeRows(out: Buffer, start: number, rows: Int32Array, quoted: QuotedStrings): number {
  let at = start;
  for (let row = 0; row < rows.length; row += PACKED_FIELDS) {
    if (row > 0) at = copyTiny(out, at, ENTRY_SEPARATOR);
    at = copyTiny(out, at, BEFORE_FILE);
    at = quoted.write(out, at, rows[row]!);
    at = copyTiny(out, at, BEFORE_LINE);
    at = writeNumber(out, at, rows[row + 1]!);
    at = copyTiny(out, at, BEFORE_COL);
    at = writeNumber(out, at, rows[row + 2]!);
    at = copyTiny(out, at, BEFORE_DIRECTIVE);
    at = quoted.write(out, at, rows[row + 3]!);
    at = copyTiny(out, at, BEFORE_CLASS);
    at = quoted.write(out, at, rows[row + 4]!);
    at = copyTiny(out, at, BEFORE_REASON);
    at = quoted.write(out, at, rows[row + 5]!);
    at = copyTiny(out, at, ENTRY_CLOSE);
  }
  return at;
}

/** Line and column numbers: small non-negative integers as digits; anything else as JSON writes it. */
function isSmallInteger(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 2 ** 31;
}

function numberSize(value: number): number {
  if (!isSmallInteger(value)) return Buffer.byteLength(JSON.stringify(value));
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

function writeNumber(out: Buffer, at: number, value: number): number {
  if (!isSmallInteger(value)) return at + out.write(JSON.stringify(value), at, 'utf8');
  const end = at + numberSize(value);
  let rest = value;
  for (let i = end - 1; i >= at; i--) {
    out[i] = 48 + (rest % 10); // '0' + digit
    rest = Math.floor(rest / 10);
  }
  return end;
}

// ---------------------------------------------------------------- report.md

/** Directive names listed in a group's row; a group with more names them at each place. */
const NAMES_IN_ROW_MAX = 5;

const INTRO =
  'Below, what the migration has to look at: every unsupported, approximated and ignored directive and every note, ' +
  'grouped by reason (most frequent first) with each place as file:line:col; then the translated directives, counted by name. ' +
  '`report.json` lists every directive with its place and reason.';

export function renderReportMarkdown(report: Report): string {
  return renderPackedReportMarkdown(packReport(report) ?? packReportLoosely(report));
}

/**
 * report.md from the packed rows (what the writer thread has): entries are grouped by the
 * index of their reason in the string table, not by the string (no string is hashed), and
 * no entry object is made.
 */
export function renderPackedReportMarkdown(packed: MarkdownSource): string {
  const s = packed.summary;
  const directives = markdownGroups(packed.directives);
  const notes = noteGroups(packed.notes);
  const lines: string[] = [
    '# Migration report',
    '',
    `${s.directives} directives: ${s.translated} translated, ${s.approximated} approximated, ${s.ignored} ignored, ${s.unsupported} unsupported; ${s.notes} notes.`,
    '',
    INTRO,
    '',
  ];
  groupSection(lines, 'Unsupported', 'directives', directives.unsupported, packed.directives, false);
  groupSection(lines, 'Approximated', 'directives', directives.approximated, packed.directives, false);
  groupSection(lines, 'Notes', 'notes', notes, packed.notes, true);
  groupSection(lines, 'Ignored', 'directives', directives.ignored, packed.directives, false);
  translatedSection(lines, directives.translated, directives.translatedTotal);
  return lines.join('\n');
}

/** A packed report, its rows as ints (packReport) or as any numbers (packReportLoosely). */
export interface MarkdownSource {
  summary: Report['summary'];
  directives: MarkdownEntries;
  notes: MarkdownEntries;
}

interface MarkdownEntries {
  strings: string[];
  rows: ArrayLike<number>;
}

/** The section an entry of a class goes to. */
const TRANSLATED = 0;
const UNSUPPORTED = 1;
const APPROXIMATED = 2;
const IGNORED = 3;
const NO_SECTION = 4;
const SECTION_OF_CLASS = new Map<string, number>([
  ['translated', TRANSLATED],
  ['unsupported', UNSUPPORTED],
  ['approximated', APPROXIMATED],
  ['ignored', IGNORED],
]);

interface DirectiveGroups {
  unsupported: ReasonGroups;
  approximated: ReasonGroups;
  ignored: ReasonGroups;
  /** Translated directives counted by name. */
  translated: Map<string, number>;
  translatedTotal: number;
}

/** One pass: the entries to act on grouped by reason, the translated ones counted by name. */
function markdownGroups(list: MarkdownEntries): DirectiveGroups {
  const bySection = [new ReasonGroups(), new ReasonGroups(), new ReasonGroups(), new ReasonGroups()];
  const translatedCounts = new Int32Array(list.strings.length);
  const translatedTotal = groupRows(list, sectionsOfClasses(list.strings), bySection, translatedCounts);
  const translated = countsByName(list.strings, translatedCounts);
  return { unsupported: bySection[UNSUPPORTED]!, approximated: bySection[APPROXIMATED]!, ignored: bySection[IGNORED]!, translated, translatedTotal };
}

/** The section of each string as a class, by its index: the four classes have one each (the table holds a string once). */
function sectionsOfClasses(strings: string[]): Int8Array {
  const sections = new Int8Array(strings.length).fill(NO_SECTION);
  for (const [cls, section] of SECTION_OF_CLASS) {
    const i = strings.indexOf(cls);
    if (i !== -1) sections[i] = section;
  }
  return sections;
}

/** Each row into its section's groups, or counted by directive if translated; returns how many were. */
function groupRows(list: MarkdownEntries, sectionOf: Int8Array, bySection: ReasonGroups[], translatedCounts: Int32Array): number {
  const rows = list.rows;
  let translatedTotal = 0;
  for (let at = 0; at < rows.length; at += PACKED_FIELDS) {
    const section = sectionOf[rows[at + 4]!]!;
    if (section === TRANSLATED) {
      translatedCounts[rows[at + 3]!]++;
      translatedTotal++;
    } else if (section !== NO_SECTION) bySection[section]!.add(rows[at + 5]!, rows, at);
  }
  return translatedTotal;
}

function countsByName(strings: string[], counts: Int32Array): Map<string, number> {
  const byName = new Map<string, number>();
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) byName.set(strings[i]!, counts[i]!);
  return byName;
}

/** Notes grouped by class and reason. */
function noteGroups(list: MarkdownEntries): ReasonGroups {
  const { rows } = list;
  const groups = new ReasonGroups();
  const classes = list.strings.length;
  for (let at = 0; at < rows.length; at += PACKED_FIELDS) groups.add(rows[at + 5]! * classes + rows[at + 4]!, rows, at);
  return groups;
}

/** Built with every field, in one order: one shape. Strings are indexes into the list's table. */
interface ReasonGroup {
  reason: number;
  cls: number;
  /** The first entry's directive, and whether another entry has another. */
  directive: number;
  mixed: boolean;
  /** Where each entry's row starts. */
  rows: number[];
}

class ReasonGroups {
  private readonly groups = new Map<number, ReasonGroup>();
  count = 0;

  add(key: number, rows: ArrayLike<number>, at: number): void {
    const g = this.groups.get(key);
    if (g === undefined) {
      this.groups.set(key, { reason: rows[at + 5]!, cls: rows[at + 4]!, directive: rows[at + 3]!, mixed: false, rows: [at] });
    } else {
      g.rows.push(at);
      // (stored every time, not only once a second directive turns up: that first turns up
      // after this loop is optimised, and a store never run before would throw it away)
      g.mixed = g.mixed || rows[at + 3] !== g.directive;
    }
    this.count++;
  }

  /** Largest first, equal sizes in order of first appearance (the sort is stable). */
  sorted(): ReasonGroup[] {
    return [...this.groups.values()].sort((a, b) => b.rows.length - a.rows.length);
  }
}

function groupSection(lines: string[], title: string, noun: string, groups: ReasonGroups, list: MarkdownEntries, withClass: boolean): void {
  if (groups.count === 0) return;
  const sorted = groups.sorted();
  lines.push(`## ${title}: ${groups.count} ${noun}, ${sorted.length} ${sorted.length === 1 ? 'reason' : 'reasons'}`, '');
  lines.push(withClass ? '| class | reason | directive | count | where |' : '| reason | directive | count | where |');
  lines.push(withClass ? '|---|---|---|---|---|' : '|---|---|---|---|');
  appendGroupRows(lines, sorted, list, withClass);
  lines.push('');
}

function appendGroupRows(lines: string[], groups: ReasonGroup[], list: MarkdownEntries, withClass: boolean): void {
  const places = new Places(list);
  for (const g of groups) lines.push(groupRow(g, list, places, withClass));
}

function groupRow(g: ReasonGroup, list: MarkdownEntries, places: Places, withClass: boolean): string {
  const strings = list.strings;
  const row = `${cell(strings[g.reason]!)} | ${nameCell(g, list)} | ${g.rows.length} | ${g.mixed ? placesWithNames(g, places, list) : placesOnly(g, places)} |`;
  // (the class read whether shown or not: the notes, the one section showing it, come after
  // the directives' sections, by when this is optimised without a read never run)
  const classCell = `| ${strings[g.cls]!} | `;
  return (withClass ? classCell : '| ') + row;
}

/** The directive names of a group (in order of first appearance), or how many there are. */
function nameCell(g: ReasonGroup, list: MarkdownEntries): string {
  if (!g.mixed) return code(list.strings[g.directive]!);
  const names = new Set<number>();
  for (const at of g.rows) names.add(list.rows[at + 3]!);
  return names.size <= NAMES_IN_ROW_MAX ? Array.from(names, (i) => code(list.strings[i]!)).join(', ') : `${names.size} directives`;
}

function placesOnly(g: ReasonGroup, places: Places): string {
  // (joined from a list: one flat string, where += would leave a tree of them to flatten later)
  const parts = new Array<string>(g.rows.length);
  for (let i = 0; i < g.rows.length; i++) parts[i] = places.of(g.rows[i]!);
  return parts.join(', ');
}

/** Each place followed by its directive (a group of several directives). */
function placesWithNames(g: ReasonGroup, places: Places, list: MarkdownEntries): string {
  const parts = g.rows.map((at) => `${places.of(at)} ${code(list.strings[list.rows[at + 3]!]!)}`);
  return parts.join(', ');
}

/** `file:line:col` of an entry's row; a note about the whole configuration (line 0) names the file only. */
class Places {
  private file: number;
  private fileCell: string;

  constructor(private readonly list: MarkdownEntries) {
    // Primed with the first entry's file: with one file (the usual case) `of` never changes
    // file, a branch whose first run would otherwise come after `of` is optimised, without feedback.
    this.file = list.rows.length > 0 ? list.rows[0]! : -1;
    this.fileCell = this.file === -1 ? '' : cell(list.strings[this.file]!);
  }

  of(at: number): string {
    const rows = this.list.rows;
    const file = rows[at]!;
    if (file !== this.file) this.changeFile(file);
    const line = rows[at + 1]!;
    // (the cell read once for both cases: a place without a line, a note, comes after the
    // directives' places, when this is optimised, and a read never run would throw it away)
    const fileCell = this.fileCell;
    return line > 0 ? `${fileCell}:${line}:${rows[at + 2]}` : fileCell;
  }

  private changeFile(file: number): void {
    this.file = file;
    this.fileCell = cell(this.list.strings[file]!);
  }
}

function translatedSection(lines: string[], counts: Map<string, number>, total: number): void {
  if (total === 0) return;
  const rows = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  lines.push(`## Translated: ${total} directives`, '', '| directive | count |', '|---|---|');
  for (const [name, n] of rows) lines.push(`| ${code(name)} | ${n} |`);
  lines.push('');
}

/** Text inside a table cell: a pipe would end the cell (even in a code span), a newline the row. */
function cell(text: string): string {
  // (most reasons and files have neither: no two regex replaces for them)
  if (text.indexOf('|') === -1 && text.indexOf('\n') === -1) return text;
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A code span that survives backticks in the name. */
function code(name: string): string {
  const text = cell(name);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}
