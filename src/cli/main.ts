// Entry point of the `ngx2envoy` command. Each subcommand lives in its own module
// and registers itself; this file only wires them and maps errors to exit codes:
// 0 ok, 1 bad input / differences found, 2 usage error or internal bug.
import { Command, CommanderError } from 'commander';
import { registerParse } from './parse.js';
import { registerConvert } from './convert.js';
import { registerServe } from './serve.js';
import { registerConsul } from './consul.js';
import { registerReview } from './review.js';
import { CliExit } from './exit.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ngx2envoy')
    .description('Compile nginx configuration to Envoy: static bootstrap, xDS, Consul registrations')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerParse(program);
  registerConvert(program);
  registerServe(program);
  registerConsul(program);
  registerReview(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CliExit) {
    if (err.message) process.stderr.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
    return err.code;
  }
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other commander error is a usage error.
    return err.exitCode === 0 ? 0 : 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ngx2envoy: internal error: ${message}\n`);
  return 2;
}
