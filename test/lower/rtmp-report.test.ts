// nginx-rtmp-module blocks (whole files and fragments) are reported as RTMP,
// unsupported, directive by directive: never "ignored" as process-level settings.
import { describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { compile } from '../../src/compile.js';

function reportOf(text: string): { directive: string; class: string; reason: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-rtmp-'));
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, text);
  const result = compile(file);
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return result.report.directives;
}

describe('rtmp', () => {
  test('an rtmp block in nginx.conf: every directive in it is unsupported as RTMP', () => {
    const report = reportOf('events {}\nrtmp {\n  server {\n    listen 1935;\n    application live { live on; hls on; }\n  }\n}\n');
    const rtmp = report.filter((e) => ['rtmp', 'server', 'listen', 'application', 'live', 'hls'].includes(e.directive));
    expect(rtmp.map((e) => e.directive)).toEqual(['rtmp', 'server', 'listen', 'application', 'live', 'hls']);
    for (const e of rtmp) {
      expect(e.class).toBe('unsupported');
      expect(e.reason).toMatch(/rtmp/i);
    }
  });

  test('an application fragment is detected as rtmp and reported without "not allowed here" warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-rtmp-'));
    const file = join(dir, 'app.conf');
    writeFileSync(file, 'application live {\n  live on;\n  record off;\n}\n');
    const result = compile(file);
    expect(result.parsed.context).toBe('rtmp-server');
    expect(result.diagnostics).toEqual([]);
    expect(result.report.directives.map((e) => [e.directive, e.class])).toEqual([
      ['application', 'unsupported'],
      ['live', 'unsupported'],
      ['record', 'unsupported'],
    ]);
  });
});
