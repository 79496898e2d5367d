// The tree's nodes as compact class instances (the parser builds these; the
// shapes are those of ast.ts). A position is kept as an offset into its file's
// text and becomes `{file, line, col}` only when read, through the file's line
// table: a large configuration has several hundred thousand words, and one
// position object per word, per `;` and per `}` was a third of the tree.
//
// Offsets, the line table and the rest of the bookkeeping are private (#)
// fields, so a node's own enumerable properties are exactly its data (`value`,
// `quote`; `kind`, `name`, `args`, `block`…): `{...arg}` and JSON.stringify
// keep the data but not the positions, which are getters on the prototype.
// Each read of `source`, `end` or `close` returns a fresh SourcePos.
import type { Arg, Directive, SourcePos, Statement } from './ast.js';

/** One file's line table: turns an offset into `{file, line, col}` on demand. */
export class SourceLines {
  readonly file: string;
  /** Offset of each line's first character. */
  readonly #starts: Int32Array;
  /** The text, kept only when columns must count code points (astral characters). */
  readonly #wideText: string | null;
  /** The last line found: lookups mostly move forward a line or two. */
  #last = 0;

  constructor(text: string, file: string) {
    this.file = file;
    let count = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
    const starts = new Int32Array(count);
    let line = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts[line++] = i + 1;
    this.#starts = starts;
    this.#wideText = /[\uD800-\uDFFF]/.test(text) ? text : null;
  }

  /** 0-based index of the line holding `offset`. */
  lineIndex(offset: number): number {
    const starts = this.#starts;
    let lo = starts[this.#last]! <= offset ? this.#last : 0;
    let hi = starts.length - 1;
    for (let probe = 0; probe < 3 && lo < hi && starts[lo + 1]! <= offset; probe++) lo++;
    if (lo < hi && starts[lo + 1]! > offset) hi = lo;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.#last = lo;
    return lo;
  }

  pos(offset: number): SourcePos {
    const line = this.lineIndex(offset);
    const start = this.#starts[line]!;
    const col = this.#wideText === null ? offset - start + 1 : Array.from(this.#wideText.slice(start, offset)).length + 1;
    return { file: this.file, line: line + 1, col };
  }
}

/** A word of a directive. */
export class ArgNode implements Arg {
  value: string;
  quote: '"' | "'" | null;
  readonly #at: number;
  readonly #lines: SourceLines;

  constructor(value: string, quote: '"' | "'" | null, at: number, lines: SourceLines) {
    this.value = value;
    this.quote = quote;
    this.#at = at;
    this.#lines = lines;
  }

  get source(): SourcePos {
    return this.#lines.pos(this.#at);
  }

  /** Offset of the word's first character (its quote when quoted). */
  static offsetOf(arg: ArgNode): number {
    return arg.#at;
  }
}

/** Offsets of a directive's parts; -1 where the part is missing. */
export interface DirectiveSpan {
  /** The directive's name. */
  at: number;
  /** Its `;` or the `{` that opened its block. */
  end: number;
  /** The `}` that closed its block. */
  close: number;
}

/** A statement `name args… ;` or `name args… { … }`. */
export class DirectiveNode implements Directive {
  declare readonly kind: 'directive';
  name: string;
  args: Arg[];
  declare block?: Statement[];
  declare raw?: string;
  declare freeform?: boolean;
  declare includes?: number[];
  readonly #lines: SourceLines;
  readonly #at: number;
  readonly #end: number;
  readonly #close: number;

  constructor(name: string, args: Arg[], lines: SourceLines, span: DirectiveSpan) {
    this.name = name;
    this.args = args;
    this.#lines = lines;
    this.#at = span.at;
    this.#end = span.end;
    this.#close = span.close;
  }

  get source(): SourcePos {
    return this.#lines.pos(this.#at);
  }

  get end(): SourcePos | undefined {
    return this.#end < 0 ? undefined : this.#lines.pos(this.#end);
  }

  get close(): SourcePos | undefined {
    return this.#close < 0 ? undefined : this.#lines.pos(this.#close);
  }

  /** The same directive (positions, flags) with another block: the loader splices includes this way. */
  static withBlock(d: DirectiveNode, block: Statement[]): DirectiveNode {
    const copy = new DirectiveNode(d.name, d.args, d.#lines, { at: d.#at, end: d.#end, close: d.#close });
    copy.block = block;
    if (d.raw !== undefined) copy.raw = d.raw;
    if (d.freeform !== undefined) copy.freeform = d.freeform;
    if (d.includes !== undefined) copy.includes = d.includes;
    return copy;
  }
}

// The discriminant is the same for every directive: one copy on the prototype
// (read like an own property; a spread copy of a node does not carry it).
Object.defineProperty(DirectiveNode.prototype, 'kind', { value: 'directive', enumerable: true });
