// Route actions and redirect actions are made once and shared (frozen) where nothing
// changes them afterwards, and the edge settings find a route's location by the owner
// serverRoutes records instead of taking its name apart: these tests hold the owner to
// the name rule on every fixture, and the sharing to what each route must say.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { httpCompiler } from '../support/compile-http.js';
import { Emission } from '../../src/emit/envoy/context.js';
import { recordRouteOwners, routeOwnersOf, serverRoutes } from '../../src/emit/envoy/routes.js';
import type { Location, VirtualServer } from '../../src/ir/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compileText = httpCompiler('shared-actions');

function vhosts(result: ReturnType<typeof compile>): Json[] {
  return result.bootstrap.static_resources.listeners.flatMap((l: Json) => l.filter_chains.flatMap((c: Json) => c.filters[0].typed_config.route_config.virtual_hosts));
}

function routesNamed(result: ReturnType<typeof compile>, name: string): Json[] {
  return vhosts(result).flatMap((vh) => vh.routes.filter((r: Json) => r.name === name));
}

describe('route owners', () => {
  it('on every fixture, each route is owned by the location (else server) whose id is the longest prefix of its name', () => {
    const root = join(__dirname, '../../fixtures');
    let checked = 0;
    for (const f of readdirSync(root).sort()) {
      const r = compile(join(root, f, 'nginx.conf'), {});
      if (!r.ir) continue;
      const locations = new Map<string, Location>();
      const visit = (l: Location): void => {
        locations.set(l.id, l);
        l.children.forEach(visit);
      };
      r.ir.servers.forEach((s) => s.locations.forEach(visit));
      const servers = new Map(r.ir.servers.map((s) => [s.id, s]));
      const backends = new Map(r.ir.backends.map((b) => [b.name, b]));
      const em = new Emission();
      for (const listener of r.ir.listeners) {
        for (const id of listener.serverIds) {
          const server = servers.get(id)!;
          const routes = serverRoutes({ server, listener, backends, em, authority: null });
          const owners = routeOwnersOf(routes, em)!;
          expect(owners.locations.length, `${f}: ${id}`).toBe(routes.length);
          routes.forEach((route, i) => {
            const name: string = route.name;
            let byName: Location | VirtualServer | undefined;
            for (let p = name; !byName && p.includes('/'); p = p.slice(0, p.lastIndexOf('/'))) byName = locations.get(p);
            byName ??= servers.get(name.split('/')[0]!);
            expect(owners.locations[i] ?? owners.servers[i], `${f}: ${name}`).toBe(byName);
            expect(owners.servers[i], `${f}: ${name}`).toBe(server);
            checked++;
          });
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('a route list of another emission has no owners here (its routes are found by name)', () => {
    const r = compileText('foreign', 'server { listen 8080; location / { return 204; } }');
    expect(routeOwnersOf(vhosts(r)[0].routes, new Emission())).toBeUndefined();
  });

  it("a list joined from serverRoutes' lists has their owners in order", () => {
    const r = compileText('joined', 'server { listen 8080; server_name a.test; location /a/ { return 204; } } server { listen 8080; server_name b.test; location /b/ { return 204; } }');
    const servers = new Map(r.ir!.servers.map((s) => [s.id, s]));
    const backends = new Map(r.ir!.backends.map((b) => [b.name, b]));
    const listener = r.ir!.listeners[0]!;
    const em = new Emission();
    const parts = listener.serverIds.map((id) => serverRoutes({ server: servers.get(id)!, listener, backends, em, authority: null }));
    const joined = parts.flat();
    recordRouteOwners(joined, parts, em);
    const owners = routeOwnersOf(joined, em)!;
    const expected = parts.flatMap((p) => {
      const own = routeOwnersOf(p, em)!;
      return p.map((_, i) => [own.locations[i], own.servers[i]]);
    });
    expect(joined.map((_, i) => [owners.locations[i], owners.servers[i]])).toEqual(expected);
    expect(new Set(owners.servers).size).toBe(2);
    expect(owners.locations.some((l) => l?.pattern === '/b/')).toBe(true);
  });
});

describe('shared actions', () => {
  const upstream = 'upstream pool { server 10.0.0.1:80; server 10.0.0.2:80; }';

  it("a regex location's guarded copies share one frozen route action; a prefix route keeps its prefix_rewrite", () => {
    const r = compileText(
      'guards',
      `${upstream}
      server { listen 8080; server_name a.test;
        location /app/ { proxy_pass http://pool/v1/; location ~ \\.jpg$ { proxy_pass http://pool; } }
        location ~ \\.php$ { proxy_pass http://pool; } }`,
    );
    // guarded by /app/ (after /app/'s own regex) and unguarded, in the server's virtual host and the default one
    const php = routesNamed(r, 'server_0/loc_1');
    expect(php.length).toBe(4);
    expect(php[0].match.headers[0].string_match.prefix).toBe('/app/');
    expect(new Set(php.map((x) => x.route)).size).toBe(1);
    expect(Object.isFrozen(php[0].route)).toBe(true);
    expect(php[0].route.prefix_rewrite).toBeUndefined();
    const app = routesNamed(r, 'server_0/loc_0');
    expect(app[0].route.prefix_rewrite).toBe('/v1/');
    expect(app[0].route.cluster).toBe(php[0].route.cluster);
  });

  it('a rewrite route changes its own action: never a shared one', () => {
    const r = compileText(
      'rewrite',
      `${upstream}
      server { listen 8080;
        location /a/ { rewrite ^/a/(.*)$ /b/$1 break; proxy_pass http://pool; }
        location /b/ { proxy_pass http://pool; } }`,
    );
    const rewrite = routesNamed(r, 'server_0/loc_0/rewrite_0')[0];
    const plain = routesNamed(r, 'server_0/loc_0')[0];
    expect(rewrite.route.regex_rewrite).toBeDefined();
    expect(plain.route.regex_rewrite).toBeUndefined();
    expect(rewrite.route).not.toBe(plain.route);
  });

  it('slash redirects of one path share a frozen redirect across servers; another port gets its own', () => {
    const loc = 'location /docs/ { proxy_pass http://127.0.0.1:9000; }';
    const r = compileText('slash', `server { listen 8080; server_name a.test; ${loc} } server { listen 8080; server_name b.test; ${loc} } server { listen 8081; server_name c.test; ${loc} }`);
    const slash = vhosts(r).flatMap((vh) => vh.routes.filter((x: Json) => x.name.endsWith('/slash') && !vh.name.endsWith('_default')));
    expect(slash.length).toBe(3);
    const [a, b, c] = slash.map((x: Json) => x.redirect);
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.path_redirect).toBe('/docs/');
    expect(a.port_redirect).toBe(8080);
    expect(c).not.toBe(a);
    expect(c.port_redirect).toBe(8081);
  });

  it('a hoisted retry policy leaves the routes sharing one frozen copy of a shared action', () => {
    const r = compileText(
      'retry',
      `${upstream}
      server { listen 8080;
        location /x/ { proxy_pass http://pool; location ~ \\.jpg$ { proxy_pass http://pool; } }
        location ~ \\.php$ { proxy_pass http://pool; }
        location / { proxy_pass http://pool; } }`,
    );
    const vh = vhosts(r)[0];
    expect(vh.retry_policy?.retry_on).toBe('connect-failure');
    const php = vh.routes.filter((x: Json) => x.name === 'server_0/loc_1');
    expect(php.length).toBe(2); // guarded by /x/, and unguarded
    expect(php[0].route).toBe(php[1].route);
    expect(Object.isFrozen(php[0].route)).toBe(true);
    for (const route of vh.routes) if (route.route) expect(route.route.retry_policy, route.name).toBeUndefined();
  });
});
