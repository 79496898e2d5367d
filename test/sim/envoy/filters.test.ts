// Per-route filter configuration as Envoy resolves it: the route's, else the
// virtual host's, else the route configuration's; the Lua filter runs the script
// its per-route config names, else its default.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/sim/envoy/index.js';
import { bootstrap, ROUTER_TYPE } from './helpers.js';

const LUA = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua';
const LUA_PR = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';
const BUF_PR = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute';

function config(luaFilter: Record<string, unknown>) {
  const b = bootstrap(`
name: rc
typed_per_filter_config:
  envoy.filters.http.buffer: { "@type": ${BUF_PR}, buffer: { max_request_bytes: 1 } }
virtual_hosts:
  - name: vh
    domains: ["*"]
    typed_per_filter_config:
      envoy.filters.http.buffer: { "@type": ${BUF_PR}, buffer: { max_request_bytes: 2 } }
      envoy.filters.http.lua: { "@type": ${LUA_PR}, name: two }
    routes:
      - name: own
        match: { prefix: /own }
        direct_response: { status: 200 }
        typed_per_filter_config:
          envoy.filters.http.buffer: { "@type": ${BUF_PR}, buffer: { max_request_bytes: 3 } }
          envoy.filters.http.lua: { "@type": ${LUA_PR}, name: one }
      - name: off
        match: { prefix: /off }
        direct_response: { status: 200 }
        typed_per_filter_config:
          envoy.filters.http.lua: { "@type": ${LUA_PR}, disabled: true }
      - name: missing
        match: { prefix: /missing }
        direct_response: { status: 200 }
        typed_per_filter_config:
          envoy.filters.http.lua: { "@type": ${LUA_PR}, name: nowhere }
      - name: inline
        match: { prefix: /inline }
        direct_response: { status: 200 }
        typed_per_filter_config:
          envoy.filters.http.lua: { "@type": ${LUA_PR}, source_code: { inline_string: "inline script" } }
      - name: rest
        match: { prefix: / }
        direct_response: { status: 200 }
`);
  const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  hcm.http_filters = [
    { name: 'envoy.filters.http.buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: 9 } },
    { name: 'envoy.filters.http.lua', typed_config: { '@type': LUA, ...luaFilter } },
    { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
  ];
  return b;
}

const ask = (cfg: unknown, path: string) => evaluate(cfg as never, { port: 8080, host: 'x', path }, { filters: true });

describe('per-route filter configuration', () => {
  const cfg = config({ source_codes: { one: { inline_string: 'script one' }, two: { inline_string: 'script two' } } });

  it('is the route\'s, else the virtual host\'s (route configuration last)', () => {
    const own = ask(cfg, '/own').filters!;
    expect(own['envoy.filters.http.buffer']).toEqual({ config: { '@type': BUF_PR, buffer: { max_request_bytes: 3 } }, from: 'route' });
    const rest = ask(cfg, '/x').filters!;
    expect(rest['envoy.filters.http.buffer']!.from).toBe('virtual_host');
    expect(rest['envoy.filters.http.buffer']!.config?.buffer.max_request_bytes).toBe(2);
    expect(Object.keys(rest)).toEqual(['envoy.filters.http.buffer', 'envoy.filters.http.lua']);
  });

  it('runs the Lua script named by the most specific config', () => {
    expect(ask(cfg, '/own').filters!['envoy.filters.http.lua']!.script).toBe('script one');
    expect(ask(cfg, '/x').filters!['envoy.filters.http.lua']!.script).toBe('script two');
    expect(ask(cfg, '/off').filters!['envoy.filters.http.lua']!.script).toBeNull();
    expect(ask(cfg, '/inline').filters!['envoy.filters.http.lua']!.script).toBe('inline script');
  });

  it('a name missing from source_codes runs nothing, with a note', () => {
    const d = ask(cfg, '/missing');
    expect(d.filters!['envoy.filters.http.lua']!.script).toBeNull();
    expect(d.notes?.some((n) => n.includes('"nowhere"'))).toBe(true);
  });

  it('the route configuration level counts when neither route nor virtual host has one', () => {
    const c = config({ default_source_code: { inline_string: 'default script' } });
    const vh = c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0];
    delete vh.typed_per_filter_config;
    const d = ask(c, '/x').filters!;
    expect(d['envoy.filters.http.buffer']).toMatchObject({ from: 'route_configuration', config: { buffer: { max_request_bytes: 1 } } });
    // no per-route Lua config: the filter's default script
    expect(d['envoy.filters.http.lua']).toEqual({ config: null, script: 'default script' });
  });

  it('is not resolved unless asked for', () => {
    expect(evaluate(cfg as never, { port: 8080, host: 'x', path: '/own' }).filters).toBeUndefined();
  });
});
