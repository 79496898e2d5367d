// The shape of the tree: positions, quotes, escapes, comments, Lua bodies,
// free-form blocks, includes spliced in root but not in files[], contexts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseText, toCrossplanePayload, toTokens, type Directive, type Statement } from '../../src/parse/index.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/parse');

function directives(list: Statement[]): Directive[] {
  return list.filter((s): s is Directive => s.kind === 'directive');
}

describe('words', () => {
  it('records value, quote and position of each word', () => {
    const [d] = directives(parseText('  add_header  "X-A" \'b c\' d;\n', 'w.conf').root);
    expect(d!.source).toEqual({ file: 'w.conf', line: 1, col: 3 });
    expect(d!.args.map((a) => ({ value: a.value, quote: a.quote, source: a.source }))).toEqual([
      { value: 'X-A', quote: '"', source: { file: 'w.conf', line: 1, col: 15 } },
      { value: 'b c', quote: "'", source: { file: 'w.conf', line: 1, col: 21 } },
      { value: 'd', quote: null, source: { file: 'w.conf', line: 1, col: 27 } },
    ]);
    expect(d!.end).toEqual({ file: 'w.conf', line: 1, col: 28 });
  });

  it('resolves escapes as nginx does: \\" \\\' \\\\ \\t \\r \\n, others kept', () => {
    const [d] = directives(parseText('x "a\\"b" \'c\\\'d\' e\\\\f "\\t\\r\\n" \\.php$ "\\d";', 'e.conf').root);
    expect(d!.args.map((a) => a.value)).toEqual(['a"b', "c'd", 'e\\f', '\t\r\n', '\\.php$', '\\d']);
  });

  it('keeps quotes that are not at the start of a word', () => {
    const [d] = directives(parseText('x a"b c\'d;', 'q.conf').root);
    expect(d!.args.map((a) => a.value)).toEqual(['a"b', "c'd"]);
  });
});

describe('comments', () => {
  const text = '# head\nlisten 80 # port\n  default_server; # after\nevents {} #tail';

  it('are dropped unless asked for', () => {
    expect(parseText(text, 'c.conf').root.map((s) => s.kind)).toEqual(['directive', 'directive']);
  });

  it('are kept in order with includeComments, those between words right after their directive', () => {
    const root = parseText(text, 'c.conf', { includeComments: true }).root;
    expect(root.map((s) => (s.kind === 'comment' ? `#${s.text}@${s.source.line}` : s.name))).toEqual([
      '# head@1',
      'listen',
      '# port@2',
      '# after@3',
      'events',
      '#tail@4',
    ]);
    expect((root[1] as Directive).args.map((a) => a.value)).toEqual(['80', 'default_server']);
  });

  it('appear in the crossplane payload as "#" statements', () => {
    const payload = toCrossplanePayload(parseText('# hi\nuser x;\n', 'c.conf', { includeComments: true }));
    expect(payload.config[0]!.parsed[0]).toEqual({ directive: '#', line: 1, args: [], comment: ' hi' });
  });
});

describe('blocks', () => {
  it('Lua bodies are kept raw (braces in strings and comments do not count) and as one argument', () => {
    const text = 'content_by_lua_block {\n  local s = "}" -- }\n  local t = [[ } ]] --[==[ } ]==]\n  if x then ngx.say(\'{\') end\n}\nevents {}\n';
    const [lua, events] = directives(parseText(text, 'l.conf').root);
    const body = '\n  local s = "}" -- }\n  local t = [[ } ]] --[==[ } ]==]\n  if x then ngx.say(\'{\') end\n';
    expect(lua!.raw).toBe(body);
    expect(lua!.block).toBeUndefined();
    expect(lua!.args.map((a) => a.value)).toEqual([body]);
    expect(lua!.close).toEqual({ file: 'l.conf', line: 5, col: 1 });
    expect(events!.name).toBe('events');
  });

  it('set_by_lua_block keeps its arguments before the body', () => {
    const [d] = directives(parseText('set_by_lua_block $x { return 1 }', 'l.conf').root);
    expect(d!.args.map((a) => a.value)).toEqual(['$x', ' return 1 ']);
  });

  it('free-form blocks are marked and keep entries as key/value statements', () => {
    const [http] = directives(parseText('http { map $a $b { default 0; ~^x 1; } types { text/html html htm; } server { } }', 'f.conf').root);
    const [map, types, server] = directives(http!.block!);
    expect(map!.freeform).toBe(true);
    expect(directives(map!.block!).map((d) => [d.name, ...d.args.map((a) => a.value)])).toEqual([['default', '0'], ['~^x', '1']]);
    expect(types!.freeform).toBe(true);
    expect(server!.freeform).toBeUndefined();
  });

  it('records where each block opens and closes', () => {
    const [d] = directives(parseText('http {\n}\n', 'b.conf').root);
    expect([d!.end, d!.close]).toEqual([
      { file: 'b.conf', line: 1, col: 6 },
      { file: 'b.conf', line: 2, col: 1 },
    ]);
    expect(toTokens([d!])).toEqual([['word', 'http', 1], ['{', '{', 1], ['}', '}', 2]]);
  });
});

describe('includes', () => {
  const config = loadConfig(join(FIXTURES, 'includes/nginx.conf'));

  it('splices included statements after the include in root, recursively', () => {
    const http = directives(config.root)[1]!;
    const flat = (list: Statement[]): string[] =>
      directives(list).flatMap((d) => [`${d.name} ${d.args.map((a) => a.value).join(' ')}`.trim(), ...(d.block ? flat(d.block).map((s) => `  ${s}`) : [])]);
    expect(flat(http.block!)).toEqual([
      'include conf.d/*.conf',
      'server',
      '  listen 8081',
      'server',
      '  listen 8082',
      '  include snippets/proxy.conf',
      '  proxy_set_header Host $host',
      'include nomatch/*.conf',
      'include snippets/common.conf',
      'client_max_body_size 1m',
    ]);
    expect(config.errors).toEqual([]);
  });

  it('keeps each file unspliced in files[], include directives pointing at them', () => {
    expect(config.files.map((f) => f.file.split('/').slice(-2).join('/'))).toEqual(['includes/nginx.conf', 'conf.d/a.conf', 'conf.d/b.conf', 'snippets/proxy.conf', 'snippets/common.conf']);
    const mainHttp = directives(config.files[0]!.parsed)[1]!;
    expect(directives(mainHttp.block!).map((d) => [d.name, d.includes])).toEqual([
      ['include', [1, 2]],
      ['include', []],
      ['include', [4]],
    ]);
    expect(directives(config.files[2]!.parsed)[0]!.block!.map((s) => (s as Directive).name)).toEqual(['listen', 'include']);
  });

  it('parseText resolves includes only when given a base directory', () => {
    const text = 'include snippets/common.conf;';
    expect(parseText(text, 'x.conf').root).toHaveLength(1);
    const resolved = parseText(text, 'x.conf', { baseDir: join(FIXTURES, 'includes') });
    expect(directives(resolved.root).map((d) => d.name)).toEqual(['include', 'client_max_body_size']);
  });
});

describe('context', () => {
  it.each([
    ['events {}\nhttp {}\n', 'main'],
    ['server { listen 80; location / { } }', 'http'],
    ['upstream a { server 10.0.0.1; }', 'http'],
    ['location / { }', 'server'],
    ['proxy_pass http://a;', 'location'],
    ['server { listen 53 udp; proxy_pass dns; }', 'stream'],
    // nginx-rtmp-module fragments: an application block's parent, or servers holding applications
    ['application live { live on; record off; }', 'rtmp-server'],
    ['listen 1935;\napplication live { live on; }', 'rtmp-server'],
    ['server { listen 1935; application live { live on; } }', 'rtmp'],
    ['', 'main'],
  ])('%j is detected as %s', (text, context) => {
    expect(parseText(text, 'c.conf').context).toBe(context);
  });

  it('an explicit context wins', () => {
    expect(parseText('server {}', 'c.conf', { context: 'stream' }).context).toBe('stream');
  });
});

describe('include globs', () => {
  it('sorted matches, character classes, nothing for a malformed class', () => {
    const base = join(FIXTURES, 'includes');
    const files = (pattern: string) => parseText(`include ${pattern};`, 'g.conf', { baseDir: base }).files.slice(1).map((f) => f.file.split('/').pop());
    // b.conf itself includes snippets/proxy.conf.
    expect(files('conf.d/*.conf')).toEqual(['a.conf', 'b.conf', 'proxy.conf']);
    expect(files('conf.d/[b]*.conf')).toEqual(['b.conf', 'proxy.conf']);
    expect(files('conf.d/[!b]*.conf')).toEqual(['a.conf']);
    expect(files('conf.d/?.conf')).toEqual(['a.conf', 'b.conf', 'proxy.conf']);
    expect(files('conf.d/[z-a].conf')).toEqual([]);
    // conf.d/ sorts before snippets/; b.conf pulls in snippets/proxy.conf first.
    expect(files('*/*.conf')).toEqual(['a.conf', 'b.conf', 'proxy.conf', 'common.conf']);
  });
});

describe('Lua blocks cut by the end of the file', () => {
  it('an open nested brace reports the end of file once, no statements invented', () => {
    const config = parseText('content_by_lua_block {\n  local t = {\n', 'l.conf');
    expect(config.errors.map((e) => [e.message, e.source.line, e.source.col])).toEqual([['unexpected end of file, expecting "}"', 3, 1]]);
    expect(directives(config.root).map((d) => [d.name, d.raw])).toEqual([['content_by_lua_block', '\n  local t = {\n']]);
  });
});
