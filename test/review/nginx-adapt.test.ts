// The adapter edits a fixture at the positions the IR gives; the edits must be
// right whatever ports are picked (a port's digit count changes the length of
// the replacement text). Each fixed port set adapts fixture 28 (where two
// locations share one proxy_pass: `try_files … @app` takes @app's handling) and
// `nginx -t` must accept the result with exactly those ports in it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile.js';
import { NGINX_BIN } from '../support/nginx.js';
import { adaptForNginx, applyEdits } from './nginx-adapt.js';

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', '28-static-and-unsupported');

const PORT_SETS: number[][] = [
  [8080, 9090, 9091, 9092],
  [44353, 44354, 44355, 44356],
  [1025, 65535, 10000, 9],
  [61000, 80, 443, 12345],
];

describe.skipIf(!NGINX_BIN)('adaptForNginx with fixed ports', () => {
  for (const ports of PORT_SETS) {
    it(`fixtures/28 with ports ${ports.join(',')} passes nginx -t`, async () => {
      const result = compile(join(FIXTURE, 'nginx.conf'));
      expect(result.ok).toBe(true);
      const work = mkdtempSync(join(tmpdir(), 'ngx2envoy-adapt-'));
      try {
        const queue = [...ports];
        const adapted = await adaptForNginx({
          fixtureDir: FIXTURE,
          mainFile: 'nginx.conf',
          workDir: join(work, 'conf'),
          ir: result.ir!,
          report: result.report.directives,
          freePort: async () => queue.shift()!,
          nginxBin: NGINX_BIN,
        });
        mkdirSync(join(work, 'conf', 'tmp'), { recursive: true });
        const t = spawnSync(NGINX_BIN!, ['-t', '-q', '-p', join(work, 'conf'), '-c', adapted.confPath, '-e', join(work, 'error.log')], { encoding: 'utf8' });
        expect(t.stderr).toBe('');
        expect(t.status).toBe(0);
        const text = readFileSync(adapted.confPath, 'utf8');
        for (const p of adapted.ports.values()) expect(text).toContain(`listen 127.0.0.1:${p}`);
        for (const p of adapted.backendByEcho.keys()) expect(text).toMatch(new RegExp(`proxy_pass http://127\\.0\\.0\\.1:${p};`));
        expect(text).not.toMatch(/127\.0\.0\.1:\d{6,}/);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  }
});

describe('applyEdits', () => {
  it('makes a repeated edit once, whatever the length of its text', () => {
    const t = 'proxy_pass http://127.0.0.1:9000;';
    const e = { offset: 10, end: 32, text: ' http://127.0.0.1:44353' };
    expect(applyEdits(t, [e, { ...e }])).toBe('proxy_pass http://127.0.0.1:44353;');
  });
  it('drops edits inside a removed span, keeps insertions at its edges', () => {
    const t = 'a { b; } c;';
    expect(applyEdits(t, [{ offset: 3, end: 3, text: ' x;' }, { offset: 0, end: 8, text: '' }, { offset: 0, end: 0, text: 'y;' }, { offset: 8, end: 8, text: 'z' }])).toBe('y;z c;');
  });
  it('keeps the order of insertions at one offset', () => {
    expect(applyEdits('{}', [{ offset: 1, end: 1, text: 'a' }, { offset: 1, end: 1, text: 'b' }])).toBe('{ab}');
  });
  it('throws on partly overlapping edits', () => {
    expect(() => applyEdits('abcdef', [{ offset: 0, end: 3, text: 'x' }, { offset: 2, end: 5, text: 'y' }])).toThrow(/overlap/);
  });
});
