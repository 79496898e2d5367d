// `ngx2envoy convert FILE`: nginx.conf → Envoy static bootstrap (stdout), or with
// -o DIR: envoy.yaml|json (with --mode xds: the resources per type and the ADS
// bootstraps), report.json, report.md and consul/. Exit 1 on bad input (and on
// unsupported directives under --strict), 2 when the output fails validation
// (a compiler bug: an invalid configuration is never printed).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { compile, newStageTimings, renderBootstrap, renderBootstrapBytes, renderReport, type CompileResult, type Report, type StageTimings } from '../compile.js';
import { formatDiagnostic } from '../parse/index.js';
import { lineOf } from '../parse/diagnostic.js';
import { validateBootstrap, validateXdsResources, formatFindings, hasErrors } from '../validate/index.js';
import { consulBackendsOf, consulFilePaths, renderConsulFilesOf, type ConsulBackends } from '../emit/consul/index.js';
import { renderReportJsonBytes } from '../report/render.js';
import { toYamlBlocks } from '../emit/envoy/yaml.js';
import { packedBuffers, packReport } from '../report/packed.js';
import { CliExit } from './exit.js';
import { FileWriter, writeOutputFiles, type OutputFile } from './file-writer.js';

export { writeInPlace, writeOutputFiles, type OutputFile } from './file-writer.js';
// Loaded when used (start-up of the plain command): ../emit/envoy/xds.js for --mode xds
// (it brings the yaml library), ./serve.js for --serve (the gRPC server).

export interface ConvertOptions {
  format?: 'yaml' | 'json';
  out?: string;
  strict?: boolean;
  context?: string;
  prefix?: string;
  mode?: 'static' | 'xds';
  /** Measure each stage (printed by the command on stderr, returned by runConvert). */
  timings?: boolean;
}

/** Wall ms of each stage of a conversion: the compiler's, then validation and rendering. */
export interface ConvertTimings extends StageTimings {
  validate: number;
  render: number;
}

export interface ConvertOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
  files: OutputFile[];
  /** With `timings`: what each stage took (absent when the input was bad). */
  timings?: ConvertTimings;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('compile an nginx configuration to an Envoy static bootstrap (and a migration report)')
    .argument('<file>', 'the nginx configuration file')
    .addOption(new Option('--format <fmt>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('-o, --out <dir>', 'write envoy.yaml (or .json; with --mode xds the xDS files), report.json, report.md and consul/ into DIR')
    .option('--strict', 'unsupported directives are errors')
    .addOption(new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http; stream for the body of stream {})').choices(['auto', 'main', 'http', 'server', 'stream']).default('auto'))
    .option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)")
    .addOption(new Option('--mode <mode>', 'static bootstrap or xDS resources').choices(['static', 'xds']).default('static'))
    .option('--timings', 'print on stderr how long each stage took (parse, analyze, lower, emit, validate, render, writing)')
    // --- `convert FILE --serve` (issue 4, xDS engineer): the same as `ngx2envoy serve FILE` (src/cli/serve.ts).
    .option('--serve', 'serve the result to Envoy over xDS (ADS), reloading on change, instead of writing it')
    .option('--xds-address <host:port>', 'with --serve: where the ADS server listens (default 127.0.0.1:18000)')
    .option('--admin-address <host:port>', 'with --serve: where the admin endpoint listens (default 127.0.0.1:19100)')
    // --- end of the --serve options
    .action(async (file: string, opts: ConvertOptions) => {
      // --serve (issue 4): run the xDS server until SIGTERM instead of writing files.
      const serve = opts as ConvertOptions & { serve?: boolean; xdsAddress?: string; adminAddress?: string };
      if (serve.serve) return (await import('./serve.js')).serveCommand(file, { xdsAddress: serve.xdsAddress, adminAddress: serve.adminAddress, context: opts.context, prefix: opts.prefix });
      // With -o, each file is written on a worker thread as soon as it is rendered (file-writer.ts).
      const writer = opts.out ? new FileWriter(opts.out) : null;
      // A first conversion into DIR writes consul/ early, staged beside it (see ConsulStaging).
      const staging = writer && opts.out && !existsSync(join(opts.out, 'consul')) ? new ConsulStaging(opts.out) : null;
      // Compiled code (not the test runner's sources): the writer's thread also renders consul/ and
      // the reports, while this one validates and renders envoy.yaml. One thread, not one per
      // task: on two cores every thread's start-up, module loading, JIT and GC is CPU taken
      // from this one (about 0.3 s each on the benchmark).
      const hooks: ConvertHooks = {};
      if (writer) {
        hooks.onFiles = (files) => writer.write(files);
        if (staging) hooks.onConsulEarly = (files) => writer.write(staging.stage(files));
        if (COMPILED) hooks.elsewhere = onWriterThread(writer, staging);
      }
      let out: ConvertOutput;
      try {
        out = await runConvert(file, opts, hooks);
        // A backend removed from nginx.conf must not leave its Consul definition behind for an agent to load.
        // (Safe beside the writer: it removes only files this run does not write.)
        if (opts.out && out.exitCode === 0 && !staging) removeStaleConsulFiles(opts.out, out.files.map((f) => f.path));
      } catch (err) {
        await writer?.abort();
        staging?.discard();
        throw err;
      }
      const rendered = performance.now();
      try {
        // The writer finishes (or fails) before anything is published or discarded.
        await writer?.close();
      } catch (err) {
        staging?.discard();
        throw err;
      }
      if (staging) {
        if (out.exitCode === 0) staging.publish(out.files);
        else staging.discard();
      }
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      if (out.timings) process.stderr.write(timingsLine(out.timings, performance.now() - rendered, performance.now()) + '\n');
      if (out.exitCode !== 0) throw new CliExit(out.exitCode);
    });
}

/** What the caller of runConvert may take part in (the CLI: its writer thread). */
export interface ConvertHooks {
  /** With -o: the files as each is rendered, before the next is started. */
  onFiles?: (files: OutputFile[]) => void;
  /**
   * With -o: consul/ handed over once lowered, before validation, instead of to onFiles
   * after it (a first conversion: the taker stages them, see ConsulStaging).
   */
  onConsulEarly?: (files: OutputFile[]) => void;
  /** Files made elsewhere from plain data. */
  elsewhere?: OutputElsewhere;
}

/**
 * Takes over the rendering of files (and their writing): each returns the files as they
 * will be once written, or null to leave them to be rendered here.
 */
export interface OutputElsewhere {
  /**
   * Called once compiled, before validation, so that the report is rendered while this
   * thread validates: its files must not be written before `validated` is called.
   */
  report(report: Report, dir: string): OutputFile[] | null;
  /** The configuration passed validation: what `report` took may be written. */
  validated(): void;
  /** Called when consul/ would be handed to onConsulEarly (`early`) or to onFiles. */
  consul(backends: ConsulBackends, dir: string, early: boolean): OutputFile[] | null;
}

/**
 * The whole command as data in and out (testable without a process). With `-o`, the files
 * are returned in the order envoy, report.json, report.md, consul/; `hooks` says who sees
 * them as they are rendered (by default nobody) and who may render some of them instead.
 * Files are rendered only once the configuration has passed validation (consul/ for
 * onConsulEarly and the reports for `elsewhere` excepted, which are rendered ahead): a
 * failure returns none.
 */
export async function runConvert(file: string, opts: ConvertOptions, hooks: ConvertHooks = {}): Promise<ConvertOutput> {
  const consulOptions = { configId: opts.out ? relative(resolve(opts.out), resolve(file)) : '' };
  const consulFiles = (ir: NonNullable<CompileResult['ir']>, early: boolean): OutputFile[] => {
    const backends = consulBackendsOf(ir, consulOptions);
    const taken = hooks.elsewhere?.consul(backends, opts.out!, early);
    if (taken) return taken;
    const files = renderConsulFilesOf(join(opts.out!, 'consul'), backends);
    (early ? hooks.onConsulEarly : hooks.onFiles)?.(files);
    return files;
  };
  let earlyConsul: OutputFile[] | null = null;
  const onLowered = opts.out && hooks.onConsulEarly ? (ir: NonNullable<CompileResult['ir']>) => void (earlyConsul = consulFiles(ir, true)) : undefined;
  const timings = opts.timings ? { ...newStageTimings(), validate: 0, render: 0 } : undefined;
  const result = compile(file, { context: opts.context, prefix: opts.prefix, strict: opts.strict, onLowered, timings });
  let stageStart = 0;
  const stderrParts = result.diagnostics.map((d) => formatDiagnostic(withLine(d)));
  if (!result.ok || !result.bootstrap) {
    return { stdout: '', stderr: stderrParts.join('\n') + '\n', exitCode: 1, files: [] };
  }
  const reportsElsewhere = opts.out ? (hooks.elsewhere?.report(result.report, opts.out) ?? null) : null;
  stageStart = performance.now(); // (the reports handed elsewhere are not validation)
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
  hooks.elsewhere?.validated();
  if (timings) timings.validate = performance.now() - stageStart;
  stageStart = performance.now();
  const warnings = summaryLine(result);
  if (!opts.out) {
    const stdout = xds ? JSON.stringify(resources, null, 2) + '\n' : renderBootstrap(result, format);
    if (timings) timings.render = performance.now() - stageStart;
    return { stdout, stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n', exitCode: 0, files: [], timings };
  }
  const dir = opts.out;
  const rendered = (files: OutputFile[]): OutputFile[] => {
    hooks.onFiles?.(files);
    return files;
  };
  // Consul registrations for the backends first (unless handed over already, once lowered):
  // thousands of small files, the longest to write, so their writing overlaps the most
  // rendering. Their config identity is the main file's path relative to DIR, so committed
  // output is the same on every machine (check compares it).
  const consul = earlyConsul ?? (result.ir ? consulFiles(result.ir, false) : []);
  // xDS mode writes one file per resource type plus the ADS bootstraps; static mode the bootstrap.
  const envoyFiles = rendered(
    xds
      ? xds.xdsConvertFiles(result.bootstrap, dir, {}, result.comments)
      : format === 'yaml'
        ? [blocksFile(join(dir, 'envoy.yaml'), toYamlBlocks(result.bootstrap, result.comments))]
        : [bytesFile(join(dir, 'envoy.json'), renderBootstrapBytes(result, format))],
  );
  const reportFiles = reportsElsewhere ?? [
    ...rendered([bytesFile(join(dir, 'report.json'), renderReportJsonBytes(result.report))]),
    ...rendered([{ path: join(dir, 'report.md'), text: renderReport(result.report, 'md') }]),
  ];
  if (timings) timings.render = performance.now() - stageStart;
  return {
    stdout: '',
    stderr: [...stderrParts, warnings].filter(Boolean).join('\n') + '\n',
    exitCode: 0,
    files: [...envoyFiles, ...reportFiles, ...consul],
    timings,
  };
}

/**
 * `--timings`' line: each stage's wall ms, the wait for the files still being written once
 * everything was rendered, and the total since the process started (Node's start-up included).
 */
export function timingsLine(t: ConvertTimings, writing: number, total: number): string {
  const ms = (n: number): string => String(Math.round(n));
  return `ngx2envoy: timings (ms): parse ${ms(t.parse)}, analyze ${ms(t.analyze)}, lower ${ms(t.lower)}, emit ${ms(t.emit)}, validate ${ms(t.validate)}, render ${ms(t.render)}, writing ${ms(writing)}; total ${ms(total)}`;
}

/**
 * Whether this code runs compiled (dist/): the writer thread can then load its modules.
 * Under the test runner it runs from the TypeScript sources, which a worker thread cannot
 * load; everything is rendered on this thread then.
 */
const COMPILED = import.meta.url.endsWith('.js');
const REPORT_MODULE = new URL('../report/render.js', import.meta.url).href;
const CONSUL_MODULE = new URL('../emit/consul/index.js', import.meta.url).href;

/**
 * The writer's thread renders consul/ (from the IR's backends: plain data, cheap to copy),
 * into the staging directory when there is one, and report.json and report.md (the report
 * crosses packed: a string table and an Int32Array moved, not 150,000 objects copied; not at
 * all when it cannot be packed exactly). Its messages are handled in order: consul/ is made
 * and written, then the reports are made, then written once validation has passed.
 */
function onWriterThread(writer: FileWriter, staging: ConsulStaging | null): OutputElsewhere {
  return {
    report(report, dir) {
      const packed = packReport(report);
      if (!packed) return null;
      writer.render({ module: REPORT_MODULE, fn: 'renderPackedReportFiles', args: [dir, packed], hold: true }, packedBuffers(packed));
      return [writtenFile(join(dir, 'report.json')), writtenFile(join(dir, 'report.md'))];
    },
    validated() {
      writer.release();
    },
    consul(backends, dir, early) {
      const root = join(dir, 'consul');
      writer.render({ module: CONSUL_MODULE, fn: 'renderConsulFilesOf', args: [early && staging ? staging.dir : root, backends] });
      return consulFilePaths(root, backends).map(writtenFile);
    },
  };
}

/** A file written elsewhere: its text is what the file holds once the writer is done. */
function writtenFile(path: string): OutputFile {
  return {
    path,
    get text(): string {
      return readFileSync(path, 'utf8');
    },
  };
}

/**
 * A file built as bytes (envoy.yaml: 32 MB, report.json: 27 MB on the benchmark): written
 * as they are, its text is decoded only if a caller reads it (check compares texts; the
 * command never does).
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

/**
 * A file built as blocks of bytes (envoy.yaml, 42 MB on the benchmark): handed to the writer
 * as they are (never joined into one buffer, which would copy them into fresh memory); its
 * text is decoded only if a caller reads it.
 */
function blocksFile(path: string, blocks: Buffer[]): OutputFile {
  let text: string | undefined;
  return {
    path,
    blocks,
    get text(): string {
      text ??= Buffer.concat(blocks).toString('utf8');
      return text;
    },
  };
}

/**
 * DIR/consul/ written before the command knows it succeeds. Creating its thousands of files
 * is the kernel's work and the longest write of a large conversion (0.2 s to 3 s for the
 * benchmark's 4,000, depending on the file system's state); starting it as soon as the IR
 * exists, instead of after emission and validation, overlaps them. So that a failing run
 * still leaves nothing behind, the files go to DIR/.consul-staging-<pid>/ and the directory
 * is renamed to DIR/consul once everything else is written. Used only when DIR/consul does
 * not exist yet (a first conversion): otherwise the files are written in place as before.
 */
export class ConsulStaging {
  readonly dir: string;
  private readonly root: string;
  /** DIR did not exist: a failed run removes it again (it leaves nothing, not even DIR). */
  private readonly madeOut: boolean;

  constructor(private readonly out: string) {
    this.root = join(out, 'consul');
    this.dir = join(out, `.consul-staging-${process.pid}`);
    this.madeOut = !existsSync(out);
  }

  /** The files with DIR/consul/ replaced by the staging directory. */
  stage(files: OutputFile[]): OutputFile[] {
    return files.map((f) => ({ path: join(this.dir, relative(this.root, f.path)), text: f.text }));
  }

  /** Moves the staged files to DIR/consul (each into it if DIR/consul appeared meanwhile). */
  publish(files: OutputFile[]): void {
    try {
      renameSync(this.dir, this.root);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR') throw err;
    }
    // (moved, not written again: their text may exist only there, rendered on the writer thread)
    for (const entry of readdirSync(this.dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const staged = join(entry.parentPath, entry.name);
      const target = join(this.root, relative(this.dir, staged));
      mkdirSync(dirname(target), { recursive: true });
      renameSync(staged, target);
    }
    removeStaleConsulFiles(this.out, files.map((f) => f.path));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Removes what a failed run staged (best effort: the run's own error is what gets reported). */
  discard(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true });
      if (this.madeOut) rmdirSync(this.out);
    } catch {
      // DIR not a directory, or not empty: nothing of ours is left in it
    }
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
