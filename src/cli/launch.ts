// What bin/ngx2envoy.js runs. A command loads only its own modules: `convert` does not
// pay for the gRPC server (serve), the Consul client (consul) or the review tools
// (check/diff/explain), which together took most of the start-up. Help and unknown
// commands load them all, so the full command list is shown; --version needs none.
import { Command, CommanderError } from 'commander';
import { CliExit } from './exit.js';

export type RegisterCommand = (program: Command) => void;

interface CommandModule {
  /** The top-level command names the module registers. */
  names: string[];
  load: () => Promise<RegisterCommand>;
}

/** In help order (the order of buildProgram in main.ts). */
export const COMMAND_MODULES: CommandModule[] = [
  { names: ['parse'], load: async () => (await import('./parse.js')).registerParse },
  { names: ['convert'], load: async () => (await import('./convert.js')).registerConvert },
  { names: ['serve'], load: async () => (await import('./serve.js')).registerServe },
  { names: ['consul'], load: async () => (await import('./consul.js')).registerConsul },
  { names: ['check', 'diff', 'explain'], load: async () => (await import('./review.js')).registerReview },
];

/** The modules a command line needs: the one registering its command, or all of them. */
export function commandModulesFor(argv: string[]): CommandModule[] {
  const name = argv[2];
  if (argv.length === 3 && (name === '--version' || name === '-V')) return [];
  const own = COMMAND_MODULES.filter((m) => name !== undefined && m.names.includes(name));
  return own.length > 0 ? own : COMMAND_MODULES;
}

export function newProgram(registers: RegisterCommand[]): Command {
  const program = new Command();
  program
    .name('ngx2envoy')
    .description('Compile nginx configuration to Envoy: static bootstrap, xDS, Consul registrations')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  for (const register of registers) register(program);
  return program;
}

/**
 * `ngx2envoy … | head`: once the reader has gone, writing more is pointless, not an error.
 * Without this a closed pipe ends the process with an unhandled EPIPE and its stack trace.
 */
const quietStreams = new WeakSet<NodeJS.WriteStream>();
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  // Once per stream: main() also runs many times in one process (the tests).
  if (quietStreams.has(stream)) return;
  quietStreams.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe(process.stdout);
  try {
    const registers = await Promise.all(commandModulesFor(argv).map((m) => m.load()));
    await newProgram(registers).parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

/** 0 ok, 1 bad input / differences found, 2 usage error or internal bug. */
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
