// Shared helpers of the benchmark runner and its sections.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const mb = (bytes) => bytes / 1e6;
export const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
export const fmtMBps = (bytes, ms) => `${(mb(bytes) / (ms / 1000)).toFixed(1)} MB/s`;
export const fmtMB = (bytes) => `${mb(bytes).toFixed(1)} MB`;

export const NGINX_BIN = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) =>
  existsSync(p),
);

/**
 * Runs a child script with node (and `flags`), passing `args`; the child prints
 * one JSON object as its last stdout line. Throws with the child's stderr on failure.
 */
export function runNodeChild(script, args, flags = []) {
  const r = spawnSync(process.execPath, [...flags, script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    throw new Error(`${script} failed (${r.status ?? r.signal}):\n${r.stderr.trim()}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Prints rows {section, command, figure, value} as an aligned table. */
export function printTable(rows) {
  const head = { section: 'section', command: 'command', figure: 'figure', value: 'value' };
  const cols = ['section', 'command', 'figure', 'value'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => String(r[c] ?? '').length))]));
  const line = (r) => cols.map((c) => String(r[c] ?? '').padEnd(width[c])).join('  ').trimEnd();
  console.log(line(head));
  console.log(cols.map((c) => '-'.repeat(width[c])).join('  '));
  let last;
  for (const r of rows) {
    console.log(line(r.section === last ? { ...r, section: '' } : r));
    last = r.section;
  }
}

/** Flush dirty pages (sync(1)), untimed, so writeback of earlier output does not run inside a timing. */
export function settleWrites() {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // no sync(1): nothing to settle
  }
}
