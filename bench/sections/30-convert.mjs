// Convert end to end: dist/compile.js compile(file), timed beside nginx -t.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMBps, fmtMs, median, runNodeChild } from '../lib.mjs';

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
  if (nginx) rows.push({ command: 'convert vs nginx -t', figure: 'time ratio', value: `${(med / nginx.ms).toFixed(2)}× nginx -t's time` });
  return { rows };
}
