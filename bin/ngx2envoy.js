#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via `prepare`).
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`ngx2envoy: internal error: ${err && err.message ? err.message : err}\n`);
  process.exit(2);
});
