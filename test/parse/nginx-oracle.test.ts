// Real nginx as the oracle for error wording and line: each bad input is given
// to `nginx -t` and its first error must be the parser's first error (nginx
// stops at the first one and prints no column).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/parse/index.js';

const NGINX = '/usr/sbin/nginx';
const prefix = mkdtempSync(join(tmpdir(), 'ngx2envoy-oracle-'));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

/** nginx's first message for `file`: [message, line] (line 0 when nginx names no line). */
function nginxFirstError(file: string): [string, number] {
  let output = '';
  try {
    execFileSync(NGINX, ['-t', '-q', '-p', prefix, '-c', file, '-g', `pid ${join(prefix, 'nginx.pid')};`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    output = String((err as { stderr: Buffer }).stderr);
  }
  const match = /\[(?:emerg|crit|alert)\] \d+#\d+: (.*?)(?: in (\S+):(\d+))?$/m.exec(output);
  if (!match) throw new Error(`nginx reported no error:\n${output}`);
  return [match[1]!, match[3] ? Number(match[3]) : 0];
}

function ours(file: string): [string, number] {
  const first = loadConfig(file).errors[0];
  if (!first) throw new Error('the parser reported no error');
  return [first.message, first.source.line];
}

const long = (n: number) => 'a'.repeat(n);

// Inputs whose first problem nginx meets in its tokenizer (before any directive handler objects).
const cases: [string, string][] = [
  ['stray-semicolon', ';\nevents {}\n'],
  ['semicolon-in-block', 'events {\n  ;\n}\n'],
  ['brace-without-directive', 'events {}\n{ }\n'],
  ['brace-in-block', 'events {}\nhttp {\n    { listen 80; }\n}\n'],
  ['stray-close', '}\n'],
  ['one-close-too-many', 'events {}\nhttp {\n}\n}\n'],
  ['close-ends-directive', 'events { worker_connections 10 }\n'],
  ['close-after-quote', 'events {}\nhttp { server_name "a"}\n'],
  ['eof-in-statement', 'events {}\nworker_processes 1'],
  ['eof-after-newline', 'worker_processes 1\n'],
  ['eof-in-block', 'events {\n'],
  ['eof-in-nested-blocks', 'events {}\nhttp {\n  server {\n    location / {\n'],
  ['unterminated-double-quote', 'events {}\nhttp {\n  server_name "abc;\n}\n'],
  ['unterminated-single-quote', "error_log 'x;\n"],
  ['char-after-double-quote', 'events {}\nhttp {\n  server_name "a"b;\n}\n'],
  ['char-after-single-quote', "error_log 'a'-x;\n"],
  ['quote-after-quote', 'error_log "a""b";\n'],
  ['hash-after-quote', 'error_log "a"#x\n;\n'],
  ['backslash-at-eof', 'worker_processes 1\\'],
  ['block-in-map', 'events {}\nhttp {\n  map $a $b {\n    x { }\n  }\n}\n'],
  ['block-in-types', 'events {}\nhttp {\n  types {\n    text/html { }\n  }\n}\n'],
  ['crlf', 'events {}\r\nhttp {\r\n  server_name "a"b;\r\n}\r\n'],
  ['word-4096', `events {}\nhttp {\n  server_name ${long(4096)};\n}\n`],
  ['word-4095-space', `events {}\nhttp {\n  server_name ${long(4095)} x;\n}\n`],
  ['quoted-4096', `events {}\nhttp {\n  server_name "${long(4096)}";\n}\n`],
  ['quoted-4095', `events {}\nhttp {\n  server_name "${long(4095)}";\n}\n`],
  ['single-quoted-4096', `events {}\nhttp {\n  server_name '${long(4096)}';\n}\n`],
  ['quoted-4094-space', `events {}\nhttp {\n  map $host $b { "${long(4094)}" 1; }\n}\n`],
  ['comment-4096', `events {}\n#${long(4095)}\nhttp {}\n`],
  ['unterminated-quote-long-tail', `events {}\nhttp {\n  server_name "abc;\n}\n${'#'.repeat(5000)}\n`],
];

describe.skipIf(!existsSync(NGINX))('real nginx agrees on the first error (message and line)', () => {
  it.each(cases)('%s', (name, text) => {
    const file = join(prefix, `${name}.conf`);
    writeFileSync(file, text);
    expect(ours(file)).toEqual(nginxFirstError(file));
  });

  it('a directory as the file', () => {
    const dir = join(prefix, 'a-dir');
    mkdirSync(dir, { recursive: true });
    expect(ours(dir)).toEqual([nginxFirstError(dir)[0], 1]);
  });

  it('a missing file', () => {
    const file = join(prefix, 'missing.conf');
    expect(ours(file)).toEqual([nginxFirstError(file)[0], 1]);
  });

  it('a missing include', () => {
    const file = join(prefix, 'include-missing.conf');
    writeFileSync(file, 'events {}\nhttp {\n    include nope/x.conf;\n}\n');
    expect(ours(file)).toEqual(nginxFirstError(file));
  });

  it('limits that nginx accepts are accepted', () => {
    for (const [name, text] of [
      ['word-4095', `events {}\nhttp {\n  server_names_hash_bucket_size 64;\n  map $host $b { default ${long(4095)}; }\n}\n`],
      ['comment-4095', `events {}\n#${long(4094)}\nhttp {}\n`],
      ['quoted-4094', `events {}\nhttp {\n  map $host $b { default "${long(4094)}"; }\n}\n`],
    ] as const) {
      const file = join(prefix, `${name}.conf`);
      writeFileSync(file, text);
      expect(loadConfig(file).errors, name).toEqual([]);
      expect(() => execFileSync(NGINX, ['-t', '-q', '-p', prefix, '-c', file, '-g', `pid ${join(prefix, 'nginx.pid')};`], { stdio: 'pipe' }), name).not.toThrow();
    }
  });
});
