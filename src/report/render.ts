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
// cached pieces instead of by the generic serializer: no large string to build and then
// encode again for writing, and each recurring value (file, directive, class, reason) is
// quoted and encoded once per render.
//
// report.md leads with what a migrating user has to act on: every unsupported,
// approximated and ignored directive and every note with its file:line:col, grouped by
// reason (the same reason usually recurs in every server), and the translated
// directives as counts by name. report.json keeps the full list.
import type { ReportEntry } from '../ir/types.js';
import type { Report } from '../compile.js';

export function renderReportJson(report: Report): string {
  return renderReportJsonBytes(report).toString('utf8');
}

/**
 * report.json as the UTF-8 bytes written to disk. Building bytes, not a string, spares the
 * string and its encoding when the file is written. Each entry is copied from cached
 * pieces: the head per file, the tail per (directive, class, reason), with line and col
 * written as digits between them; the exact size is known before anything is copied.
 */
export function renderReportJsonBytes(report: Report): Buffer {
  const { summary, directives, notes } = report;
  const pieces = new EntryPieces();
  const lists = [pieces.list(directives), pieces.list(notes)];
  const open = utf8('{"summary":' + (JSON.stringify(summary) ?? 'null') + ',\n"directives":');
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

function copy(out: Buffer, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/** A constant of a few bytes, byte by byte: cheaper than a call to set() (twice per entry). */
function copyTiny(out: Buffer, at: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) out[at + k] = bytes[k]!;
  return at + bytes.length;
}

const ENTRY_KEYS = ['file', 'line', 'col', 'directive', 'class', 'reason'];
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const LIST_OPEN = utf8('[\n');
const LIST_CLOSE = utf8('\n]');
const EMPTY_LIST = utf8('[]');
const BETWEEN_LINE_AND_COL = utf8(',"col":');
const ENTRY_SEPARATOR = utf8(',\n');

/** One list of entries laid out as pieces; `write` copies them into the output. */
interface EntryList {
  size: number;
  write(out: Buffer, at: number): number;
}

/** The pieces of the entries, cached across the lists of one report. */
class EntryPieces {
  private readonly heads = new Map<string, Buffer>();
  /** Tail by reason, then directive, then class: a reason nearly always comes with one directive and class. */
  private readonly tails = new Map<string, Tail>();
  /**
   * The tails of a reason past the first CHAIN_MAX, by directive: a few reasons come with
   * thousands of directives (each entry of an untranslated `map` is a directive named
   * after its key), where a chain would be searched end to end for every entry.
   */
  private readonly wide = new Map<string, Map<string, Tail>>();

  /** A list that is not an array is written as JSON.stringify writes it (`null` for none). */
  list(entries: ReportEntry[]): EntryList {
    if (!Array.isArray(entries)) {
      const bytes = utf8(JSON.stringify(entries) ?? 'null');
      return { size: bytes.length, write: (out, at) => copy(out, at, bytes) };
    }
    if (entries.length === 0) return { size: EMPTY_LIST.length, write: (out, at) => copy(out, at, EMPTY_LIST) };
    const n = entries.length;
    // First pass: the tail of each entry (null: written whole, from `whole`) and the exact size.
    const tails = new Array<Buffer | null>(n);
    const whole = new Map<number, Buffer>();
    let size = LIST_OPEN.length + LIST_CLOSE.length + (n - 1) * ENTRY_SEPARATOR.length;
    let lastFile: string | undefined;
    let lastHead = EMPTY_LIST;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (isPlainEntry(e)) {
        // Entries come file by file: the previous head is usually the one.
        if (e.file !== lastFile) {
          lastFile = e.file;
          lastHead = this.head(e.file);
        }
        const tail = this.tail(e.directive, e.class, e.reason);
        tails[i] = tail;
        size += lastHead.length + numberSize(e.line) + BETWEEN_LINE_AND_COL.length + numberSize(e.col) + tail.length;
      } else {
        // Anything else (another key, another order, a hole) is written as JSON.stringify writes it in an array.
        const bytes = utf8(JSON.stringify(e) ?? 'null');
        tails[i] = null;
        whole.set(i, bytes);
        size += bytes.length;
      }
    }
    const write = (out: Buffer, start: number): number => {
      let at = copy(out, start, LIST_OPEN);
      let lastFile: string | undefined;
      let lastHead = EMPTY_LIST;
      for (let i = 0; i < n; i++) {
        if (i > 0) at = copyTiny(out, at, ENTRY_SEPARATOR);
        const tail = tails[i];
        if (tail === null) {
          at = copy(out, at, whole.get(i)!);
          continue;
        }
        const e = entries[i]!;
        if (e.file !== lastFile) {
          lastFile = e.file;
          lastHead = this.head(e.file);
        }
        at = copy(out, at, lastHead);
        at = writeNumber(out, at, e.line);
        at = copyTiny(out, at, BETWEEN_LINE_AND_COL);
        at = writeNumber(out, at, e.col);
        at = copy(out, at, tail!);
      }
      return copy(out, at, LIST_CLOSE);
    };
    return { size, write };
  }

  /** `{"file":"F","line":` */
  private head(file: string): Buffer {
    let head = this.heads.get(file);
    if (head === undefined) {
      head = utf8('{"file":' + JSON.stringify(file) + ',"line":');
      this.heads.set(file, head);
    }
    return head;
  }

  /** `,"directive":"D","class":"C","reason":"R"}` */
  private tail(directive: string, cls: string, reason: string): Buffer {
    const first = this.tails.get(reason);
    let n = 0;
    for (let tail = first; tail !== undefined; tail = tail.other) {
      if (tail.directive === directive && tail.cls === cls) return tail.bytes;
      if (++n === CHAIN_MAX) return this.wideTail(directive, cls, reason);
    }
    const bytes = tailBytes(directive, cls, reason);
    this.tails.set(reason, { directive, cls, bytes, other: first });
    return bytes;
  }

  /** A tail of a reason whose chain is full: by directive, then class. */
  private wideTail(directive: string, cls: string, reason: string): Buffer {
    let byDirective = this.wide.get(reason);
    if (byDirective === undefined) this.wide.set(reason, (byDirective = new Map()));
    const first = byDirective.get(directive);
    for (let tail = first; tail !== undefined; tail = tail.other) {
      if (tail.cls === cls) return tail.bytes;
    }
    const bytes = tailBytes(directive, cls, reason);
    byDirective.set(directive, { directive, cls, bytes, other: first });
    return bytes;
  }
}

/** The (directive, class) pairs a reason's chain holds before its others go by directive. */
const CHAIN_MAX = 8;

function tailBytes(directive: string, cls: string, reason: string): Buffer {
  return utf8(',"directive":' + JSON.stringify(directive) + ',"class":' + JSON.stringify(cls) + ',"reason":' + JSON.stringify(reason) + '}');
}

/** The tail of one (directive, class) with a reason, chained to the reason's other tails. */
interface Tail {
  directive: string;
  cls: string;
  bytes: Buffer;
  other: Tail | undefined;
}

/** The six fields in their declared order and nothing else: the pieces write exactly what JSON.stringify would. */
function isPlainEntry(e: ReportEntry): boolean {
  if (typeof e !== 'object' || e === null) return false;
  // for…in, not Object.keys: no array per entry (150,000 of them). It also sees inherited
  // enumerable keys, which JSON.stringify ignores: such an entry just takes the exact slow path.
  let i = 0;
  for (const key in e) {
    if (key !== ENTRY_KEYS[i]) return false;
    i++;
  }
  return (
    i === ENTRY_KEYS.length &&
    typeof e.file === 'string' &&
    Number.isFinite(e.line) &&
    Number.isFinite(e.col) &&
    typeof e.directive === 'string' &&
    typeof e.class === 'string' &&
    typeof e.reason === 'string'
  );
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
  const s = report.summary;
  // One pass: the entries to act on grouped by reason, the translated ones counted by name.
  const toActOn: Record<string, ReasonGroups> = { unsupported: new ReasonGroups(), approximated: new ReasonGroups(), ignored: new ReasonGroups() };
  const translated = new Map<string, number>();
  let translatedTotal = 0;
  const directives = report.directives;
  // (an index loop: for…of allocates a result per step until the optimising compiler takes over)
  for (let i = 0; i < directives.length; i++) {
    const e = directives[i]!;
    if (e.class === 'translated') {
      translated.set(e.directive, (translated.get(e.directive) ?? 0) + 1);
      translatedTotal++;
    } else toActOn[e.class]?.add(e.reason, e);
  }
  const notes = new ReasonGroups();
  for (const e of report.notes) notes.add(`${e.class}\u0000${e.reason}`, e);
  const lines: string[] = [
    '# Migration report',
    '',
    `${s.directives} directives: ${s.translated} translated, ${s.approximated} approximated, ${s.ignored} ignored, ${s.unsupported} unsupported; ${s.notes} notes.`,
    '',
    INTRO,
    '',
  ];
  groupSection(lines, 'Unsupported', 'directives', toActOn.unsupported!, false);
  groupSection(lines, 'Approximated', 'directives', toActOn.approximated!, false);
  groupSection(lines, 'Notes', 'notes', notes, true);
  groupSection(lines, 'Ignored', 'directives', toActOn.ignored!, false);
  translatedSection(lines, translated, translatedTotal);
  return lines.join('\n');
}

interface ReasonGroup {
  reason: string;
  cls: string;
  /** The first entry's directive, and whether another entry has another. */
  directive: string;
  mixed: boolean;
  entries: ReportEntry[];
}

class ReasonGroups {
  private readonly groups = new Map<string, ReasonGroup>();
  count = 0;

  add(key: string, e: ReportEntry): void {
    const g = this.groups.get(key);
    if (g === undefined) {
      this.groups.set(key, { reason: e.reason, cls: e.class, directive: e.directive, mixed: false, entries: [e] });
    } else {
      g.entries.push(e);
      if (e.directive !== g.directive) g.mixed = true;
    }
    this.count++;
  }

  /** Largest first, equal sizes in order of first appearance (the sort is stable). */
  sorted(): ReasonGroup[] {
    return [...this.groups.values()].sort((a, b) => b.entries.length - a.entries.length);
  }
}

function groupSection(lines: string[], title: string, noun: string, groups: ReasonGroups, withClass: boolean): void {
  if (groups.count === 0) return;
  const rows = groups.sorted();
  lines.push(`## ${title}: ${groups.count} ${noun}, ${rows.length} ${rows.length === 1 ? 'reason' : 'reasons'}`, '');
  lines.push(withClass ? '| class | reason | directive | count | where |' : '| reason | directive | count | where |');
  lines.push(withClass ? '|---|---|---|---|---|' : '|---|---|---|---|');
  const places = new Places();
  for (const g of rows) {
    const names = g.mixed ? [...new Set(g.entries.map((e) => e.directive))] : [g.directive];
    const nameCell = names.length <= NAMES_IN_ROW_MAX ? names.map(code).join(', ') : `${names.length} directives`;
    const where = g.entries.map((e) => (g.mixed ? `${places.of(e)} ${code(e.directive)}` : places.of(e))).join(', ');
    const row = `${cell(g.reason)} | ${nameCell} | ${g.entries.length} | ${where} |`;
    lines.push(withClass ? `| ${g.cls} | ${row}` : `| ${row}`);
  }
  lines.push('');
}

/** `file:line:col`; a note about the whole configuration (line 0) names the file only. */
class Places {
  private file: string | undefined;
  private fileCell = '';

  of(e: ReportEntry): string {
    if (e.file !== this.file) {
      this.file = e.file;
      this.fileCell = cell(e.file);
    }
    return e.line > 0 ? `${this.fileCell}:${e.line}:${e.col}` : this.fileCell;
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
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A code span that survives backticks in the name. */
function code(name: string): string {
  const text = cell(name);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}
