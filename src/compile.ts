// The compiler as one pure function, the API the CLI, the xDS server, check /
// diff / explain and the Consul emitter build on. Keep it stable.
//
//   compile(file, { context?, prefix?, strict? }) → CompileResult
//     ok          false when the input is bad (parse/lowering errors, or an
//                 unsupported directive under strict); diagnostics say why.
//     parsed      the parser's ParsedConfig (includes spliced).
//     ir          the routing model (src/ir/types.ts), null when not ok.
//     bootstrap   the Envoy v3 static bootstrap (plain JSON object), null when not ok.
//     report      { summary, directives }: one entry per directive of the input
//                 (includes too), plus the notes not tied to one directive.
//     diagnostics errors and warnings with file:line:col (formatDiagnostic prints them).
//   (with `reuse` (a CompileReuse): servers and virtual hosts unchanged since an earlier
//   compile are not lowered or emitted again; no report.)
//   renderBootstrap(result, 'yaml' | 'json') → text (YAML carries `# nginx: file:line`);
//   renderBootstrapBytes the same as UTF-8 bytes.
//   renderReport(report, 'json' | 'md') → text.
//
// Pure: the output depends only on the input files. Source paths in the IR,
// the report and the YAML comments are relative to the main file's directory.
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, type Diagnostic, type ParsedConfig } from './parse/index.js';
import { analyze } from './analyze/index.js';
import { lower, ServerReuse } from './lower/index.js';
import { emitBootstrap } from './emit/envoy/bootstrap.js';
import { EmissionReuse } from './emit/envoy/reuse.js';
import { toYaml, toYamlBytes } from './emit/envoy/yaml.js';
import type { CompiledConfig, ReportClass, ReportEntry } from './ir/types.js';
import { renderReportJson, renderReportMarkdown } from './report/render.js';

export interface CompileOptions {
  context?: string;
  prefix?: string;
  strict?: boolean;
  /**
   * Called with the IR once lowering succeeds, before emission and validation: what
   * needs only the IR (convert's Consul files) can start while the rest runs. The IR is
   * final then (nothing modifies it afterwards); the compile may still fail after it.
   */
  onLowered?: (ir: CompiledConfig) => void;
  /**
   * Reuse the servers (lowered) and virtual hosts (emitted) of earlier compiles that
   * nothing changed (`serve` keeps one CompileReuse between reloads). The output is the
   * same as without it, except that no report is made: `report` is empty. Ignored under
   * `strict`, which needs the report.
   */
  reuse?: CompileReuse;
  /** Filled with each stage's wall time in ms as it ends (convert --timings). */
  timings?: StageTimings;
}

/** Wall time of each stage of a compile, in milliseconds (a stage that did not run stays 0). */
export interface StageTimings {
  parse: number;
  analyze: number;
  lower: number;
  emit: number;
}

export function newStageTimings(): StageTimings {
  return { parse: 0, analyze: 0, lower: 0, emit: 0 };
}

/** What a compile keeps for the next one (serve's reloads): lowered servers, emitted virtual hosts. */
export class CompileReuse {
  readonly servers = new ServerReuse();
  readonly vhosts = new EmissionReuse();
}

export interface ReportSummary {
  directives: number;
  translated: number;
  approximated: number;
  ignored: number;
  unsupported: number;
  notes: number;
}

export interface Report {
  summary: ReportSummary;
  directives: ReportEntry[];
  /** Lines not tied to one directive (defaults, unreachable locations, conflicts). */
  notes: ReportEntry[];
}

export interface CompileResult {
  ok: boolean;
  parsed: ParsedConfig;
  ir: CompiledConfig | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  bootstrap: any | null;
  report: Report;
  diagnostics: Diagnostic[];
  /** YAML comments by emitted object (listener, route, cluster). */
  comments: Map<object, string>;
}

/** Notes every translation carries: Envoy behaviours that differ from nginx and are not configurable here. */
const PROXY_NOTES: [string, ReportClass, string][] = [
  ['proxy_buffering', 'approximated', 'nginx buffers upstream responses by default; Envoy streams them'],
];
const GLOBAL_NOTES: [string, ReportClass, string][] = [
  ['server_tokens', 'approximated', 'Envoy sends `server: envoy` where nginx sends `Server: nginx`'],
  ['uri', 'approximated', 'Envoy forwards the normalised path (merged slashes, resolved dot segments, decoded %2F); nginx forwards the client\'s URI unchanged when proxy_pass has no URI part, and matches locations on the fully percent-decoded URI (Envoy decodes only %2F and unreserved characters)'],
];
// Envoy's response flags do not tell a connect timeout from a refused connection (src/emit/envoy/local-replies.ts).
PROXY_NOTES.push(['proxy_connect_timeout', 'approximated', 'an upstream that cannot be reached: nginx answers 502 when the connection is refused or reset and 504 when the connect times out; Envoy flags both UF, and its local reply mapping answers 502 with nginx\'s page for both']);
PROXY_NOTES.push(['proxy_http_version', 'approximated', 'nginx talks HTTP/1.0 to upstreams by default; Envoy uses HTTP/1.1 (without `keepalive` each upstream connection serves one request, as in nginx)']);

export function compile(file: string, opts: CompileOptions = {}): CompileResult {
  const timings = opts.timings;
  let stageStart = performance.now();
  // Ends the stage running since stageStart (recorded when asked) and starts the next one.
  const endStage = (stage: keyof StageTimings): void => {
    const now = performance.now();
    if (timings) timings[stage] = now - stageStart;
    stageStart = now;
  };
  // With reuse, servers are recognised by their text: the loader keeps it.
  const parsed = loadConfig(file, { prefix: opts.prefix, context: (opts.context ?? 'auto') as 'auto', keepText: opts.reuse !== undefined && !opts.strict });
  endStage('parse');
  const base = dirname(resolve(file));
  const rel = (f: string): string => {
    const abs = isAbsolute(f) ? f : resolve(f);
    return relative(base, abs) || f;
  };
  const sourceFile = relativiseSources(rel);
  const findings = analyze(parsed, { strict: opts.strict === true });
  endStage('analyze');
  const diagnostics: Diagnostic[] = [...parsed.errors, ...findings.filter((d) => d.severity === 'error'), ...parsed.warnings, ...findings.filter((d) => d.severity === 'warning')];
  const empty: Report = { summary: summarise([], []), directives: [], notes: [] };
  if (parsed.errors.length > 0 || findings.some((d) => d.severity === 'error')) {
    return { ok: false, parsed, ir: null, bootstrap: null, report: empty, diagnostics, comments: new Map() };
  }
  const reuse = opts.strict ? undefined : opts.reuse;
  const lowered = lower(parsed, { sourceFile, reuse: reuse?.servers });
  endStage('lower');
  if (!lowered.ir) {
    return { ok: false, parsed, ir: null, bootstrap: null, report: empty, diagnostics: [...lowered.errors, ...diagnostics], comments: new Map() };
  }
  const ir = lowered.ir;
  opts.onLowered?.(ir);
  stageStart = performance.now(); // (onLowered's work is the caller's, not emission's)
  const emitted = emitBootstrap(ir, { reuse: reuse?.vhosts });
  endStage('emit');
  if (reuse) return { ok: true, parsed, ir, bootstrap: emitted.bootstrap, report: empty, diagnostics, comments: emitted.comments };
  const mainFile = rel(resolve(file));
  const notes = [...ir.notes, ...emitted.notes.map((n) => ({ ...n, file: n.file }))];
  const proxies = ir.backends.length > 0;
  // HTTP behaviours: a configuration of stream servers only has none of them.
  const http = ir.servers.length > 0;
  // `server: envoy` is noted only where some listener keeps it (headers-more can set or clear Server per listener).
  const globalNotes = http && !keepsEnvoyServer(emitted.bootstrap) ? GLOBAL_NOTES.filter(([d]) => d !== 'server_tokens') : GLOBAL_NOTES;
  for (const [directive, cls, reason] of [...(proxies ? PROXY_NOTES : []), ...(http ? globalNotes : [])]) notes.push({ file: mainFile, line: 0, col: 0, directive, class: cls, reason });
  // (the emission's own map, not a copy: nothing else holds it once emitBootstrap returns)
  const comments = emitted.comments;
  const report: Report = { summary: summarise(ir.report, notes), directives: ir.report, notes };
  let ok = true;
  if (opts.strict) {
    const bad = [...ir.report, ...notes].filter((e) => e.class === 'unsupported');
    for (const e of bad) {
      diagnostics.push({ severity: 'error', message: `unsupported: ${e.directive}: ${e.reason}`, source: { file: e.file, line: e.line, col: e.col }, code: 'unsupported' });
    }
    ok = bad.length === 0;
  }
  return { ok, parsed, ir, bootstrap: emitted.bootstrap, report, diagnostics, comments };
}

/** Whether some HTTP connection manager of the bootstrap sends Envoy's own `server: envoy` (no server_name, Server not passed through). */
function keepsEnvoyServer(bootstrap: unknown): boolean {
  const listeners = (bootstrap as { static_resources?: { listeners?: { filter_chains?: { filters?: { typed_config?: Record<string, unknown> }[] }[] }[] } }).static_resources?.listeners ?? [];
  for (const l of listeners) {
    for (const chain of l.filter_chains ?? []) {
      for (const f of chain.filters ?? []) {
        const c = f.typed_config;
        if (!c || !String(c['@type']).endsWith('.HttpConnectionManager')) continue;
        if (c.server_name === undefined && c.server_header_transformation === undefined) return true;
      }
    }
  }
  return false;
}

/** Where summarise counts each class. */
const CLASS_SLOT = new Map<string, number>([
  ['translated', 0],
  ['approximated', 1],
  ['ignored', 2],
  ['unsupported', 3],
]);

/** The report's counts: entries by class, and the notes. */
export function summarise(entries: ReportEntry[], notes: ReportEntry[]): ReportSummary {
  const counts = [0, 0, 0, 0];
  if (!countClasses(entries, counts)) return summariseAnyClasses(entries, notes);
  return { directives: entries.length, translated: counts[0]!, approximated: counts[1]!, ignored: counts[2]!, unsupported: counts[3]!, notes: notes.length };
}

/**
 * Adds each entry's class to its slot of `counts`; false at a class not one of the four. It
 * runs once per directive (150,000 on the benchmark), mostly before the optimising compiler
 * has seen it: the same steps for every class (a lookup), where a branch per class would
 * throw the optimised loop away at the first class met after it was optimised (the first
 * unsupported directive may come late); nothing but a constant after the loop, for the same reason.
 */
function countClasses(entries: ReportEntry[], counts: number[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    const slot = CLASS_SLOT.get(entries[i]!.class);
    if (slot === undefined) return false;
    counts[slot]!++;
  }
  return true;
}

/** summarise for entries of classes other than the four (never the compiler's): each counted under its own name. */
function summariseAnyClasses(entries: ReportEntry[], notes: ReportEntry[]): ReportSummary {
  const s: ReportSummary = { directives: entries.length, translated: 0, approximated: 0, ignored: 0, unsupported: 0, notes: notes.length };
  for (const e of entries) (s as unknown as Record<string, number>)[e.class]++;
  return s;
}

/**
 * The file names of the IR and the report: `rel` applied once per distinct
 * name. Lowering names every source position through it where the position is
 * made, so no walk over the IR is needed afterwards. A name already rewritten
 * maps to itself.
 */
function relativiseSources(rel: (f: string) => string): (f: string) => string {
  const cache = new Map<string, string>();
  return (f: string): string => {
    let r = cache.get(f);
    if (r === undefined) {
      r = rel(f);
      cache.set(f, r);
      if (!cache.has(r)) cache.set(r, r);
    }
    return r;
  };
}

// ---------------------------------------------------------------- rendering

export function renderBootstrap(result: CompileResult, format: 'yaml' | 'json'): string {
  if (!result.bootstrap) return '';
  if (format === 'json') return JSON.stringify(result.bootstrap, null, 2) + '\n';
  return toYaml(result.bootstrap, result.comments);
}

/** renderBootstrap's text as UTF-8 bytes (for a file: the YAML is built as bytes, never as one string). */
export function renderBootstrapBytes(result: CompileResult, format: 'yaml' | 'json'): Buffer {
  if (format === 'yaml' && result.bootstrap) return toYamlBytes(result.bootstrap, result.comments);
  return Buffer.from(renderBootstrap(result, format), 'utf8');
}

export function renderReport(report: Report, format: 'json' | 'md'): string {
  return format === 'json' ? renderReportJson(report) : renderReportMarkdown(report);
}
