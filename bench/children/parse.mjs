// Child process of the parse benchmark (run with --expose-gc so each
// measurement starts from a collected heap).
//   node --expose-gc children/parse.mjs time   <parser-module> <file> <runs>
//   node --expose-gc children/parse.mjs memory <parser-module> <file>
// Prints one JSON line.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [mode, modulePath, file, runsArg] = process.argv.slice(2);
const { loadConfig } = await import(pathToFileURL(modulePath).href);
if (typeof loadConfig !== 'function') throw new Error(`${modulePath} exports no loadConfig`);
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc');

const load = async () => loadConfig(file);
const statusKb = (field) => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
};

async function time(runs) {
  await load(); // warm-up: lets the JIT compile the parser before measuring
  const ms = [];
  const cpuMs = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await load();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { ms, cpuMs };
}

// Peak RSS during one load: the kernel's high-water mark (VmHWM), reset just
// before the load by writing 5 to clear_refs; the sync parse cannot be sampled
// from its own thread. Retained heap: what the result still holds after a GC.
async function memory() {
  gc();
  let hwmReset = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    hwmReset = false;
  }
  const before = process.memoryUsage();
  const result = await load();
  const peakRss = statusKb('VmHWM') ?? process.memoryUsage().rss;
  gc();
  const after = process.memoryUsage();
  const errors = Array.isArray(result?.errors) ? result.errors.length : undefined;
  return {
    baselineRss: before.rss,
    peakRss,
    peakRssDelta: peakRss - before.rss,
    retainedHeap: after.heapUsed - before.heapUsed,
    hwmReset,
    errors,
    firstError: errors ? result.errors[0]?.message : undefined,
  };
}

const out = mode === 'time' ? await time(Number(runsArg)) : await memory();
console.log(JSON.stringify(out));
