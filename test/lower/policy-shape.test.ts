// Every location's policy has the same fields in the same order (absent ones
// undefined, so JSON and the emitters see what they saw before), whichever
// optional settings it carries.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';
import type { Location, Policy } from '../../src/ir/types.js';

const CONFIG = `events {}
http {
  server {
    listen 80;
    location / { proxy_pass http://127.0.0.1:8080; }
    location /a { allow 10.0.0.0/8; deny all; proxy_pass http://127.0.0.1:8080; }
    location /b { access_log off; server_tokens off; return 200; }
    location /c { absolute_redirect off; auth_basic "x"; auth_basic_user_file /etc/htpasswd; return 200; }
  }
}
`;

function policies(): Map<string, Policy> {
  const { ir, errors } = lower(parseText(CONFIG, 'nginx.conf'));
  expect(errors).toEqual([]);
  const out = new Map<string, Policy>();
  const visit = (l: Location) => {
    out.set(l.pattern, l.policy);
    l.children.forEach(visit);
  };
  for (const vs of ir!.servers) vs.locations.forEach(visit);
  return out;
}

describe('policy objects', () => {
  test('own one list of keys, in one order', () => {
    const all = [...policies().values()];
    expect(all.length).toBe(4);
    for (const p of all) expect(Object.keys(p)).toEqual(Object.keys(all[0]!));
  });

  test('keep absent what is not set: JSON carries only the settings in effect', () => {
    const byPath = policies();
    const keys = (path: string) => Object.keys(JSON.parse(JSON.stringify(byPath.get(path))));
    const optional = ['redirects', 'accessLogs', 'access', 'moreHeaders', 'serverTokens', 'auth', 'satisfyAny', 'handedFrom'];
    expect(keys('/').filter((k) => optional.includes(k))).toEqual([]);
    expect(keys('/a').filter((k) => optional.includes(k))).toEqual(['access']);
    expect(keys('/b').filter((k) => optional.includes(k))).toEqual(['accessLogs', 'serverTokens']);
    expect(keys('/c').filter((k) => optional.includes(k))).toEqual(['redirects', 'auth']);
    expect(byPath.get('/a')!.access!.rules).toBeTruthy();
    expect(byPath.get('/b')!.serverTokens).toBe('off');
    expect(byPath.get('/c')!.redirects).toEqual({ absolute: false, port: true, serverName: false });
  });
});
