// Checks a parsed configuration against the directive table the way nginx's
// ngx_conf_handler does (src/core/ngx_conf_file.c): unknown directive, not
// allowed in this context, block / no block, argument count, then the on/off
// check of ngx_conf_set_flag_slot. Messages are nginx's own.
import type { Arg, Diagnostic, Directive, ParsedConfig, SourcePos, Statement } from '../parse/ast.js';
import { childContext, lookupDirective, variantInContext } from './table.js';
import type { ArityFlag, ContextName, DirectiveVariant } from './table-types.js';

export { lookupDirective, variantInContext, childContext } from './table.js';
export type { DirectiveSpec, DirectiveVariant, ContextName, ArityFlag } from './table-types.js';

export interface AnalyzeOptions {
  /** Findings become errors instead of warnings. */
  strict: boolean;
}

/** Stable machine names of the findings. */
export type AnalyzeCode =
  | 'unknown-directive'
  | 'directive-not-allowed'
  | 'no-opening-brace'
  | 'not-terminated'
  | 'invalid-argument-count'
  | 'invalid-flag-value';

// nginx keeps at most 8 words per statement (NGX_CONF_MAX_ARGS) for TAKEn checks.
const MAX_ARGS = 7;

export function analyze(config: ParsedConfig, opts: AnalyzeOptions): Diagnostic[] {
  const findings: Diagnostic[] = [];
  walk(config.root, config.context || 'main', opts, findings);
  return findings;
}

function walk(statements: Statement[], context: ContextName, opts: AnalyzeOptions, out: Diagnostic[]): void {
  for (const st of statements) {
    if (st.kind !== 'directive') continue;
    const inner = checkDirective(st, context, opts, out);
    if (inner !== undefined && st.block && !st.freeform) walk(st.block, inner, opts, out);
  }
}

/** Checks one directive; returns the context of its block when analysis should enter it. */
function checkDirective(
  d: Directive,
  context: ContextName,
  opts: AnalyzeOptions,
  out: Diagnostic[],
): ContextName | undefined {
  const finding = (code: AnalyzeCode, message: string, always = false): void => {
    out.push(diagnostic(code, message, d.source, always || opts.strict ? 'error' : 'warning'));
  };
  const spec = lookupDirective(d.name);
  if (!spec) {
    finding('unknown-directive', `unknown directive "${d.name}"`);
    return undefined;
  }
  const variant = variantInContext(spec, context);
  if (!variant) {
    finding('directive-not-allowed', `"${d.name}" directive is not allowed here`);
    return undefined;
  }
  const hasBlock = d.block !== undefined || d.raw !== undefined;
  if (!variant.block && hasBlock) {
    // The body would swallow what follows it in nginx: always an error.
    finding('not-terminated', `directive "${d.name}" is not terminated by ";"`, true);
    return undefined;
  }
  if (variant.block && !hasBlock) {
    finding('no-opening-brace', `directive "${d.name}" has no opening "{"`);
    return undefined;
  }
  const args = directiveArgs(d);
  if (!acceptsArgCount(variant.arity, args.length)) {
    finding('invalid-argument-count', `invalid number of arguments in "${d.name}" directive`);
  } else if (variant.onOff && !isOnOff(args[0])) {
    finding('invalid-flag-value', `invalid value "${args[0]?.value ?? ''}" in "${d.name}" directive, it must be "on" or "off"`);
  }
  return variant.block ? childContext(context, d.name) : undefined;
}

/** The directive's arguments, without the raw Lua body the parser also keeps as the last one. */
function directiveArgs(d: Directive): Arg[] {
  if (d.raw === undefined) return d.args;
  const last = d.args[d.args.length - 1];
  return last && last.value === d.raw ? d.args.slice(0, -1) : d.args;
}

/** nginx's argument-count test, in ngx_conf_handler's order. */
export function acceptsArgCount(arity: readonly ArityFlag[], n: number): boolean {
  if (arity.includes('ANY')) return true;
  if (arity.includes('FLAG')) return n === 1;
  if (arity.includes('1MORE')) return n >= 1;
  if (arity.includes('2MORE')) return n >= 2;
  if (n > MAX_ARGS) return false;
  return arity.some((flag) => takesCount(flag, n));
}

function takesCount(flag: ArityFlag, n: number): boolean {
  if (flag === 'NOARGS') return n === 0;
  const m = /^TAKE(\d+)$/.exec(flag);
  return m !== null && m[1]!.split('').map(Number).includes(n);
}

// ngx_conf_set_flag_slot compares without regard to case.
function isOnOff(arg: Arg | undefined): boolean {
  const v = arg?.value.toLowerCase();
  return v === 'on' || v === 'off';
}

function diagnostic(code: AnalyzeCode, message: string, source: SourcePos, severity: Diagnostic['severity']): Diagnostic {
  return { severity, message, source: { ...source }, code };
}

/** The variant `analyze` would check `name` against in `context` (for lowering). */
export function directiveIn(name: string, context: ContextName): DirectiveVariant | undefined {
  const spec = lookupDirective(name);
  return spec && variantInContext(spec, context);
}
