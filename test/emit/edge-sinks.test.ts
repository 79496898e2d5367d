// Access logs and error_page mappers are listener-wide in Envoy: each applies to every
// route (no filter) or names its routes. Two things the emitter counts on: the default
// server's routes appear twice on a listener (its own virtual host and the `*` one),
// and a location may repeat the same log or page (one sink, counted once per route).
import { describe, expect, test } from 'vitest';
import { compileText, hcmOf } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const routeNames = (hcm: Json): string[] => hcm.route_config.virtual_hosts.flatMap((v: Json) => v.routes.map((r: Json) => r.name));
const expressionOf = (filter: Json): string | undefined => filter?.extension_filter?.typed_config?.expression;

describe('access log sinks', () => {
  test('a log on every route of the listener (the default server emitted twice, the log written twice) has no filter', () => {
    const r = compileText(
      'events {}\nhttp {\n access_log /var/log/a.log;\n access_log /var/log/a.log;\n' +
        ' server { listen 80 default_server; server_name a.test; location / { return 200; } location /x { return 204; } }\n' +
        ' server { listen 80; server_name b.test; location / { return 200; } }\n}\n',
    );
    const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
    // the default server's routes are in two virtual hosts
    expect(routeNames(hcm).filter((n) => n === 'server_0/loc_0')).toHaveLength(2);
    expect(hcm.access_log).toHaveLength(1);
    expect(hcm.access_log[0].filter).toBeUndefined();
  });

  test('a log on some routes names each of them once, sorted, though they appear twice', () => {
    const r = compileText(
      'events {}\nhttp {\n access_log off;\n' +
        ' server { listen 80 default_server; server_name a.test; location /z { access_log /var/log/z.log; access_log /var/log/z.log; return 200; } location / { return 204; } location /b { access_log /var/log/z.log; return 200; } }\n' +
        ' server { listen 80; server_name b.test; location / { return 200; } }\n}\n',
    );
    const hcm = hcmOf(r.bootstrap, 'listener_0.0.0.0_80');
    expect(hcm.access_log).toHaveLength(1);
    expect(expressionOf(hcm.access_log[0].filter)).toBe("xds.route_name in ['server_0/loc_0', 'server_0/loc_2']");
  });
});

describe('error_page mappers', () => {
  test('a page on every route maps without a route filter; on some routes, with their names', () => {
    const everywhere = compileText(
      'events {}\nhttp {\n error_page 404 https://e.test/404;\n error_page 404 https://e.test/404;\n' +
        ' server { listen 80 default_server; server_name a.test; location / { return 200; } }\n' +
        ' server { listen 80; server_name b.test; location / { return 200; } }\n}\n',
    );
    // the error_page mapper, then nginx's own pages (400, 404, 413: local-replies.test.ts)
    const all = hcmOf(everywhere.bootstrap, 'listener_0.0.0.0_80').local_reply_config.mappers.filter((m: Json) => m.status_code !== undefined);
    expect(all).toHaveLength(1);
    expect(all[0].filter.status_code_filter.comparison.value.default_value).toBe(404);

    const some = compileText(
      'events {}\nhttp {\n' +
        ' server { listen 80 default_server; server_name a.test; location /p { error_page 503 https://e.test/503; return 200; } location / { return 200; } }\n' +
        ' server { listen 80; server_name b.test; location / { return 200; } }\n}\n',
    );
    const mappers = hcmOf(some.bootstrap, 'listener_0.0.0.0_80').local_reply_config.mappers.filter((m: Json) => m.status_code !== undefined);
    expect(mappers).toHaveLength(1);
    const [status, names] = mappers[0].filter.and_filter.filters;
    expect(status.status_code_filter.comparison.value.default_value).toBe(503);
    expect(expressionOf(names)).toBe("xds.route_name in ['server_0/loc_0']");
  });
});
