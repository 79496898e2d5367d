// Virtual host selection. Expected answers from
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-virtualhost
// (domains: exact > suffix wildcard > prefix wildcard > "*", longest wildcard first,
// a wildcard never matches the empty string) and the HCM page
// (strip_matching_host_port, strip_any_host_port, strip_trailing_host_dot) and
// RouteConfiguration.ignore_port_in_host_matching.
import { describe, expect, it } from 'vitest';
import { evaluate, EnvoyConfigError } from '../../../src/sim/envoy/index.js';
import { bootstrap } from './helpers.js';

const RC = `
name: local
virtual_hosts:
  - name: exact
    domains: ["www.foo.com", "port.foo.com:8080"]
    routes: [{ match: { prefix: "/" }, route: { cluster: exact } }]
  - name: suffix_long
    domains: ["*.api.foo.com"]
    routes: [{ match: { prefix: "/" }, route: { cluster: suffix_long } }]
  - name: suffix_short
    domains: ["*.foo.com"]
    routes: [{ match: { prefix: "/" }, route: { cluster: suffix_short } }]
  - name: suffix_dash
    domains: ["*-bar.baz.com"]
    routes: [{ match: { prefix: "/" }, route: { cluster: suffix_dash } }]
  - name: prefix_long
    domains: ["www.foo.*"]
    routes: [{ match: { prefix: "/" }, route: { cluster: prefix_long } }]
  - name: prefix_short
    domains: ["www.*"]
    routes: [{ match: { prefix: "/" }, route: { cluster: prefix_short } }]
  - name: any
    domains: ["*"]
    routes: [{ match: { prefix: "/" }, route: { cluster: any } }]
`;

function vhostFor(host: string, hcm: Record<string, unknown> = {}, rc = RC): string | undefined {
  return evaluate(bootstrap(rc, { hcm }), { port: 8080, host, path: '/' }).virtualHost;
}

describe('virtual host domains (VirtualHost.domains search order)', () => {
  it('an exact domain beats every wildcard, case-insensitively', () => {
    expect(vhostFor('www.foo.com')).toBe('exact');
    expect(vhostFor('WWW.Foo.COM')).toBe('exact');
  });

  it('suffix wildcards beat prefix wildcards, and the longest suffix wins', () => {
    expect(vhostFor('v1.api.foo.com')).toBe('suffix_long');
    expect(vhostFor('x.foo.com')).toBe('suffix_short');
    // www.foo.org: no suffix wildcard, the longer prefix wildcard "www.foo." wins over "www."
    expect(vhostFor('www.foo.org')).toBe('prefix_long');
    expect(vhostFor('www.bar.org')).toBe('prefix_short');
  });

  it('"*-bar.baz.com" matches "baz-bar.baz.com" but not "-bar.baz.com" (wildcard never matches empty)', () => {
    expect(vhostFor('baz-bar.baz.com')).toBe('suffix_dash');
    expect(vhostFor('-bar.baz.com')).toBe('any');
  });

  it('"*.foo.com" does not match the bare "foo.com"', () => {
    expect(vhostFor('foo.com')).toBe('any');
  });

  it('the Host port is part of the match: "www.foo.com:8080" misses "www.foo.com" but a prefix wildcard takes it', () => {
    expect(vhostFor('www.foo.com:8080')).toBe('prefix_long');
    expect(vhostFor('x.foo.com:8080')).toBe('any'); // "*.foo.com" is a suffix, ":8080" breaks it
    expect(vhostFor('port.foo.com:8080')).toBe('exact');
  });

  it('ignore_port_in_host_matching drops the port before matching', () => {
    const rc = RC.replace('name: local', 'name: local\nignore_port_in_host_matching: true');
    expect(vhostFor('x.foo.com:8080', {}, rc)).toBe('suffix_short');
  });

  it('strip_matching_host_port removes only the listener port; strip_any_host_port removes any', () => {
    expect(vhostFor('x.foo.com:8080', { strip_matching_host_port: true })).toBe('suffix_short');
    expect(vhostFor('x.foo.com:9090', { strip_matching_host_port: true })).toBe('any');
    expect(vhostFor('x.foo.com:9090', { strip_any_host_port: true })).toBe('suffix_short');
    // the stripped Host is what goes upstream
    const d = evaluate(bootstrap(RC, { hcm: { strip_any_host_port: true } }), { port: 8080, host: 'x.foo.com:9090', path: '/' });
    expect(d.upstreamHost).toBe('x.foo.com');
  });

  it('strip_trailing_host_dot makes "www.foo.com." an exact match', () => {
    expect(vhostFor('www.foo.com.')).toBe('prefix_long');
    expect(vhostFor('www.foo.com.', { strip_trailing_host_dot: true })).toBe('exact');
  });

  it('no "*" virtual host and no match → no_virtual_host (404)', () => {
    const rc = `
virtual_hosts:
  - name: only
    domains: ["a.com"]
    routes: [{ match: { prefix: "/" }, route: { cluster: c } }]
`;
    const d = evaluate(bootstrap(rc), { port: 8080, host: 'b.com', path: '/' });
    expect(d.kind).toBe('no_virtual_host');
    expect(d.status).toBe(404);
  });

  it('a domain in two virtual hosts is a configuration Envoy refuses', () => {
    const rc = `
virtual_hosts:
  - { name: a, domains: ["x.com"], routes: [] }
  - { name: b, domains: ["X.com"], routes: [] }
`;
    expect(() => evaluate(bootstrap(rc), { port: 8080, host: 'x.com', path: '/' })).toThrow(EnvoyConfigError);
  });

  it('require_tls: ALL redirects a plaintext request to https with a 301, dropping :80', () => {
    const rc = `
virtual_hosts:
  - name: secure
    domains: ["*"]
    require_tls: ALL
    routes: [{ match: { prefix: "/" }, route: { cluster: c } }]
`;
    const d = evaluate(bootstrap(rc), { port: 8080, host: 'a.com:80', path: '/x?y=1' });
    expect(d).toMatchObject({ kind: 'redirect', status: 301, redirectLocation: 'https://a.com/x?y=1' });
  });
});
