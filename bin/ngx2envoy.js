#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via `prepare`).
// launch.js loads only the modules of the command being run (start-up time).
import { setFlagsFromString } from 'node:v8';

// A one-shot command (convert, check, parse...) runs the compiler's functions cold, a few
// thousand times each: V8's optimising compiler, running beside it, costs about as much
// CPU as the code it optimises. A smaller inlining budget makes each optimisation cheaper
// (convert on the benchmark: about 17% less CPU, 8% less time). `serve` runs for days and
// keeps V8's defaults. (Set before any of the compiler's code is loaded.)
const longRunning = process.argv[2] === 'serve' || process.argv.includes('--serve');
if (!longRunning) setFlagsFromString('--max-inlined-bytecode-size-cumulative=200');

import('../dist/cli/launch.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`ngx2envoy: internal error: ${err && err.message ? err.message : err}\n`);
  process.exit(2);
});
