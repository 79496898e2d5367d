// The compact nodes: positions read lazily from offsets through the file's line
// table, arguments read from the file's flat word store, what a copy of a node
// carries, the shared word table.
import { describe, expect, it } from 'vitest';
import { argCount, argValue, argValues, parseText, type Directive } from '../../src/parse/index.js';
import { DirectiveNode, SourceLines, WordStore } from '../../src/parse/nodes.js';
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
    // The optional fields are own from construction (undefined until set): JSON keeps only those set.
    expect(Object.keys(header)).toEqual(['name', 'includes']);
    expect(Object.keys(http!)).toEqual(['name', 'includes', 'block', 'raw', 'freeform']);
    expect(Object.keys(JSON.parse(JSON.stringify(header)))).toEqual(['name']);
    expect(Object.keys(JSON.parse(JSON.stringify(http)))).toEqual(['name', 'block']);
    expect(header.kind).toBe('directive');
    expect(JSON.parse(JSON.stringify(header.args))).toEqual([{ value: 'X-A' }, { value: 'b c' }]);
  });

  it('of one class own the same keys in one order, whatever each was given (one shape per class)', () => {
    const config = 'include x.conf;\nuser a;\nmap $a $b { default 0; }\nx_by_lua_block { return 1 }\nevents {}\n';
    const nodes = parseText(config, 'm.conf').root as Directive[];
    const leaves = nodes.filter((d) => d.block === undefined && d.raw === undefined);
    const blocks = nodes.filter((d) => !leaves.includes(d));
    expect(leaves.map((d) => d.name)).toEqual(['include', 'user']);
    for (const d of leaves) expect(Object.keys(d)).toEqual(['name', 'includes']);
    expect(blocks.map((d) => d.name)).toEqual(['map', 'x_by_lua_block', 'events']);
    for (const d of blocks) expect(Object.keys(d)).toEqual(['name', 'includes', 'block', 'raw', 'freeform']);
    const spliced = DirectiveNode.withBlock(blocks[0] as DirectiveNode, []);
    expect(Object.keys(spliced)).toEqual(Object.keys(blocks[0]!));
    expect([spliced.freeform, spliced.block]).toEqual([true, []]);
  });

  it('share one string per distinct word', () => {
    const [a, b] = parseText('proxy_set_header Host $host;\nproxy_set_header Host $host;', 'n.conf').root as Directive[];
    expect(a!.args[1]!.value).toBe(b!.args[1]!.value);
    expect(a!.args[1]).not.toBe(b!.args[1]);
    expect([a!.args[1]!.source.line, b!.args[1]!.source.line]).toEqual([1, 2]);
  });
});

describe('arguments read from the word store', () => {
  const text = 'events {}\nlisten 80 # port\n  default_server;\nserver {\n  root /a;\n}\nx_by_lua_block { return 1 }\n';
  const [events, listen, server, lua] = parseText(text, 'a.conf').root as Directive[];

  it('are fresh views at each read: changing one changes nothing in the tree', () => {
    const args = listen!.args;
    expect(args.map((a) => a.value)).toEqual(['80', 'default_server']);
    expect(listen!.args).not.toBe(args);
    expect(listen!.args[0]).not.toBe(args[0]);
    args.push(args[0]!);
    args[0]!.value = '81';
    expect(listen!.args.map((a) => a.value)).toEqual(['80', 'default_server']);
    expect(listen!.args[1]!.source).toEqual({ file: 'a.conf', line: 3, col: 3 });
  });

  it('give one shared frozen empty list when there are none', () => {
    expect(events!.args).toEqual([]);
    expect(events!.args).toBe(server!.args);
    expect(Object.isFrozen(events!.args)).toBe(true);
  });

  it("keep a block's words out of its directive's arguments, a Lua body as the last one", () => {
    expect(server!.args).toEqual([]);
    expect((server!.block![0] as Directive).args.map((a) => a.value)).toEqual(['/a']);
    expect(lua!.args.map((a) => [a.value, a.quote, a.source.col])).toEqual([[' return 1 ', null, 17]]);
  });

  it('are read without views through argCount and argValue', () => {
    const node = listen as DirectiveNode;
    expect([node.argCount, node.argValue(0), node.argValue(1), node.argValue(2), node.argValue(-1)]).toEqual([2, '80', 'default_server', undefined, undefined]);
  });

  it('survive the copy made when an include is spliced below', () => {
    const copy = DirectiveNode.withBlock(server as DirectiveNode, []);
    expect([copy.name, copy.args, copy.source, copy.close]).toEqual(['server', [], server!.source, server!.close]);
    const withArgs = DirectiveNode.withBlock(listen as DirectiveNode, []);
    expect(withArgs.args.map((a) => [a.value, a.source.line])).toEqual([['80', 2], ['default_server', 3]]);
  });
});

describe('argCount, argValue, argValues', () => {
  it('read a parsed directive and a plain Directive object alike', () => {
    const [parsed] = parseText('x a "b c" d;', 'v.conf').root as Directive[];
    const plain: Directive = { kind: 'directive', name: 'x', source: parsed!.source, args: parsed!.args.map((a) => ({ value: a.value, quote: a.quote, source: a.source })) };
    for (const d of [parsed!, plain]) {
      expect([argCount(d), argValue(d, 0), argValue(d, 1), argValue(d, 3)]).toEqual([3, 'a', 'b c', undefined]);
      expect(argValues(d)).toEqual(['a', 'b c', 'd']);
    }
    const [none] = parseText('y;', 'v.conf').root as Directive[];
    expect([argCount(none!), argValue(none!, 0), argValues(none!)]).toEqual([0, undefined, []]);
  });
});

describe('WordStore', () => {
  it('keeps values, offsets and quotes through growth', () => {
    const text = 'x'.repeat(3000);
    const store = new WordStore(new SourceLines(text, 's.conf'));
    const quotes = [null, '"', "'"] as const;
    for (let i = 0; i < 1000; i++) expect(store.add(`w${i}`, quotes[i % 3]!, i * 3)).toBe(i);
    store.trim();
    expect(store.size).toBe(1000);
    const read = Array.from({ length: 1000 }, (_, i) => store.arg(i));
    expect(read.every((a, i) => a.value === `w${i}` && a.quote === quotes[i % 3] && store.offset(i) === i * 3 && a.source.col === i * 3 + 1)).toBe(true);
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
