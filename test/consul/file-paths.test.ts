// consul/'s file paths are made by prefix (the root normalised once, not path.join per file):
// they must be exactly where path.join puts them, for any root.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRegistrations, renderConsulFiles, renderConsulFilesUnder, consulBackendsOf, consulFileNames, consulFilePaths } from '../../src/emit/consul/index.js';
import { fixtureIr } from './fixture-ir.js';

describe('consul file paths', () => {
  it('are placed under any root as path.join places them', () => {
    const regs = buildRegistrations(fixtureIr(), { configId: 'a' });
    for (const root of ['', '.', './', '/', 'out', 'out/', './out//consul', '/abs/x/../consul', '../up/consul/.', 'a/b/c/']) {
      const files = renderConsulFilesUnder(root, regs);
      expect(files.length).toBeGreaterThan(2);
      for (const f of files) expect(f.path, root).toBe(join(root, relativeName(f.path)));
      const backends = consulBackendsOf(fixtureIr(), { configId: 'a' });
      expect(consulFilePaths(root, backends)).toEqual(consulFileNames(backends).map((name) => join(root, name)));
      expect(consulFilePaths(root, backends)).toEqual(files.map((f) => f.path));
    }
  });

  it('render each text when it is read, the same text at every read as renderConsulFiles gives', () => {
    for (const check of ['tcp', 'http', 'none'] as const) {
      const regs = buildRegistrations(fixtureIr(), { configId: 'a', check });
      const texts = renderConsulFiles(regs);
      const files = renderConsulFilesUnder('out', regs);
      expect(files.map((f) => relativeName(f.path))).toEqual([...texts.keys()].sort());
      for (const f of files) {
        const first = f.text;
        expect(first).toBe(texts.get(relativeName(f.path)));
        expect(f.text).toBe(first);
        expect(JSON.parse(first)).toBeTruthy();
      }
    }
  });
});

/** The file's name under consul/ (names.json, agent/x.json or catalog/x.json). */
function relativeName(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] === 'names.json' ? 'names.json' : parts.slice(-2).join('/');
}
