// Lowering answers some questions without working them out again: answers shared
// by text or by level (next_upstream conditions and their report line, a level's
// allow/deny), answers skipped by directive family (auth, ssl, redirects), header
// lists scanned in place, and positions made in one object. These tests check that
// each shortcut gives what the full work gives, and that errors still come out.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import type { Directive } from '../../src/parse/ast.js';
import { lower } from '../../src/lower/index.js';
import { authAt } from '../../src/lower/auth.js';
import { NO_SSL_DIRECTIVES, sslDirectivesAt } from '../../src/lower/proxy-ssl.js';
import { isWebsocketUpgrade, setsHost, headerOps } from '../../src/lower/headers.js';
import { directivesOf, levelOf, lowerRun, src, srcOf, type Level } from '../../src/lower/util.js';
import type { Location, ReportEntry } from '../../src/ir/types.js';

function lowered(conf: string) {
  const res = lower(parseText(conf, 'shortcuts.conf'));
  if (!res.ir) throw new Error(res.errors.map((e) => e.message).join('; '));
  return res.ir;
}

function errorOf(conf: string): string {
  const res = lower(parseText(conf, 'shortcuts.conf'));
  expect(res.ir).toBeNull();
  const e = res.errors[0]!;
  return `${e.source?.line}:${e.source?.col} ${e.message}`;
}

function entriesNamed(report: ReportEntry[], name: string): ReportEntry[] {
  return report.filter((e) => e.directive === name);
}

/** The levels [http, server, location…] of the first server's location path given by indexes. */
function levelsOf(conf: string, path: number[]): Level[] {
  const http = directivesOf(parseText(conf, 'shortcuts.conf').root).find((d) => d.name === 'http')!;
  const levels = [levelOf(directivesOf(http.block))];
  let block: Directive = directivesOf(http.block).find((d) => d.name === 'server')!;
  levels.push(levelOf(directivesOf(block.block)));
  for (const i of path) {
    block = directivesOf(block.block).filter((d) => d.name === 'location')[i]!;
    levels.push(levelOf(directivesOf(block.block)));
  }
  return levels;
}

describe('proxy_next_upstream read once per directive, worded once per list', () => {
  const conf = `http {
    upstream a { server 10.0.0.1:80; server 10.0.0.2:80; }
    server {
      listen 80;
      location /one { proxy_pass http://a; proxy_next_upstream error timeout http_502; }
      location /two { proxy_pass http://a; proxy_next_upstream HTTP_502 timeout error; }
      location /three { proxy_pass http://a; proxy_next_upstream error; }
    }
  }`;

  test('the same conditions, however written, give the same line and the same rule', () => {
    const ir = lowered(conf);
    const lines = entriesNamed(ir.report, 'proxy_next_upstream');
    expect(lines).toHaveLength(3);
    expect(lines[1]!.reason).toBe(lines[0]!.reason);
    expect(lines[1]!.class).toBe(lines[0]!.class);
    expect(lines[2]!.reason).not.toBe(lines[0]!.reason);
    const retries = ir.servers[0]!.locations.map((l) => (l.action.kind === 'proxy' ? l.action.retry?.conditions : null));
    expect(retries).toEqual([['error', 'timeout', 'http_502'], ['error', 'timeout', 'http_502'], ['error']]);
  });

  test('an invalid value is still nginx\'s error after valid lists were read', () => {
    const bad = conf.replace('proxy_next_upstream error;', 'proxy_next_upstream error http_999;');
    expect(errorOf(bad)).toBe('7:72 invalid value "http_999"');
  });
});

describe('allow/deny read once per level', () => {
  const conf = `http {
    server {
      listen 80;
      allow 10.0.0.0/8;
      deny all;
      location /a { proxy_set_header X-A 1; proxy_pass http://127.0.0.1:8080; }
      location /b { add_header X-B 1; proxy_pass http://127.0.0.1:8080; }
      location /c { allow 192.168.0.0/16; proxy_pass http://127.0.0.1:8080; }
    }
  }`;

  test('locations inheriting the server\'s rules have them, their own rules replace them', () => {
    const [a, b, c] = lowered(conf).servers[0]!.locations as [Location, Location, Location];
    const rules = (l: Location) => l.policy.access?.rules.v4.map((x) => `${x.action} ${x.cidr}`);
    expect(rules(a)).toEqual(['allow 10.0.0.0/8', 'deny 0.0.0.0/0']);
    expect(rules(b)).toEqual(rules(a));
    expect(rules(c)).toEqual(['allow 192.168.0.0/16']);
  });

  test('an invalid address is reported where it is written, also where an inner level replaces the rules', () => {
    expect(errorOf(conf.replace('allow 10.0.0.0/8;', 'allow 10.0.0.0/99;'))).toBe('4:13 invalid parameter "10.0.0.0/99"');
  });
});

describe('answers skipped where no level has the directive family', () => {
  test('authAt: no gate without auth directives, the inherited gate with them', () => {
    const none = levelsOf('http { server { location / { } } }', [0]);
    expect(authAt(none, false)).toEqual({ gate: null, satisfyAny: false });
    const gated = levelsOf('http { auth_request /check; server { location / { } } }', [0]);
    expect(authAt(gated, false).gate?.kind).toBe('closed');
    const off = levelsOf('http { auth_request /check; server { location / { auth_request off; } } }', [0]);
    expect(authAt(off, false).gate).toBeNull();
  });

  test('sslDirectivesAt: none without proxy_ssl_*, the innermost of each with them', () => {
    expect(sslDirectivesAt(levelsOf('http { server { location / { } } }', [0]), 'proxy')).toBe(NO_SSL_DIRECTIVES);
    const levels = levelsOf('http { proxy_ssl_name a.example; server { location / { proxy_ssl_verify on; } } }', [0]);
    const ssl = sslDirectivesAt(levels, 'proxy');
    expect([...ssl.keys()].sort()).toEqual(['name', 'verify']);
    expect(sslDirectivesAt(levels, 'grpc')).toBe(NO_SSL_DIRECTIVES);
  });

  test('redirect settings appear only where one differs from nginx\'s default', () => {
    const ir = lowered(`http { server { listen 80;
      location /a { proxy_pass http://127.0.0.1:8080; }
      location /b { port_in_redirect off; proxy_pass http://127.0.0.1:8080; }
    } }`);
    const [a, b] = ir.servers[0]!.locations as [Location, Location];
    expect(a.policy.redirects).toBeUndefined();
    expect(b.policy.redirects).toEqual({ absolute: true, port: false, serverName: false });
  });
});

describe('header lists scanned in place', () => {
  const list = (text: string): Directive[] => {
    const [level] = levelsOf(`http { ${text} server { } }`, []);
    return level!.byName.get('proxy_set_header') ?? [];
  };

  test('setsHost finds Host in any case, and only as a name', () => {
    expect(setsHost(list('proxy_set_header X-A 1; proxy_set_header hOST a;'))).toBe(true);
    expect(setsHost(list('proxy_set_header X-Host host; proxy_set_header Hosts a;'))).toBe(false);
    expect(setsHost([])).toBe(false);
  });

  test('isWebsocketUpgrade needs both headers, the first of each name counting', () => {
    const ws = (text: string) => isWebsocketUpgrade(headerOps(list(text)));
    expect(ws('proxy_set_header Connection upgrade; proxy_set_header UPGRADE $http_upgrade;')).toBe(true);
    expect(ws('proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;')).toBe(true);
    expect(ws('proxy_set_header Upgrade $http_upgrade;')).toBe(false);
    expect(ws('proxy_set_header Upgrade websocket; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade;')).toBe(false);
    expect(ws('proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection close; proxy_set_header Connection upgrade;')).toBe(false);
  });
});

describe('srcOf', () => {
  test('is src(d.source), the file named as the run names it, for parsed and plain directives', () => {
    const parsed = parseText('http {\n  server {\n    listen 80;\n  }\n}\n', 'conf/main.conf');
    const http = directivesOf(parsed.root)[0]!;
    const server = directivesOf(http.block)[0]!;
    const listen = directivesOf(server.block)[0]!;
    const plain: Directive = { kind: 'directive', name: 'listen', args: [], source: { file: 'conf/other.conf', line: 7, col: 3 } };
    lowerRun((f) => `renamed/${f}`, () => {
      expect(srcOf(listen)).toEqual({ file: 'renamed/conf/main.conf', line: 3, col: 5 });
      expect(srcOf(listen)).toEqual(src(listen.source));
      expect(srcOf(plain)).toEqual({ file: 'renamed/conf/other.conf', line: 7, col: 3 });
    });
    expect(srcOf(server)).toEqual({ file: 'conf/main.conf', line: 2, col: 3 });
  });
});

describe('a parsed directive\'s line and column read without a position object', () => {
  test('sourceLine/sourceCol are source.line/source.col, astral characters counted as one column', () => {
    const parsed = parseText('# 𝄞 clef\nhttp { server { set $a "𝄞𝄞"; listen 80; }\n  }\n', 'wide.conf');
    const http = directivesOf(parsed.root)[0]!;
    const server = directivesOf(http.block)[0]!;
    for (const d of [http, server, ...directivesOf(server.block)]) {
      const node = d as unknown as { sourceLine(): number; sourceCol(): number };
      expect([node.sourceLine(), node.sourceCol()]).toEqual([d.source.line, d.source.col]);
    }
    expect(directivesOf(server.block).map((d) => d.source.col)).toEqual([17, 30]);
  });
});
