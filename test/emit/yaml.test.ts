// The fast YAML writer must mean exactly its JSON input (parsed back with the
// `yaml` package), whatever the strings hold, and keep each comment above its object.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml, toYamlBlocks, toYamlBytes } from '../../src/emit/envoy/yaml.js';
import { prng, type Rand } from '../support/prng.js';

const TRICKY = ['', 'true', 'No', 'y', '~', 'null', '0', '007', '1e3', '0x1F', '0o7', '1.5', '.5', '60s', '1.5s', '3e', '-1', '- a', 'a: b', 'a:b', '#x', 'a #b', '[x]', '{x}', 'a,b', '"q"', "'s'", 'back\\slash', 'tab\tx', 'line\nbreak', ' lead', 'trail ', '*.a.test', '@type', '%REQ(x)%', 'é ü', '日本', '\u2028', '😀', '/api/', 'a/b.c_d-e', '?', '!tag', '&anchor', '*alias', '|', '>', 'x'.repeat(150)];

function randomValue(rand: Rand, depth: number): unknown {
  const r = rand();
  if (depth <= 0 || r < 0.45) {
    const k = rand();
    if (k < 0.5) return TRICKY[Math.floor(rand() * TRICKY.length)];
    if (k < 0.65) return Math.floor(rand() * 1e6);
    if (k < 0.7) return rand() < 0.5;
    if (k < 0.75) return [];
    if (k < 0.8) return {};
    return `s${Math.floor(rand() * 100)}`;
  }
  if (r < 0.7) return Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomValue(rand, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) o[String(TRICKY[Math.floor(rand() * TRICKY.length)]) + (rand() < 0.5 ? '' : i)] = randomValue(rand, depth - 1);
  return o;
}

describe('toYaml', () => {
  it('parses back to its input (500 random documents)', () => {
    const rand = prng(424242);
    for (let i = 0; i < 500; i++) {
      const v = { doc: randomValue(rand, 5), list: [randomValue(rand, 4), randomValue(rand, 3)] };
      const text = toYaml(v, new Map());
      expect(parse(text), text).toEqual(v);
    }
  });

  it('writes short collections in flow style (a route\'s action excepted), compact sequences, comments above their objects', () => {
    const route = { name: 'r', match: { prefix: '/api/' }, route: { cluster: 'c', timeout: '0s' } };
    const v = { routes: [route], domains: ['a.test', '*.a.test'], big: { text: 'x'.repeat(200) } };
    const text = toYaml(v, new Map([[route, ' nginx: a.conf:3']]));
    expect(text).toBe(
      ['routes:', '# nginx: a.conf:3', '- name: r', '  match: {prefix: /api/}', '  route:', '    cluster: c', '    timeout: 0s', 'domains: [a.test, "*.a.test"]', 'big:', `  text: ${'x'.repeat(200)}`, ''].join('\n'),
    );
    expect(parse(text)).toEqual(v);
  });

  it('a frozen object shared by many places is the same text everywhere', () => {
    const shared = Object.freeze({ '@type': 'type.googleapis.com/x.Y', disabled: true });
    const v = { a: [{ c: shared }, { c: shared }], b: shared };
    const text = toYaml(v, new Map());
    expect(text.match(/\{"@type": type\.googleapis\.com\/x\.Y, disabled: true\}/g)).toHaveLength(3);
    expect(parse(text)).toEqual(v);
  });

  it('a frozen container written in block style is the same lines at each indentation it recurs at, comments included', () => {
    const inner = Object.freeze({ key: 'X-A', value: 'y'.repeat(150) });
    const list = Object.freeze([Object.freeze({ header: inner }), 'plain']);
    const match = Object.freeze({ regex: 'z'.repeat(150), headers: list });
    const comments = new Map<object, string>([[inner, ' inner'], [match, ' match']]);
    const v = { a: list, b: { c: list, d: [list, match] }, e: match, f: [{ g: match }] };
    const text = toYaml(v, comments);
    expect(parse(text)).toEqual(v);
    // the same document made of fresh (extensible) copies, with the same comments, is the same text
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const copy: any = structuredClone(v);
    const copies = new Map<object, string>([
      [copy.a[0].header, ' inner'], [copy.b.c[0].header, ' inner'], [copy.b.d[0][0].header, ' inner'],
      [copy.b.d[1], ' match'], [copy.b.d[1].headers[0].header, ' inner'],
      [copy.e, ' match'], [copy.e.headers[0].header, ' inner'],
      [copy.f[0].g, ' match'], [copy.f[0].g.headers[0].header, ' inner'],
    ]);
    expect(toYaml(copy, copies)).toBe(text);
    expect(text.match(/# inner/g)).toHaveLength(6);
  });

  it('random documents with shared frozen parts are written as their unshared copies are', () => {
    const rand = prng(7);
    for (let i = 0; i < 200; i++) {
      const parts = [randomValue(rand, 3), randomValue(rand, 3)].map((p) => deepFreeze(p));
      const v = { x: [parts[0], { y: parts[1], z: parts[0] }], w: { deep: { er: [parts[1], parts[0]] } } };
      const text = toYaml(v, new Map());
      expect(text).toBe(toYaml(structuredClone(v), new Map()));
      expect(parse(text)).toEqual(v);
    }
  });

  it('keeps non-ASCII text', () => {
    const v = { a: 'é 日本 😀', b: ['ü'] };
    expect(parse(toYaml(v, new Map()))).toEqual(v);
  });

  it('writes a string plain only when it cannot read as anything else', () => {
    const plain = ['a', 'abc', 'a/b.c_d-e', '/', '/api/', '_x', 'yes_no', 'value', '60s', '1.5s', '2xx', 'type.googleapis.com/x.Y'];
    const quoted = ['', 'No', 'y', 'true', 'null', '~', '0', '007', '1e3', '1.5e9x', '0x1F', '0o7', '0b1', '1.5', '.5', '-1', '-a', 'a b', 'a:b', 'a,b', '*.a', 'é', 'a\n', 'x$'];
    for (const s of plain) expect(toYaml({ k: s }, new Map()), s).toBe(`k: ${s}\n`);
    for (const s of quoted) expect(toYaml({ k: s }, new Map()), s).toBe(`k: ${JSON.stringify(s)}\n`);
  });

  it('an empty collection is a scalar: written on its key\'s line, without the comment its object may have', () => {
    const empty = {};
    const emptyList: unknown[] = [];
    const long = { x: 'y'.repeat(150) };
    const v = { a: empty, b: [empty, emptyList, long], c: emptyList, route: {} };
    const comments = new Map<object, string>([[empty, ' c1'], [emptyList, ' c2'], [long, ' c3']]);
    expect(toYaml(v, comments)).toBe(['a: {}', 'b:', '- {}', '- []', '# c3', `- x: ${'y'.repeat(150)}`, 'c: []', 'route: {}', ''].join('\n'));
  });

  it('text past ASCII first met late (a comment, a key, a quoted value) is written as UTF-8, and all text before it as it was', () => {
    const asciiPart = Array.from({ length: 3000 }, (_, i) => ({ name: `r${i}`, match: { prefix: `/p${i}/` }, value: 'a b' }));
    for (const [late, comments] of [
      [{ q: 'x' }, [' nginx: café.conf:3']],
      [{ 'ключ': 1 }, []],
      [{ q: 'a b é 😀' }, []],
    ] as const) {
      const tail = { ...late };
      const v = { asciiPart, tail };
      const text = toYaml(v, new Map(comments.map((c) => [tail, c])));
      expect(parse(text)).toEqual(v);
      for (const c of comments) expect(text).toContain(`#${c}\n`);
      expect(text.startsWith(toYaml({ asciiPart }, new Map()))).toBe(true);
    }
  });

  it('toYamlBytes is the UTF-8 of toYaml, across its internal blocks', () => {
    const rand = prng(99);
    const big = { list: Array.from({ length: 50_000 }, (_, i) => ({ name: `n${i} é 日本`, v: randomValue(rand, 3) })) };
    const bytes = toYamlBytes(big, new Map());
    expect(bytes.length).toBeGreaterThan(1 << 22); // more than one block
    expect(bytes.equals(Buffer.from(toYaml(big, new Map()), 'utf8'))).toBe(true);
  });

  it('shared blocks written again across chunks and blocks are the bytes of their unshared copies', () => {
    // with text past ASCII, a comment inside and a nested shared block
    const inner = deepFreeze({ retry_on: 'connect-failure', hosts: [{ name: 'é→x', config: { '@type': 'type.googleapis.com/x.Y', text: 'z'.repeat(150) } }] });
    const policy = deepFreeze({ num_retries: 3, inner, back_off: { base: '0.001s', list: ['日本', 'x'.repeat(200)] } });
    const headers = deepFreeze([{ header: { key: 'X-A', value: 'a b' } }, { header: { key: 'X-B', value: 'y'.repeat(160) } }]);
    const comments = new Map<object, string>([[inner.hosts[0]!, ' host']]);
    const routes = Array.from({ length: 6_000 }, (_, i) => ({ name: `r${i}`, route: { cluster: `c${i % 7}`, retry_policy: policy }, request_headers_to_add: headers, more: i % 3 ? [policy] : [] }));
    const v = { top: policy, routes };
    const blocks = toYamlBlocks(v, comments);
    expect(blocks.length).toBeGreaterThan(1);
    // each block is a view at the start of memory of its own (a writer may take it over)
    expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);
    for (const b of blocks) expect(b.byteOffset).toBe(0);
    const copy = structuredClone(v);
    const copies = new Map<object, string>([[copy.top.inner.hosts[0]!, ' host']]);
    for (const r of copy.routes) {
      copies.set(r.route.retry_policy.inner.hosts[0]!, ' host');
      for (const p of r.more) copies.set(p.inner.hosts[0]!, ' host');
    }
    const unshared = toYamlBytes(copy, copies);
    expect(Buffer.concat(blocks).equals(unshared)).toBe(true);
    expect(toYamlBytes(v, comments).equals(unshared)).toBe(true);
    const few = { top: policy, routes: routes.slice(0, 20) };
    expect(parse(toYaml(few, comments))).toEqual(few);
  });

  it('a map of named scripts (source_codes) is written entry by entry in block style, as any map, whatever its size', () => {
    // hundreds of entries: V8 holds such an object in dictionary mode (the Lua filter's scripts)
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++) many[`add_header.${i.toString(16).padStart(16, '0')}`] = { inline_string: `-- script ${i}\nlocal x = "é"\n` };
    const doc = { filters: [{ name: 'lua', typed_config: { '@type': 't', source_codes: many } }], after: { a: 1, b: [1, 2] } };
    const text = toYaml(doc, new Map());
    expect(parse(text)).toEqual(doc);
    expect(text).toContain('    source_codes:\n      add_header.0000000000000000: {inline_string: "-- script 0\\nlocal x');
    // the same lines as a small map under another key, written by the general path
    const few = { source_codes: { s1: { inline_string: 'x' }, s2: 'z', s3: [] }, other: { s1: { inline_string: 'x' }, s2: 'z', s3: [] } };
    expect(toYaml(few, new Map())).toBe('source_codes:\n  s1: {inline_string: x}\n  s2: z\n  s3: []\nother: {s1: {inline_string: x}, s2: z, s3: []}\n');
    expect(toYaml({ source_codes: {} }, new Map())).toBe('source_codes: {}\n');
  });

  it('a shared block whose first layout spans blocks (larger than one) is written again as the bytes of its unshared copies', () => {
    // about 6 MB of lines in one frozen list, past ASCII in places, each item holding a shared part itself
    const part = deepFreeze({ key: 'X-É', value: 'v'.repeat(150) });
    const big = deepFreeze(Array.from({ length: 30_000 }, (_, i) => ({ name: `n${i} ${'w'.repeat(100)}`, part, 'ключ': i })));
    const v = { a: big, b: { c: big }, d: [big], e: big };
    const blocks = toYamlBlocks(v, new Map());
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // the first block is made for the first chunk: none is left empty before a chunk larger than a block
    expect(blocks.every((b) => b.length > 0)).toBe(true);
    const unshared = toYamlBytes(structuredClone(v), new Map());
    expect(Buffer.concat(blocks).equals(unshared)).toBe(true);
    const few = { a: big.slice(0, 3), b: { c: big.slice(0, 2) } };
    expect(parse(toYaml(few, new Map()))).toEqual(few);
  });
});

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
