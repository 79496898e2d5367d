// Entry point of the `ngx2envoy` command. Each subcommand lives in its own module
// and registers itself. `main` (launch.ts) loads only the module of the command
// being run; buildProgram gives the whole program at once (for tests and tools
// that need the Command synchronously). Exit codes: 0 ok, 1 bad input /
// differences found, 2 usage error or internal bug.
import type { Command } from 'commander';
import { registerParse } from './parse.js';
import { registerConvert } from './convert.js';
import { registerServe } from './serve.js';
import { registerConsul } from './consul.js';
import { registerReview } from './review.js';
import { newProgram } from './launch.js';

export { main } from './launch.js';

export function buildProgram(): Command {
  return newProgram([registerParse, registerConvert, registerServe, registerConsul, registerReview]);
}
