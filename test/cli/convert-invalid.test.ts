// The command's answer to its own bug: when the generated configuration fails validation,
// convert exits 2 naming the finding, and writes nothing, not even the reports it handed
// to its writer thread to render while it validated. (The validator is made to fail here:
// no nginx input may make the compiler emit an invalid configuration.)
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

vi.mock('../../src/validate/index.js', async (original) => ({
  ...(await original<typeof import('../../src/validate/index.js')>()),
  validateBootstrap: () => [{ path: 'static_resources.clusters[0].name', message: 'planted by the test', severity: 'error' }],
}));

const { runConvert } = await import('../../src/cli/convert.js');
const { FileWriter } = await import('../../src/cli/file-writer.js');

const EXAMPLE = resolve(import.meta.dirname, '../../examples/nginx.conf');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-invalid-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('convert when the output fails validation', () => {
  test('exit 2 with the finding; the reports rendered ahead on the writer thread are never written', async () => {
    const renderer = join(dir, 'renderer.mjs');
    writeFileSync(renderer, "import { join } from 'node:path';\nexport function reports(dir) { return [{ path: join(dir, 'report.json'), text: '{}' }]; }\n");
    const out = join(dir, 'out');
    const writer = new FileWriter(out);
    const calls: string[] = [];
    const r = await runConvert(
      EXAMPLE,
      { out },
      {
        onFiles: (files) => writer.write(files),
        elsewhere: {
          report: (_, d) => {
            calls.push('report');
            writer.render({ module: pathToFileURL(renderer).href, fn: 'reports', args: [d], hold: true });
            return [];
          },
          consul: () => null,
          validated: () => {
            calls.push('validated');
            writer.release();
          },
        },
      },
    );
    await writer.close();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('internal error: the generated configuration is invalid');
    expect(r.stderr).toContain('static_resources.clusters[0].name: planted by the test');
    expect(r.files).toEqual([]);
    expect(calls).toEqual(['report']);
    expect(readdirSync(out)).toEqual([]);
  });
});
