import { describe, expect, it } from 'vitest';
import { acceptsArgCount, analyze, directiveIn, lookupDirective } from '../../src/analyze/index.js';
import { parseText } from '../../src/parse/index.js';
import { build, d, type Node } from './build.js';

const EVENTS = d('events', [], []);
const http = (...body: Node[]): Node[] => [EVENTS, d('http', [], body)];
const server = (...body: Node[]): Node => d('server', [], body);
const location = (path: string, ...body: Node[]): Node => d('location', [path], body);

function findings(nodes: Node[], opts = { strict: false }, context = 'main') {
  const { config } = build(nodes, context);
  return analyze(config, opts).map((f) => ({
    severity: f.severity,
    code: f.code,
    message: f.message,
    at: `${f.source.line}:${f.source.col}`,
  }));
}

describe('analyze: each finding with nginx wording and position', () => {
  it('unknown directive', () => {
    expect(findings(http(server(d('listen', ['80']), d('frobnicate', ['x']))))).toEqual([
      { severity: 'warning', code: 'unknown-directive', message: 'unknown directive "frobnicate"', at: '6:5' },
    ]);
  });

  it('directive not allowed here', () => {
    expect(findings([EVENTS, d('listen', ['80'])])).toEqual([
      { severity: 'warning', code: 'directive-not-allowed', message: '"listen" directive is not allowed here', at: '3:1' },
    ]);
  });

  it('invalid number of arguments', () => {
    expect(findings([d('worker_processes', ['1', '2']), EVENTS])).toEqual([
      {
        severity: 'warning',
        code: 'invalid-argument-count',
        message: 'invalid number of arguments in "worker_processes" directive',
        at: '1:1',
      },
    ]);
  });

  it('on/off value, compared without case like nginx', () => {
    expect(findings(http(d('gzip', ['ON']), d('proxy_buffering', ['maybe'])))).toEqual([
      {
        severity: 'warning',
        code: 'invalid-flag-value',
        message: 'invalid value "maybe" in "proxy_buffering" directive, it must be "on" or "off"',
        at: '5:3',
      },
    ]);
  });

  it('a block directive written without its block', () => {
    expect(findings(http(server(d('location', ['/x']))))).toEqual([
      { severity: 'warning', code: 'no-opening-brace', message: 'directive "location" has no opening "{"', at: '5:5' },
    ]);
  });

  it('a block given to a non-block directive is an error even when not strict, and is not entered', () => {
    expect(findings(http(d('server_tokens', ['on'], [d('listen', ['80'])])))).toEqual([
      {
        severity: 'error',
        code: 'not-terminated',
        message: 'directive "server_tokens" is not terminated by ";"',
        at: '4:3',
      },
    ]);
  });

  it('strict turns every finding into an error', () => {
    const all = findings(http(d('frobnicate'), d('listen', ['80']), d('gzip', ['yes'])), { strict: true });
    expect(all.map((f) => [f.code, f.severity])).toEqual([
      ['unknown-directive', 'error'],
      ['directive-not-allowed', 'error'],
      ['invalid-flag-value', 'error'],
    ]);
    const lenient = findings(http(d('frobnicate'), d('listen', ['80']), d('gzip', ['yes'])));
    expect(lenient.map((f) => f.severity)).toEqual(['warning', 'warning', 'warning']);
  });

  it('keeps going after a finding: every one in a single run', () => {
    const all = findings(http(server(d('a1'), location('/', d('a2'), d('root')), d('a3'))));
    expect(all.map((f) => `${f.message} @${f.at}`)).toEqual([
      'unknown directive "a1" @5:5',
      'unknown directive "a2" @7:7',
      'invalid number of arguments in "root" directive @8:7',
      'unknown directive "a3" @10:5',
    ]);
  });
});

describe('analyze: contexts', () => {
  it('knows the same name in different modules (server: http block, upstream entry, stream, mail)', () => {
    const conf: Node[] = [
      EVENTS,
      d('http', [], [
        d('upstream', ['u'], [d('server', ['127.0.0.1:81', 'weight=2']), d('server', ['127.0.0.1:82', 'backup'])]),
        server(d('listen', ['80']), location('/', d('proxy_pass', ['http://u']))),
      ]),
      d('stream', [], [
        d('upstream', ['s'], [d('server', ['127.0.0.1:5353']), d('hash', ['$remote_addr', 'consistent'])]),
        server(d('listen', ['53', 'udp']), d('proxy_pass', ['s'])),
      ]),
      d('mail', [], [server(d('listen', ['25']), d('protocol', ['smtp']))]),
    ];
    expect(findings(conf)).toEqual([]);
  });

  it('an upstream server entry given a block, and an http server given arguments', () => {
    expect(findings(http(d('upstream', ['u'], [d('server', [], [])]), d('server', ['x'], [])))).toEqual([
      { severity: 'error', code: 'not-terminated', message: 'directive "server" is not terminated by ";"', at: '5:5' },
      { severity: 'warning', code: 'invalid-argument-count', message: 'invalid number of arguments in "server" directive', at: '8:3' },
    ]);
  });

  it('if in server and in location have their own sets; if does not nest', () => {
    const conf = http(
      server(
        d('if', ['($host)'], [d('return', ['404']), d('proxy_pass', ['http://a'])]),
        location('/', d('if', ['($host)'], [d('proxy_pass', ['http://a']), d('if', ['($a)'], [])])),
      ),
    );
    expect(findings(conf).map((f) => `${f.message} @${f.at}`)).toEqual([
      '"proxy_pass" directive is not allowed here @7:7',
      '"if" directive is not allowed here @12:9',
    ]);
  });

  it('limit_except allows only its own directives', () => {
    const conf = http(server(location('/', d('limit_except', ['GET'], [d('deny', ['all']), d('root', ['/x'])]))));
    expect(findings(conf).map((f) => f.message)).toEqual(['"root" directive is not allowed here']);
  });

  it('a conf.d fragment analysed in the http context', () => {
    const frag = [server(d('listen', ['80']), location('/', d('return', ['200'])))];
    expect(findings(frag, { strict: false }, 'http')).toEqual([]);
    expect(findings(frag, { strict: false }, 'main').map((f) => f.message)).toEqual([
      '"server" directive is not allowed here',
    ]);
  });

  it('does not look inside free-form blocks (map, types, geo, split_clients)', () => {
    const mapBody: Node[] = [d('default', ['0']), d('~^/api', ['1']), d('hostnames')];
    const conf = http(
      { name: 'map', args: ['$uri', '$is_api'], block: mapBody, freeform: true },
      { name: 'types', args: [], block: [d('text/html', ['html', 'htm'])], freeform: true },
      { name: 'geo', args: ['$geo'], block: [d('10.0.0.0/8', ['1'])], freeform: true },
    );
    expect(findings(conf)).toEqual([]);
  });

  it('does not enter the block of an unknown directive', () => {
    expect(findings(http(d('vhost_magic', [], [d('nonsense')]))).map((f) => f.message)).toEqual([
      'unknown directive "vhost_magic"',
    ]);
  });
});

describe('analyze: third-party modules', () => {
  it('lua: *_by_lua_block bodies (raw) and set_by_lua_block with its variable', () => {
    const conf = http(
      d('lua_shared_dict', ['cache', '10m']),
      { name: 'init_by_lua_block', raw: ' require "x" ' },
      server(
        location(
          '/',
          { name: 'set_by_lua_block', args: ['$v'], raw: ' return 1 ' },
          { name: 'access_by_lua_block', raw: ' ngx.exit(403) ' },
          { name: 'content_by_lua_block', raw: ' ngx.say("hi") ' },
          d('lua_code_cache', ['maybe']),
        ),
      ),
    );
    expect(findings(conf).map((f) => f.message)).toEqual([
      'invalid value "maybe" in "lua_code_cache" directive, it must be "on" or "off"',
    ]);
  });

  it('lua: a *_by_lua_block without its body', () => {
    expect(findings(http(server(location('/', d('content_by_lua_block')))))).toEqual([
      {
        severity: 'warning',
        code: 'no-opening-brace',
        message: 'directive "content_by_lua_block" has no opening "{"',
        at: '6:7',
      },
    ]);
  });

  it('njs (http and stream) and headers-more', () => {
    const conf: Node[] = [
      EVENTS,
      d('http', [], [
        d('js_path', ['/etc/nginx/njs']),
        d('js_import', ['main.js']),
        d('js_set', ['$x', 'main.x']),
        server(location('/', d('js_content', ['main.hello']), d('more_set_headers', ['X-A: b']), d('more_clear_headers', ['Server']))),
      ]),
      d('stream', [], [d('js_import', ['s.js']), server(d('listen', ['1']), d('js_preread', ['s.p']), d('proxy_pass', ['127.0.0.1:2']))]),
    ];
    expect(findings(conf)).toEqual([]);
    expect(findings(http(server(d('js_content', ['m.h'])))).map((f) => f.message)).toEqual([
      '"js_content" directive is not allowed here',
    ]);
  });

  it('rtmp: server, application, recorder contexts', () => {
    const conf: Node[] = [
      EVENTS,
      d('rtmp', [], [
        server(
          d('listen', ['1935']),
          d('chunk_size', ['4096']),
          d('application', ['live'], [
            d('live', ['on']),
            d('record', ['all']),
            d('recorder', ['audio'], [d('record', ['audio']), d('record_suffix', ['.flv'])]),
            d('push', ['rtmp://x/y']),
          ]),
          d('push', ['rtmp://x/y']),
        ),
      ]),
    ];
    expect(findings(conf).map((f) => `${f.message} @${f.at}`)).toEqual([
      '"push" directive is not allowed here @16:5',
    ]);
    expect(findings([EVENTS, d('rtmp', [], [server(d('application', ['a'], [d('live', ['yes'])]))])]).map((f) => f.message)).toEqual([
      'invalid value "yes" in "live" directive, it must be "on" or "off"',
    ]);
  });
});

describe('directive table', () => {
  it('merges every module that defines a name', () => {
    const server = lookupDirective('server');
    expect(server?.modules).toEqual([
      'src/http/ngx_http_core_module.c',
      'src/http/ngx_http_upstream.c',
      'src/stream/ngx_stream_core_module.c',
      'src/stream/ngx_stream_upstream.c',
      'src/mail/ngx_mail_core_module.c',
      'nginx-rtmp-module',
    ]);
    expect(server?.block).toBe(true);
    expect(directiveIn('server', 'upstream')).toMatchObject({ block: false, arity: ['1MORE'] });
    expect(directiveIn('server', 'http')).toMatchObject({ block: true, arity: ['NOARGS'] });
    expect(lookupDirective('more_set_headers')?.contexts).toEqual(['http', 'server', 'location', 'if-in-location']);
    expect(lookupDirective('no_such_directive')).toBeUndefined();
  });

  it('tells known-but-elsewhere from unknown', () => {
    expect(directiveIn('proxy_pass', 'http')).toBeUndefined();
    expect(lookupDirective('proxy_pass')?.contexts).toContain('location');
    expect(lookupDirective('include')?.contexts).toEqual(['any']);
    expect(directiveIn('include', 'if-in-location')?.name).toBe('include');
  });

  it('counts arguments as ngx_conf_handler does', () => {
    expect(acceptsArgCount(['TAKE12'], 0)).toBe(false);
    expect(acceptsArgCount(['TAKE12'], 2)).toBe(true);
    expect(acceptsArgCount(['TAKE13'], 2)).toBe(false);
    expect(acceptsArgCount(['TAKE13'], 3)).toBe(true);
    expect(acceptsArgCount(['NOARGS', 'TAKE1'], 0)).toBe(true);
    expect(acceptsArgCount(['NOARGS', 'TAKE1'], 2)).toBe(false);
    expect(acceptsArgCount(['FLAG'], 2)).toBe(false);
    expect(acceptsArgCount(['1MORE'], 0)).toBe(false);
    expect(acceptsArgCount(['1MORE'], 30)).toBe(true);
    expect(acceptsArgCount(['2MORE'], 1)).toBe(false);
    expect(acceptsArgCount(['ANY'], 0)).toBe(true);
    expect(acceptsArgCount(['TAKE7'], 8)).toBe(false);
  });

  it('answers like ngx_conf_handler for every arity list of the table, counts 0 to 10', () => {
    // ngx_conf_handler's test written out literally: ANY, FLAG, 1MORE, 2MORE, then at most 7 words for NOARGS/TAKEn.
    const literal = (arity: readonly string[], n: number): boolean => {
      if (arity.includes('ANY')) return true;
      if (arity.includes('FLAG')) return n === 1;
      if (arity.includes('1MORE')) return n >= 1;
      if (arity.includes('2MORE')) return n >= 2;
      if (n > 7) return false;
      return arity.some((f) => (f === 'NOARGS' ? n === 0 : /^TAKE\d+$/.test(f) && f.slice(4).includes(String(n))));
    };
    const lists = new Set<string>();
    for (const name of ['daemon', 'listen', 'server', 'proxy_pass', 'error_page', 'return', 'rewrite', 'if', 'location', 'map', 'add_header', 'limit_except', 'include', 'upstream', 'events', 'user', 'thread_pool', 'log_format', 'content_by_lua_block', 'more_set_headers']) {
      for (const v of lookupDirective(name)?.variants ?? []) lists.add(JSON.stringify(v.arity));
    }
    for (const extra of [['FLAG', '1MORE'], ['TAKE1234'], ['NOARGS', 'TAKE12'], ['TAKE7'], ['2MORE', 'TAKE1']]) lists.add(JSON.stringify(extra));
    for (const text of lists) {
      const arity = JSON.parse(text) as string[];
      for (let n = 0; n <= 10; n++) expect(acceptsArgCount(arity, n), `${text} ${n}`).toBe(literal(arity, n));
    }
  });

  it('the same name in two contexts in one run is checked against each context\'s definition', () => {
    // `server` is a block in http and an entry in upstream: the per-context lookup must not mix them.
    expect(findings(http(d('upstream', ['b'], [d('server', ['10.0.0.1'])]), server(d('listen', ['80'])), d('upstream', ['c'], [d('server', [])])))).toEqual([
      { severity: 'warning', code: 'invalid-argument-count', message: 'invalid number of arguments in "server" directive', at: '11:5' },
    ]);
  });
});

describe('analyze on the parser output', () => {
  const run = (text: string, context?: 'main' | 'http') =>
    analyze(parseText(text, 'in.conf', context ? { context } : {}), { strict: false }).map(
      (f) => `${f.source.line}:${f.source.col} ${f.severity} ${f.message}`,
    );

  it('Lua block bodies kept raw by the parser are accepted as blocks', () => {
    const text = [
      'http {',
      '  init_by_lua_block { local x = { a = 1 } }',
      '  server {',
      '    location / {',
      '      set_by_lua_block $v { return "}" }',
      '      content_by_lua_block { ngx.say("{") }',
      '    }',
      '  }',
      '}',
      'events {}',
    ].join('\n');
    expect(run(text)).toEqual([]);
  });

  it('positions come from the parser: column of the directive name', () => {
    const text = 'server {\n  listen 80;\n    ssl maybe;\n  location / { proxy_pass http://a; bogus 1; }\n}\n';
    expect(run(text, 'http')).toEqual([
      '3:5 warning invalid value "maybe" in "ssl" directive, it must be "on" or "off"',
      '4:37 warning unknown directive "bogus"',
    ]);
  });
});
