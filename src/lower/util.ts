// Small helpers shared by the lowering modules: AST access, nginx's size and
// time syntax, and variable templates. Plain functions over plain data.
import type { Directive, Statement, SourcePos, Diagnostic } from '../parse/ast.js';
import type { Src, Template, TemplatePart } from '../ir/types.js';

export function src(pos: SourcePos): Src {
  return { file: pos.file, line: pos.line, col: pos.col };
}

export function directivesOf(block: Statement[] | undefined): Directive[] {
  const out: Directive[] = [];
  for (const s of block ?? []) if (s.kind === 'directive') out.push(s);
  return out;
}

export function argValues(d: Directive): string[] {
  return d.args.map((a) => a.value);
}

/** Last occurrence of a simple directive at one level (nginx rejects most duplicates; the last wins otherwise). */
export function lastNamed(ds: Directive[], name: string): Directive | undefined {
  let found: Directive | undefined;
  for (const d of ds) if (d.name === name) found = d;
  return found;
}

/** A lowering error: bad input nginx itself would reject or that has no Envoy form at all. */
export class LowerError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export function errorAt(pos: SourcePos, message: string, code: string): LowerError {
  return new LowerError({ severity: 'error', message, source: { ...pos }, code });
}

/** nginx time syntax (ngx_parse_time): `30`, `500ms`, `1m30s`, `2h`… → milliseconds; null when invalid. */
export function parseTimeMs(text: string): number | null {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, M: 2592000000, y: 31536000000 };
  const re = /(\d+)(ms|s|m|h|d|w|M|y)?/gy;
  let total = 0;
  let pos = 0;
  if (text === '') return null;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * units[m[2] ?? 's']!;
    pos = re.lastIndex;
  }
  return total;
}

/** nginx size syntax (ngx_parse_size): `1024`, `10k`, `1m`, `1g` → bytes; null when invalid. */
export function parseSize(text: string): number | null {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return null;
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };
  return Number(m[1]) * mult[m[2]!.toLowerCase()]!;
}

/** Split an nginx value into literal text and variables (`$name`, `${name}`, `$1`). */
export function parseTemplate(raw: string): Template {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '$' && i + 1 < raw.length) {
      let name = '';
      let j = i + 1;
      if (raw[j] === '{') {
        const end = raw.indexOf('}', j);
        if (end > j + 1) {
          name = raw.slice(j + 1, end);
          j = end + 1;
        }
      } else if (/[0-9]/.test(raw[j]!)) {
        name = raw[j]!;
        j++;
      } else {
        const m = /^[A-Za-z0-9_]+/.exec(raw.slice(j));
        if (m) {
          name = m[0];
          j += name.length;
        }
      }
      if (name) {
        if (text) parts.push({ text });
        text = '';
        parts.push({ var: name });
        i = j;
        continue;
      }
    }
    text += c;
    i++;
  }
  if (text) parts.push({ text });
  return { raw, parts };
}

export function hasVariables(t: Template): boolean {
  return t.parts.some((p) => 'var' in p);
}

export function templateText(t: Template): string | null {
  return hasVariables(t) ? null : t.raw;
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
}

const levelIndexes = new WeakMap<Directive[], Map<string, Directive[]>>();

/** The directives of one level grouped by name, built once per level (levels are shared by many locations). */
export function byName(ds: Directive[]): Map<string, Directive[]> {
  let m = levelIndexes.get(ds);
  if (!m) {
    m = new Map();
    for (const d of ds) {
      const list = m.get(d.name);
      if (list) list.push(d);
      else m.set(d.name, [d]);
    }
    levelIndexes.set(ds, m);
  }
  return m;
}
