// `npm run bench`: generates the large config into bench/out/ and runs every
// section in bench/sections/ in file-name order. A section is a module that
// exports `name` and `async run(ctx)` returning `{ rows: [{command, figure, value}] }`;
// it may leave figures in `ctx.results` for later sections' ratios (parse →
// nginx -t → convert). Later benchmarks (xDS push latency, …) plug in as new
// files there, e.g. bench/sections/40-xds-push.mjs.
//
// Environment: BENCH_RUNS (runs per timing, default 5), BENCH_CONVERT_RUNS
// (default: BENCH_RUNS, at most 3), BENCH_ONLY (comma-separated section names,
// e.g. `BENCH_ONLY=parse,nginx-t`; default all).
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULTS, generateConfig } from './generate.mjs';
import { fmtMB, printTable, settleWrites } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench/out');
const file = join(outDir, 'bench.conf');

mkdirSync(outDir, { recursive: true });
// Written aside and renamed, so a concurrent run never reads a half-written file.
const partial = `${file}.${process.pid}.tmp`;
writeFileSync(partial, generateConfig());
renameSync(partial, file);
const ctx = {
  root,
  file,
  relFile: relative(process.cwd(), file) || file,
  bytes: statSync(file).size,
  runs: Number(process.env.BENCH_RUNS ?? 5),
  results: {},
};
console.log(
  `generated ${ctx.relFile}: ${fmtMB(ctx.bytes)} — ${DEFAULTS.servers} servers × ${DEFAULTS.locationsPerServer} locations, ` +
    `${DEFAULTS.upstreams} upstreams, ${DEFAULTS.mapEntries}-entry map; node ${process.version}\n`,
);

const sectionDir = join(root, 'bench/sections');
// Names compared on letters and digits only: `nginx-t` selects "nginx -t".
const key = (name) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const only = process.env.BENCH_ONLY?.split(',').map(key);
const selected = (name) => !only || only.includes(key(name));
const rows = [];
let failed = false;
for (const entry of readdirSync(sectionDir).filter((f) => f.endsWith('.mjs')).sort()) {
  const section = await import(pathToFileURL(join(sectionDir, entry)).href);
  if (!selected(section.name)) continue;
  // Flush what earlier sections wrote (convert leaves ~70 MB and 4,000 files per
  // run): the kernel's writeback would otherwise run during this section's timings.
  settleWrites();
  try {
    const { rows: sectionRows } = await section.run(ctx);
    rows.push(...sectionRows.map((r) => ({ section: section.name, ...r })));
  } catch (err) {
    failed = true;
    rows.push({ section: section.name, command: '', figure: 'error', value: String(err.message ?? err).split('\n')[0] });
    console.error(`section ${section.name} failed:\n${err.stack ?? err}`);
  }
}
printTable(rows);
if (failed) process.exitCode = 1;
