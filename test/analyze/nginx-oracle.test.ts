// Real `nginx -t` as the oracle for wording and line: each case is rendered to
// text, nginx reports the first error it meets, and analyze's first finding
// must say the same thing about the same line. (nginx reports the line where
// the statement ends; every case here keeps a statement on one line.)
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/index.js';
import { nginxAvailable, nginxTest } from '../support/nginx.js';
import { build, d, type Node } from './build.js';

const EVENTS = d('events', [], []);
const http = (...body: Node[]): Node[] => [EVENTS, d('http', [], body)];
const server = (...body: Node[]): Node => d('server', [], body);
const location = (path: string, ...body: Node[]): Node => d('location', [path], body);

const CASES: Array<[string, Node[]]> = [
  ['unknown directive', http(server(d('listen', ['127.0.0.1:8081']), d('frobnicate', ['x'])))],
  ['not allowed in main', [EVENTS, d('listen', ['80'])]],
  ['not allowed in if-in-server', http(server(d('if', ['($host)'], [d('proxy_pass', ['http://127.0.0.1:1'])])))],
  ['nested if', http(server(location('/', d('if', ['($host)'], [d('if', ['($uri)'], [])]))))],
  ['argument count', [d('worker_processes', ['1', '2']), EVENTS]],
  ['location with three words', http(server(d('location', ['=', '/a', '/b'], [])))],
  ['on/off', http(d('proxy_buffering', ['maybe']))],
  ['no opening brace', http(server(d('location', ['/x'])))],
  ['block to a non-block directive', http(d('server_tokens', ['on'], []))],
  ['upstream server with a block', http(d('upstream', ['u'], [d('server', [], [])]))],
  ['limit_except content', http(server(location('/', d('limit_except', ['GET'], [d('root', ['/x'])]))))],
  // Debian's stream and mail modules are dynamic and not installed: http cases only.
  ['upstream inside server', http(server(d('upstream', ['u'], [d('server', ['127.0.0.1:1'])])))],
  ['TAKE12 with none', http(d('upstream', ['u'], [d('server', ['127.0.0.1:1']), d('hash', [])]))],
];

function nginxFirstError(text: string): { message: string; line: number } | undefined {
  const r = nginxTest(text);
  const m = /\[emerg\] \d+#\d+: (.*) in \S+:(\d+)/.exec(r.stderr);
  return m ? { message: m[1]!, line: Number(m[2]) } : undefined;
}

describe.skipIf(!nginxAvailable())('analyze agrees with real nginx -t', () => {
  it.each(CASES)('%s', (_name, nodes) => {
    const { text, config } = build(nodes);
    const ours = analyze(config, { strict: true })[0];
    const theirs = nginxFirstError(text);
    expect(theirs, `nginx accepted:\n${text}`).toBeDefined();
    expect(ours && { message: ours.message, line: ours.source.line }).toEqual(theirs);
  });

  it('a config nginx accepts gives no findings', () => {
    const nodes = http(
      d('upstream', ['u'], [d('server', ['127.0.0.1:8081', 'weight=2', 'max_fails=3']), d('server', ['127.0.0.1:8082', 'backup'])]),
      server(
        d('listen', ['127.0.0.1:8080']),
        d('if', ['($host)'], [d('return', ['404'])]),
        location('/', d('gzip', ['ON']), d('proxy_pass', ['http://u']), location('/a/', d('limit_except', ['GET'], [d('deny', ['all'])]))),
      ),
    );
    const { text, config } = build(nodes);
    expect(nginxFirstError(text)).toBeUndefined();
    expect(analyze(config, { strict: true })).toEqual([]);
  });
});
