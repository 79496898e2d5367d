// `ngx2envoy convert FILE`: nginx.conf → Envoy static bootstrap (stdout), or with
// -o DIR: envoy.yaml|json (with --mode xds: the resources per type and the ADS
// bootstraps), report.json, report.md and consul/. Exit 1 on bad input (and on
// unsupported directives under --strict), 2 when the output fails validation
// (a compiler bug: an invalid configuration is never printed).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { compile, renderBootstrap, renderReport, type CompileResult } from '../compile.js';
import { formatDiagnostic } from '../parse/index.js';
import { lineOf } from '../parse/diagnostic.js';
import { validateBootstrap, validateXdsResources, formatFindings, hasErrors } from '../validate/index.js';
import { toXdsResources, xdsConvertFiles } from '../emit/envoy/xds.js';
import { consulOutputFiles } from '../emit/consul/index.js';
import { CliExit } from './exit.js';
import { serveCommand } from './serve.js'; // --serve (issue 4)

export interface ConvertOptions {
  format?: 'yaml' | 'json';
  out?: string;
  strict?: boolean;
  context?: string;
  prefix?: string;
  mode?: 'static' | 'xds';
}

export interface ConvertOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
  files: { path: string; text: string }[];
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('compile an nginx configuration to an Envoy static bootstrap (and a migration report)')
    .argument('<file>', 'the nginx configuration file')
    .addOption(new Option('--format <fmt>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('-o, --out <dir>', 'write envoy.yaml (or .json; with --mode xds the xDS files), report.json, report.md and consul/ into DIR')
    .option('--strict', 'unsupported directives are errors')
    .addOption(new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http)').choices(['auto', 'main', 'http', 'server']).default('auto'))
    .option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)")
    .addOption(new Option('--mode <mode>', 'static bootstrap or xDS resources').choices(['static', 'xds']).default('static'))
    // --- `convert FILE --serve` (issue 4, xDS engineer): the same as `ngx2envoy serve FILE` (src/cli/serve.ts).
    .option('--serve', 'serve the result to Envoy over xDS (ADS), reloading on change, instead of writing it')
    .option('--xds-address <host:port>', 'with --serve: where the ADS server listens (default 127.0.0.1:18000)')
    .option('--admin-address <host:port>', 'with --serve: where the admin endpoint listens (default 127.0.0.1:19100)')
    // --- end of the --serve options
    .action(async (file: string, opts: ConvertOptions) => {
      // --serve (issue 4): run the xDS server until SIGTERM instead of writing files.
      const serve = opts as ConvertOptions & { serve?: boolean; xdsAddress?: string; adminAddress?: string };
      if (serve.serve) return serveCommand(file, { xdsAddress: serve.xdsAddress, adminAddress: serve.adminAddress, context: opts.context, prefix: opts.prefix });
      const out = await runConvert(file, opts);
      // A backend removed from nginx.conf must not leave its Consul definition behind for an agent to load.
      if (opts.out && out.exitCode === 0) removeStaleConsulFiles(opts.out, out.files.map((f) => f.path));
      for (const f of out.files) {
        mkdirSync(join(f.path, '..'), { recursive: true });
        writeFileSync(f.path, f.text);
      }
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      if (out.exitCode !== 0) throw new CliExit(out.exitCode);
    });
}

/** The whole command as data in and out (testable without a process). */
export async function runConvert(file: string, opts: ConvertOptions): Promise<ConvertOutput> {
  const result = compile(file, { context: opts.context, prefix: opts.prefix, strict: opts.strict });
  const stderrParts = result.diagnostics.map((d) => formatDiagnostic(withLine(d)));
  if (!result.ok || !result.bootstrap) {
    return { stdout: '', stderr: stderrParts.join('\n') + '\n', exitCode: 1, files: [] };
  }
  const findings = validateBootstrap(result.bootstrap);
  if (hasErrors(findings)) {
    return { stdout: '', stderr: [...stderrParts, 'ngx2envoy: internal error: the generated configuration is invalid:', formatFindings(findings)].join('\n') + '\n', exitCode: 2, files: [] };
  }
  const format = opts.format ?? 'yaml';
  let text: string;
  if (opts.mode === 'xds') {
    const resources = toXdsResources(result.bootstrap);
    const xdsFindings = validateXdsResources(resources as Parameters<typeof validateXdsResources>[0]);
    if (hasErrors(xdsFindings)) {
      return { stdout: '', stderr: [...stderrParts, 'ngx2envoy: internal error: the generated xDS resources are invalid:', formatFindings(xdsFindings)].join('\n') + '\n', exitCode: 2, files: [] };
    }
    text = JSON.stringify(resources, null, 2) + '\n';
  } else text = renderBootstrap(result, format);
  const warnings = summaryLine(result);
  if (!opts.out) return { stdout: text, stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n', exitCode: 0, files: [] };
  const ext = format === 'json' ? 'json' : 'yaml';
  // xDS mode writes one file per resource type plus the ADS bootstraps; static mode the bootstrap.
  const envoyFiles =
    opts.mode === 'xds' ? xdsConvertFiles(result.bootstrap, opts.out, {}, result.comments) : [{ path: join(opts.out, `envoy.${ext}`), text }];
  // Consul registrations for the backends. Their config identity is the main file's path
  // relative to DIR, so committed output is the same on every machine (check compares it).
  const consulFiles = result.ir ? consulOutputFiles(result.ir, opts.out, { configId: relative(resolve(opts.out), resolve(file)) }) : [];
  return {
    stdout: '',
    stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n',
    exitCode: 0,
    files: [
      ...envoyFiles,
      { path: join(opts.out, 'report.json'), text: renderReport(result.report, 'json') },
      { path: join(opts.out, 'report.md'), text: renderReport(result.report, 'md') },
      ...consulFiles,
    ],
  };
}

function removeStaleConsulFiles(dir: string, keep: string[]): void {
  const kept = new Set(keep.map((p) => resolve(p)));
  for (const sub of ['agent', 'catalog']) {
    const folder = join(dir, 'consul', sub);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      const path = resolve(folder, name);
      if (name.endsWith('.json') && !kept.has(path)) rmSync(path);
    }
  }
}

function summaryLine(r: CompileResult): string {
  const s = r.report.summary;
  return `ngx2envoy: ${s.directives} directives: ${s.translated} translated, ${s.approximated} approximated, ${s.ignored} ignored, ${s.unsupported} unsupported`;
}

const texts = new Map<string, string[]>();
function withLine(d: CompileResult['diagnostics'][number]): CompileResult['diagnostics'][number] {
  if (d.lineText !== undefined) return d;
  try {
    let lines = texts.get(d.source.file);
    if (!lines) {
      lines = readFileSync(d.source.file, 'utf8').split('\n');
      texts.set(d.source.file, lines);
    }
    const text = lines[d.source.line - 1];
    return text === undefined ? d : { ...d, lineText: text };
  } catch {
    return d;
  }
}
void lineOf;
