// Where the served resources come from: an nginx configuration compiled by
// src/compile.ts (the normal case), or an Envoy static bootstrap (.yaml, .yml,
// .json with static_resources) served as it is, which is how a hand-written
// Envoy config or the compiler's own static output can be served too.
// Either way the resources are validated against Envoy's protos before they
// may replace the served snapshot.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { toXdsResources, type XdsResources } from '../emit/envoy/xds.js';
import { formatFindings, validateXdsResources, type WalkCache } from '../validate/index.js';
import type { Diagnostic } from '../parse/ast.js';
import { formatDiagnostics, lineOf } from '../parse/diagnostic.js';
import { compile, type CompileResult, type CompileReuse } from '../compile.js';

/** Where a load's time went, ms (shown by the bench; the stages belong to compile, emit and validate). */
export interface LoadTimings {
  compileMs: number;
  splitMs: number;
  validateMs: number;
  /** Servers lowered again and servers reused from the previous load (SourceOptions.reuse). */
  serversLowered?: number;
  serversReused?: number;
  /** Virtual hosts emitted again and used as they were (SourceOptions.reuse). */
  vhostsEmitted?: number;
  vhostsReused?: number;
}

export type LoadResult =
  | { ok: true; resources: XdsResources; files: string[]; warnings: string[]; timings?: LoadTimings }
  | { ok: false; files: string[]; errors: string[] };

export interface SourceOptions {
  context?: string;
  prefix?: string;
  /** Kept by the caller between loads: a reload lowers only the servers that changed. */
  reuse?: CompileReuse;
  /** Kept by the caller between loads: virtual hosts kept by `reuse` are validated once. */
  validation?: WalkCache;
}

/** An Envoy bootstrap file is served as is; anything else is nginx configuration. */
export function isEnvoyBootstrapFile(file: string): boolean {
  return /\.(ya?ml|json)$/i.test(file);
}

function validationErrors(resources: XdsResources, cache?: WalkCache): string[] {
  const findings = validateXdsResources(resources, { cache }).filter((f) => f.severity === 'error');
  return findings.length ? [`the xDS resources do not validate against Envoy's protos:\n${formatFindings(findings)}`] : [];
}

function loadBootstrapFile(file: string): LoadResult {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return { ok: false, files: [file], errors: [`${file}: ${(err as Error).message}`] };
  }
  // toXdsResources takes plain JSON (it shares what it does not rewrite): a JSON round trip
  // turns what YAML can say and JSON cannot (.inf, .nan) into what Envoy's JSON parser would see.
  const resources = toXdsResources(JSON.parse(JSON.stringify(doc ?? null)));
  const errors = validationErrors(resources);
  return errors.length ? { ok: false, files: [file], errors } : { ok: true, resources, files: [file], warnings: [] };
}

/** Diagnostics with the offending line under them (caret display); each file is read once, not once per diagnostic. */
function diagnosticsText(list: Diagnostic[]): string[] {
  if (list.length === 0) return [];
  const texts = new Map<string, string | null>();
  const textOf = (file: string): string | null => {
    if (!texts.has(file)) {
      try {
        texts.set(file, fs.readFileSync(file, 'utf8'));
      } catch {
        texts.set(file, null);
      }
    }
    return texts.get(file)!;
  };
  const withLines = list.map((d) => {
    if (d.lineText !== undefined) return d;
    const text = textOf(d.source.file);
    return text === null ? d : { ...d, lineText: lineOf(text, d.source.line) };
  });
  return [formatDiagnostics(withLines)];
}

function loadNginx(file: string, opts: SourceOptions): LoadResult {
  let result: CompileResult;
  const started = performance.now();
  try {
    result = compile(file, { context: opts.context, prefix: opts.prefix, reuse: opts.reuse });
  } catch (err) {
    return { ok: false, files: [file], errors: [`${file}: ${(err as Error).message}`] };
  }
  const files = result.parsed?.files?.map((f) => f.file) ?? [file];
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
  if (!result.ok || errors.length > 0 || !result.bootstrap) {
    const text = diagnosticsText(errors);
    return { ok: false, files, errors: text.length ? text : [`${file}: the configuration did not compile`] };
  }
  const compiled = performance.now();
  const resources = toXdsResources(result.bootstrap);
  const split = performance.now();
  const invalid = validationErrors(resources, opts.validation);
  if (invalid.length) return { ok: false, files, errors: invalid };
  const timings: LoadTimings = { compileMs: compiled - started, splitMs: split - compiled, validateMs: performance.now() - split };
  if (opts.reuse) {
    timings.serversLowered = opts.reuse.servers.stats.lowered;
    timings.serversReused = opts.reuse.servers.stats.reused;
    timings.vhostsEmitted = opts.reuse.vhosts.stats.emitted;
    timings.vhostsReused = opts.reuse.vhosts.stats.reused;
  }
  return { ok: true, resources, files, warnings: diagnosticsText(warnings), timings };
}

/** Load (parse, compile, split, validate) the configuration at `file`. */
export async function loadSource(file: string, opts: SourceOptions = {}): Promise<LoadResult> {
  if (!fs.existsSync(path.resolve(file))) return { ok: false, files: [file], errors: [`${file}: no such file`] };
  return isEnvoyBootstrapFile(file) ? loadBootstrapFile(file) : loadNginx(file, opts);
}
