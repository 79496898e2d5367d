// `ngx2envoy parse FILE`: parse a configuration (includes resolved), check it
// against nginx's directive table, and print the tree (or crossplane's payload
// with --json). Diagnostics go to stderr as `file:line:col: error: …` with the
// offending line and a caret; any error ends with exit code 1.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { analyze } from '../analyze/index.js';
import {
  formatDiagnostic,
  loadConfig,
  toCrossplanePayload,
  type Diagnostic,
  type ParsedConfig,
  type Statement,
} from '../parse/index.js';
import { lineOf } from '../parse/diagnostic.js';
import { CliExit } from './exit.js';

export interface ParseCommandOptions {
  json?: boolean;
  includeComments?: boolean;
  context?: 'auto' | 'main' | 'http' | 'server' | 'location' | 'stream';
  strict?: boolean;
  prefix?: string;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('parse an nginx configuration (includes resolved) and print its tree')
    .argument('<file>', 'the nginx configuration file')
    .option('--json', "print crossplane's payload as JSON")
    .option('--include-comments', 'keep comments in the output')
    .addOption(
      new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http)')
        .choices(['auto', 'main', 'http', 'server', 'location', 'stream'])
        .default('auto'),
    )
    .option('--strict', 'directive-table findings are errors, not warnings')
    .option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)")
    .action((file: string, opts: ParseCommandOptions) => {
      const { stdout, stderr, exitCode } = runParse(file, opts);
      process.stdout.write(stdout);
      process.stderr.write(stderr);
      if (exitCode !== 0) throw new CliExit(exitCode);
    });
}

/** The whole command as plain data in and out, so it can be tested without a process. */
export function runParse(file: string, opts: ParseCommandOptions): { stdout: string; stderr: string; exitCode: number } {
  const config = loadConfig(file, {
    prefix: opts.prefix,
    context: opts.context ?? 'auto',
    includeComments: opts.includeComments === true,
  });
  texts.clear();
  const findings = analyze(config, { strict: opts.strict === true }).map(withLineText);
  const checked = withFindings(config, findings);
  const diagnostics = [...checked.errors, ...checked.warnings];
  const stdout = opts.json ? JSON.stringify(toCrossplanePayload(checked), null, 2) + '\n' : printTree(checked.root);
  const stderr = diagnostics.map((d) => formatDiagnostic(d) + '\n').join('');
  return { stdout, stderr, exitCode: checked.errors.length > 0 ? 1 : 0 };
}

/** Analysis findings carry no source line; read it for the caret display. */
function withLineText(d: Diagnostic): Diagnostic {
  if (d.lineText !== undefined) return d;
  const text = fileText(d.source.file);
  return text === undefined ? d : { ...d, lineText: lineOf(text, d.source.line) };
}

const texts = new Map<string, string | undefined>();
function fileText(file: string): string | undefined {
  if (!texts.has(file)) {
    try {
      texts.set(file, readFileSync(file, 'utf8'));
    } catch {
      texts.set(file, undefined);
    }
  }
  return texts.get(file);
}

/** The configuration with the analysis' errors added to their files and its warnings kept aside. */
function withFindings(config: ParsedConfig, findings: Diagnostic[]): ParsedConfig {
  const errors = findings.filter((d) => d.severity === 'error');
  const files = config.files.map((f) => {
    const mine = errors.filter((d) => d.source.file === f.file);
    return mine.length === 0 ? f : { ...f, status: 'failed' as const, errors: [...f.errors, ...mine] };
  });
  return {
    ...config,
    files,
    errors: [...config.errors, ...errors],
    warnings: [...config.warnings, ...findings.filter((d) => d.severity === 'warning')],
  };
}

/** nginx-like text, each statement followed by `# file:line:col` (includes spliced in place). */
export function printTree(statements: Statement[], depth = 0): string {
  const indent = '    '.repeat(depth);
  let out = '';
  for (const st of statements) {
    const where = `# ${st.source.file}:${st.source.line}:${st.source.col}`;
    if (st.kind === 'comment') {
      out += `${indent}#${st.text}\n`;
      continue;
    }
    const words = [st.name, ...(st.raw === undefined ? st.args : st.args.slice(0, -1)).map((a) => quoteWord(a.value))].join(' ');
    if (st.raw !== undefined) out += `${indent}${words} {${st.raw}}  ${where}\n`;
    else if (st.block) out += `${indent}${words} {  ${where}\n${printTree(st.block, depth + 1)}${indent}}\n`;
    else out += `${indent}${words};  ${where}${includeNote(st.includes)}\n`;
  }
  return out;
}

function includeNote(includes: number[] | undefined): string {
  if (includes === undefined) return '';
  return includes.length === 1 ? ' (1 file)' : ` (${includes.length} files)`;
}

/** A word as it must be written to read back the same: bare when nginx would read it back unchanged. */
function quoteWord(value: string): string {
  const bare = value !== '' && !/[\s;{]/.test(value) && !/^[}#"']/.test(value) && !/\\(["'\\tnr]|$)/.test(value);
  if (bare) return value;
  const escaped = value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
  return `"${escaped}"`;
}
