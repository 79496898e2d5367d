// nginx -t on the same file (when nginx is installed), each run with its own
// temp prefix; the generated file names pid and error_log relative to it.
// Wall time includes nginx's start-up, as a user running `nginx -t` sees it;
// CPU time (user + sys, from bash's `times`) is less disturbed by a busy machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmtMBps, fmtMs, median, NGINX_BIN } from '../lib.mjs';

export const name = 'nginx -t';

// `times` prints the shell's and then its children's user and system time.
const TIMES_LINE = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/;

function childCpuMs(timesOutput) {
  const lines = timesOutput.trim().split('\n');
  const m = TIMES_LINE.exec(lines[lines.length - 1] ?? '');
  if (!m) return undefined;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

function nginxTestOnce(file) {
  const prefix = mkdtempSync(join(tmpdir(), 'ngx2envoy-bench-'));
  try {
    const script = '"$0" -t -q -p "$1" -c "$2" -e "$1/error.log" 2>&1 >/dev/null | tail -n 3 >&2; s=${PIPESTATUS[0]}; times; exit $s';
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', script, NGINX_BIN, prefix, file], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, cpuMs: childCpuMs(r.stdout), status: r.status, stderr: r.stderr };
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

// nginx's own reason: its [emerg] line, else the last line it printed.
function rejection(stderr) {
  const lines = stderr.trim().split('\n');
  return lines.find((l) => l.includes('[emerg]')) ?? lines[lines.length - 1];
}

export async function run(ctx) {
  if (!NGINX_BIN) return { rows: [{ command: 'nginx -t', figure: 'status', value: 'skipped: nginx is not installed' }] };
  const command = `${NGINX_BIN} -t -q -p <tmp> -c ${ctx.relFile}`;
  const wall = [];
  const cpu = [];
  for (let i = 0; i < ctx.runs; i++) {
    const r = nginxTestOnce(ctx.file);
    if (r.status !== 0) {
      return { rows: [{ command, figure: 'status', value: `nginx rejected the file: ${rejection(r.stderr)}` }] };
    }
    wall.push(r.ms);
    if (r.cpuMs !== undefined) cpu.push(r.cpuMs);
  }
  const med = median(wall);
  const cpuMed = cpu.length === wall.length ? median(cpu) : undefined;
  ctx.results.nginxTest = { ms: med, cpuMs: cpuMed };
  const rows = [
    { command, figure: `median of ${wall.length} runs`, value: fmtMs(med) },
    { command: '', figure: 'throughput', value: fmtMBps(ctx.bytes, med) },
  ];
  if (cpuMed !== undefined) rows.push({ command: '', figure: 'CPU time (median)', value: `${fmtMs(cpuMed)} (${fmtMBps(ctx.bytes, cpuMed)})` });
  const parse = ctx.results.parse;
  if (parse) {
    const speedup = med / parse.ms;
    rows.push({ command: 'parse vs nginx -t', figure: 'speed ratio (wall)', value: `${speedup.toFixed(2)}× (goal ≥ 2×: ${speedup >= 2 ? 'met' : 'NOT met'})` });
    if (cpuMed !== undefined) {
      rows.push({ command: '', figure: 'speed ratio (CPU)', value: `${(cpuMed / parse.cpuMs).toFixed(2)}×` });
    }
  }
  return { rows };
}
