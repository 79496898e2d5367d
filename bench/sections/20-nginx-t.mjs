// nginx -t on the same file (when nginx is installed), each run with its own
// temp prefix; the generated file names pid and error_log relative to it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmtMBps, fmtMs, median, NGINX_BIN } from '../lib.mjs';

export const name = 'nginx -t';

function nginxTestOnce(file) {
  const prefix = mkdtempSync(join(tmpdir(), 'ngx2envoy-bench-'));
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(NGINX_BIN, ['-t', '-q', '-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], {
      encoding: 'utf8',
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, status: r.status, stderr: r.stderr };
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

export async function run(ctx) {
  if (!NGINX_BIN) return { rows: [{ command: 'nginx -t', figure: 'status', value: 'skipped: nginx is not installed' }] };
  const command = `${NGINX_BIN} -t -q -p <tmp> -c ${ctx.relFile}`;
  const runs = [];
  for (let i = 0; i < ctx.runs; i++) {
    const r = nginxTestOnce(ctx.file);
    if (r.status !== 0) {
      return { rows: [{ command, figure: 'status', value: `nginx rejected the file: ${r.stderr.trim().split('\n').pop()}` }] };
    }
    runs.push(r.ms);
  }
  const med = median(runs);
  ctx.results.nginxTest = { ms: med };
  const rows = [
    { command, figure: `median of ${runs.length} runs`, value: fmtMs(med) },
    { command: '', figure: 'throughput', value: fmtMBps(ctx.bytes, med) },
  ];
  const parse = ctx.results.parse;
  if (parse) {
    const speedup = med / parse.ms;
    rows.push({ command: 'parse vs nginx -t', figure: 'speed ratio', value: `${speedup.toFixed(2)}× (goal ≥ 2×: ${speedup >= 2 ? 'met' : 'NOT met'})` });
  }
  return { rows };
}
