// How the report accounts for directives marked several times: the worse class
// and every distinct reason in the order they were given; a file included in
// several places is parsed once, so its directives are one entry everywhere;
// an `include` line says what it pulled in before any other reason.
import { describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import type { ReportEntry } from '../../src/ir/types.js';

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-marks-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return join(dir, 'nginx.conf');
}

const line = (e: ReportEntry): string => `${e.file}:${e.line} ${e.directive} ${e.class}: ${e.reason}`;

describe('report entries of directives marked more than once', () => {
  const file = write({
    'snippets/ws.conf': 'proxy_set_header Upgrade $http_upgrade;\ninclude snippets/inner.conf;\n',
    'snippets/inner.conf': 'add_header X-Inner 1;\n',
    'snippets/loc.conf': 'location /shared/ {\n  proxy_pass http://127.0.0.1:9002;\n  include snippets/inner.conf;\n}\n',
    'snippets/plain.conf': 'location /plain/ { proxy_pass http://127.0.0.1:9004; }\n',
    'nginx.conf': [
      'events {}',
      'http {',
      '  server {',
      '    listen 127.0.0.1:8080;',
      '    location /a/ { proxy_pass http://127.0.0.1:9000; proxy_set_header Connection upgrade; proxy_http_version 1.1; include snippets/ws.conf; }',
      '    location /b/ { proxy_pass http://127.0.0.1:9001; include snippets/ws.conf; }',
      '    include snippets/loc.conf;',
      '    include snippets/plain.conf;',
      '    location @named { include snippets/inner.conf; return 404; }',
      '  }',
      '  server {',
      '    listen 127.0.0.1:8081;',
      '    include snippets/loc.conf;',
      '    include snippets/plain.conf;',
      '    location /c/ { try_files $uri @n; }',
      '    location @n { include snippets/ws.conf; proxy_pass http://127.0.0.1:9003; }',
      '  }',
      '}',
      '',
    ].join('\n'),
  });
  const result = compile(file, {});
  const entries = result.report.directives;

  test('one entry per occurrence, in file order', () => {
    expect(result.ok).toBe(true);
    expect(entries.filter((e) => e.file === 'snippets/inner.conf')).toHaveLength(6);
    expect(entries.filter((e) => e.file === 'snippets/ws.conf' && e.directive === 'proxy_set_header')).toHaveLength(3);
    expect(entries.filter((e) => e.file === 'snippets/loc.conf' && e.directive === 'location')).toHaveLength(2);
    expect(entries.filter((e) => e.file === 'snippets/plain.conf')).toHaveLength(4);
  });

  test('a snippet included in two locations gets the reasons of both, in every occurrence', () => {
    // /a/ makes it part of the WebSocket idiom; /b/ (no Connection header) a plain request header.
    const upgrade = entries.filter((e) => e.file === 'snippets/ws.conf' && e.directive === 'proxy_set_header').map(line);
    expect(new Set(upgrade)).toEqual(
      new Set(["snippets/ws.conf:1 proxy_set_header translated: WebSocket upgrade: route upgrade_configs websocket; request_headers_to_add (replaces the client's header)"]),
    );
  });

  test('the worse class wins across occurrences (a never-reached named location makes it unsupported everywhere)', () => {
    const inner = new Set(entries.filter((e) => e.file === 'snippets/inner.conf').map((e) => `${e.class}: ${e.reason}`));
    expect(inner).toEqual(
      new Set([
        'unsupported: per-route Lua filter (emit/envoy/edge.ts): added only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses, as nginx does without `always`; inside named location @named: never reached in Envoy',
      ]),
    );
  });

  test('an include says what it pulled in first, then the reasons of the block it is in', () => {
    const named = entries.find((e) => e.file === 'nginx.conf' && e.line === 9 && e.directive === 'include')!;
    expect(line(named)).toBe('nginx.conf:9 include unsupported: included 1 file(s) in place; inside named location @named: never reached in Envoy');
    const plain = entries.find((e) => e.file === 'nginx.conf' && e.line === 7 && e.directive === 'include')!;
    expect(line(plain)).toBe('nginx.conf:7 include translated: included 1 file(s) in place');
  });

  test('a location from a snippet is one entry for both servers: both routes in its reason', () => {
    const plain = entries.filter((e) => e.file === 'snippets/plain.conf' && e.directive === 'location').map(line);
    expect(plain).toEqual([
      'snippets/plain.conf:1 location translated: route server_0/loc_3; "/plain" answers nginx\'s 301 to "/plain/" (auto_redirect) unless another location is named so; route server_1/loc_1',
      'snippets/plain.conf:1 location translated: route server_0/loc_3; "/plain" answers nginx\'s 301 to "/plain/" (auto_redirect) unless another location is named so; route server_1/loc_1',
    ]);
  });

  test('a snippet location whose block pulls in an include is a copy in each place: its own entry', () => {
    // The loader copies a directive whose block changed by splicing, once per place.
    const shared = entries.filter((e) => e.file === 'snippets/loc.conf' && e.directive === 'location').map((e) => e.reason.split(';')[0]);
    expect(shared).toEqual(['route server_0/loc_2', 'route server_1/loc_0']);
  });
});
