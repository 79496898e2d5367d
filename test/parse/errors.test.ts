// Bad input: every error class with its message (nginx's wording) and
// line:col, recovery that keeps later statements, and the file-level
// failures (directory, missing file, includes).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfig, parseText, type Directive, type ParsedConfig, type Statement } from '../../src/parse/index.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/parse');
const scratch = mkdtempSync(join(tmpdir(), 'ngx2envoy-parse-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Expected = [message: string, line: number, col: number][];

function errorsOf(config: ParsedConfig): Expected {
  return config.errors.map((e) => [e.message, e.source.line, e.source.col]);
}

/** Writes bytes to a scratch file and loads it (bytes: invalid UTF-8 cannot travel in a JS string). */
function loadBytes(name: string, bytes: Uint8Array | string): ParsedConfig {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return loadConfig(path);
}

function names(statements: Statement[]): string[] {
  return statements.filter((s): s is Directive => s.kind === 'directive').map((d) => d.name);
}

const EOF_STATEMENT = 'unexpected end of file, expecting ";" or "}"';
const EOF_BLOCK = 'unexpected end of file, expecting "}"';
const long = (n: number) => 'a'.repeat(n);

// [name, input, expected errors]
const textCases: [string, string, Expected][] = [
  ['stray ";" at the top', ';\nevents {}\n', [['unexpected ";"', 1, 1]]],
  ['stray ";" in a block', 'events {\n  ;\n}\n', [['unexpected ";"', 2, 3]]],
  ['"{" without a directive', 'events {}\n{ }\n', [['unexpected "{"', 2, 1]]],
  ['"{" without a directive inside a block', 'http {\n    { listen 80; }\n}\n', [['unexpected "{"', 2, 5]]],
  ['stray "}" at the top', '}\n', [['unexpected "}"', 1, 1]]],
  ['one "}" too many', 'events {}\nhttp {\n}\n}\n', [['unexpected "}"', 4, 1]]],
  ['"}" ends a directive without ";"', 'events { worker_connections 10 }\n', [['unexpected "}"', 1, 32]]],
  ['"}" right after a closing quote', 'http { server_name "a"}\n', [['unexpected "}"', 1, 23]]],
  ['missing ";" at the end of the file', 'events {}\nworker_processes 1', [[EOF_STATEMENT, 2, 19]]],
  ['missing ";" before a final newline', 'worker_processes 1\n', [[EOF_STATEMENT, 2, 1]]],
  ['unterminated block', 'events {\n', [[EOF_BLOCK, 2, 1]]],
  ['unterminated nested blocks: one error', 'http {\n  server {\n    location / {\n', [[EOF_BLOCK, 4, 1]]],
  ['unterminated block and statement: the statement is reported', 'http {\n  listen 80', [[EOF_STATEMENT, 2, 12]]],
  ['unterminated double quote', 'events {}\nhttp {\n  server_name "abc;\n}\n', [[EOF_STATEMENT, 5, 1]]],
  ["unterminated single quote", "error_log 'x;\n", [[EOF_STATEMENT, 2, 1]]],
  ['a character after a closing double quote', 'server_name "a"b;\n', [['unexpected "b"', 1, 16]]],
  ['a character after a closing single quote', "server_name 'a'-x;\n", [['unexpected "-"', 1, 16]]],
  ['a quote right after a closing quote', 'server_name "a""b";\n', [['unexpected """', 1, 16]]],
  ['"#" right after a closing quote', 'server_name "a"#x\n;\n', [['unexpected "#"', 1, 16]]],
  ['backslash at the end of the file', 'worker_processes 1\\', [[EOF_STATEMENT, 1, 20]]],
  ['nested block in map', 'http {\n  map $a $b {\n    x { }\n  }\n}\n', [['unexpected "{"', 3, 7]]],
  ['nested block in types', 'types {\n  text/html { }\n}\n', [['unexpected "{"', 2, 13]]],
  ['unterminated Lua block', 'content_by_lua_block {\n  ngx.say("}")\n', [[EOF_BLOCK, 3, 1]]],
  ['CRLF line endings keep line numbers', 'events {}\r\nhttp {\r\n  server_name "a"b;\r\n}\r\n', [['unexpected "b"', 3, 18]]],
  ['NUL byte in a word', 'server_name a\u0000b;\n', [['unexpected NUL byte', 1, 14]]],
  ['NUL byte in a comment', '# a\u0000\nevents {}\n', [['unexpected NUL byte', 1, 4]]],
  [
    'several errors in one run',
    'events {\n  ;\n}\nhttp {\n  server_name "a"b;\n  listen 80 }\n}\n',
    [
      ['unexpected ";"', 2, 3],
      ['unexpected "b"', 5, 18],
      ['unexpected "}"', 6, 13],
      ['unexpected "}"', 7, 1],
    ],
  ],
  // nginx's 4096-byte buffer: a token's span (word, closing quote, one whitespace) must fit.
  ['a 4096-byte word', `server_name ${long(4096)};\n`, [[`too long parameter "aaaaaaaaaa..." started`, 1, 13]]],
  ['a 4096-byte comment', `#${long(4095)}\nevents {}\n`, [[`too long parameter "#aaaaaaaaa..." started`, 1, 1]]],
  ['a 4095-byte word followed by a space', `server_name ${long(4095)} x;\n`, [[`too long parameter "aaaaaaaaaa..." started`, 1, 13]]],
  ['a 4096-byte quoted word', `server_name "${long(4096)}";\n`, [['too long parameter, probably missing terminating """ character', 1, 13]]],
  ['a 4095-byte quoted word (closing quote fills the buffer)', `server_name "${long(4095)}";\n`, [['too long parameter "aaaaaaaaaa..." started', 1, 13]]],
  ["a 4096-byte single-quoted word", `server_name '${long(4096)}';\n`, [["too long parameter, probably missing terminating \"'\" character", 1, 13]]],
  [
    'an unterminated quote with more than 4096 bytes after it',
    `server_name "abc;\n${'#'.repeat(5000)}\n`,
    [
      ['too long parameter, probably missing terminating """ character', 1, 13],
      [EOF_STATEMENT, 3, 1],
    ],
  ],
];

describe('bad input: message and line:col', () => {
  it.each(textCases)('%s', (_name, text, expected) => {
    const config = parseText(text, 'bad.conf');
    expect(errorsOf(config)).toEqual(expected);
    expect(config.files[0]!.status).toBe('failed');
    for (const e of config.errors) {
      expect(e.source.file).toBe('bad.conf');
      expect(['unexpected-token', 'unexpected-eof', 'too-long-parameter', 'nul-byte']).toContain(e.code);
    }
  });
});

describe('limits that are fine', () => {
  it.each([
    ['a 4095-byte word before ";"', `server_name ${long(4095)};\n`],
    ['a 4094-byte word followed by a space', `server_name ${long(4094)} x;\n`],
    ['a 4094-byte quoted word', `server_name "${long(4094)}";\n`],
    ['a 4095-byte comment', `#${long(4094)}\nevents {}\n`],
    ['an empty file', ''],
    ['only whitespace and comments', '\n  # nothing here\n\t\r\n'],
    ['x}y is one word', 'add_header X x}y;\n'],
    ['a#b is one word', 'add_header X a#b;\n'],
    ['a ")" after a closing quote starts a word', 'if ($a = "b") { return 403; }\n'],
    ['${var} inside a bare word', 'set $a ${b}c$\\{d;\n'],
    ['comments between arguments', 'listen # the port\n  80 # and options\n  default_server;\n'],
    ['escaped ";" inside a word', 'set $a b\\;c;\n'],
  ])('%s', (_name, text) => {
    expect(parseText(text, 'ok.conf').errors).toEqual([]);
  });

  it('the 4095-byte word is kept whole', () => {
    const config = parseText(`server_name ${long(4095)};\n`, 'ok.conf');
    expect((config.root[0] as Directive).args[0]!.value).toHaveLength(4095);
  });

  it('an empty file is a valid, empty tree', () => {
    const config = loadBytes('empty.conf', '');
    expect(config.errors).toEqual([]);
    expect(config.root).toEqual([]);
    expect(config.files).toEqual([{ file: join(scratch, 'empty.conf'), status: 'ok', errors: [], parsed: [] }]);
  });
});

describe('recovery keeps what follows an error', () => {
  it('statements after a bad one are parsed', () => {
    const config = parseText('events {\n  ;\n}\nhttp {\n  server { listen "80"x; server_name a; }\n}\nworker_processes 2;\n', 'r.conf');
    expect(errorsOf(config)).toEqual([
      ['unexpected ";"', 2, 3],
      ['unexpected "x"', 5, 23],
    ]);
    expect(names(config.root)).toEqual(['events', 'http', 'worker_processes']);
    const server = (config.root[1] as Directive).block![0] as Directive;
    expect(names(server.block!)).toEqual(['listen', 'server_name']);
    expect(server.block!.map((d) => (d as Directive).args.map((a) => a.value))).toEqual([['80', 'x'], ['a']]);
  });

  it('a stray "}" closes nothing at the top and parsing goes on', () => {
    const config = parseText('}\nevents {}\n}\nhttp {}\n', 'r.conf');
    expect(errorsOf(config)).toEqual([
      ['unexpected "}"', 1, 1],
      ['unexpected "}"', 3, 1],
    ]);
    expect(names(config.root)).toEqual(['events', 'http']);
  });

  it('a directive cut by "}" is kept and the block still closes', () => {
    const config = parseText('http { gzip on }\nevents {}\n', 'r.conf');
    expect(errorsOf(config)).toEqual([['unexpected "}"', 1, 16]]);
    expect(names(config.root)).toEqual(['http', 'events']);
    expect(names((config.root[0] as Directive).block!)).toEqual(['gzip']);
  });
});

describe('encoding', () => {
  it('invalid UTF-8 is reported at its byte, the rest still parses', () => {
    const bytes = Buffer.concat([Buffer.from('events {}\nserver_name a'), Buffer.from([0xff]), Buffer.from('b;\nhttp {}\n')]);
    const config = loadBytes('latin.conf', bytes);
    expect(errorsOf(config)).toEqual([['invalid UTF-8 byte 0xFF', 2, 14]]);
    expect(names(config.root)).toEqual(['events', 'server_name', 'http']);
  });

  it('a truncated UTF-8 sequence and one on another line: one error per line', () => {
    const bytes = Buffer.concat([
      Buffer.from('# caf'),
      Buffer.from([0xc3]),
      Buffer.from('\nserver_name \u00e9t\u00e9'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from(';\n'),
    ]);
    expect(errorsOf(loadBytes('trunc.conf', bytes))).toEqual([
      ['invalid UTF-8 byte 0xC3', 1, 6],
      ['invalid UTF-8 byte 0xE2', 2, 16],
    ]);
  });

  it('valid UTF-8 counts columns in characters', () => {
    const config = loadBytes('utf8.conf', 'add_header X-\u00e9\u00e9 "\u00fc"x;\n');
    expect(errorsOf(config)).toEqual([['unexpected "x"', 1, 20]]);
  });

  it('a NUL byte read from a file', () => {
    expect(errorsOf(loadBytes('nul.conf', Buffer.from('events {}\nuser a\u0000;\n')))).toEqual([['unexpected NUL byte', 2, 7]]);
  });
});

describe('files', () => {
  it('a directory passed as the file', () => {
    const dir = join(scratch, 'a-directory');
    mkdirSync(dir, { recursive: true });
    const config = loadConfig(dir);
    expect(errorsOf(config)).toEqual([[`pread() "${dir}" failed (21: Is a directory)`, 1, 1]]);
    expect(config.files[0]!.status).toBe('failed');
  });

  it('a missing main file', () => {
    const path = join(scratch, 'nope.conf');
    expect(errorsOf(loadConfig(path))).toEqual([[`open() "${path}" failed (2: No such file or directory)`, 1, 1]]);
  });

  it('a missing include is an error at the include, later statements kept', () => {
    const config = loadConfig(join(FIXTURES, 'missing-include.conf'));
    const missing = rel(join(FIXTURES, 'does-not-exist.conf'));
    const dir = rel(join(FIXTURES, 'includes'));
    expect(errorsOf(config)).toEqual([
      [`open() "${missing}" failed (2: No such file or directory)`, 3, 13],
      [`pread() "${dir}" failed (21: Is a directory)`, 4, 13],
    ]);
    expect(config.errors[0]!.source.file).toBe(join(FIXTURES, 'missing-include.conf'));
    expect(names((config.root[1] as Directive).block!)).toEqual(['include', 'include', 'server']);
  });

  it('an include cycle names the chain', () => {
    const config = loadConfig(join(FIXTURES, 'cycle/a.conf'));
    const a = rel(join(FIXTURES, 'cycle/a.conf'));
    const b = rel(join(FIXTURES, 'cycle/b.conf'));
    expect(errorsOf(config)).toEqual([[`include cycle: ${a} → ${b} → ${a}`, 3, 9]]);
    expect(config.errors[0]!.source.file).toBe(b);
    expect(config.files.map((f) => f.status)).toEqual(['ok', 'failed']);
    expect(names(config.root)).toEqual(['events', 'include', 'http', 'include']);
  });

  it('a file including itself', () => {
    const config = loadConfig(join(FIXTURES, 'self/self.conf'));
    const self = join(FIXTURES, 'self/self.conf');
    expect(errorsOf(config)).toEqual([[`include cycle: ${rel(self)} → ${rel(self)}`, 1, 9]]);
  });

  it('errors inside included files carry the included file and its line', () => {
    const config = loadConfig(join(FIXTURES, 'bad-included/main.conf'));
    expect(config.errors.map((e) => [relative(FIXTURES, resolvePath(e.source.file)), e.message, e.source.line, e.source.col])).toEqual([
      ['bad-included/bad.conf', 'unexpected "x"', 2, 16],
      ['bad-included/stray.conf', 'unexpected "}"', 2, 1],
    ]);
    expect(config.files.map((f) => [relative(FIXTURES, resolvePath(f.file)), f.status])).toEqual([
      ['bad-included/main.conf', 'ok'],
      ['bad-included/bad.conf', 'failed'],
      ['bad-included/stray.conf', 'failed'],
    ]);
  });

  it('diagnostics show the offending line with a caret', () => {
    const config = parseText('events {}\nhttp {\n\tserver_name "a"b;\n}\n', 'c.conf');
    expect(formatDiagnostic(config.errors[0]!)).toBe('c.conf:3:17: error: unexpected "b"\n\tserver_name "a"b;\n\t               ^');
  });
});

function rel(path: string): string {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') ? path : r;
}

function resolvePath(path: string): string {
  return join(path.startsWith('/') ? '' : process.cwd(), path);
}

describe('NUL bytes', () => {
  it('the first of each line is reported', () => {
    const config = parseText('user a\u0000b\u0000;\n\n# \u0000\n', 'n.conf');
    expect(errorsOf(config)).toEqual([
      ['unexpected NUL byte', 1, 7],
      ['unexpected NUL byte', 3, 3],
    ]);
  });
});

describe('deep nesting', () => {
  it('500 nested blocks parse; deeper is one clean error, never a stack overflow', () => {
    expect(parseText('a {'.repeat(500) + '}'.repeat(500), 'd.conf').errors).toEqual([]);
    for (const text of ['a {'.repeat(100_000), 'content_by_lua_block {' + '{'.repeat(100_000), '{'.repeat(100_000)]) {
      const deep = parseText(text, 'd.conf').errors.filter((e) => e.code === 'too-deep');
      expect(deep.map((e) => e.message)).toEqual(['blocks nested too deeply (more than 500 levels)']);
    }
  });
});

describe('many errors', () => {
  it('the first 1000 are listed, then one line says the rest are not', () => {
    const config = parseText(';\n'.repeat(5000), 'm.conf');
    expect(config.errors).toHaveLength(1001);
    expect(config.errors[999]!.source.line).toBe(1000);
    expect(config.errors[999]!.lineText).toBe(';');
    expect([config.errors[1000]!.message, config.errors[1000]!.source.line]).toEqual(['too many errors (more than 1000), the rest are not reported', 1001]);
  });
});
