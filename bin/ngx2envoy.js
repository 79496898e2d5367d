#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via `prepare`).
// launch.js loads only the modules of the command being run (start-up time).
import('../dist/cli/launch.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`ngx2envoy: internal error: ${err && err.message ? err.message : err}\n`);
  process.exit(2);
});
