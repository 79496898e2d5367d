// A location's policy follows nginx's inheritance by level: a location that
// sets none of the policy's directives has its parent's policy, and lowering
// gives it the parent's very object (computed once per level, not per
// location). These tests hold the list of "policy directives" to what policyOf
// really reads, check which locations share, and that sharing changes no value.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import type { Directive } from '../../src/parse/ast.js';
import { lower, policyOf, POLICY_DIRECTIVES } from '../../src/lower/index.js';
import { compressionAt, COMPRESSION_DIRECTIVES } from '../../src/lower/compression.js';
import { directivesOf, type Level, levelOf } from '../../src/lower/util.js';
import type { Location, Policy, VirtualServer } from '../../src/ir/types.js';

/**
 * A level with no directives that records every name looked up in it. It claims
 * every directive family (util.ts), so that no family check skips a lookup.
 */
function recordingLevel(read: Set<string>): Level {
  const byName = new Map<string, Directive[]>();
  const get = byName.get.bind(byName);
  byName.get = (name: string) => {
    read.add(name);
    return get(name);
  };
  byName.has = (name: string) => {
    read.add(name);
    return false;
  };
  return { ds: [], byName, families: -1 };
}

/** The http block of `text`'s first http as a Level (every optional branch of policyOf taken). */
function httpLevel(text: string): Level {
  const parsed = parseText(text, 'nginx.conf');
  const http = directivesOf(parsed.root).find((d) => d.name === 'http')!;
  return levelOf(directivesOf(http.block));
}

// Settings that make policyOf and compressionAt take every branch: both
// compressors on, websocket headers, access logs, error pages, redirects.
const EVERYTHING = `
events {}
http {
  gzip on; brotli on; gzip_types text/css; brotli_types text/css; gzip_min_length 10; brotli_min_length 10;
  gzip_comp_level 3; brotli_comp_level 5; gzip_vary on; gzip_proxied any;
  proxy_http_version 1.1;
  proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade;
  add_header X-A 1; proxy_hide_header X-Powered-By; proxy_redirect off; proxy_buffering off;
  proxy_connect_timeout 5s; proxy_read_timeout 5s; proxy_send_timeout 5s; client_max_body_size 2m;
  absolute_redirect off; port_in_redirect off; server_name_in_redirect on;
  access_log /var/log/a.log; error_page 404 /404.html;
  allow 10.0.0.0/8; deny all; set_real_ip_from 10.0.0.1;
}
`;

// The same with brotli alone (compressionAt then reads brotli_min_length instead of gzip_min_length).
const BROTLI_ONLY = EVERYTHING.replace('gzip on;', 'gzip off;');

describe('the policy directives list', () => {
  test('policyOf reads no directive outside POLICY_DIRECTIVES, and every one of them', () => {
    const read = new Set<string>();
    const p = policyOf([httpLevel(EVERYTHING), recordingLevel(read), recordingLevel(read)]);
    // the branches were taken: compression, websocket, redirects, logs, pages
    expect(p.compression).toMatchObject({ gzip: true, brotli: true, vary: true });
    expect(p.websocket).toBe(true);
    expect(p.redirects).toEqual({ absolute: false, port: false, serverName: true });
    expect(p.accessLogs?.length).toBe(1);
    expect(p.errorPages?.length).toBe(1);
    expect(p.access?.client).toBe('real_ip');
    expect(p.access?.rules.v4.map((x) => `${x.action} ${x.cidr}`)).toEqual(['allow 10.0.0.0/8', 'deny 0.0.0.0/0']);
    policyOf([httpLevel(BROTLI_ONLY), recordingLevel(read), recordingLevel(read)]);
    expect([...read].filter((n) => !POLICY_DIRECTIVES.has(n))).toEqual([]);
    expect([...POLICY_DIRECTIVES].filter((n) => !read.has(n))).toEqual([]);
  });

  test('compressionAt reads exactly COMPRESSION_DIRECTIVES', () => {
    const read = new Set<string>();
    const c = compressionAt([httpLevel(EVERYTHING), recordingLevel(read)]);
    expect(c?.types).toEqual(['text/html', 'text/css']);
    expect(compressionAt([httpLevel(BROTLI_ONLY), recordingLevel(read)])).toMatchObject({ gzip: false, brotli: true, minLength: 10 });
    expect([...read].sort()).toEqual([...COMPRESSION_DIRECTIVES].sort());
  });
});

function lowered(text: string): VirtualServer[] {
  const result = lower(parseText(text, 'nginx.conf'));
  expect(result.errors).toEqual([]);
  return result.ir!.servers;
}

function byPattern(locations: Location[]): Map<string, Location> {
  const out = new Map<string, Location>();
  const visit = (l: Location): void => {
    out.set(l.pattern, l);
    l.children.forEach(visit);
  };
  locations.forEach(visit);
  return out;
}

describe('locations inherit their parent level policy', () => {
  const servers = lowered(`
events {}
http {
  proxy_read_timeout 30s;
  server {
    listen 127.0.0.1:8080;
    add_header X-Server 1;
    location /a/ { return 200; }
    location /b/ { proxy_pass http://127.0.0.1:9000; }
    location /c/ {
      proxy_set_header X-C 1;
      location /c/inner/ { return 204; }
      location /c/timeout/ { proxy_read_timeout 5s; }
    }
    location /d/ { gzip on; }
    location /e/ { access_log off; }
  }
  server {
    listen 127.0.0.1:8081;
    location /a/ { return 200; }
  }
}
`);
  const locs = byPattern(servers[0]!.locations);
  const at = (p: string): Policy => locs.get(p)!.policy;

  test('locations setting no policy directive share one object: the server level policy', () => {
    expect(at('/a/')).toBe(at('/b/'));
    expect(at('/a/').addHeaders.map((h) => h.name)).toEqual(['X-Server']);
    expect(at('/a/').proxyReadTimeoutMs).toBe(30000);
  });

  test('a nested location without policy directives shares its parent location policy', () => {
    expect(at('/c/inner/')).toBe(at('/c/'));
    expect(at('/c/')).not.toBe(at('/a/'));
    expect(at('/c/').proxySetHeaders.map((h) => h.name)).toEqual(['X-C']);
  });

  test('a location setting any policy directive gets its own, with the rest inherited', () => {
    expect(at('/c/timeout/')).not.toBe(at('/c/'));
    expect(at('/c/timeout/').proxyReadTimeoutMs).toBe(5000);
    expect(at('/c/timeout/').proxySetHeaders).toBe(at('/c/').proxySetHeaders);
    expect(at('/d/').compression).toMatchObject({ gzip: true });
    expect(at('/a/').compression).toBeNull();
    expect(at('/e/').accessLogs).toEqual([]);
    expect(at('/a/').accessLogs).toBeUndefined();
  });

  test('each server has its own', () => {
    const other = servers[1]!.locations[0]!.policy;
    expect(other).not.toBe(at('/a/'));
    expect(other.addHeaders).toEqual([]);
  });

  test('shared or not, every policy equals the one worked out for its own levels', () => {
    // The same config lowered with every location forced to compute its own
    // (each location given a harmless policy directive it inherits anyway
    // would change the source positions, so compare against policyOf directly).
    const parsed = parseText(
      `events {}\nhttp {\n  proxy_read_timeout 30s;\n  server {\n    listen 127.0.0.1:8080;\n    add_header X-Server 1;\n    location /a/ { return 200; }\n    location /c/ { proxy_set_header X-C 1; location /c/inner/ { return 204; } }\n  }\n}\n`,
      'nginx.conf',
    );
    const ir = lower(parsed).ir!;
    const http = directivesOf(parsed.root).find((d) => d.name === 'http')!;
    const httpL = levelOf(directivesOf(http.block));
    const server = directivesOf(http.block).find((d) => d.name === 'server')!;
    const serverL = levelOf(directivesOf(server.block));
    const [a, c] = directivesOf(server.block).filter((d) => d.name === 'location');
    const aL = levelOf(directivesOf(a!.block));
    const cL = levelOf(directivesOf(c!.block));
    const inner = directivesOf(c!.block).find((d) => d.name === 'location')!;
    const innerL = levelOf(directivesOf(inner.block));
    const got = byPattern(ir.servers[0]!.locations);
    expect(JSON.stringify(got.get('/a/')!.policy)).toBe(JSON.stringify(policyOf([httpL, serverL, aL])));
    expect(JSON.stringify(got.get('/c/inner/')!.policy)).toBe(JSON.stringify(policyOf([httpL, serverL, cL, innerL])));
  });
});

describe('errors of inherited values', () => {
  test('an invalid timeout at the server level is reported by the first location inheriting it', () => {
    const result = lower(
      parseText('events {}\nhttp {\n  server {\n    listen 127.0.0.1:8080;\n    proxy_read_timeout 5x;\n    location /a/ { return 200; }\n  }\n}\n', 'nginx.conf'),
    );
    expect(result.errors.map((e) => `${e.source?.line}: ${e.message}`)).toEqual(['5: "proxy_read_timeout" directive invalid value']);
  });

  test('an invalid server-level timeout every location overrides is not read (as before sharing)', () => {
    const result = lower(
      parseText('events {}\nhttp {\n  server {\n    listen 127.0.0.1:8080;\n    proxy_read_timeout 5x;\n    location /a/ { proxy_read_timeout 5s; location /a/b/ { return 200; } }\n  }\n}\n', 'nginx.conf'),
    );
    expect(result.errors).toEqual([]);
  });
});
