// A small, fast YAML writer for the JSON subset the emitter produces (objects,
// arrays, strings, numbers, booleans), with a `# comment` line above chosen
// objects. The `yaml` package is exact but too slow for a large bootstrap; this
// writer is deterministic and its output parses back to the same JSON (the
// golden test and test/emit/yaml.test.ts check that with the `yaml` package).
//
// Layout, chosen to keep a large bootstrap small and readable:
// - sequences are "compact": their `- ` sits at the indentation of the key that
//   holds them (routes are nested five sequences deep: that is 10 columns fewer
//   on every route line);
// - a map or sequence holding only scalars, or only scalars and such small
//   collections, is written on one line in flow style (`match: {prefix: /api/}`,
//   `domains: [a.test, "*.a.test"]`, `- {header: {key: X-A, value: "1"}, …}`)
//   when that line stays short and no comment belongs to it.
// Strings that are not unmistakably plain are written as JSON strings (valid
// YAML double-quoted scalars); the plain ones hold no flow indicator, so they are
// plain in flow style too.

/**
 * Lines are gathered into chunks of about this many characters, then encoded into blocks
 * of BLOCK_BYTES bytes. (V8 appends to a string without copying it; Array.join of the pieces
 * measured slower.)
 */
const CHUNK = 16384;
const BLOCK_BYTES = 1 << 22;

/**
 * A route's action stays in block style whatever its size: a reviewer's diff of two
 * outputs (ngx2envoy check, CI) then names the field that changed (`cluster: …`).
 */
const BLOCK_KEYS = new Set(['route', 'redirect', 'direct_response']);

/**
 * Maps keyed by names the emission chose, with an entry per name (the Lua filter's scripts:
 * hundreds). V8 keeps such an object in dictionary mode, where a for…in finds no enum cache:
 * met late in the file (the filters come after the routes), one would deoptimise every for…in
 * optimised for the fast objects before it (writeMap, flowShape, flowText, isEmpty). Their
 * entries are listed by Object.keys instead (see writeNamedMap), always in block style.
 */
const NAMED_MAP_KEYS = new Set(['source_codes']);

/** How deep flow collections nest (1: only scalars inside). */
const FLOW_DEPTH = 2;

/** The longest flow collection written on one line (its key and indentation excluded). */
const FLOW_WIDTH = 140;

const NON_ASCII = /[^\x00-\x7f]/;
const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;
const NUMBER_LIKE = /^(?:0[xob]|[0-9.]+e[0-9+-])/i;
const PLAIN_CHARS = /^[A-Za-z0-9_/][A-Za-z0-9_./-]*$/;
const HAS_LETTER = /[A-Za-z]/;

/**
 * A string written plain when it is made of letters, digits and `_./-`, starts with
 * a letter, `_` or `/` and is no YAML keyword; or starts with a digit and holds a
 * letter without reading as a number ("60s", "1.5s"). Anything else is a JSON string.
 */
function stringScalar(v: string): string {
  return isPlain(v) ? v : JSON.stringify(v);
}

function isPlain(v: string): boolean {
  // one regular expression for the characters (compiled to machine code: faster than a
  // charCodeAt loop over the 456,000 strings of the benchmark), then the two exceptions
  if (!PLAIN_CHARS.test(v)) return false;
  const first = v.charCodeAt(0);
  if (first < 48 || first > 57) return v.length > 5 || !RESERVED.test(v); // a letter, `_` or `/`
  return HAS_LETTER.test(v) && !NUMBER_LIKE.test(v);
}

/** Whether `v` is written as a scalar (not a non-empty container). */
function isScalar(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) return false;
  return true;
}

const NO_BLOCK = Buffer.alloc(0);

/** Where the YAML's bytes go: blocks of memory of their own, filled one after the other. */
class Output {
  private readonly blocks: Buffer[] = [];
  /**
   * The block being filled: none until the first flush (it is replaced there, before any code
   * reading it is optimised: a field first replaced later would recompile that code).
   */
  private block = NO_BLOCK;
  private pos = 0;
  private chunk = '';
  /** Captures under way (see capture): the chunk is not encoded meanwhile. */
  private capturing = 0;
  /**
   * No text written so far holds a character past ASCII (see `saw`): chunks are then copied
   * byte for byte (latin1: V8 copies the pieces as they are, where UTF-8 first joins them).
   */
  private ascii = true;

  /** Every piece of text that may hold any character (a quoted string, a key, a comment) is seen here once made. */
  saw(text: string): void {
    if (this.ascii && NON_ASCII.test(text)) this.ascii = false;
  }

  line(s: string): void {
    this.chunk += s + '\n';
    if (this.chunk.length > CHUNK && this.capturing === 0) this.flush();
  }

  /**
   * Whole lines (their `\n` included): a shared block's, written again. (Copying its bytes,
   * encoded once, measured no faster: a copy ends the chunk, and latin1 copies the pieces.)
   */
  lines(text: string): void {
    this.chunk += text;
    if (this.chunk.length > CHUNK && this.capturing === 0) this.flush();
  }

  /**
   * Starts gathering the lines written from now on apart; `captured` ends it and returns
   * them (they stay written too). Returns what `captured` needs back.
   */
  capture(): string {
    const before = this.chunk;
    this.chunk = '';
    this.capturing++;
    return before;
  }

  captured(before: string): string {
    const text = this.chunk;
    this.capturing--;
    this.chunk = before;
    this.lines(text);
    return text;
  }

  private flush(): void {
    const c = this.chunk;
    this.chunk = '';
    // a chunk never spans two blocks (3 bytes per UTF-16 unit at most)
    if (this.pos + 3 * c.length > this.block.length) {
      if (this.pos > 0) this.blocks.push(this.block.subarray(0, this.pos));
      this.block = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, 3 * c.length));
      this.pos = 0;
    }
    this.pos += this.block.write(c, this.pos, this.ascii ? 'latin1' : 'utf8');
  }

  /**
   * The bytes, in blocks: each a view at the start of memory of its own (no other view of
   * it exists; a writer may take it over, see OutputFile.blocks).
   */
  done(): Buffer[] {
    this.flush();
    if (this.pos > 0 || this.blocks.length === 0) this.blocks.push(this.block.subarray(0, this.pos));
    return this.blocks;
  }
}

export function toYaml(value: unknown, comments: Map<object, string>): string {
  return toYamlBytes(value, comments).toString('utf8');
}

/** The YAML text as UTF-8 bytes (what a file gets: no string of the whole text is built). */
export function toYamlBytes(value: unknown, comments: Map<object, string>): Buffer {
  const blocks = toYamlBlocks(value, comments);
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/**
 * toYamlBytes' bytes as they were filled, in blocks of a few megabytes, each at the start of
 * an ArrayBuffer of its own (a file writer on another thread can take them over, uncopied).
 */
export function toYamlBlocks(value: unknown, comments: Map<object, string>): Buffer[] {
  // Keys repeat a great deal: each is quoted once.
  const keys = new Map<string, string>();
  const key = (k: string): string => {
    let s = keys.get(k);
    if (s === undefined) {
      keys.set(k, (s = stringScalar(k)));
      out.saw(s);
    }
    return s;
  };
  // Shared constant sub-objects (frozen: the per-route configs many routes carry) are laid out
  // once. Any object that cannot be extended is taken for one: the document does not change
  // while it is written, so a cached layout is its layout wherever it recurs.
  const flows = new Map<object, string | null>();
  const flowsInner = new Map<object, string | null>();
  const pads: string[] = [''];
  const pad = (n: number): string => {
    while (pads.length <= n) pads.push(pads[pads.length - 1] + ' ');
    return pads[n]!;
  };
  // `<n spaces>- `, the start of a sequence item's line
  const dashes: string[] = [];
  const dashed = (n: number): string => (dashes[n] ??= pad(n) + '- ');
  const out = new Output();

  // Quoted strings repeat too (header values, formatters): each is quoted once.
  const quoted = new Map<string, string>();
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') {
      if (isPlain(v)) return v;
      let q = quoted.get(v);
      if (q === undefined) {
        quoted.set(v, (q = JSON.stringify(v)));
        out.saw(q);
      }
      return q;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === null || v === undefined) return 'null';
    if (Array.isArray(v)) return '[]'; // empty (see isScalar)
    if (typeof v === 'object') return '{}';
    return JSON.stringify(v);
  };

  /**
   * How a container is written after its key or dash: its one-line flow form, or null
   * for block style. An empty container is `[]`/`{}` (a scalar: no comment goes with it).
   * A container is in flow style when its items are scalars or (one level down) such
   * containers themselves, it has no comment, and the line stays within FLOW_WIDTH.
   * Most containers fail on their shape alone (a route holds its action, which holds
   * more): that is settled first, before any text is built.
   */
  const flow = (v: object, depth = FLOW_DEPTH): string | null => {
    // (isExtensible reads one bit; isFrozen may walk the properties, e.g. of an object in dictionary mode)
    if (Object.isExtensible(v)) return flowOf(v, depth);
    const cache = depth === FLOW_DEPTH ? flows : flowsInner;
    let f = cache.get(v);
    if (f === undefined) cache.set(v, (f = flowOf(v, depth)));
    return f;
  };
  const flowOf = (v: object, depth: number): string | null => {
    const shape = flowShape(v, depth);
    if (shape === EMPTY) return Array.isArray(v) ? '[]' : '{}';
    // an object with a comment keeps its own lines (asked last: few containers get this far)
    if (shape === BLOCK) return null;
    const f = flowText(v, depth);
    return f !== null && comments.has(v) ? null : f;
  };
  /** The text of a container whose shape is FLOW at `depth`, or null when a comment or the width forbid it. */
  const flowText = (v: object, depth: number): string | null => {
    let text = '';
    if (Array.isArray(v)) {
      for (const x of v) {
        const t = typeof x === 'object' && x !== null ? flow(x, depth - 1) : scalar(x);
        if (t === null) return null;
        text += (text === '' ? '' : ', ') + t;
        if (text.length > FLOW_WIDTH) return null;
      }
      return `[${text}]`;
    }
    const obj = v as Record<string, unknown>;
    for (const k in obj) {
      const x = obj[k];
      if (x === undefined) continue;
      const t = typeof x === 'object' && x !== null ? flow(x, depth - 1) : scalar(x);
      if (t === null) return null;
      text += (text === '' ? '' : ', ') + key(k) + ': ' + t;
      if (text.length > FLOW_WIDTH) return null;
    }
    return `{${text}}`;
  };

  const comment = (indent: number, c: string): void => {
    out.saw(c);
    out.line(`${pad(indent)}#${c}`);
  };

  // The start of a map entry's line, `<indentation><key>:` (and with a space, before a value),
  // made once per indentation and key: a line is then two pieces, not five (each piece of a
  // line is one more node for V8 to allocate and to walk when the text is encoded).
  // Slot 2n: indentation n; slot 2n+1: the first entry of a sequence item at indentation n
  // (after `<n - 2 spaces>- `).
  const leads: Map<string, Lead>[] = [];
  const leadOf = (slot: number, name: string): Lead => {
    let byName = leads[slot];
    if (byName === undefined) leads[slot] = byName = new Map();
    let l = byName.get(name);
    if (l === undefined) {
      const indent = slot >> 1;
      const opening = (slot & 1 ? dashed(indent - 2) : pad(indent)) + key(name) + ':';
      byName.set(name, (l = { beforeValue: opening + ' ', alone: opening, block: BLOCK_KEYS.has(name), named: NAMED_MAP_KEYS.has(name) }));
    }
    return l;
  };

  // A shared container written in block style (a virtual host's or a cluster's retry policy,
  // the header lists many routes carry) is laid out once per indentation and kind: its lines
  // are gathered the first time and written again as they are. As for flow text, any object
  // that cannot be extended is taken for a shared one.
  const layouts: Map<object, string>[] = [];
  const writeBlock = (v: object, indent: number, kind: BlockKind): void => {
    if (Object.isExtensible(v)) return writeBlockOf(v, indent, kind);
    const slot = 3 * indent + kind;
    let laid = layouts[slot];
    if (laid === undefined) layouts[slot] = laid = new Map();
    const layout = laid.get(v);
    if (layout !== undefined) return out.lines(layout);
    const before = out.capture();
    writeBlockOf(v, indent, kind);
    laid.set(v, out.captured(before));
  };
  const writeBlockOf = (v: object, indent: number, kind: BlockKind): void => {
    if (kind === SEQUENCE) writeSeq(v as unknown[], indent);
    else if (kind === NESTED) writeNested(v as Record<string, unknown>, indent);
    else writeMap(v as Record<string, unknown>, indent, true);
  };

  /** `dash`: the map is a sequence item, its first entry goes after the item's `- ` (at indent - 2). */
  const writeMap = (obj: Record<string, unknown>, indent: number, dash: boolean): void => {
    let first = dash;
    for (const name in obj) {
      const v = obj[name];
      if (v === undefined) continue;
      const lead = leadOf(first ? 2 * indent + 1 : 2 * indent, name);
      first = false;
      if (typeof v !== 'object' || v === null) out.line(lead.beforeValue + scalar(v));
      else if (lead.named) writeNamedMap(v as Record<string, unknown>, lead, indent);
      else writeContainer(v, lead, indent);
    }
  };

  /** A container as a map entry's value: on the key's line (flow or empty), or in block style below it. */
  const writeContainer = (v: object, lead: Lead, indent: number): void => {
    const f = lead.block ? (isEmpty(v) ? scalar(v) : null) : flow(v);
    if (f !== null) out.line(lead.beforeValue + f);
    else {
      out.line(lead.alone);
      if (Array.isArray(v)) writeBlock(v, indent, SEQUENCE);
      else writeBlock(v, indent + 2, NESTED);
    }
  };

  /** A map of NAMED_MAP_KEYS below its key: its entries listed by Object.keys (see there why), no for…in. */
  const writeNamedMap = (obj: Record<string, unknown>, lead: Lead, indent: number): void => {
    const names = Object.keys(obj);
    if (names.length === 0) return out.line(lead.beforeValue + '{}');
    out.line(lead.alone);
    const c = comments.get(obj);
    if (c !== undefined) comment(indent + 2, c);
    for (const name of names) {
      const v = obj[name];
      if (v === undefined) continue;
      const entry = leadOf(2 * (indent + 2), name);
      if (typeof v !== 'object' || v === null) out.line(entry.beforeValue + scalar(v));
      else writeContainer(v, entry, indent + 2);
    }
  };

  const writeNested = (obj: Record<string, unknown>, indent: number): void => {
    const c = comments.get(obj);
    if (c !== undefined) comment(indent, c);
    writeMap(obj, indent, false);
  };

  const writeSeq = (arr: unknown[], indent: number): void => {
    const here = pad(indent);
    const dash = dashed(indent);
    for (const item of arr) {
      if (typeof item !== 'object' || item === null) {
        out.line(dash + scalar(item));
        continue;
      }
      // An item with a comment (a route, a cluster, a listener) keeps its own lines: asked
      // first, that spares it the flow test. An empty one is a scalar, written without it.
      const c = comments.get(item);
      const f = c === undefined ? flow(item) : isEmpty(item) ? scalar(item) : null;
      if (f !== null) {
        out.line(dash + f);
        continue;
      }
      if (c !== undefined) comment(indent, c);
      if (Array.isArray(item)) {
        out.line(`${here}-`);
        writeBlock(item, indent + 2, SEQUENCE);
      } else writeBlock(item, indent + 2, ITEM);
    }
  };

  if (isScalar(value)) out.line(scalar(value));
  else if (Array.isArray(value)) writeSeq(value, 0);
  else writeNested(value as Record<string, unknown>, 0);
  return out.done();
}

/** The start of a map entry's line (see leadOf). */
interface Lead {
  /** `<indentation><key>: ` */
  beforeValue: string;
  /** `<indentation><key>:` */
  alone: string;
  /** The key's value is in block style whatever its size (BLOCK_KEYS). */
  block: boolean;
  /** The key's value is a map keyed by chosen names, written by writeNamedMap (NAMED_MAP_KEYS). */
  named: boolean;
}

/** How a container in block style is written (see writeBlock). */
type BlockKind = 0 | 1 | 2;
/** A sequence's items at the indentation. */
const SEQUENCE = 0;
/** A map's entries at the indentation, below the comment it has. */
const NESTED = 1;
/** A map that is a sequence item: its first entry after the `- ` (the sequence writes its comment). */
const ITEM = 2;

/** A container's shape for the flow style (see flowShape). */
const EMPTY = 0;
const FLOW = 1;
const BLOCK = 2;

/**
 * EMPTY for `[]`/`{}`; FLOW when every item is a scalar or (depth 2) a container of
 * scalars only; else BLOCK. Reads each level once and builds no text (every for…in
 * costs, most of all on an object in V8's dictionary mode (keys deleted), where it lists the keys).
 */
function flowShape(v: object, depth: number): number {
  let items = 0;
  if (Array.isArray(v)) {
    for (const x of v) {
      items++;
      if (typeof x === 'object' && x !== null && (depth === 1 ? !isEmpty(x) : flowShape(x, 1) === BLOCK)) return BLOCK;
    }
  } else {
    const obj = v as Record<string, unknown>;
    for (const k in obj) {
      items++;
      const x = obj[k];
      if (typeof x === 'object' && x !== null && (depth === 1 ? !isEmpty(x) : flowShape(x, 1) === BLOCK)) return BLOCK;
    }
  }
  return items === 0 ? EMPTY : FLOW;
}

function isEmpty(v: object): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) return false;
  return true;
}

