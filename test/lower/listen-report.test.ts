// A `listen` line's listener, report line and errors: the flags that shape the
// listener, then the notes in the order written (a resolved name, socket options,
// HTTP/3), the worst class winning; a unix socket and bad input on their own paths.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';

function lowered(listen: string) {
  const text = `events {}\nhttp {\n  server {\n    ${listen}\n    location / { return 200; }\n  }\n}\n`;
  const { ir, errors } = lower(parseText(text, 'nginx.conf'));
  return {
    errors: errors.map((e) => [e.message, e.source.line, e.source.col]),
    lines: ir?.report.filter((e) => e.directive === 'listen').map((e) => [e.line, e.col, e.class, e.reason]),
    listeners: ir?.listeners.map((l) => [l.address, l.port]),
  };
}

const IGNORED = (p: string) => `socket option \`${p}\` not translated (no routing effect)`;

describe('listen', () => {
  test('an address alone: translated, no notes', () => {
    expect(lowered('listen 10.0.0.1:81;')).toEqual({ errors: [], lines: [[4, 5, 'translated', 'listener 10.0.0.1:81']], listeners: [['10.0.0.1', 81]] });
  });

  test('notes in the order written, after the resolved name; HTTP/3 makes the line unsupported', () => {
    const { errors, lines, listeners } = lowered('listen localhost:8080 default_server http2 proxy_protocol reuseport backlog=511 quic;');
    expect(errors).toEqual([]);
    expect(listeners).toEqual([['127.0.0.1', 8080]]);
    expect(lines).toEqual([
      [4, 5, 'unsupported', `listener 127.0.0.1:8080; "localhost" resolved to 127.0.0.1 at compile time, as nginx does at startup; ${IGNORED('reuseport')}; ${IGNORED('backlog=511')}; \`quic\` (HTTP/3) not translated`],
    ]);
  });

  test('socket options only: still translated', () => {
    expect(lowered('listen *:8081 bind deferred;').lines).toEqual([[4, 5, 'translated', `listener 0.0.0.0:8081; ${IGNORED('bind')}; ${IGNORED('deferred')}`]]);
    expect(lowered('listen [::1]:8443 default so_keepalive=on;').lines).toEqual([[4, 5, 'translated', `listener ::1:8443; ${IGNORED('so_keepalive=on')}`]]);
  });

  test('a unix socket: unsupported, no listener', () => {
    expect(lowered('listen unix:/tmp/x.sock;')).toEqual({
      errors: [],
      lines: [[4, 5, 'unsupported', 'listening on a unix socket is not translated (an Envoy pipe listener would be needed)']],
      listeners: [],
    });
  });

  test('an unknown parameter and a host that cannot be resolved are errors, at the directive and at the word', () => {
    expect(lowered('listen 80 fancy;').errors).toEqual([['invalid parameter "fancy"', 4, 5]]);
    expect(lowered('listen nohost.example:80;').errors).toEqual([['invalid host in "nohost.example:80" of the "listen" directive', 4, 12]]);
  });
});
