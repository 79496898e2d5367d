// `ngx2envoy check FILE --against DIR`: is DIR (what `convert -o DIR` wrote and
// was committed) still what FILE compiles to? Exit 0 when every output file is
// the same up to the canonical form (canonical.ts: order nginx does not care
// about, names and positions), 1 when something differs — a route-level summary
// first, then a unified diff of the files — and 2 on bad input.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parse as parseYamlText } from 'yaml';
import { runConvert } from '../cli/convert.js';
import { canonicalDocument, stableStringify } from './canonical.js';
import { renderChanges } from './diff.js';
import { envoyView } from './envoy-view.js';
import { compareViews, isEmpty } from './semantic.js';
import { paint } from './style.js';

export interface CheckOptions {
  context?: string;
  prefix?: string;
  color?: boolean;
}

export interface CheckOutput {
  exitCode: 0 | 1 | 2;
  stdout: string;
  stderr: string;
}

interface FileCompare {
  name: string;
  before: string | null; // null: missing in DIR
  after: string;
  same: boolean; // canonically equal
  identical: boolean; // byte-identical
}

/** The convert flags that reproduce what DIR holds (its Envoy file tells the mode and format). */
function convertModeOf(dir: string): { mode: 'static' | 'xds'; format: 'yaml' | 'json' } {
  if (existsSync(join(dir, 'bootstrap-ads.yaml')) || existsSync(join(dir, XDS_FILES.listeners))) return { mode: 'xds', format: 'yaml' };
  if (existsSync(join(dir, 'envoy.json'))) return { mode: 'static', format: 'json' };
  return { mode: 'static', format: 'yaml' };
}

export async function runCheck(file: string, dir: string, opts: CheckOptions = {}): Promise<CheckOutput> {
  if (!existsSync(dir)) return { exitCode: 2, stdout: '', stderr: `ngx2envoy: ${dir}: no such directory (run \`ngx2envoy convert ${file} -o ${dir}\` first)\n` };
  const { mode, format } = convertModeOf(dir);
  const converted = await runConvert(file, { context: opts.context, prefix: opts.prefix, out: dir, mode, format });
  if (converted.exitCode !== 0) return { exitCode: 2, stdout: '', stderr: converted.stderr };
  const compares = converted.files.map((f) => compareFile(dir, f.path, f.text));
  if (mode === 'xds') settleXdsOrder(compares);
  const p = paint(opts.color === true);
  const name = (c: FileCompare) => {
    const fromCwd = relative(process.cwd(), join(dir, c.name));
    return fromCwd && !fromCwd.startsWith('..') ? fromCwd : join(dir, c.name);
  };
  if (compares.every((c) => c.same)) {
    const moved = compares.filter((c) => !c.identical);
    const note = moved.length
      ? `: ${fileList(moved.map(name))} ${moved.length === 1 ? 'differs' : 'differ'} only in order, names or source positions (re-run convert to refresh them)`
      : '';
    return { exitCode: 0, stdout: `ngx2envoy check: ${file} matches ${dir}${note}\n`, stderr: '' };
  }
  const out: string[] = [p.bold(`ngx2envoy check: ${file} no longer matches ${dir}`)];
  const envoy = mode === 'xds' ? xdsCompare(compares) : compares.find((c) => c.name.startsWith('envoy.'));
  if (envoy && !envoy.same) out.push(...routeSummary(envoy, p));
  const differing = compares.filter((c) => !c.same);
  out.push('', p.bold(`Files that differ: ${fileList(differing.map(name))}`));
  out.push(`(update them with: ngx2envoy convert ${file} -o ${dir}${mode === 'xds' ? ' --mode xds' : format === 'json' ? ' --format json' : ''})`);
  for (const c of differing) {
    const label = name(c);
    const patch = createTwoFilesPatch(`a/${label.replace(/^\//, '')}`, `b/${label.replace(/^\//, '')}`, c.before ?? '', c.after, c.before === null ? '(missing)' : 'committed', 'recompiled', {
      context: 3,
      maxEditLength: MAX_DIFF_EDITS,
    });
    out.push('', patch === undefined ? tooLargeToShow(label, c) : colourPatch(patch, p).trimEnd());
  }
  return { exitCode: 1, stdout: out.join('\n') + '\n', stderr: '' };
}

/**
 * YAML parsed once per text: a changed envoy.yaml is read by the canonical comparison and
 * again by the route summary (30 MB takes the YAML library ~15 s). The last few texts only;
 * nothing here modifies a parsed document.
 */
const parsedYaml: { text: string; value: unknown }[] = [];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseYaml(text: string): any {
  const hit = parsedYaml.find((p) => p.text === text);
  if (hit) return hit.value;
  const value: unknown = parseYamlText(text);
  parsedYaml.push({ text, value });
  if (parsedYaml.length > 4) parsedYaml.shift();
  return value;
}

/** Names of files, the first few in full: a config with 2,000 upstreams has 4,000 Consul files. */
function fileList(names: string[], shown = 5): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${(names.length - shown).toLocaleString('en-US')} more files`;
}

/**
 * A line diff stops at this many changed lines: Myers' diff costs (lines × changes), so two
 * large files that differ everywhere (a renamed main file changes every `# nginx: file:line`
 * comment of a 30 MB envoy.yaml) would take hours; a patch that long is no use in a CI log
 * either. Lines, not time, so the output stays the same from run to run.
 */
const MAX_DIFF_EDITS = 2000;

function tooLargeToShow(label: string, c: FileCompare): string {
  const lines = (text: string | null) => (text === null ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
  return (
    `${label}: more than ${MAX_DIFF_EDITS.toLocaleString('en-US')} lines changed (committed ${lines(c.before).toLocaleString('en-US')} lines, ` +
    `recompiled ${lines(c.after).toLocaleString('en-US')}); the line diff is not shown. Compare the files with a diff tool, or refresh them with convert.`
  );
}

function compareFile(dir: string, path: string, after: string): FileCompare {
  const name = relative(dir, path) || basename(path);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (before === null) return { name, before, after, same: false, identical: false };
  if (before === after) return { name, before, after, same: true, identical: true };
  if (sameButForPositions(name, before, after)) return { name, before, after, same: true, identical: false };
  return { name, before, after, same: canonicalText(name, before) === canonicalText(name, after), identical: false };
}

/**
 * The common case of a change of lines only (a comment or a blank line added above), decided
 * on the text: the canonical comparison parses both files, which for a 30 MB envoy.yaml takes
 * the YAML library half a minute. True only when the canonical comparison would say the same.
 *   - YAML: equal once whole-line comments (`# nginx: file:line`) are removed. The recompiled
 *     text comes from our writer, which never writes block scalars, so in it every `#` line
 *     is a comment; the other text has the same non-comment lines, so no block scalar either.
 *   - report.json: equal once every `"line":N,"col":N` is removed (inside a JSON string a
 *     quote is escaped, so the pattern only meets keys).
 */
function sameButForPositions(name: string, before: string, after: string): boolean {
  if (/\.ya?ml$/.test(name)) return withoutCommentLines(before) === withoutCommentLines(after);
  if (name.startsWith('report.') && name.endsWith('.json')) return withoutLineCol(before) === withoutLineCol(after);
  return false;
}

const withoutCommentLines = (text: string): string => text.replace(/^[ \t]*#.*(?:\n|$)/gm, '');
const withoutLineCol = (text: string): string => text.replace(/"line":\d+,"col":\d+/g, '');

/** The canonical text of one output file, by kind. */
export function canonicalText(name: string, text: string): string {
  try {
    if (name.startsWith('report.') && name.endsWith('.json')) return canonicalReport(JSON.parse(text));
    if (name.startsWith('consul/')) return stableStringify(withoutPositions(JSON.parse(text)));
    if (name.endsWith('.md')) return canonicalMarkdown(text);
    if (/\.(ya?ml|json)$/.test(name)) return stableStringify(canonicalDocument(parseYaml(text)));
  } catch {
    // Unparseable (hand-edited?) files compare byte for byte.
  }
  return text;
}

// Location and server ids follow file order, positions follow lines: neither is a change.
const ID = /\bserver_\d+(?:\/loc_\d+)*(?:\/(?:return|fallback))?/g;
const POSITION = /(?<=[\w.-])(:\d+)(:\d+)?\b/g;

// Consul registrations name their nginx source line (and hash it): moving lines is no change.
const POSITION_KEYS = new Set(['nginx_source', 'ngx2envoy_hash', 'source']);

function withoutPositions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutPositions);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!POSITION_KEYS.has(k)) out[k] = withoutPositions(x);
  return out;
}

function canonicalReport(report: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip).map((x) => stableStringify(x)).sort();
    if (v === null || typeof v !== 'object') return typeof v === 'string' ? v.replace(ID, 'ID') : v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'line' && k !== 'col') out[k] = strip(x);
    return out;
  };
  return stableStringify(strip(report));
}

function canonicalMarkdown(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(ID, 'ID').replace(POSITION, ''))
    .sort()
    .join('\n');
}

function routeSummary(envoy: FileCompare, p: ReturnType<typeof paint>): string[] {
  try {
    const changes = compareViews(envoyView(parseYaml(envoy.before ?? '{}')), envoyView(parseYaml(envoy.after)));
    if (isEmpty(changes)) return ['', 'No route-level change (the difference is in listener or cluster settings shown below).'];
    return renderChanges(changes, p);
  } catch (err) {
    return ['', `(no route summary: ${err instanceof Error ? err.message : String(err)})`];
  }
}

/** `convert --mode xds -o DIR` writes one DiscoveryResponse file per resource type. */
const XDS_FILES = { listeners: 'listeners.yaml', routes: 'routes.yaml', clusters: 'clusters.yaml', endpoints: 'endpoints.yaml' } as const;

/** The xDS files of DIR and of the recompile, folded into one {listeners, routes, clusters, endpoints} set each. */
function xdsCompare(compares: FileCompare[]): FileCompare | undefined {
  const parts = Object.entries(XDS_FILES).map(([key, file]) => ({ key, c: compares.find((x) => x.name === file) }));
  if (parts.some((x) => !x.c)) return undefined;
  const fold = (pick: (c: FileCompare) => string | null) => {
    const set: Record<string, unknown> = {};
    for (const { key, c } of parts) {
      const text = pick(c!);
      const doc = text === null ? null : (parseYaml(text) as { resources?: unknown[] } | null);
      set[key] = doc?.resources ?? [];
    }
    return JSON.stringify(set);
  };
  return {
    name: 'xds',
    before: fold((c) => c.before),
    after: fold((c) => c.after),
    same: parts.every(({ c }) => c!.same),
    identical: parts.every(({ c }) => c!.identical),
  };
}

/**
 * The xDS files list resources in compile order (and carry a version hash of it);
 * when the resources they describe are the same, reordering is no change.
 */
function settleXdsOrder(compares: FileCompare[]): void {
  const folded = xdsCompare(compares);
  if (!folded || folded.same) return;
  const view = (text: string | null) => envoyView(parseYaml(text ?? '{}'));
  if (!isEmpty(compareViews(view(folded.before), view(folded.after)))) return;
  const names = new Set<string>(Object.values(XDS_FILES));
  for (const c of compares) if (names.has(c.name)) c.same = true;
}

function colourPatch(patch: string, p: ReturnType<typeof paint>): string {
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('Index:') && !/^=+$/.test(l))
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? p.green(l) : l.startsWith('-') && !l.startsWith('---') ? p.red(l) : l.startsWith('@@') ? p.yellow(l) : l))
    .join('\n');
}
