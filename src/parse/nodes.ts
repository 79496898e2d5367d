// The tree's nodes as compact class instances (the parser builds these; the
// shapes are those of ast.ts). A position is kept as an offset into its file's
// text and becomes `{file, line, col}` only when read, through the file's line
// table: a large configuration has several hundred thousand words, and one
// position object per word, per `;` and per `}` was a third of the tree.
//
// A directive's words are not objects either: each file keeps them flat, in
// the order written (WordStore: one array of values, one packed integer per
// word for its offset and quote), and a directive keeps where its words start
// and how many there are. `args` is a getter that builds the ArgNode views on
// each read; it is deliberately not cached on the node (a cache would move the
// memory to the first reader and leave the tree no leaner). `argCount` and
// `argValue(i)` read the store without building anything.
//
// Offsets, the line table and the rest of the bookkeeping are private (#)
// fields; what is the same for many nodes (a directive's `kind`) or derived from
// a packed field (a word's `quote`) is a getter or value on the prototype, like
// the positions and `args`. So a node's own enumerable properties are its values
// only (`value`; `name`, `block`, `raw`, `freeform`, `includes`): a spread or
// JSON.stringify of a node keeps those and nothing else — copy fields by name.
// The optional ones exist from construction, as undefined until set (`includes`
// on every node; `block`, `raw`, `freeform` on every BlockDirectiveNode), so
// that all nodes of a class share one shape: readers of the tree stay
// monomorphic-or-two instead of meeting a new map (and a deopt) per variant.
// Each read of `source`, `end`, `close` or `args` returns fresh objects.
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
    this.#starts = lineStarts(text, lineCount(text));
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
    return this.posNamed(offset, this.file);
  }

  /** `pos(offset).line`, without the object. */
  line(offset: number): number {
    return this.#lineIndex(offset) + 1;
  }

  /** `pos(offset).col`, without the object. */
  col(offset: number): number {
    const start = this.#starts[this.#lineIndex(offset)]!;
    return this.#wideText === null ? offset - start + 1 : Array.from(this.#wideText.slice(start, offset)).length + 1;
  }

  /** `pos(offset)` with another name for the file (lowering's Src names files its own way). */
  posNamed(offset: number, file: string): SourcePos {
    const line = this.#lineIndex(offset);
    const start = this.#starts[line]!;
    const col = this.#wideText === null ? offset - start + 1 : Array.from(this.#wideText.slice(start, offset)).length + 1;
    return { file, line: line + 1, col };
  }
}

// The two loops over a file's text are functions of their own: a long loop is
// optimised while it runs (on-stack replacement), and code after it in the same
// function would then run without feedback and deoptimise.
function lineCount(text: string): number {
  let count = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Offset of each line's first character. */
function lineStarts(text: string, count: number): Int32Array {
  const starts = new Int32Array(count);
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts[line++] = i + 1;
  return starts;
}

const QUOTES = [null, '"', "'"] as const;

/** A word's offset and quote as one integer: offset × 4 + the quote's index in QUOTES. */
function packWhere(offset: number, quote: '"' | "'" | null): number {
  // A lookup, not a chain of comparisons: the first quoted word, met after the
  // parser is optimised, would otherwise find a comparison without feedback (a deopt).
  return offset * 4 + QUOTES.indexOf(quote);
}

/**
 * One file's words (directive names and arguments), in the order the parser
 * reads them. A value is a string of the file's WordTable (shared by equal
 * words); `#where` packs each word's offset and quote (packWhere) in an
 * Int32Array grown by doubling: a file's text is under 2^29 characters (V8's
 * string limit), so offset × 4 fits.
 */
export class WordStore {
  readonly lines: SourceLines;
  readonly #values: string[] = [];
  #where = new Int32Array(256);

  constructor(lines: SourceLines) {
    this.lines = lines;
  }

  /** How many words are stored: the index the next word gets. */
  get size(): number {
    return this.#values.length;
  }

  /** Stores a word; returns its index. `at`: its first character (its quote when quoted). */
  add(value: string, quote: '"' | "'" | null, at: number): number {
    const index = this.#values.length;
    if (index === this.#where.length) {
      const grown = new Int32Array(index * 2);
      grown.set(this.#where);
      this.#where = grown;
    }
    this.#where[index] = packWhere(at, quote);
    this.#values.push(value);
    return index;
  }

  /** Drops the unused tail of the packed store once the file is read. */
  trim(): void {
    if (this.#where.length > this.#values.length) this.#where = this.#where.slice(0, this.#values.length);
  }

  value(index: number): string {
    return this.#values[index]!;
  }

  offset(index: number): number {
    return this.#where[index]! >> 2;
  }

  /** A fresh view of word `index`. */
  arg(index: number): ArgNode {
    return new ArgNode(this.#values[index]!, this.#where[index]!, this.lines);
  }
}

/** A word of a directive: a view made from its file's WordStore when `args` is read. */
export class ArgNode implements Arg {
  value: string;
  /** The word's offset times 4, plus its quote's index in QUOTES (packWhere). */
  readonly #where: number;
  readonly #lines: SourceLines;

  constructor(value: string, where: number, lines: SourceLines) {
    this.value = value;
    this.#where = where;
    this.#lines = lines;
  }

  get quote(): '"' | "'" | null {
    return QUOTES[this.#where & 3]!;
  }

  get source(): SourcePos {
    return this.#lines.pos(this.#where >> 2);
  }
}

/** What a directive without arguments returns for `args`: one shared, frozen list. */
const NO_ARGS = Object.freeze([]) as unknown as Arg[];

/** A statement `name args… ;` (or one cut by the end of the file). */
export class DirectiveNode implements Directive {
  declare readonly kind: 'directive';
  name: string;
  declare block?: Statement[];
  declare raw?: string;
  declare freeform?: boolean;
  /** Set on an `include` by the loader; present (undefined) on every node: see the constructor. */
  declare includes?: number[];
  readonly #words: WordStore;
  /** Index in #words of the directive's name; its arguments follow it. */
  readonly #first: number;
  readonly #count: number;
  readonly #end: number;

  /**
   * `first`: the index in `words` of the name, followed by `count` arguments;
   * `end`: the offset of its `;` or the `{` that opened its block (-1: none).
   */
  constructor(name: string, words: WordStore, first: number, count: number, end: number) {
    this.name = name;
    // Every field a leaf can get later is made here, in one order: all leaves
    // share one shape for V8 (a field added afterwards would give the few
    // `include`s a map of their own, and every reader of nodes a deopt).
    this.includes = undefined;
    this.#words = words;
    this.#first = first;
    this.#count = count;
    this.#end = end;
  }

  /** The arguments, as fresh ArgNode views in a fresh array at each read (not cached: see the file's head). */
  get args(): Arg[] {
    const count = this.#count;
    if (count === 0) return NO_ARGS;
    // Sized once: pushing onto [] would give each short list a 16-slot backing store.
    const args = new Array<Arg>(count);
    const from = this.#first + 1;
    for (let i = 0; i < count; i++) args[i] = this.#words.arg(from + i);
    return args;
  }

  /** `args.length`, without building the views. */
  get argCount(): number {
    return this.#count;
  }

  /** `args[i]?.value`, without building the views. */
  argValue(i: number): string | undefined {
    return i >= 0 && i < this.#count ? this.#words.value(this.#first + 1 + i) : undefined;
  }

  get source(): SourcePos {
    return this.#words.lines.pos(this.#words.offset(this.#first));
  }

  /** The file `source` names. */
  sourceFile(): string {
    return this.#words.lines.file;
  }

  /** `source.line` and `source.col`, for a reader that copies them into its own object. */
  sourceLine(): number {
    return this.#words.lines.line(this.#words.offset(this.#first));
  }

  sourceCol(): number {
    return this.#words.lines.col(this.#words.offset(this.#first));
  }

  /** `source` with the file named `file` instead: one object where a renamed copy of `source` would make two. */
  sourceNamed(file: string): SourcePos {
    return this.#words.lines.posNamed(this.#words.offset(this.#first), file);
  }

  get end(): SourcePos | undefined {
    return this.#end < 0 ? undefined : this.#words.lines.pos(this.#end);
  }

  get close(): SourcePos | undefined {
    return undefined;
  }

  /**
   * Where the directive is written in its file, as offsets: from its name to just
   * after its `;` or the `}` closing its block; null when cut by the file's end.
   */
  textRange(): { start: number; stop: number } | null {
    const stop = this.stopOffset();
    return stop < 0 ? null : { start: this.#words.offset(this.#first), stop };
  }

  /** The offset just after the directive's last character (-1: unknown). */
  protected stopOffset(): number {
    return this.block === undefined && this.#end >= 0 ? this.#end + 1 : -1;
  }

  /** A position in this directive's file. */
  protected position(offset: number): SourcePos {
    return this.#words.lines.pos(offset);
  }

  /** The same directive (positions, words, flags) with another block: the loader splices includes this way. */
  static withBlock(d: DirectiveNode, block: Statement[]): DirectiveNode {
    const copy =
      d instanceof BlockDirectiveNode
        ? new BlockDirectiveNode(d.name, d.#words, d.#first, d.#count, d.#end, BlockDirectiveNode.closeOf(d))
        : new DirectiveNode(d.name, d.#words, d.#first, d.#count, d.#end);
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
  constructor(name: string, words: WordStore, first: number, count: number, end: number, close: number) {
    super(name, words, first, count, end);
    this.#close = close;
    // One shape for every block node, whichever of these it ends up with (see DirectiveNode's constructor).
    this.block = undefined;
    this.raw = undefined;
    this.freeform = undefined;
  }

  override get close(): SourcePos | undefined {
    return this.#close < 0 ? undefined : this.position(this.#close);
  }

  protected override stopOffset(): number {
    return this.#close < 0 ? -1 : this.#close + 1;
  }

  static closeOf(d: BlockDirectiveNode): number {
    return d.#close;
  }
}

// The discriminant is the same for every directive: one copy on the prototype
// (read like an own property; a spread copy of a node does not carry it).
Object.defineProperty(DirectiveNode.prototype, 'kind', { value: 'directive', enumerable: true });
