import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { Finding } from '../../src/validate/index.js';

/** A fixture from test/validate/fixtures, parsed fresh (tests mutate their copy). */
export function fixture(name: string): Record<string, any> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return YAML.parse(readFileSync(file, 'utf8')) as Record<string, any>;
}

export function errors(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}

/** path → message pairs, the shape the assertions compare. */
export function pairs(findings: Finding[]): Array<[string, string]> {
  return findings.map((f) => [f.path, f.message]);
}

/** Rename every snake_case key to protoc's lowerCamel JSON name (map keys here have no underscores). */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), camelKeys(x)]),
  );
}
