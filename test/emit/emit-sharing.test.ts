// Emission works some things out once for many routes: add_header values moved to a Lua
// script are found once per add_header content (and split off each response header list
// once), retry policies are one object per content, error_page mappers are found once per
// run of routes with the same pages, and hoisting counts a virtual host's
// configs in a short list (a Map once there are many). These tests hold each shortcut to
// what the routes must say.
import { describe, expect, it } from 'vitest';
import { httpCompiler } from '../support/compile-http.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compileText = httpCompiler('emit-sharing');
const LUA = 'envoy.filters.http.lua';
const BUFFER = 'envoy.filters.http.buffer';

function hcmOf(r: ReturnType<typeof compileText>): Json {
  return r.bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

function vhostNamed(r: ReturnType<typeof compileText>, name: string): Json {
  return hcmOf(r).route_config.virtual_hosts.find((vh: Json) => vh.name === name);
}

function routeAt(vh: Json, prefix: string): Json {
  return vh.routes.find((x: Json) => x.match.prefix === prefix);
}

/** The per-filter config a route runs with: its own, else its virtual host's. */
function effective(vh: Json, route: Json, filter: string): Json {
  return route.typed_per_filter_config?.[filter] ?? vh.typed_per_filter_config?.[filter];
}

function luaScripts(r: ReturnType<typeof compileText>): Record<string, { inline_string: string }> {
  return hcmOf(r).http_filters.find((f: Json) => f.name === LUA)?.typed_config.source_codes ?? {};
}

describe('add_header values moved to a Lua script, by content', () => {
  const r = compileText(
    'gated',
    `server { listen 8080; server_name a.test;
      location /a/ { add_header X-A "1"; return 200 "a"; }
      location /b/ { add_header X-A "1"; return 200 "b"; }
      location /c/ { add_header X-A "1" always; return 200 "c"; }
      location /d/ { add_header X-A "5%"; return 200 "d"; }
      location /e/ { add_header X-A "1"; add_header X-B "2" always; return 200 "e"; }
      location /f/ { add_header X-B "2" always; add_header X-A "1"; return 200 "f"; } }`,
  );
  const vh = vhostNamed(r, 'server_0');
  const scripts = luaScripts(r);

  it('locations written alike share one script; a value with `always` stays on the route', () => {
    const a = effective(vh, routeAt(vh, '/a/'), LUA);
    expect(a?.name).toMatch(/^add_header\./);
    expect(effective(vh, routeAt(vh, '/b/'), LUA)).toEqual(a);
    expect(routeAt(vh, '/a/').response_headers_to_add).toBeUndefined();
    expect('response_headers_to_add' in routeAt(vh, '/a/')).toBe(false);
    const c = routeAt(vh, '/c/');
    expect(effective(vh, c, LUA)?.name).toBeUndefined();
    expect(c.response_headers_to_add).toEqual([{ header: { key: 'X-A', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }]);
  });

  it('a value with `%` is matched as the route list renders it, and its script adds it as written', () => {
    const d = effective(vh, routeAt(vh, '/d/'), LUA);
    expect(d.name).not.toBe(effective(vh, routeAt(vh, '/a/'), LUA).name);
    expect(scripts[d.name]!.inline_string).toContain('{ "X-A", "5%" }');
    expect(routeAt(vh, '/d/').response_headers_to_add).toBeUndefined();
  });

  it('only the gated values leave a mixed list, whatever their place in it; the same gated content shares a script', () => {
    const e = routeAt(vh, '/e/');
    const f = routeAt(vh, '/f/');
    const kept = [{ header: { key: 'X-B', value: '2' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }];
    expect(e.response_headers_to_add).toEqual(kept);
    expect(f.response_headers_to_add).toEqual(kept);
    expect(effective(vh, e, LUA)).toEqual(effective(vh, routeAt(vh, '/a/'), LUA));
    expect(effective(vh, f, LUA)).toEqual(effective(vh, routeAt(vh, '/a/'), LUA));
    // one script per distinct content: `X-A 1` and `X-A 5%`
    expect(Object.keys(scripts)).toHaveLength(2);
  });
});

describe('retry policies by content', () => {
  it('routes to different upstreams with the same policy share one object; another policy is another object', () => {
    const r = compileText(
      'retry',
      `upstream one { server 10.0.0.1:80; server 10.0.0.2:80; }
       upstream two { server 10.0.1.1:80; server 10.0.1.2:80; }
       upstream three { server 10.0.2.1:80; server 10.0.2.2:80; server 10.0.2.3:80; }
       server { listen 8080; server_name a.test; location /p/ { proxy_pass http://one; } }
       server { listen 8080; server_name b.test; location /q/ { proxy_pass http://two; } }
       server { listen 8080; server_name c.test; location /s/ { proxy_pass http://three; } }`,
    );
    const p = routeAt(vhostNamed(r, 'server_0'), '/p/').route.retry_policy;
    const q = routeAt(vhostNamed(r, 'server_1'), '/q/').route.retry_policy;
    const s = routeAt(vhostNamed(r, 'server_2'), '/s/').route.retry_policy;
    expect(p).toBeDefined();
    expect(q).toBe(p);
    expect(Object.isFrozen(p)).toBe(true);
    expect(s).not.toBe(p);
    expect(s.num_retries).toBe(2);
    expect(p.num_retries).toBe(1);
  });
});

describe('hoisting counts configs in a short list, and by a Map once there are many', () => {
  // 20 distinct body limits, then one used by three locations: the most common is hoisted
  const sizes = Array.from({ length: 20 }, (_, i) => `${i + 2}k`);
  const locations = sizes.map((size, i) => `location /l${i}/ { client_max_body_size ${size}; return 204; }`).join('\n');
  const shared = ['/x/', '/y/', '/z/'].map((p) => `location ${p} { client_max_body_size 7m; return 204; }`).join('\n');

  it('with many distinct configs, the one most routes share goes to the virtual host and each route keeps what it had', () => {
    const r = compileText('many', `server { listen 8080; server_name a.test; client_max_body_size 7m; ${locations}\n${shared} }`);
    const vh = vhostNamed(r, 'server_0');
    expect(vh.typed_per_filter_config[BUFFER].buffer.max_request_bytes).toBe(7 * 1024 * 1024);
    for (const p of ['/x/', '/y/', '/z/']) expect(routeAt(vh, p).typed_per_filter_config?.[BUFFER]).toBeUndefined();
    sizes.forEach((size, i) => {
      expect(effective(vh, routeAt(vh, `/l${i}/`), BUFFER).buffer.max_request_bytes, size).toBe((i + 2) * 1024);
    });
  });

  it('with few, the first seen wins a tie, as with many', () => {
    const few = compileText('few', `server { listen 8080; server_name a.test; location /a/ { client_max_body_size 3k; return 204; } location /b/ { client_max_body_size 5k; return 204; } location /c/ { client_max_body_size 3k; return 204; } location /d/ { client_max_body_size 5k; return 204; } location /e/ { client_max_body_size 4k; return 204; } }`);
    const vh = vhostNamed(few, 'server_0');
    expect(vh.typed_per_filter_config[BUFFER].buffer.max_request_bytes).toBe(3 * 1024);
    expect(effective(vh, routeAt(vh, '/b/'), BUFFER).buffer.max_request_bytes).toBe(5 * 1024);
    const locs = Array.from({ length: 18 }, (_, i) => `location /m${i}/ { client_max_body_size ${i + 40}k; return 204; }`).join('\n');
    const many = compileText('tie', `server { listen 8080; server_name a.test; ${locs} location /a/ { client_max_body_size 30k; return 204; } location /b/ { client_max_body_size 31k; return 204; } location /c/ { client_max_body_size 30k; return 204; } location /d/ { client_max_body_size 31k; return 204; } location /e/ { client_max_body_size 4k; return 204; } }`);
    const mv = vhostNamed(many, 'server_0');
    expect(mv.typed_per_filter_config[BUFFER].buffer.max_request_bytes).toBe(30 * 1024);
    expect(effective(mv, routeAt(mv, '/b/'), BUFFER).buffer.max_request_bytes).toBe(31 * 1024);
  });
});

describe('error_page mappers, found once per run of routes', () => {
  it('locations with the same pages apart from each other share their mapper; the one between has its own', () => {
    const r = compileText(
      'pages',
      `server { listen 8080; server_name a.test; error_page 404 http://x.test/nf;
        location /a/ { error_page 404 http://a.test/a; return 204; }
        location /b/ { return 204; }
        location /c/ { error_page 404 http://a.test/a; return 204; } }`,
    );
    const mappers: Json[] = hcmOf(r).local_reply_config.mappers;
    const expressionFor = (target: string): string => {
      const m = mappers.find((x) => x.headers_to_add?.[0]?.header.value === target);
      return m.filter.and_filter.filters[1].extension_filter.typed_config.expression;
    };
    expect(expressionFor('http://a.test/a')).toBe("xds.route_name in ['server_0/loc_0', 'server_0/loc_2']");
    expect(expressionFor('http://x.test/nf')).toBe("xds.route_name in ['server_0/fallback', 'server_0/loc_1']");
  });
});
