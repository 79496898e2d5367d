// allow/deny (ngx_http_access_module) → the routes' RBACPerRoute and one RBAC
// filter per connection manager. What the rules let in is checked against real
// nginx in test/differential/access.test.ts; here: the address tested, where the
// filter appears, hoisting, xDS, and nginx's errors.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, type CompileResult } from '../../src/compile.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources } from '../../src/validate/index.js';
import { compileText, hcmOf } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const RBAC = 'envoy.filters.http.rbac';

function http(body: string, top = ''): string {
  return `events {}\nhttp {\n${top}\n server {\n  listen 8080;\n  server_name a.test;\n${body}\n }\n}\n`;
}

const routesOf = (r: CompileResult): Json[] => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.flatMap((v: Json) => v.routes);
const filterNames = (r: CompileResult): string[] => hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').http_filters.map((f: Json) => f.name);
/** The RBACPerRoute Envoy uses for the route of `prefix` on a.test: the route's, else its virtual host's (hoisted). */
function rbacFor(r: CompileResult, prefix: string): Json {
  const vhosts: Json[] = hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts;
  const vh = vhosts.find((v) => v.domains.includes('a.test'));
  const route = vh.routes.find((x: Json) => x.match.prefix === prefix);
  return route.typed_per_filter_config?.[RBAC] ?? vh.typed_per_filter_config?.[RBAC];
}
const principalOf = (r: CompileResult, prefix: string): Json => rbacFor(r, prefix).rbac.rules.policies.nginx_allow_deny.principals[0];

describe('allow/deny → RBAC', () => {
  test('no rule anywhere: no RBAC filter (the output is as before)', () => {
    expect(filterNames(compileText(http('location / { proxy_pass http://10.0.0.1:80; }')))).not.toContain(RBAC);
  });

  test('the filter sits last before the router; a route with rules carries them, the others none', () => {
    const r = compileText(http('location /a/ { allow 10.0.0.0/8; deny all; proxy_pass http://10.0.0.1:80; } location /b/ { proxy_pass http://10.0.0.1:80; }'));
    const names = filterNames(r);
    expect(names.slice(-2)).toEqual([RBAC, 'envoy.filters.http.router']);
    expect(principalOf(r, '/a/')).toEqual({ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } });
    expect(rbacFor(r, '/b/')?.rbac).toBeUndefined();
    const ev = evaluator(r.bootstrap);
    expect(ev({ port: 8080, host: 'a.test', path: '/a/', remoteAddress: '10.1.2.3' }).cluster).toBe('10.0.0.1_80');
    expect(ev({ port: 8080, host: 'a.test', path: '/a/', remoteAddress: '192.168.1.1' })).toMatchObject({ kind: 'direct_response', status: 403 });
    expect(ev({ port: 8080, host: 'a.test', path: '/b/', remoteAddress: '192.168.1.1' }).cluster).toBe('10.0.0.1_80');
  });

  test('with set_real_ip_from in effect the address tested is real_ip\'s (remote_ip), else the peer (direct_remote_ip)', () => {
    const r = compileText(http('set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; location / { deny 192.0.2.1; proxy_pass http://10.0.0.1:80; }'));
    // IPv4: every address but the denied one; IPv6: no rule, all let in.
    expect(principalOf(r, '/')).toEqual({
      or_ids: {
        ids: [
          { and_ids: { ids: [{ remote_ip: { address_prefix: '0.0.0.0', prefix_len: 0 } }, { not_id: { or_ids: { ids: [{ remote_ip: { address_prefix: '192.0.2.1', prefix_len: 32 } }] } } }] } },
          { remote_ip: { address_prefix: '::', prefix_len: 0 } },
        ],
      },
    });
    const ev = evaluator(r.bootstrap);
    // The client named by X-Forwarded-For is the one tested.
    const viaProxy = (xff: string) => ev({ port: 8080, host: 'a.test', path: '/', remoteAddress: '10.9.9.9', headers: { 'x-forwarded-for': xff } });
    expect(viaProxy('192.0.2.1')).toMatchObject({ kind: 'direct_response', status: 403 });
    expect(viaProxy('192.0.2.2').cluster).toBe('10.0.0.1_80');
  });

  test('rules every route shares move to the virtual host; a return route then turns the filter off explicitly', () => {
    const r = compileText(http('allow 10.0.0.0/8; deny all; location /a/ { proxy_pass http://10.0.0.1:80; } location /b/ { proxy_pass http://10.0.0.1:80; } location /c/ { return 200 "c"; }'));
    const ev = evaluator(r.bootstrap);
    const outsider = (path: string) => ev({ port: 8080, host: 'a.test', path, remoteAddress: '192.168.1.1' });
    expect(outsider('/a/')).toMatchObject({ kind: 'direct_response', status: 403 });
    expect(outsider('/zzz')).toMatchObject({ kind: 'direct_response', status: 403 }); // the server's file fallback
    expect(outsider('/c/')).toMatchObject({ kind: 'direct_response', status: 200, body: 'c' });
    const c = routesOf(r).find((x: Json) => x.match.prefix === '/c/');
    const vhost = hcmOf(r.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.routes.includes(c));
    if (vhost.typed_per_filter_config?.[RBAC]) expect(c.typed_per_filter_config[RBAC]).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' });
  });

  test('IPv6 rules: a family without allow lets none of its clients in; `all` covers both', () => {
    const r = compileText(http('location / { allow ::1; allow 2001:db8::/32; deny all; proxy_pass http://10.0.0.1:80; }'));
    const ev = evaluator(r.bootstrap);
    const from = (ip: string) => ev({ port: 8080, host: 'a.test', path: '/', remoteAddress: ip });
    expect(from('::1').cluster).toBe('10.0.0.1_80');
    expect(from('2001:db8::5').cluster).toBe('10.0.0.1_80');
    expect(from('2001:db9::5')).toMatchObject({ status: 403 });
    expect(from('127.0.0.1')).toMatchObject({ status: 403 });
  });

  test('xDS: the RouteConfiguration carries the same per-route rules, the listener the filter', () => {
    const r = compileText(http('location / { deny 10.0.0.1; proxy_pass http://10.0.0.1:80; }'));
    const x = toXdsResources(r.bootstrap);
    const carriers = x.routes.flatMap((rc: Json) => rc.virtual_hosts.flatMap((v: Json) => [v, ...v.routes]));
    expect(carriers.some((c: Json) => c.typed_per_filter_config?.[RBAC]?.rbac)).toBe(true);
    const listener = x.listeners.find((l: Json) => l.name === 'listener_0.0.0.0_8080');
    expect(JSON.stringify(listener)).toContain('envoy.extensions.filters.http.rbac.v3.RBAC');
  });

  test('try_files to a named location: the route requires both rule sets (and_ids, each in its first-match order and with its own address)', () => {
    const r = compileText(http(`location /tf/ { allow 10.0.0.0/8; deny all; try_files $uri @app; }
      location @app { set_real_ip_from 192.168.0.0/16; real_ip_header X-Real-IP; deny 10.1.0.0/16; allow 10.0.0.0/8; deny all; proxy_pass http://10.0.0.1:80; }`));
    const [first, named] = principalOf(r, '/tf/').and_ids.ids;
    // the location's rules test the peer, the named location's the address real_ip found
    expect(JSON.stringify(first)).toContain('direct_remote_ip');
    expect(JSON.stringify(first)).not.toContain('"remote_ip"');
    expect(JSON.stringify(named)).toContain('"remote_ip"');
    expect(JSON.stringify(named)).not.toContain('direct_remote_ip');
    expect(filterNames(r).filter((n) => n.startsWith(RBAC))).toEqual([RBAC]);
    const ev = evaluator(r.bootstrap);
    const from = (ip: string) => ev({ port: 8080, host: 'a.test', path: '/tf/x', remoteAddress: ip });
    expect(from('10.2.0.1').cluster).toBe('10.0.0.1_80');
    expect(from('10.1.0.1')).toMatchObject({ kind: 'direct_response', status: 403 }); // the named location's deny
    expect(from('172.16.0.1')).toMatchObject({ kind: 'direct_response', status: 403 }); // the location's deny all
  });

  test('try_files where both locations inherit the same rules: one principal, as before', () => {
    const r = compileText(http('allow 10.0.0.0/8; deny all; location /tf/ { try_files $uri @app; } location @app { proxy_pass http://10.0.0.1:80; }'));
    expect(principalOf(r, '/tf/')).toEqual({ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } });
  });

  test('try_files after the location asked for credentials: the named location\'s rules in a second RBAC filter after basic_auth (nginx\'s order: 401 before 403)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-access-'));
    try {
      const users = join(dir, 'users');
      writeFileSync(users, 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n');
      const r = compileText(http(`location /tf/ { allow 10.0.0.0/8; deny all; auth_basic "R"; auth_basic_user_file ${users}; try_files $uri @app; }
        location @app { deny 10.1.0.0/16; proxy_pass http://10.0.0.1:80; }`));
      const after = `${RBAC}.after_credentials`;
      expect(filterNames(r).slice(-4)).toEqual([RBAC, 'envoy.filters.http.basic_auth', after, 'envoy.filters.http.router']);
      const route = routesOf(r).find((x: Json) => x.match.prefix === '/tf/');
      // before the credentials: the location's rules only
      expect(route.typed_per_filter_config[RBAC].rbac.rules.policies.nginx_allow_deny.principals[0]).toEqual({ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } });
      expect(JSON.stringify(route.typed_per_filter_config[after])).toContain('10.1.0.0');
      const ev = evaluator(r.bootstrap);
      const ask = (ip: string, creds: boolean) => ev({ port: 8080, host: 'a.test', path: '/tf/x', remoteAddress: ip, headers: creds ? { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` } : {} });
      expect(ask('172.16.0.1', true)).toMatchObject({ status: 403 });
      expect(ask('10.1.0.1', false)).toMatchObject({ status: 401 });
      expect(ask('10.1.0.1', true)).toMatchObject({ status: 403 });
      expect(ask('10.2.0.1', true).cluster).toBe('10.0.0.1_80');
      const x = toXdsResources(r.bootstrap);
      expect(validateXdsResources(x).filter((f) => f.severity === 'error')).toEqual([]);
      // hoisted: most routes share the second filter's rules, the virtual host holds them and the others turn the filter off
      const h = compileText(http(`auth_basic "R"; auth_basic_user_file ${users};
        location /a/ { try_files $uri @app; } location /b/ { try_files $uri @app; } location /c/ { try_files $uri @app; } location /e/ { try_files $uri @app; }
        location /d/ { proxy_pass http://10.0.0.1:80; }
        location @app { deny 10.1.0.0/16; proxy_pass http://10.0.0.1:80; }`));
      const vh = hcmOf(h.bootstrap, 'listener_0.0.0.0_8080').route_config.virtual_hosts.find((v: Json) => v.domains.includes('a.test'));
      expect(JSON.stringify(vh.typed_per_filter_config?.[after])).toContain('10.1.0.0');
      const hv = evaluator(h.bootstrap);
      const alice = { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };
      expect(hv({ port: 8080, host: 'a.test', path: '/b/x', remoteAddress: '10.1.0.1', headers: alice })).toMatchObject({ status: 403 });
      expect(hv({ port: 8080, host: 'a.test', path: '/b/x', remoteAddress: '10.1.0.1' })).toMatchObject({ status: 401 });
      expect(hv({ port: 8080, host: 'a.test', path: '/d/x', remoteAddress: '10.1.0.1', headers: alice }).cluster).toBe('10.0.0.1_80');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an invalid address is nginx\'s error, also at a level whose rules an inner one replaces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-access-'));
    try {
      writeFileSync(join(dir, 'nginx.conf'), http('location / { deny all; proxy_pass http://10.0.0.1:80; }', '  allow bogus;'));
      const r = compile(join(dir, 'nginx.conf'), {});
      expect(r.ok).toBe(false);
      const e = r.diagnostics.find((d) => d.severity === 'error')!;
      expect(e.message).toBe('invalid parameter "bogus"');
      expect([e.source.line, e.source.col]).toEqual([3, 9]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
