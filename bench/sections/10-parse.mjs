// Parse: the built parser's loadConfig on the generated file, in a child with
// --expose-gc: median wall time over several runs, and peak memory of one run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMB, fmtMBps, fmtMs, median, runNodeChild } from '../lib.mjs';

export const name = 'parse';

export async function run(ctx) {
  const parser = join(ctx.root, 'dist/parse/index.js');
  const command = `loadConfig(${ctx.relFile})`;
  if (!existsSync(parser)) return { rows: [{ command, figure: 'status', value: 'not available yet (no dist/parse/index.js)' }] };
  const child = join(ctx.root, 'bench/children/parse.mjs');
  const mem = runNodeChild(child, ['memory', parser, ctx.file], ['--expose-gc']);
  const { ms, cpuMs } = runNodeChild(child, ['time', parser, ctx.file, String(ctx.runs)], ['--expose-gc']);
  const med = median(ms);
  const cpu = median(cpuMs);
  ctx.results.parse = { ms: med, cpuMs: cpu, peakRssDelta: mem.peakRssDelta };
  const ratio = (bytes) => `${(bytes / ctx.bytes).toFixed(1)}× file`;
  const rows = [
    { command, figure: `median of ${ms.length} runs`, value: fmtMs(med) },
    { command: '', figure: 'throughput', value: fmtMBps(ctx.bytes, med) },
    { command: '', figure: 'CPU time (median)', value: `${fmtMs(cpu)} (${fmtMBps(ctx.bytes, cpu)})` },
    { command: '', figure: 'peak RSS over baseline', value: `${fmtMB(mem.peakRssDelta)} (${ratio(mem.peakRssDelta)})${mem.hwmReset ? '' : ' [HWM not reset]'}` },
    { command: '', figure: 'retained heap (result)', value: `${fmtMB(mem.retainedHeap)} (${ratio(mem.retainedHeap)})` },
    { command: '', figure: 'goal: peak < 10× file', value: mem.peakRssDelta < 10 * ctx.bytes ? 'met' : 'NOT met' },
  ];
  if (mem.errors) rows.push({ command: '', figure: 'parse errors', value: `${mem.errors} (first: ${mem.firstError})` });
  return { rows };
}
