// `location` heads: the modifier word, as ngx_http_core_location reads it.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';

function lowerServer(locations: string): ReturnType<typeof lower> {
  return lower(parseText(`events {}\nhttp {\n  server {\n    listen 127.0.0.1:8080;\n${locations}\n  }\n}\n`, 'nginx.conf'));
}

describe('location modifiers', () => {
  test('each modifier written as its own word', () => {
    const r = lowerServer('    location = /a { return 200; }\n    location ^~ /b { return 200; }\n    location ~ \\.c$ { return 200; }\n    location ~* \\.d$ { return 200; }');
    expect(r.errors).toEqual([]);
    expect(r.ir!.servers[0]!.locations.map((l) => [l.modifier, l.pattern])).toEqual([
      ['exact', '/a'],
      ['prefix-stop', '/b'],
      ['regex', '\\.c$'],
      ['regex-icase', '\\.d$'],
    ]);
  });

  test('any other first word of two is an invalid modifier, object property names included', () => {
    for (const word of ['==', 'constructor', 'toString', '__proto__']) {
      const r = lowerServer(`    location ${word} /x { return 200; }`);
      expect(r.errors.map((e) => [e.source?.line, e.source?.col, e.message])).toEqual([[5, 14, `invalid location modifier "${word}"`]]);
    }
  });
});
