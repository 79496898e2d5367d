// The connection manager's path normalisation. Expected answers from
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
// (normalize_path: RFC 3986 normalisation "before any processing of requests by
// HTTP filters or routing"; merge_slashes: "adjacent slashes in the path are merged
// into one"; path_with_escaped_slashes_action: KEEP_UNCHANGED / REJECT_REQUEST /
// UNESCAPE_AND_REDIRECT / UNESCAPE_AND_FORWARD) and
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/normalization.
// Envoy normalises first and merges slashes after ("to catch potential edge cases
// with percent encoding"), only the path before "?" is touched.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/sim/envoy/index.js';
import { mergeSlashes, normalizePath } from '../../../src/sim/envoy/path.js';
import { bootstrap } from './helpers.js';

const RC = `
virtual_hosts:
  - name: vh
    domains: ["*"]
    routes:
      - match: { prefix: "/a/" }
        route: { cluster: a }
      - match: { prefix: "/" }
        route: { cluster: root }
`;

function through(path: string, hcm: Record<string, unknown>): ReturnType<typeof evaluate> {
  return evaluate(bootstrap(RC, { hcm }), { port: 8080, host: 'h', path });
}

describe('normalize_path (RFC 3986)', () => {
  it('removes dot segments, %2e counting as a dot, never above the root', () => {
    expect(normalizePath('/a/./b/../c')).toBe('/a/c');
    expect(normalizePath('/a/%2e%2E/c')).toBe('/c');
    expect(normalizePath('/../../x')).toBe('/x');
    expect(normalizePath('/a/b/..')).toBe('/a/');
    expect(normalizePath('/a/b/.')).toBe('/a/b/');
  });

  it('decodes percent-encoded unreserved characters only, and leaves the query alone', () => {
    expect(normalizePath('/%41%62c%7e')).toBe('/Abc~');
    expect(normalizePath('/a%2Fb%20c')).toBe('/a%2Fb%20c');
    expect(normalizePath('/a/../b?x=/../y')).toBe('/b?x=/../y');
  });

  it('routing sees the normalised path, and so does the upstream', () => {
    const d = through('/x/../a/%62', { normalize_path: true });
    expect(d).toMatchObject({ cluster: 'a', upstreamPath: '/a/b' });
    // without it, the dot segments stay and /x/../a/ is not under /a/
    expect(through('/x/../a/%62', {}).cluster).toBe('root');
  });
});

describe('merge_slashes', () => {
  it('merges runs of slashes in the path, not in the query', () => {
    expect(mergeSlashes('//a///b/')).toBe('/a/b/');
    expect(mergeSlashes('/a//b?x=//y')).toBe('/a/b?x=//y');
    expect(through('//a//x', { merge_slashes: true })).toMatchObject({ cluster: 'a', upstreamPath: '/a/x' });
    expect(through('//a//x', {}).cluster).toBe('root');
  });

  it('interplay: normalisation runs before merging, so "/a//../b" keeps "a" (an empty segment is popped)', () => {
    const d = through('/a//../b', { normalize_path: true, merge_slashes: true });
    expect(d.upstreamPath).toBe('/a/b');
    expect(d.cluster).toBe('a');
  });
});

describe('path_with_escaped_slashes_action', () => {
  it('KEEP_UNCHANGED (the default): %2F is not a separator', () => {
    expect(through('/a%2Fb', {})).toMatchObject({ cluster: 'root', upstreamPath: '/a%2Fb' });
  });
  it('UNESCAPE_AND_FORWARD: decoded, then routed', () => {
    expect(through('/a%2fb', { path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' })).toMatchObject({ cluster: 'a', upstreamPath: '/a/b' });
  });
  it('REJECT_REQUEST: 400', () => {
    expect(through('/a%2Fb', { path_with_escaped_slashes_action: 'REJECT_REQUEST' })).toMatchObject({ kind: 'rejected', status: 400 });
    expect(through('/a/b', { path_with_escaped_slashes_action: 'REJECT_REQUEST' }).cluster).toBe('a');
  });
  it('UNESCAPE_AND_REDIRECT: a redirect to the unescaped path', () => {
    expect(through('/a%2Fb?q', { pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT' })).toMatchObject({ kind: 'redirect', redirectLocation: '/a/b?q' });
  });
});

describe('request line checks', () => {
  it('a fragment in the path is rejected', () => {
    expect(through('/a/#frag', {}).kind).toBe('rejected');
  });
  it('an absolute-form target gives the authority', () => {
    const d = evaluate(
      bootstrap(`
virtual_hosts:
  - { name: other, domains: ["other.com"], routes: [{ match: { prefix: "/" }, route: { cluster: o } }] }
  - { name: any, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: any } }] }
`),
      { port: 8080, host: 'h', path: 'http://other.com/p?q' },
    );
    expect(d).toMatchObject({ virtualHost: 'other', upstreamPath: '/p?q', upstreamHost: 'other.com' });
  });
});
