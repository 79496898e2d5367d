// Generates the parser from grammar/nginx.peggy. The output is never edited by hand
// and never committed (see .gitignore); `npm run build` and `npm test` regenerate it.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src/parse/generated/nginx-parser.js');
mkdirSync(dirname(out), { recursive: true });
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/peggy/bin/peggy.js'),
    '--format', 'es',
    '--dts',
    '--allowed-start-rules', 'Config',
    '--plugin', join(root, 'scripts/peggy-class-tables.mjs'),
    '-o', out,
    join(root, 'grammar/nginx.peggy'),
  ],
  { stdio: 'inherit' },
);
