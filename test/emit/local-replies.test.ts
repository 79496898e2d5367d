// The connection manager's local replies: which mappers are emitted, in which order, and
// what the Envoy evaluator reads from them (status, body, Content-Type), for the cases
// whose composition matters: error_page 502 before the failure mapping, error_page 503 not
// catching Envoy's 503 for a failure, `return CODE "text"` kept, server_tokens per route.
import { describe, expect, test } from 'vitest';
import { compileText, hcmOf } from '../edge/support.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { nginxPage } from '../../src/lower/special-response.js';
import { validateBootstrap, hasErrors, formatFindings } from '../../src/validate/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const conf = (servers: string): string => `events {}\nhttp {\n${servers}\n}\n`;

describe('local replies as nginx makes them', () => {
  const r = compileText(
    conf(`
  server {
    listen 80; server_name a.test;
    location /app/ { proxy_pass http://10.0.0.1:80; }
    location /busy/ { error_page 503 https://busy.a.test/; proxy_pass http://10.0.0.1:80; }
    location /down/ { error_page 502 https://down.a.test/; proxy_pass http://10.0.0.1:80; }
    location = /text { return 404 "gone"; }
    location = /none { return 404; }
    location = /teapot { return 418; }
  }
  server {
    listen 80; server_name b.test; server_tokens off;
    location / { proxy_pass http://10.0.0.1:80; }
  }`),
  );
  const ev = evaluator(r.bootstrap);
  const failed = (host: string, path: string): Json => {
    const d = ev({ port: 80, host, path, upstream: { refused: ['10.0.0.1:80'] } });
    const o = d.upstream!.outcomes[0]!;
    return o.kind === 'failed' ? o.reply : null;
  };

  test('validates', () => {
    const findings = validateBootstrap(r.bootstrap);
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });

  test('a refused upstream: 502 with the page of the route\'s server_tokens', () => {
    expect(failed('a.test', '/app/x')).toEqual({ status: 502, body: nginxPage(502, 'on'), contentType: 'text/html' });
    expect(failed('b.test', '/x')).toEqual({ status: 502, body: nginxPage(502, 'off'), contentType: 'text/html' });
  });

  test('error_page 502 takes the failure; error_page 503 does not (nginx answers 502 there)', () => {
    expect(failed('a.test', '/down/x')).toMatchObject({ status: 302, body: nginxPage(302, 'on'), headers: [{ key: 'location', value: 'https://down.a.test/' }] });
    expect(failed('a.test', '/busy/x')).toMatchObject({ status: 502, body: nginxPage(502, 'on') });
  });

  test('return with text keeps it; return without text gets the page; a status without page stays empty', () => {
    expect(ev({ port: 80, host: 'a.test', path: '/text' }).reply).toEqual({ status: 404, body: 'gone', contentType: 'text/plain' });
    expect(ev({ port: 80, host: 'a.test', path: '/none' }).reply).toEqual({ status: 404, body: nginxPage(404, 'on'), contentType: 'text/html' });
    expect(ev({ port: 80, host: 'a.test', path: '/teapot' }).reply).toEqual({ status: 418, body: '', contentType: null });
  });

  test('a body over the limit: 413 with the page', () => {
    expect(ev({ port: 80, host: 'a.test', path: '/app/x', method: 'POST', bodyLength: 2 * 1024 * 1024 }).reply).toEqual({ status: 413, body: nginxPage(413, 'on'), contentType: 'text/html' });
  });

  test('one set of mappers per connection manager: the route-filtered ones first, each page once per server_tokens value', () => {
    const mappers: Json[] = hcmOf(r.bootstrap, 'listener_0.0.0.0_80').local_reply_config.mappers;
    // (an error_page redirect carries its status's page too)
    const pages = mappers.filter((m) => !m.headers_to_add).map((m) => m.body_format_override?.text_format_source?.inline_string).filter((t: string | undefined) => t?.startsWith('<html>'));
    expect(new Set(pages).size).toBe(pages.length);
    // the keep mapper for `return 404 "gone"` comes first and changes nothing
    expect(Object.keys(mappers[0])).toEqual(['filter']);
    const label = (m: Json): string => {
      const f = m.filter.and_filter ? m.filter.and_filter.filters[0] : m.filter;
      const what = f.response_flag_filter ? 'failure' : f.or_filter ? 'failure|502' : String(f.status_code_filter.comparison.value.default_value);
      return `${what}${m.filter.and_filter ? ' by route' : ''}${m.status_code ? ' → ' + m.status_code : ''}`;
    };
    expect(mappers.map(label)).toEqual([
      '404 by route', // keep `return 404 "gone"`
      'failure|502 by route → 302', // error_page 502 https://down.a.test/
      'failure by route → 502', // b.test: server_tokens off
      'failure → 502',
      '503 by route → 302', // error_page 503: after the failures
      // nginx's pages: b.test's routes (server_tokens off) by name first, then the default server's for any reply
      '301 by route', '301', // the slash redirects of /busy/, /down/…
      '400 by route', '400', '404 by route', '404', '413 by route', '413', '504 by route', '504',
    ]);
  });

  test('server_tokens with an invalid value is an error at its position', () => {
    expect(() => compileText(conf('  server { listen 80; server_tokens maybe; }'))).toThrow(/invalid value "maybe" in "server_tokens" directive/);
  });
});
