// Compiling a few servers given as the body of `http {}`, in a directory that lives as
// long as the test file (comments and the report name `<name>.conf`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { compile } from '../../src/compile.js';

/** A compiler for `http {}` bodies; its files are removed after the calling test file. */
export function httpCompiler(prefix: string): (name: string, http: string) => ReturnType<typeof compile> {
  const dir = mkdtempSync(join(tmpdir(), `ngx2envoy-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name, http) => {
    const path = join(dir, `${name}.conf`);
    writeFileSync(path, `events {}\nhttp {\n${http}\n}\n`);
    const result = compile(path, {});
    expect(result.ok, result.diagnostics.map((d) => d.message).join('\n')).toBe(true);
    return result;
  };
}
