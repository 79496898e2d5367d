// Source positions in the IR and the report are named relative to the main
// file's directory by lowering itself (no walk over the IR afterwards), while
// lowering errors keep the paths as parsed (as nginx -t prints them).
import { describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/compile.js';
import { loadConfig } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';

/** Every object with file/line/col below `value` (source positions, report lines). */
function positions(value: unknown, out: { file: string }[] = []): { file: string }[] {
  if (Array.isArray(value)) {
    for (const v of value) positions(v, out);
  } else if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.file === 'string' && typeof o.line === 'number' && typeof o.col === 'number') out.push(o as { file: string });
    for (const k of Object.keys(o)) positions(o[k], out);
  }
  return out;
}

function configWithIncludes(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-sources-'));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'snippets'));
  writeFileSync(join(dir, 'snippets', 'proxy.conf'), 'proxy_set_header X-From snippet;\nproxy_read_timeout 5s;\nadd_header X-Snippet 1 always;\n');
  writeFileSync(
    join(dir, 'conf.d', 'site.conf'),
    [
      'upstream app { server 127.0.0.1:9000 weight=2; }',
      'server {',
      '  listen 127.0.0.1:8080;',
      '  server_name a.example .b.example;',
      '  error_page 502 https://status.example/;',
      '  location / { include snippets/proxy.conf; proxy_pass http://app; }',
      '  location = /x { return 200 "x"; }',
      '  location @gone { return 404; }',
      '}',
      'server { listen 127.0.0.1:8080; server_name a.example; location / { proxy_pass http://127.0.0.1:9001/v2/; } }',
      '',
    ].join('\n'),
  );
  const main = join(dir, 'nginx.conf');
  writeFileSync(main, 'events {}\nhttp {\n  gzip on;\n  include conf.d/*.conf;\n}\n');
  return main;
}

describe('source positions', () => {
  test('compile names every file of the IR and the report relative to the main file, includes too', () => {
    const result = compile(configWithIncludes(), {});
    expect(result.ok).toBe(true);
    const files = new Set(positions([result.ir, result.report]).map((p) => p.file));
    expect([...files].sort()).toEqual(['conf.d/site.conf', 'nginx.conf', 'snippets/proxy.conf']);
    // Positions of every kind of IR node are there: listeners, names, locations, headers, backends, notes.
    expect(result.ir!.listeners[0]!.sources[0]!.file).toBe('conf.d/site.conf');
    expect(result.ir!.servers[0]!.locations[0]!.policy.proxySetHeaders[0]!.source.file).toBe('snippets/proxy.conf');
    expect(result.ir!.notes.some((n) => n.file === 'conf.d/site.conf' && /conflicting server name/.test(n.reason))).toBe(true);
  });

  test('lower without a naming function keeps the files as parsed', () => {
    const main = configWithIncludes();
    const parsed = loadConfig(main, {});
    const lowered = lower(parsed);
    const files = new Set(positions([lowered.ir]).map((p) => p.file));
    expect([...files].every((f) => f.startsWith('/'))).toBe(true);
    expect(files.has(main)).toBe(true);
  });

  test('two lowerings of one parse give equal IR (caches live for one run only)', () => {
    const parsed = loadConfig(configWithIncludes(), {});
    const a = JSON.stringify(lower(parsed).ir);
    const b = JSON.stringify(lower(parsed, { sourceFile: (f) => f }).ir);
    expect(b).toBe(a);
  });

  test('a lowering error names the file as parsed, not as the IR would', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-sources-'));
    const main = join(dir, 'nginx.conf');
    writeFileSync(main, 'events {}\nhttp {\n  server { listen 127.0.0.1:8080 default_server; }\n  server { listen 127.0.0.1:8080 default_server; }\n}\n');
    const result = compile(main, {});
    expect(result.ok).toBe(false);
    const d = result.diagnostics.find((x) => x.code === 'duplicate-default-server')!;
    expect(d.source).toEqual({ file: main, line: 4, col: 12 });
  });
});
