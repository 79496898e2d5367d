// Per-filter configs said once per virtual host: each route must still get, from
// each filter, exactly what it got when every route carried its own config.
// "What a filter does" is read through the evaluator's resolution (route >
// virtual host > route configuration; Lua names → source_codes) and a small model
// of each filter written from its documentation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { hoistPerFilterConfigs, neutralPerRouteConfigs } from '../../src/emit/envoy/hoist.js';
import { evaluator } from '../../src/sim/envoy/index.js';
import { perFilterConfigs, type FilterConfigChoice } from '../../src/sim/envoy/filters.js';
import { validateBootstrap, formatFindings, hasErrors } from '../../src/validate/index.js';
import { prng, type Rand } from '../support/prng.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const T = 'type.googleapis.com/envoy.extensions.filters.http.';
const FILTERS: Json[] = [
  { name: 'envoy.filters.http.buffer', typed_config: { '@type': `${T}buffer.v3.Buffer`, max_request_bytes: 1048576 } },
  { name: 'envoy.filters.http.compressor', typed_config: { '@type': `${T}compressor.v3.Compressor`, response_direction_config: { common_config: { min_content_length: 20 } } } },
  { name: 'envoy.filters.http.lua', typed_config: { '@type': `${T}lua.v3.Lua`, source_codes: { a: { inline_string: 'script a' }, b: { inline_string: 'script b' } } } },
  // a filter this module knows no neutral per-route config for
  { name: 'example.other', typed_config: { '@type': 'type.googleapis.com/example.Other' } },
  { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}router.v3.Router` } },
];

/** The per-route configs a route may carry for each filter (undefined: none). */
const CHOICES: Record<string, (Json | undefined)[]> = {
  'envoy.filters.http.buffer': [undefined, { '@type': `${T}buffer.v3.BufferPerRoute`, disabled: true }, { '@type': `${T}buffer.v3.BufferPerRoute`, buffer: { max_request_bytes: 9437184 } }],
  'envoy.filters.http.compressor': [undefined, { '@type': `${T}compressor.v3.CompressorPerRoute`, disabled: true }],
  'envoy.filters.http.lua': [undefined, { '@type': `${T}lua.v3.LuaPerRoute`, name: 'a' }, { '@type': `${T}lua.v3.LuaPerRoute`, name: 'b' }, { '@type': `${T}lua.v3.LuaPerRoute`, disabled: true }],
  'example.other': [undefined, { '@type': 'type.googleapis.com/example.OtherPerRoute', x: 1 }],
};

/** What each filter does on a route, from its per-route config as Envoy resolved it. */
function behaviour(choices: Record<string, FilterConfigChoice>): Record<string, unknown> {
  const b = choices['envoy.filters.http.buffer']!.config;
  const c = choices['envoy.filters.http.compressor']!.config;
  return {
    // BufferPerRoute: disabled, or its own Buffer settings; none: the filter's (1 MiB)
    buffer: b?.disabled ? 'off' : (b?.buffer?.max_request_bytes ?? 1048576),
    // CompressorPerRoute: disabled, or overrides.response_direction_config present = on; none: the filter's (on)
    compressor: c?.disabled ? 'off' : 'on',
    lua: choices['envoy.filters.http.lua']!.script,
    other: JSON.stringify(choices['example.other']!.config),
  };
}

function randomVirtualHost(rand: Rand, n: number): Json {
  const pick = <X>(xs: X[]): X => xs[Math.floor(rand() * xs.length)]!;
  const routes: Json[] = [];
  // a bias per virtual host, so that most routes often share a config (the case hoisting is for)
  const bias = Object.fromEntries(Object.entries(CHOICES).map(([k, v]) => [k, pick(v)]));
  for (let i = 0; i < n; i++) {
    const tpfc: Json = {};
    for (const [name, options] of Object.entries(CHOICES)) {
      const c = rand() < 0.7 ? bias[name] : pick(options);
      if (c !== undefined) tpfc[name] = c;
    }
    const route: Json = { name: `r${i}`, match: { prefix: '/' }, direct_response: { status: 200 } };
    if (Object.keys(tpfc).length) route.typed_per_filter_config = tpfc;
    routes.push(route);
  }
  return { name: 'vh', domains: ['*'], routes };
}

function behaviours(rc: Json): Record<string, unknown>[] {
  const hcm = { http_filters: FILTERS };
  return rc.virtual_hosts.flatMap((vh: Json) => vh.routes.map((r: Json) => behaviour(perFilterConfigs(hcm, rc, vh, r, []))));
}

describe('hoisting per-filter configs to the virtual host', () => {
  it('changes no route\'s behaviour (300 random virtual hosts)', () => {
    const rand = prng(20260707);
    let hoisted = 0;
    for (let k = 0; k < 300; k++) {
      const rc = { name: 'rc', virtual_hosts: [randomVirtualHost(rand, 1 + Math.floor(rand() * 12))] };
      const before = behaviours(rc);
      const copy = structuredClone(rc);
      hoistPerFilterConfigs(copy, neutralPerRouteConfigs(FILTERS));
      expect(behaviours(copy), `case ${k}`).toEqual(before);
      if (copy.virtual_hosts[0].typed_per_filter_config) hoisted++;
    }
    expect(hoisted).toBeGreaterThan(100);
  });

  it('moves the config most routes share; routes keep only what differs', () => {
    const big = { '@type': `${T}buffer.v3.BufferPerRoute`, buffer: { max_request_bytes: 9437184 } };
    const off = { '@type': `${T}buffer.v3.BufferPerRoute`, disabled: true };
    const rc = {
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['a'],
          routes: [
            { name: 'a', typed_per_filter_config: { 'envoy.filters.http.buffer': big } },
            { name: 'b', typed_per_filter_config: { 'envoy.filters.http.buffer': big } },
            { name: 'c', typed_per_filter_config: { 'envoy.filters.http.buffer': off } },
            { name: 'd' },
          ],
        },
      ],
    };
    hoistPerFilterConfigs(rc, neutralPerRouteConfigs(FILTERS));
    const vh: Json = rc.virtual_hosts[0];
    expect(Object.keys(vh)).toEqual(['name', 'domains', 'typed_per_filter_config', 'routes']);
    expect(vh.typed_per_filter_config).toEqual({ 'envoy.filters.http.buffer': big });
    expect(vh.routes.map((r: Json) => r.typed_per_filter_config?.['envoy.filters.http.buffer'])).toEqual([
      undefined,
      undefined,
      off,
      // d had none: it now says the filter's own limit explicitly
      { '@type': `${T}buffer.v3.BufferPerRoute`, buffer: { max_request_bytes: 1048576 } },
    ]);
  });

  it('leaves a filter without a neutral per-route config on the routes unless all agree', () => {
    const other = { '@type': 'type.googleapis.com/example.OtherPerRoute', x: 1 };
    const mixed = { virtual_hosts: [{ name: 'v', domains: ['a'], routes: [{ name: 'a', typed_per_filter_config: { 'example.other': other } }, { name: 'b', typed_per_filter_config: { 'example.other': other } }, { name: 'c' }] }] };
    hoistPerFilterConfigs(mixed, neutralPerRouteConfigs(FILTERS));
    expect((mixed.virtual_hosts[0] as Json).typed_per_filter_config).toBeUndefined();
    const all = { virtual_hosts: [{ name: 'v', domains: ['a'], routes: [{ name: 'a', typed_per_filter_config: { 'example.other': other } }, { name: 'b', typed_per_filter_config: { 'example.other': other } }] }] };
    hoistPerFilterConfigs(all, neutralPerRouteConfigs(FILTERS));
    expect((all.virtual_hosts[0] as Json).typed_per_filter_config).toEqual({ 'example.other': other });
    expect(all.virtual_hosts[0]!.routes.every((r: Json) => r.typed_per_filter_config === undefined)).toBe(true);
  });

  it('has no neutral Lua config when the filter runs a default script, nor a compressor one when `enabled` is set', () => {
    const withDefault = [{ name: 'l', typed_config: { '@type': `${T}lua.v3.Lua`, default_source_code: { inline_string: 'x' } } }];
    expect(neutralPerRouteConfigs(withDefault).size).toBe(0);
    const flagged = [{ name: 'c', typed_config: { '@type': `${T}compressor.v3.Compressor`, response_direction_config: { common_config: { enabled: { default_value: true, runtime_key: 'k' } } } } }];
    expect(neutralPerRouteConfigs(flagged).size).toBe(0);
  });
});

describe('compiled: server-wide body limit, gzip off and add_header said once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-perfilter-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `events {}
http {
  gzip on;
  server {
    listen 80;
    server_name a.test;
    client_max_body_size 9m;
    gzip off;
    location / { add_header X-A 1; proxy_pass http://127.0.0.1:9000; }
    location /b { add_header X-A 1; proxy_pass http://127.0.0.1:9000; }
    location /c { add_header X-C 3; proxy_pass http://127.0.0.1:9000; }
    location /d { client_max_body_size 1m; gzip on; proxy_pass http://127.0.0.1:9000; }
    location /ws { proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_pass http://127.0.0.1:9000; }
    location /e { add_header X-A 1; proxy_pass http://127.0.0.1:9000; }
  }
  server {
    listen 80;
    server_name b.test;
    location / { add_header X-A 1; proxy_pass http://127.0.0.1:9000; }
  }
}
`,
  );
  const r = compile(conf, {});
  const hcm = r.bootstrap?.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const ev = evaluator(r.bootstrap, { filters: true });
  const at = (host: string, path: string) => behaviour0(ev({ port: 80, host, path }).filters!);
  const behaviour0 = (f: Record<string, FilterConfigChoice>) => ({
    buffer: f['envoy.filters.http.buffer']!.config?.disabled ? 'off' : (f['envoy.filters.http.buffer']!.config?.buffer?.max_request_bytes ?? 1048576),
    gzip: f['envoy.filters.http.compressor']!.config?.disabled ? 'off' : 'on',
    lua: f['envoy.filters.http.lua']!.script?.match(/local headers = (.*)/)?.[1] ?? null,
  });

  it('validates', () => {
    expect(r.ok).toBe(true);
    const findings = validateBootstrap(r.bootstrap);
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });

  it('each request gets its location\'s limit, compression and headers', () => {
    expect(at('a.test', '/')).toEqual({ buffer: 9437184, gzip: 'off', lua: '{ { "X-A", "1" } }' });
    expect(at('a.test', '/b/x')).toEqual({ buffer: 9437184, gzip: 'off', lua: '{ { "X-A", "1" } }' });
    expect(at('a.test', '/c/x')).toEqual({ buffer: 9437184, gzip: 'off', lua: '{ { "X-C", "3" } }' });
    expect(at('a.test', '/d/x')).toEqual({ buffer: 1048576, gzip: 'on', lua: null });
    expect(at('a.test', '/ws/x')).toEqual({ buffer: 'off', gzip: 'off', lua: null });
    expect(at('a.test', '/e')).toEqual({ buffer: 9437184, gzip: 'off', lua: '{ { "X-A", "1" } }' });
    expect(at('b.test', '/')).toEqual({ buffer: 1048576, gzip: 'on', lua: '{ { "X-A", "1" } }' });
  });

  it('the server-wide settings are on the virtual host, once', () => {
    const vh = hcm.route_config.virtual_hosts.find((v: Json) => v.name === 'server_0');
    expect(Object.keys(vh.typed_per_filter_config).sort()).toEqual(['envoy.filters.http.buffer', 'envoy.filters.http.compressor', 'envoy.filters.http.lua']);
    expect(vh.typed_per_filter_config['envoy.filters.http.buffer'].buffer).toEqual({ max_request_bytes: 9437184 });
    // only /c (its own headers), /d (nginx's 1m, gzip on: said explicitly) and /ws (no buffering) differ
    const own = vh.routes.filter((x: Json) => x.typed_per_filter_config).map((x: Json) => x.name);
    expect(own.sort()).toEqual(['server_0/loc_2', 'server_0/loc_3', 'server_0/loc_4']);
  });

  it('one script per header set, named after it, in the Lua filter of the connection manager', () => {
    const lua = hcm.http_filters.find((f: Json) => f.name === 'envoy.filters.http.lua').typed_config;
    const names = Object.keys(lua.source_codes);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^add_header\.[0-9a-f]{16}$/);
    // the same header set has the same name in both servers, and from one compilation to the next
    const again = compile(conf, {}).bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.find((f: Json) => f.name === 'envoy.filters.http.lua').typed_config;
    expect(Object.keys(again.source_codes)).toEqual(names);
    const refs = JSON.stringify(hcm.route_config).match(/add_header\.[0-9a-f]{16}/g) ?? [];
    expect(new Set(refs)).toEqual(new Set(names));
  });
});

describe('compiled: a server-wide proxy_set_header list said once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-hoist-headers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (body: string): string => {
    const conf = join(dir, `${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(conf, `events {}\nhttp { server { listen 80; server_name a.test; ${body} } }\n`);
    return conf;
  };
  const common = 'proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;';

  it('moves to the virtual host when every proxying location inherits it; redirects and returns get nothing', () => {
    const r = compile(write(`${common} location / { proxy_pass http://127.0.0.1:9000; } location /b { proxy_set_header X-Gone ""; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_pass http://127.0.0.1:9001; } location = /r { return 301 /x; } location = /s { return 200 "ok"; }`), {});
    expect(hasErrors(validateBootstrap(r.bootstrap))).toBe(false);
    const vh = r.bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts.find((v: Json) => v.name === 'server_0');
    expect(vh.request_headers_to_add.map((h: Json) => h.header.key)).toEqual(['X-Real-IP', 'X-Forwarded-For']);
    expect(Object.keys(vh).indexOf('request_headers_to_add')).toBeLessThan(Object.keys(vh).indexOf('routes'));
    expect(vh.routes.some((x: Json) => x.request_headers_to_add)).toBe(false);
    const ev = evaluator(r.bootstrap);
    const req = (path: string) => ev({ port: 80, host: 'a.test', path, remoteAddress: '198.51.100.7', headers: { 'x-forwarded-for': '192.0.2.1', 'x-gone': 'v' } });
    for (const path of ['/', '/b']) {
      const d = req(path);
      expect(d.requestHeadersToAdd?.map((h) => [h.key, h.value])).toEqual([['x-real-ip', '198.51.100.7'], ['x-forwarded-for', '198.51.100.7']]);
    }
    // the route's own removal still happens (before the additions, as before)
    expect(JSON.stringify(req('/b').requestHeadersToRemove)).toContain('x-gone');
    expect(req('/r').requestHeadersToAdd).toBeUndefined();
    expect(req('/s').requestHeadersToAdd).toBeUndefined();
  });

  it('stays on the routes when one proxying location has its own list', () => {
    const r = compile(write(`${common} location / { proxy_pass http://127.0.0.1:9000; } location /own { proxy_set_header X-Own 1; proxy_pass http://127.0.0.1:9001; }`), {});
    const vh = r.bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts.find((v: Json) => v.name === 'server_0');
    expect(vh.request_headers_to_add).toBeUndefined();
    const ev = evaluator(r.bootstrap);
    expect(ev({ port: 80, host: 'a.test', path: '/own' }).requestHeadersToAdd?.map((h) => h.key)).toEqual(['x-own']);
  });
});
