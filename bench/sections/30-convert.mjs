// Convert end to end: dist/compile.js compile(file), timed beside nginx -t.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmtMBps, fmtMs, median, runNodeChild, settleWrites } from '../lib.mjs';

// `times` prints the shell's and then its children's user and system time.
const TIMES_LINE = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/;
// convert --timings' line on stderr: each stage's wall ms.
const TIMINGS_LINE = /^ngx2envoy: timings \(ms\): parse (\d+), analyze (\d+), lower (\d+), emit (\d+), validate (\d+), render (\d+), writing (\d+); total (\d+)$/m;
const STAGES = ['parse', 'analyze', 'lower', 'emit', 'validate', 'render', 'writing', 'total'];

/**
 * The command a user runs, end to end in its own process: parse, lower, emit,
 * validate against Envoy's protos, render and write envoy.yaml + reports, into
 * a new directory `out` (removed by the caller once every run is done).
 */
function convertCliOnce(root, file, out) {
  // (stderr, where --timings writes, to the pipe; stdout away)
  const script = '"$0" "$1" convert "$2" -o "$3" --timings 2>&1 >/dev/null; s=$?; times; exit $s';
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', script, process.execPath, join(root, 'bin/ngx2envoy.js'), file, out], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const lines = r.stdout.trim().split('\n');
  const m = TIMES_LINE.exec(lines[lines.length - 1] ?? '');
  const cpuMs = m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : undefined;
  const t = TIMINGS_LINE.exec(r.stdout);
  const stages = t ? Object.fromEntries(STAGES.map((s, i) => [s, Number(t[i + 1])])) : undefined;
  return { ms, cpuMs, status: r.status, stages };
}

export const name = 'convert';

export async function run(ctx) {
  const compiler = join(ctx.root, 'dist/compile.js');
  const command = `compile(${ctx.relFile})`;
  if (!existsSync(compiler)) return { rows: [{ command, figure: 'status', value: 'convert: not available yet' }] };
  const child = join(ctx.root, 'bench/children/convert.mjs');
  // End to end is slow next to a parse: fewer runs, each in the same child.
  const runs = Number(process.env.BENCH_CONVERT_RUNS ?? Math.min(ctx.runs, 3));
  const out = runNodeChild(child, [compiler, ctx.file, String(runs)], ['--expose-gc']);
  if (out.unavailable) return { rows: [{ command, figure: 'status', value: `convert: not available yet (${out.unavailable})` }] };
  const med = median(out.ms);
  ctx.results.convert = { ms: med };
  const rows = [
    { command, figure: `median of ${out.ms.length} runs`, value: fmtMs(med) },
    { command: '', figure: 'throughput', value: fmtMBps(ctx.bytes, med) },
  ];
  if (out.ok === false) rows.push({ command: '', figure: 'result', value: `not ok: ${out.firstError ?? 'see diagnostics'}` });
  const nginx = ctx.results.nginxTest;
  if (nginx) rows.push({ command: 'compile() vs nginx -t', figure: 'time ratio', value: `${(med / nginx.ms).toFixed(2)}× nginx -t's time` });

  // The whole command, validation and writing included, as a process like nginx -t.
  const cli = [];
  // Each run's output (~70 MB, 4,000 files) is removed after the last run, not before the
  // next one: ext4 skips inodes freed in the last ~30 s when it allocates new ones, and
  // that search made the next run pay up to 4 s of system time for the bench's own
  // clean-up, which a user's single run never follows.
  const outs = [];
  try {
    for (let i = 0; i < runs; i++) {
      settleWrites(); // the previous run's ~70 MB would otherwise be written back during this one
      outs.push(mkdtempSync(join(tmpdir(), 'ngx2envoy-bench-convert-')));
      cli.push(convertCliOnce(ctx.root, ctx.file, outs[outs.length - 1]));
    }
  } finally {
    for (const out of outs) rmSync(out, { recursive: true, force: true });
  }
  const cliCommand = `ngx2envoy convert ${ctx.relFile} -o <tmp>`;
  if (cli.some((r) => r.status !== 0)) {
    rows.push({ command: cliCommand, figure: 'status', value: `exit ${cli.find((r) => r.status !== 0).status}` });
    return { rows };
  }
  const cliWall = median(cli.map((r) => r.ms));
  const cliCpu = cli.every((r) => r.cpuMs !== undefined) ? median(cli.map((r) => r.cpuMs)) : undefined;
  rows.push({ command: cliCommand, figure: `wall, median of ${cli.length}`, value: fmtMs(cliWall) });
  if (cliCpu !== undefined) rows.push({ command: '', figure: 'CPU (user+sys)', value: fmtMs(cliCpu) });
  // Where the command's time goes (its own --timings, medians per stage).
  const staged = cli.every((r) => r.stages !== undefined);
  const stage = (s) => median(cli.map((r) => r.stages[s]));
  if (staged) {
    rows.push({ command: '', figure: 'stages (--timings), ms', value: STAGES.map((s) => `${s} ${Math.round(stage(s))}`).join(', ') });
  }
  if (nginx) {
    rows.push({ command: 'convert (CLI) vs nginx -t', figure: 'wall ratio', value: `${(cliWall / nginx.ms).toFixed(2)}× nginx -t's time` });
    if (cliCpu !== undefined && nginx.cpuMs) {
      rows.push({ command: '', figure: 'CPU ratio', value: `${(cliCpu / nginx.cpuMs).toFixed(2)}× nginx -t's CPU` });
    }
    if (staged) {
      // The run's wall time less lowering and emission (the compiler proper): what everything
      // else (start-up, parse, validation, rendering, writing) takes, per run, then the median.
      const rest = median(cli.map((r) => r.ms - r.stages.lower - r.stages.emit));
      rows.push({ command: '', figure: 'wall without lower+emit', value: `${fmtMs(rest)}, ${(rest / nginx.ms).toFixed(2)}× nginx -t's time` });
    }
  }
  return { rows };
}
