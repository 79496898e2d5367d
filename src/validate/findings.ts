// What the validator reports, and how it is printed.

export type Severity = 'error' | 'warning';

export interface Finding {
  /** JSON path into the validated document, e.g. static_resources.clusters[0].connect_timeout */
  path: string;
  message: string;
  severity: Severity;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** key → whether it can be written bare (field names repeat: memoised) */
const bareKey = new Map<string, boolean>();

/** Append one object key to a JSON path; odd keys (map keys, "@type") are bracketed. */
export function keyPath(parent: string, key: string): string {
  let bare = bareKey.get(key);
  if (bare === undefined) {
    bare = IDENT.test(key);
    if (bareKey.size < 100_000) bareKey.set(key, bare);
  }
  if (!bare) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** One line per finding (errors first, in document order), then a count line. */
export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings';
  const ordered = [
    ...findings.filter((f) => f.severity === 'error'),
    ...findings.filter((f) => f.severity === 'warning'),
  ];
  const lines = ordered.map((f) => `${f.severity}: ${f.path === '' ? '(root)' : f.path}: ${f.message}`);
  const errors = findings.length - ordered.filter((f) => f.severity === 'warning').length;
  const warnings = findings.length - errors;
  lines.push(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return lines.join('\n');
}
