// The Reporter never writes a report entry after making it: a second mark with a
// worse class, an include's own reason and the joining of several reasons each
// make a new entry (so every entry keeps one shape and its fields stay unwritten).
// What the report says must be what in-place updates said.
import { describe, expect, test } from 'vitest';
import type { Directive, Statement } from '../../src/parse/ast.js';
import { Reporter } from '../../src/lower/classify.js';

function directive(name: string, line: number, block?: Statement[]): Directive {
  return { kind: 'directive', name, args: [], block, source: { file: 'nginx.conf', line, col: 1 } } as Directive;
}

const KEYS = ['file', 'line', 'col', 'directive', 'class', 'reason'];

describe('report entries are made whole, never updated in place', () => {
  test('a worse second mark: the worse class and both reasons, in a fresh entry', () => {
    const d = directive('add_header', 3);
    const server = directive('server', 2, [d]);
    const r = new Reporter();
    r.openLevel(server.block, [d], true);
    r.mark(d, 'translated', 'response_headers_to_add');
    r.mark(d, 'unsupported', 'inside named location @x: never reached in Envoy');
    r.mark(d, 'approximated', 'response_headers_to_add'); // a repeated reason is kept once; a better class changes nothing
    r.closeLevel(true);
    const [, e] = r.entries([server], 'http');
    expect(e).toEqual({ file: 'nginx.conf', line: 3, col: 1, directive: 'add_header', class: 'unsupported', reason: 'response_headers_to_add; inside named location @x: never reached in Envoy' });
    expect(Object.keys(e!)).toEqual(KEYS);
  });

  test('a directive shared by two places is one entry object in both, with every reason', () => {
    const shared = directive('proxy_set_header', 5);
    const r = new Reporter(new Set([shared]));
    const a = directive('location', 3, [shared]);
    const b = directive('location', 4, [shared]);
    const server = directive('server', 2, [a, b]);
    r.openLevel(server.block, [a, b], true);
    r.openLevel(a.block, [shared]);
    r.mark(shared, 'translated', 'request_headers_to_add');
    r.closeLevel();
    r.openLevel(b.block, [shared]);
    r.mark(shared, 'approximated', 'Host rewritten');
    r.closeLevel();
    r.closeLevel(true);
    const out = r.entries([server], 'http').filter((e) => e.directive === 'proxy_set_header');
    expect(out).toHaveLength(2);
    expect(out[0]).toBe(out[1]);
    expect(out[0]).toEqual({ file: 'nginx.conf', line: 5, col: 1, directive: 'proxy_set_header', class: 'approximated', reason: 'request_headers_to_add; Host rewritten' });
  });

  test('an include: its own reason first, then the marks it got, in a fresh entry', () => {
    const inc = directive('include', 3);
    (inc as { includes?: string[] }).includes = ['snippets/a.conf'];
    const server = directive('server', 2, [inc]);
    const r = new Reporter();
    r.openLevel(server.block, [inc], true);
    r.mark(inc, 'unsupported', 'inside named location @n: never reached in Envoy');
    r.closeLevel(true);
    const [, e] = r.entries([server], 'http');
    expect(e).toEqual({ file: 'nginx.conf', line: 3, col: 1, directive: 'include', class: 'unsupported', reason: 'included 1 file(s) in place; inside named location @n: never reached in Envoy' });
    expect(Object.keys(e!)).toEqual(KEYS);
  });

  test('default marks that name a directive are one reason string per name', () => {
    const a = directive('expires', 3);
    const b = directive('expires', 4);
    const server = directive('server', 2, [a, b]);
    const out = new Reporter().entries([directive('http', 1, [server])], 'main');
    const [ea, eb] = out.filter((e) => e.directive === 'expires');
    expect(ea!.reason).toBe('`expires` is not translated');
    expect(eb!.reason).toBe(ea!.reason);
  });
});
