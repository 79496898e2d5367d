// Child process of the convert benchmark:
//   node --expose-gc children/convert.mjs <compile-module> <file> <runs>
// Prints one JSON line: {ms: [...]} or {unavailable: reason}.
import { pathToFileURL } from 'node:url';

const [modulePath, file, runsArg] = process.argv.slice(2);
const mod = await import(pathToFileURL(modulePath).href);
if (typeof mod.compile !== 'function') {
  console.log(JSON.stringify({ unavailable: `${modulePath} exports no compile()` }));
} else {
  // No warm-up run: like nginx -t, each figure includes the first, cold pass.
  const ms = [];
  let result;
  for (let i = 0; i < Number(runsArg); i++) {
    result = undefined;
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    result = await mod.compile(file);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const firstError = result?.diagnostics?.find((d) => d.severity === 'error');
  console.log(JSON.stringify({ ms, ok: result?.ok, firstError: firstError?.message }));
}
