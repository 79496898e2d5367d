// The compact nodes: positions read lazily from offsets through the file's line
// table, what a copy of a node carries, the shared word table.
import { describe, expect, it } from 'vitest';
import { parseText, type Directive } from '../../src/parse/index.js';
import { SourceLines } from '../../src/parse/nodes.js';
import { WordTable } from '../../src/parse/words.js';

describe('SourceLines', () => {
  it('turns offsets into line and column, in any order of lookup', () => {
    const text = 'ab\ncd\n\nefg';
    const lines = new SourceLines(text, 'x.conf');
    const expected = [...text].map((_, i) => {
      const before = text.slice(0, i).split('\n');
      return { file: 'x.conf', line: before.length, col: before[before.length - 1]!.length + 1 };
    });
    const order = [9, 0, 4, 7, 1, 8, 3, 2, 6, 5];
    for (const i of order) expect(lines.pos(i)).toEqual(expected[i]);
    expect(lines.pos(text.length)).toEqual({ file: 'x.conf', line: 4, col: 4 });
  });

  it('counts columns in code points when the file has astral characters', () => {
    const lines = new SourceLines('x "😀" y;\n😀z w;', 'w.conf');
    expect(lines.pos(7)).toEqual({ file: 'w.conf', line: 1, col: 7 }); // y
    expect(lines.pos(14)).toEqual({ file: 'w.conf', line: 2, col: 4 }); // w
  });
});

describe('parsed nodes', () => {
  const text = 'http {\n  add_header X-A "b c";\n}\n';
  const [http] = parseText(text, 'n.conf').root as Directive[];
  const header = http!.block![0] as Directive;

  it('give a fresh position object at each read', () => {
    expect(header.source).toEqual({ file: 'n.conf', line: 2, col: 3 });
    expect(header.source).not.toBe(header.source);
    expect(header.args[1]!.source).toEqual({ file: 'n.conf', line: 2, col: 18 });
    expect([http!.end, http!.close, header.end, header.close]).toEqual([
      { file: 'n.conf', line: 1, col: 6 },
      { file: 'n.conf', line: 3, col: 1 },
      { file: 'n.conf', line: 2, col: 23 },
      undefined,
    ]);
  });

  it('own exactly their values: a copy keeps the value, not the quote or the positions', () => {
    const quoted = header.args[1]!;
    expect(quoted.quote).toBe('"');
    expect({ ...quoted }).toEqual({ value: 'b c' });
    expect(Object.keys(header)).toEqual(['name', 'args']);
    expect(Object.keys(http!)).toEqual(['name', 'args', 'block']);
    expect(header.kind).toBe('directive');
    expect(JSON.parse(JSON.stringify(header.args))).toEqual([{ value: 'X-A' }, { value: 'b c' }]);
  });

  it('share one string per distinct word', () => {
    const [a, b] = parseText('proxy_set_header Host $host;\nproxy_set_header Host $host;', 'n.conf').root as Directive[];
    expect(a!.args[1]!.value).toBe(b!.args[1]!.value);
    expect(a!.args[1]).not.toBe(b!.args[1]);
    expect([a!.args[1]!.source.line, b!.args[1]!.source.line]).toEqual([1, 2]);
  });
});

describe('WordTable', () => {
  it('returns the same string for the same characters, wherever they are read from', () => {
    const table = new WordTable();
    const text = 'on off on $host on';
    const first = table.range(text, 0, 2);
    expect(first).toBe('on');
    expect(table.range(text, 7, 9)).toBe(first);
    expect(table.string('on')).toBe(first);
    expect(table.range(text, 3, 6)).toBe('off');
    expect(table.range(text, 10, 15)).toBe('$host');
  });

  it('keeps every word distinct through growth', () => {
    const table = new WordTable();
    const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
    const firsts = words.map((w) => table.string(w));
    expect(words.map((w) => table.range(` ${w} `, 1, w.length + 1))).toEqual(firsts);
    expect(new Set(firsts).size).toBe(5000);
  });
});
