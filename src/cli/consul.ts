// `ngx2envoy consul register|deregister FILE`: registers the backends of an
// nginx configuration in Consul (one service per upstream or inline proxy_pass
// target, one instance per `server` line), or removes them. Idempotent: what is
// registered already is left alone, and the instances this config registered
// earlier that are no longer in it are removed. A refusal from Consul is one
// line on stderr and exit 1.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { buildRegistrations, type CheckKind, type ConsulRegistrations } from '../emit/consul/index.js';
import { ConsulAddressError, resolveConnection, type ConsulConnection } from '../consul/connection.js';
import { ConsulRequestError } from '../consul/errors.js';
import { formatPlan, planSummary, type ConsulMode, type ConsulPlan } from '../consul/plan.js';
import { removeRegistrations, syncRegistrations } from '../consul/sync.js';
import { formatDiagnostic } from '../parse/index.js';
import type { CompiledConfig } from '../ir/types.js';
import { CliExit } from './exit.js';

export interface ConsulCommandOptions {
  consulAddr?: string;
  token?: string;
  mode?: ConsulMode;
  dryRun?: boolean;
  context?: string;
  prefix?: string;
  check?: CheckKind;
  checkPath?: string;
  configId?: string;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function registerConsul(program: Command): void {
  const consul = program.command('consul').description('register the backends of an nginx configuration in Consul');
  consulSubcommand(consul, 'register', 'register (or update) one Consul instance per upstream server; remove the ones no longer in the config');
  consulSubcommand(consul, 'deregister', 'remove every Consul instance this configuration registered (the file need not exist any more)');
}

function consulSubcommand(parent: Command, action: 'register' | 'deregister', description: string): void {
  parent
    .command(action)
    .description(description)
    .argument('<file>', 'the nginx configuration file')
    .option('--consul-addr <url>', 'Consul HTTP address, host:port or URL (default: $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (default: $CONSUL_HTTP_TOKEN or $CONSUL_HTTP_TOKEN_FILE)')
    .addOption(new Option('--mode <mode>', 'agent: the local agent registers and checks; catalog: external nodes (no agent on the backends)').choices(['agent', 'catalog']).default('agent'))
    .option('--dry-run', 'print the plan (register/update/deregister per instance) and change nothing')
    .addOption(
      new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http)')
        .choices(['auto', 'main', 'http', 'server', 'location', 'stream'])
        .default('auto'),
    )
    .option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)")
    .addOption(new Option('--check <kind>', 'health check per instance').choices(['tcp', 'http', 'none']).default('tcp'))
    .option('--check-path <path>', 'path of the HTTP check', '/')
    .option('--config-id <id>', "identity of this configuration in Consul meta (default: the file's absolute path)")
    .action(async (file: string, opts: ConsulCommandOptions) => {
      const out = await runConsulCommand(action, file, opts);
      process.stdout.write(out.stdout);
      if (out.exitCode !== 0) throw new CliExit(out.exitCode, out.stderr);
      process.stderr.write(out.stderr);
    });
}

/** The whole command as plain data in and out (testable without a process). */
export async function runConsulCommand(
  action: 'register' | 'deregister',
  file: string,
  opts: ConsulCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandOutput> {
  const configId = opts.configId ?? resolve(file);
  // deregister needs only the config's identity: it works on a config that is gone or broken.
  let registrations: ConsulRegistrations | null = null;
  if (action === 'register') {
    const compiled = await compileFile(file, opts);
    if ('stderr' in compiled) return { stdout: '', stderr: compiled.stderr, exitCode: 1 };
    registrations = buildRegistrations(compiled.ir, { configId, check: opts.check ?? 'tcp', httpPath: opts.checkPath ?? '/' });
  }
  let conn: ConsulConnection;
  try {
    conn = resolveConnection({ consulAddr: opts.consulAddr, token: opts.token }, env);
  } catch (err) {
    if (err instanceof ConsulAddressError) return fail(err.message);
    throw err;
  }
  const sync = { conn, mode: opts.mode ?? 'agent', dryRun: opts.dryRun === true };
  try {
    const result = registrations ? await syncRegistrations(registrations, sync) : await removeRegistrations(configId, sync);
    const skippedLines = (registrations?.skipped ?? []).map(
      (s) => `${'skip'.padEnd(10)} ${s.upstream} ${s.server} (${s.source.file}:${s.source.line}: ${s.reason})`,
    );
    const lines = [...formatPlan(result.plan), ...skippedLines, summaryLine(result.plan, conn, result.applied)];
    return { stdout: lines.join('\n') + '\n', stderr: '', exitCode: 0 };
  } catch (err) {
    if (err instanceof ConsulRequestError) return fail(`consul: ${err.message}`);
    throw err;
  }
}

function fail(message: string): CommandOutput {
  return { stdout: '', stderr: `ngx2envoy: ${message}\n`, exitCode: 1 };
}

function summaryLine(plan: ConsulPlan, conn: ConsulConnection, applied: boolean): string {
  const n = planSummary(plan);
  const nodes = plan.nodeRemovals.length ? `, ${plan.nodeRemovals.length} node(s) removed` : '';
  const foreign = n.foreign ? `, ${n.foreign} held by another config` : '';
  const counts = applied
    ? `${n.register} registered, ${n.update} updated, ${n.deregister} deregistered, ${n.unchanged} unchanged${foreign}${nodes}`
    : `${n.register} to register, ${n.update} to update, ${n.deregister} to deregister, ${n.unchanged} unchanged${foreign}${nodes} (dry run: nothing sent)`;
  return `consul ${plan.mode} ${conn.baseUrl}: ${counts}`;
}

// ---------------------------------------------------------------- compiling

interface CompileDiagnostic {
  severity: 'error' | 'warning';
  message: string;
  source: { file: string; line: number; col: number };
}
interface CompileResultShape {
  ok: boolean;
  ir: CompiledConfig | null;
  diagnostics: CompileDiagnostic[];
}
type CompileFn = (file: string, options: { context?: string; prefix?: string }) => CompileResultShape;

async function compileFile(
  file: string,
  opts: ConsulCommandOptions,
): Promise<{ ir: CompiledConfig } | { stderr: string }> {
  const compile = await loadCompiler();
  const result = compile(file, { context: opts.context ?? 'auto', prefix: opts.prefix });
  // Only errors stop registration; warnings are about routing and belong to `convert`.
  const errors = result.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => formatDiagnostic(d as Parameters<typeof formatDiagnostic>[0]) + '\n')
    .join('');
  if (!result.ok || !result.ir) return { stderr: errors || `ngx2envoy: ${file}: cannot be compiled\n` };
  return { ir: result.ir };
}

// The compiler module lands separately; it is loaded by name so this command builds before it exists.
const COMPILER_MODULE = '../compile.js';
async function loadCompiler(): Promise<CompileFn> {
  const mod = (await import(COMPILER_MODULE)) as { compile: CompileFn };
  return mod.compile;
}

