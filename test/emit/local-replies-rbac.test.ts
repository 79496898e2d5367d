// nginx's 403 page is mapped when the connection manager has an RBAC filter (allow/deny
// answer 403 from Envoy itself), and only then: applyLocalReplies finds the filter by
// its name and type among the connection manager's filters.
import { describe, expect, test } from 'vitest';
import { compileText } from '../edge/support.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const conf = (location: string): string =>
  `events {}\nhttp {\n server {\n  listen 80; server_name a.test;\n  location / { proxy_pass http://10.0.0.1:80; }\n  ${location}\n }\n}\n`;

function hcm(text: string): Json {
  return compileText(text).bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

/** The statuses the local reply mappers map by status code (nested filters included). */
function mappedStatuses(h: Json): number[] {
  const out = new Set<number>();
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (v.status_code_filter) out.add(v.status_code_filter.comparison.value.default_value);
      Object.values(v).forEach(walk);
    }
  };
  walk(h.local_reply_config?.mappers ?? []);
  return [...out].sort((a, b) => a - b);
}

const names = (h: Json): string[] => h.http_filters.map((f: Json) => f.name);

describe('the 403 page follows the RBAC filter', () => {
  test('allow/deny: an RBAC filter, and 403 answered with nginx\'s page', () => {
    const h = hcm(conf('location /admin/ { allow 10.0.0.0/8; deny all; proxy_pass http://10.0.0.1:80; }'));
    expect(names(h)).toContain('envoy.filters.http.rbac');
    expect(mappedStatuses(h)).toContain(403);
  });

  test('no allow/deny: no RBAC filter, no 403 mapper', () => {
    const h = hcm(conf('location /admin/ { proxy_pass http://10.0.0.1:80; }'));
    expect(names(h).some((n) => n.includes('rbac'))).toBe(false);
    expect(mappedStatuses(h)).not.toContain(403);
  });
});
