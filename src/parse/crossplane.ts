// crossplane's payload shape (nginx Inc's Python parser), for tools that read it:
// {status, errors, config: [{file, status, errors, parsed: [{directive, line, args, includes?, block?}]}]}
import type { Diagnostic, ParsedConfig, Statement } from './ast.js';
import { argValues } from './args.js';

export interface CrossplaneError {
  file?: string;
  line: number;
  error: string;
}

export interface CrossplaneStatement {
  directive: string;
  line: number;
  args: string[];
  includes?: number[];
  block?: CrossplaneStatement[];
  comment?: string;
}

export interface CrossplanePayload {
  status: 'ok' | 'failed';
  errors: CrossplaneError[];
  config: { file: string; status: 'ok' | 'failed'; errors: CrossplaneError[]; parsed: CrossplaneStatement[] }[];
}

export function toCrossplanePayload(config: ParsedConfig): CrossplanePayload {
  const errors = config.files.flatMap((f) => f.errors.map((d) => ({ file: f.file, line: d.source.line, error: errorText(d) })));
  return {
    status: errors.length > 0 ? 'failed' : 'ok',
    errors,
    config: config.files.map((f) => ({
      file: f.file,
      status: f.status,
      errors: f.errors.map((d) => ({ line: d.source.line, error: errorText(d) })),
      parsed: toStatements(f.parsed),
    })),
  };
}

/** crossplane's error text: the message followed by ` in file:line`. */
function errorText(d: Diagnostic): string {
  return `${d.message} in ${d.source.file}:${d.source.line}`;
}

function toStatements(statements: Statement[]): CrossplaneStatement[] {
  return statements.map(toStatement);
}

function toStatement(st: Statement): CrossplaneStatement {
  if (st.kind === 'comment') return { directive: '#', line: st.source.line, args: [], comment: st.text };
  const args = argValues(st);
  const out: CrossplaneStatement = { directive: st.name, line: st.source.line, args: st.name === 'if' ? ifArgs(args) : args };
  if (st.includes) out.includes = st.includes;
  if (st.block) out.block = toStatements(st.block);
  return out;
}

/** crossplane drops the parentheses around an `if` condition (and args left empty by that). */
export function ifArgs(args: string[]): string[] {
  if (args.length === 0 || !args[0]!.startsWith('(') || !args[args.length - 1]!.endsWith(')')) return args;
  const out = args.slice();
  out[0] = out[0]!.slice(1).trimStart();
  out[out.length - 1] = out[out.length - 1]!.slice(0, -1).trimEnd();
  const start = out[0] === '' ? 1 : 0;
  const end = out.length - (out[out.length - 1] === '' ? 1 : 0);
  return out.slice(start, Math.max(start, end));
}
