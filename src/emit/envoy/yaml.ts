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

/** Lines are gathered into chunks of about this many characters, then encoded into blocks of BLOCK bytes. */
const CHUNK = 16384;
const BLOCK = 1 << 22;

/**
 * A route's action stays in block style whatever its size: a reviewer's diff of two
 * outputs (ngx2envoy check, CI) then names the field that changed (`cluster: …`).
 */
const BLOCK_KEYS = new Set(['route', 'redirect', 'direct_response']);

/** How deep flow collections nest (1: only scalars inside). */
const FLOW_DEPTH = 2;

/** The longest flow collection written on one line (its key and indentation excluded). */
const FLOW_WIDTH = 140;

const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;
const NUMBER_LIKE = /^(?:0[xob]|[0-9.]+e[0-9+-])/i;

/**
 * A string written plain when it is made of letters, digits and `_./-`, starts with
 * a letter, `_` or `/` and is no YAML keyword; or starts with a digit and holds a
 * letter without reading as a number ("60s", "1.5s"). Anything else is a JSON string.
 */
function stringScalar(v: string): string {
  return isPlain(v) ? v : JSON.stringify(v);
}

function isPlain(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  const first = v.charCodeAt(0);
  const digitFirst = first >= 48 && first <= 57;
  if (!digitFirst && !isLetter(first) && first !== 95 /* _ */ && first !== 47 /* / */) return false;
  let letter = false;
  for (let i = 1; i < n; i++) {
    const c = v.charCodeAt(i);
    if (isLetter(c)) letter = true;
    else if (!((c >= 48 && c <= 57) || c === 95 || c === 46 /* . */ || c === 47 || c === 45 /* - */)) return false;
  }
  if (!digitFirst) return n > 5 || !RESERVED.test(v);
  return letter && !NUMBER_LIKE.test(v);
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Whether `v` is written as a scalar (not a non-empty container). */
function isScalar(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) return false;
  return true;
}

class Output {
  private readonly blocks: Buffer[] = [];
  private block = Buffer.allocUnsafe(BLOCK);
  private pos = 0;
  private chunk = '';

  line(s: string): void {
    this.chunk += s + '\n';
    if (this.chunk.length > CHUNK) this.flush();
  }

  private flush(): void {
    const c = this.chunk;
    this.chunk = '';
    // a chunk never spans two blocks (3 bytes per UTF-16 unit at most)
    if (this.pos + 3 * c.length > this.block.length) {
      this.blocks.push(this.block.subarray(0, this.pos));
      this.block = Buffer.allocUnsafe(Math.max(BLOCK, 3 * c.length));
      this.pos = 0;
    }
    this.pos += this.block.write(c, this.pos, 'utf8');
  }

  text(): string {
    this.flush();
    this.blocks.push(this.block.subarray(0, this.pos));
    return Buffer.concat(this.blocks).toString('utf8');
  }
}

export function toYaml(value: unknown, comments: Map<object, string>): string {
  // Keys repeat a great deal: each is quoted once.
  const keys = new Map<string, string>();
  const key = (k: string): string => {
    let s = keys.get(k);
    if (s === undefined) keys.set(k, (s = stringScalar(k)));
    return s;
  };
  // Shared constant sub-objects (frozen: the per-route configs many routes carry) are laid out once.
  const flows = new Map<object, string | null>();
  const flowsInner = new Map<object, string | null>();
  const pads: string[] = [''];
  const pad = (n: number): string => {
    while (pads.length <= n) pads.push(pads[pads.length - 1] + ' ');
    return pads[n]!;
  };
  const out = new Output();

  // Quoted strings repeat too (header values, formatters): each is quoted once.
  const quoted = new Map<string, string>();
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') {
      if (isPlain(v)) return v;
      let q = quoted.get(v);
      if (q === undefined) quoted.set(v, (q = JSON.stringify(v)));
      return q;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === null || v === undefined) return 'null';
    if (Array.isArray(v)) return '[]'; // empty (see isScalar)
    if (typeof v === 'object') return '{}';
    return JSON.stringify(v);
  };

  /**
   * The one-line flow form of a container, or null: its items are scalars or (one
   * level down) such containers themselves, and the line stays within FLOW_WIDTH.
   */
  const flow = (v: object, depth = FLOW_DEPTH): string | null => {
    if (!Object.isFrozen(v)) return commentless(v, flowOf(v, depth));
    const cache = depth === FLOW_DEPTH ? flows : flowsInner;
    let f = cache.get(v);
    if (f === undefined) cache.set(v, (f = commentless(v, flowOf(v, depth))));
    return f;
  };
  // an object with a comment keeps its own lines (asked last: few containers get this far)
  const commentless = (v: object, f: string | null): string | null => (f !== null && comments.has(v) ? null : f);
  const item = (v: unknown, depth: number): string | null => (isScalar(v) ? scalar(v) : depth > 1 ? flow(v as object, depth - 1) : null);
  const flowOf = (v: object, depth: number): string | null => {
    // most containers hold a container: find out before building any text
    if (depth === 1) {
      if (Array.isArray(v)) {
        for (const x of v) if (!isScalar(x)) return null;
      } else for (const k in v) if (!isScalar((v as Record<string, unknown>)[k])) return null;
    }
    let text = '';
    if (Array.isArray(v)) {
      for (const x of v) {
        const t = item(x, depth);
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
      const t = item(x, depth);
      if (t === null) return null;
      text += (text === '' ? '' : ', ') + key(k) + ': ' + t;
      if (text.length > FLOW_WIDTH) return null;
    }
    return `{${text}}`;
  };

  const comment = (indent: number, c: string): void => out.line(`${pad(indent)}#${c}`);

  const writeMap = (obj: Record<string, unknown>, indent: number, firstPrefix: string | null): void => {
    let lead = firstPrefix ?? pad(indent);
    for (const name in obj) {
      const v = obj[name];
      if (v === undefined) continue;
      const k = key(name);
      const at = lead;
      lead = pad(indent);
      if (isScalar(v)) {
        out.line(`${at}${k}: ${scalar(v)}`);
        continue;
      }
      const f = BLOCK_KEYS.has(name) ? null : flow(v as object);
      if (f !== null) out.line(`${at}${k}: ${f}`);
      else if (Array.isArray(v)) {
        out.line(`${at}${k}:`);
        writeSeq(v, indent);
      } else {
        out.line(`${at}${k}:`);
        writeNested(v as Record<string, unknown>, indent + 2);
      }
    }
  };

  const writeNested = (obj: Record<string, unknown>, indent: number): void => {
    const c = comments.get(obj);
    if (c !== undefined) comment(indent, c);
    writeMap(obj, indent, null);
  };

  const writeSeq = (arr: unknown[], indent: number): void => {
    const here = pad(indent);
    for (const item of arr) {
      if (isScalar(item)) {
        out.line(`${here}- ${scalar(item)}`);
        continue;
      }
      const c = comments.get(item as object);
      if (c !== undefined) comment(indent, c);
      const f = flow(item as object);
      if (f !== null) out.line(`${here}- ${f}`);
      else if (Array.isArray(item)) {
        out.line(`${here}-`);
        writeSeq(item, indent + 2);
      } else writeMap(item as Record<string, unknown>, indent + 2, here + '- ');
    }
  };

  if (isScalar(value)) out.line(scalar(value));
  else if (Array.isArray(value)) writeSeq(value, 0);
  else writeNested(value as Record<string, unknown>, 0);
  return out.text();
}
