// A small, fast YAML writer for the JSON subset the emitter produces (objects,
// arrays, strings, numbers, booleans), with a `# comment` line above chosen
// objects. The `yaml` package is exact but too slow for a 50 MB bootstrap; this
// writer is deterministic and its output parses back to the same JSON (the
// golden test checks that with the `yaml` package). Strings that are not
// unmistakably plain are written as JSON strings (valid YAML double-quoted).

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const DIGIT_PLAIN = /^[0-9][A-Za-z0-9_./-]*$/;

const scalarCache = new Map<string, string>();

function scalar(v: unknown): string {
  if (typeof v === 'string') {
    const hit = scalarCache.get(v);
    if (hit !== undefined) return hit;
    const s = stringScalar(v);
    if (scalarCache.size < 200_000) scalarCache.set(v, s);
    return s;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

function stringScalar(v: string): string {
  {
    if (v !== '' && PLAIN.test(v) && !RESERVED.test(v)) return v;
    // "60s", "1.5s": start with a digit but are no YAML number (they hold a letter).
    if (DIGIT_PLAIN.test(v) && /[A-Za-z]/.test(v) && !/^0[xob]/i.test(v) && !/^[0-9.]+e[0-9+-]/i.test(v)) return v;
    return JSON.stringify(v);
  }
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

function emptyContainer(v: unknown): string | null {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) return '{}';
  return null;
}

export function toYaml(value: unknown, comments: Map<object, string>): string {
  const out: string[] = [];
  const pads: string[] = [];
  const pad = (n: number): string => (pads[n] ??= ' '.repeat(n));

  const writeMap = (obj: Record<string, unknown>, indent: number, firstPrefix: string | null): void => {
    let first = true;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (v === undefined) continue;
      const lead = first && firstPrefix !== null ? firstPrefix : pad(indent);
      first = false;
      const k = scalar(key);
      const empty = emptyContainer(v);
      if (empty !== null) out.push(`${lead}${k}: ${empty}`);
      else if (isContainer(v)) {
        out.push(`${lead}${k}:`);
        writeValue(v, Array.isArray(v) ? indent + 2 : indent + 2);
      } else out.push(`${lead}${k}: ${scalar(v)}`);
    }
  };

  const writeSeq = (arr: unknown[], indent: number): void => {
    for (const item of arr) {
      if (typeof item === 'object' && item !== null) {
        const c = comments.get(item);
        if (c !== undefined) out.push(`${pad(indent)}#${c}`);
      }
      const empty = emptyContainer(item);
      if (empty !== null) out.push(`${pad(indent)}- ${empty}`);
      else if (Array.isArray(item)) {
        out.push(`${pad(indent)}-`);
        writeSeq(item, indent + 2);
      } else if (isContainer(item)) writeMap(item as Record<string, unknown>, indent + 2, `${pad(indent)}- `);
      else out.push(`${pad(indent)}- ${scalar(item)}`);
    }
  };

  const writeValue = (v: Record<string, unknown> | unknown[], indent: number): void => {
    if (!Array.isArray(v)) {
      const c = comments.get(v);
      if (c !== undefined) out.push(`${pad(indent)}#${c}`);
      writeMap(v, indent, null);
    } else writeSeq(v, indent);
  };

  if (isContainer(value)) writeValue(value, 0);
  else out.push(emptyContainer(value) ?? scalar(value));
  return out.join('\n') + '\n';
}
