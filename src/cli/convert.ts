// `ngx2envoy convert FILE`: nginx.conf → Envoy static bootstrap (stdout), or with
// -o DIR: envoy.yaml|json (with --mode xds: the resources per type and the ADS
// bootstraps), report.json, report.md and consul/. Exit 1 on bad input (and on
// unsupported directives under --strict), 2 when the output fails validation
// (a compiler bug: an invalid configuration is never printed).
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { compile, renderBootstrap, renderReport, type CompileResult } from '../compile.js';
import { formatDiagnostic } from '../parse/index.js';
import { lineOf } from '../parse/diagnostic.js';
import { validateBootstrap, validateXdsResources, formatFindings, hasErrors } from '../validate/index.js';
import { consulOutputFiles } from '../emit/consul/index.js';
import { renderReportJsonBytes } from '../report/render.js';
import { CliExit } from './exit.js';
// Loaded when used (start-up of the plain command): ../emit/envoy/xds.js for --mode xds
// (it brings the yaml library), ./serve.js for --serve (the gRPC server).

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
  files: OutputFile[];
}

/** A file of `-o DIR`. `bytes`, when present, is its UTF-8 text as built (written as is). */
export interface OutputFile {
  path: string;
  text: string;
  bytes?: Uint8Array;
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
      if (serve.serve) return (await import('./serve.js')).serveCommand(file, { xdsAddress: serve.xdsAddress, adminAddress: serve.adminAddress, context: opts.context, prefix: opts.prefix });
      const out = await runConvert(file, opts);
      // A backend removed from nginx.conf must not leave its Consul definition behind for an agent to load.
      if (opts.out && out.exitCode === 0) removeStaleConsulFiles(opts.out, out.files.map((f) => f.path));
      writeOutputFiles(out.files);
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
  const xds = opts.mode === 'xds' ? await import('../emit/envoy/xds.js') : null;
  let resources: unknown = null;
  if (xds) {
    resources = xds.toXdsResources(result.bootstrap);
    const xdsFindings = validateXdsResources(resources as Parameters<typeof validateXdsResources>[0]);
    if (hasErrors(xdsFindings)) {
      return { stdout: '', stderr: [...stderrParts, 'ngx2envoy: internal error: the generated xDS resources are invalid:', formatFindings(xdsFindings)].join('\n') + '\n', exitCode: 2, files: [] };
    }
  }
  // The configuration's text is built once, for where it goes (with -o and --mode xds, the xDS files build their own).
  const configText = (): string => (xds ? JSON.stringify(resources, null, 2) + '\n' : renderBootstrap(result, format));
  const warnings = summaryLine(result);
  if (!opts.out) return { stdout: configText(), stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n', exitCode: 0, files: [] };
  const ext = format === 'json' ? 'json' : 'yaml';
  // xDS mode writes one file per resource type plus the ADS bootstraps; static mode the bootstrap.
  const envoyFiles: OutputFile[] = xds
    ? xds.xdsConvertFiles(result.bootstrap, opts.out, {}, result.comments)
    : [{ path: join(opts.out, `envoy.${ext}`), text: configText() }];
  // Consul registrations for the backends. Their config identity is the main file's path
  // relative to DIR, so committed output is the same on every machine (check compares it).
  const consulFiles = result.ir ? consulOutputFiles(result.ir, opts.out, { configId: relative(resolve(opts.out), resolve(file)) }) : [];
  return {
    stdout: '',
    stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n',
    exitCode: 0,
    files: [
      ...envoyFiles,
      bytesFile(join(opts.out, 'report.json'), renderReportJsonBytes(result.report)),
      { path: join(opts.out, 'report.md'), text: renderReport(result.report, 'md') },
      ...consulFiles,
    ],
  };
}

/**
 * report.json is built as bytes (35 MB on the benchmark): written as they are, its text is
 * decoded only if a caller reads it (check compares texts; the command never does).
 */
function bytesFile(path: string, bytes: Buffer): OutputFile {
  let text: string | undefined;
  return {
    path,
    bytes,
    get text(): string {
      text ??= bytes.toString('utf8');
      return text;
    },
  };
}

/** Each directory is created once (4,000 Consul files share two), then each file written once. */
export function writeOutputFiles(files: OutputFile[]): void {
  const made = new Set<string>();
  for (const f of files) {
    const dir = dirname(f.path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeInPlace(f.path, f.bytes ?? Buffer.from(f.text, 'utf8'));
  }
}

/**
 * Writes `bytes` as the whole content of `path`: over the old content, then cut to length.
 * Not writeFileSync: its O_TRUNC first empties the file, and emptying thousands of existing
 * files (the Consul ones on every re-run) cost ext4 about 7 times the CPU of the writes.
 */
export function writeInPlace(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666);
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, at);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** Removes DIR/consul/{agent,catalog}/*.json files that this run does not write. */
export function removeStaleConsulFiles(dir: string, keep: string[]): void {
  const kept = new Set(keep.map((p) => resolve(p)));
  for (const sub of ['agent', 'catalog']) {
    const folder = resolve(dir, 'consul', sub);
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue; // no such folder yet: nothing stale
    }
    for (const name of names) {
      const path = join(folder, name);
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
