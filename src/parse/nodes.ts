// The tree's nodes as compact class instances (the parser builds these; the
// shapes are those of ast.ts). A position is kept as an offset into its file's
// text and becomes `{file, line, col}` only when read, through the file's line
// table: a large configuration has several hundred thousand words, and one
// position object per word, per `;` and per `}` was a third of the tree.
//
// Offsets, the line table and the rest of the bookkeeping are private (#)
// fields; what is the same for many nodes (a directive's `kind`) or derived from
// a packed field (a word's `quote`) is a getter or value on the prototype, like
// the positions. So a node's own enumerable properties are its values only
// (`value`; `name`, `args`, `block`…): a spread or JSON.stringify of a node
// keeps those and nothing else. Each read of `source`, `end` or `close` returns
// a fresh SourcePos.
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
  #lineIndex(offset: number): number {
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
    const line = this.#lineIndex(offset);
    const start = this.#starts[line]!;
    const col = this.#wideText === null ? offset - start + 1 : Array.from(this.#wideText.slice(start, offset)).length + 1;
    return { file: this.file, line: line + 1, col };
  }
}

const QUOTES = [null, '"', "'"] as const;

/** A word of a directive. */
export class ArgNode implements Arg {
  value: string;
  /** The word's offset times 4, plus its quote's index in QUOTES: one small integer. */
  readonly #where: number;
  readonly #lines: SourceLines;

  constructor(value: string, quote: '"' | "'" | null, at: number, lines: SourceLines) {
    this.value = value;
    this.#where = at * 4 + (quote === null ? 0 : quote === '"' ? 1 : 2);
    this.#lines = lines;
  }

  get quote(): '"' | "'" | null {
    return QUOTES[this.#where % 4]!;
  }

  get source(): SourcePos {
    return this.#lines.pos(ArgNode.offsetOf(this));
  }

  /** Offset of the word's first character (its quote when quoted). */
  static offsetOf(arg: ArgNode): number {
    return Math.floor(arg.#where / 4);
  }
}

/** A statement `name args… ;` (or one cut by the end of the file). */
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

  /** Offsets: `at` of the name, `end` of its `;` or the `{` that opened its block (-1: none). */
  constructor(name: string, args: Arg[], lines: SourceLines, at: number, end: number) {
    this.name = name;
    this.args = args;
    this.#lines = lines;
    this.#at = at;
    this.#end = end;
  }

  get source(): SourcePos {
    return this.#lines.pos(this.#at);
  }

  get end(): SourcePos | undefined {
    return this.#end < 0 ? undefined : this.#lines.pos(this.#end);
  }

  get close(): SourcePos | undefined {
    return undefined;
  }

  /** A position in this directive's file. */
  protected position(offset: number): SourcePos {
    return this.#lines.pos(offset);
  }

  /** The same directive (positions, flags) with another block: the loader splices includes this way. */
  static withBlock(d: DirectiveNode, block: Statement[]): DirectiveNode {
    const copy =
      d instanceof BlockDirectiveNode
        ? new BlockDirectiveNode(d.name, d.args, d.#lines, d.#at, d.#end, BlockDirectiveNode.closeOf(d))
        : new DirectiveNode(d.name, d.args, d.#lines, d.#at, d.#end);
    copy.block = block;
    if (d.raw !== undefined) copy.raw = d.raw;
    if (d.freeform !== undefined) copy.freeform = d.freeform;
    if (d.includes !== undefined) copy.includes = d.includes;
    return copy;
  }
}

/** A directive with a block, or a Lua body, closed by a `}`: it also knows where. */
export class BlockDirectiveNode extends DirectiveNode {
  readonly #close: number;

  /** `close`: the offset of the `}` that closed the block (-1: the file ended first). */
  constructor(name: string, args: Arg[], lines: SourceLines, at: number, end: number, close: number) {
    super(name, args, lines, at, end);
    this.#close = close;
  }

  override get close(): SourcePos | undefined {
    return this.#close < 0 ? undefined : this.position(this.#close);
  }

  static closeOf(d: BlockDirectiveNode): number {
    return d.#close;
  }
}

// The discriminant is the same for every directive: one copy on the prototype
// (read like an own property; a spread copy of a node does not carry it).
Object.defineProperty(DirectiveNode.prototype, 'kind', { value: 'directive', enumerable: true });
