// The edge settings (compressors off, Lua status-gated headers, untraced routes) are recorded
// and made on each route once, with the hoists' changes: the routes say what they said when
// the settings were written on them, keys in the same order (the order of the YAML output).
import { describe, expect, it } from 'vitest';
import { httpCompiler } from '../support/compile-http.js';
import { toYaml } from '../../src/emit/envoy/yaml.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compileText = httpCompiler('edge-changes');

function routesOf(r: ReturnType<typeof compileText>): Json[] {
  const hcm = (r.bootstrap as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  return hcm.route_config.virtual_hosts.flatMap((vh: Json) => vh.routes);
}

/** The route of quiet.test (server_1) for `prefix`. */
function byPrefix(routes: Json[], prefix: string): Json {
  const r = routes.find((x) => x.name.startsWith('server_1/') && x.match.prefix === prefix);
  if (!r) throw new Error(`no route for ${prefix}`);
  return r;
}

const tracedServer = `otel_exporter { endpoint otel-collector.internal:4317; }
  server { listen 8080; server_name traced.test; otel_trace on; location / { proxy_pass http://127.0.0.1:9000; } }`;

// five routes without a request body limit: the buffer filter's "off" goes to the virtual host,
// and the routes left without one get the neutral config
const bodyless = ['/a', '/b', '/c', '/f', '/g'].map((p) => `location ${p} { client_max_body_size 0; proxy_pass http://127.0.0.1:9001; }`).join('\n');

describe('edge settings recorded, each route made once', () => {
  it('per-filter configs the edge settings give come before the tracing; the Lua-moved headers leave the route', () => {
    const r = compileText(
      'edge',
      `${tracedServer}
      server { listen 8080; server_name quiet.test;
        location / { gzip on; add_header X-A a; add_header X-V $host; proxy_pass http://127.0.0.1:9001; }
        ${bodyless}
        location /d { add_header X-B b; proxy_pass http://127.0.0.1:9001; } }`,
    );
    const routes = routesOf(r);
    const root = byPrefix(routes, '/');
    expect(Object.keys(root)).toEqual(['name', 'match', 'route', 'response_headers_to_add', 'typed_per_filter_config', 'tracing']);
    // the literal value moved to the Lua script, the one with a variable stays
    expect(root.response_headers_to_add.map((h: Json) => h.header.key)).toEqual(['X-V']);
    expect(Object.keys(root.typed_per_filter_config)).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.buffer', 'envoy.filters.http.compressor']);
    const d = byPrefix(routes, '/d');
    // no header left: no key at all
    expect(Object.keys(d)).toEqual(['name', 'match', 'route', 'typed_per_filter_config', 'tracing']);
    expect(d.tracing).toEqual({ overall_sampling: { numerator: 0 } });
    // the compressors off went to the virtual host; the route keeps what is its own
    expect(Object.keys(d.typed_per_filter_config)).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.buffer']);
    // the YAML comment follows the route made anew
    expect(toYaml(r.bootstrap, r.comments)).toMatch(/# nginx: edge\.conf:\d+\n\s*- name: server_1\/loc_\d+\n\s*match: \{prefix: \/d\}/);
  });

  it('per-filter configs only the hoists give come after the tracing (as a write after it put them)', () => {
    const r = compileText(
      'hoist-only',
      `${tracedServer}
      server { listen 8080; server_name quiet.test;
        location / { proxy_pass http://127.0.0.1:9001; }
        ${bodyless} }`,
    );
    const root = byPrefix(routesOf(r), '/');
    expect(Object.keys(root)).toEqual(['name', 'match', 'route', 'tracing', 'typed_per_filter_config']);
    expect(Object.keys(root.typed_per_filter_config)).toEqual(['envoy.filters.http.buffer']);
  });

  it('a route the edge settings leave alone is not made again', () => {
    const r = compileText('alone', `server { listen 8080; server_name a.test; } server { listen 8080; server_name b.test; location / { add_header X-A a always; proxy_pass http://127.0.0.1:9001; } }`);
    const root = byPrefix(routesOf(r), '/');
    expect(Object.keys(root)).toEqual(['name', 'match', 'route', 'response_headers_to_add']);
    expect(r.comments.has(root)).toBe(true);
  });
});
