// Checks a parsed configuration against the directive table the way nginx's
// ngx_conf_handler does (src/core/ngx_conf_file.c): unknown directive, not
// allowed in this context, block / no block, argument count, then the on/off
// check of ngx_conf_set_flag_slot. Messages are nginx's own.
import type { Diagnostic, Directive, ParsedConfig, SourcePos, Statement } from '../parse/ast.js';
import { argCount, argValue } from '../parse/args.js';
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
  walk(config.root, config.context || 'main', { opts, out: findings, rules: new Map() });
  return findings;
}

/** What the table says about one directive name in one context, looked up once per analysis. */
interface Rule {
  /** undefined: unknown directive; null: known but not allowed in this context. */
  variant: DirectiveVariant | null | undefined;
  args: ArgRule;
  /** The context of the directive's block, when analysis enters it. */
  inner: ContextName | undefined;
}

interface Walk {
  opts: AnalyzeOptions;
  out: Diagnostic[];
  /** Rules by context, then by directive name: configs repeat the same few hundred pairs. */
  rules: Map<ContextName, Map<string, Rule>>;
}

function walk(statements: Statement[], context: ContextName, w: Walk): void {
  let byName = w.rules.get(context);
  if (!byName) w.rules.set(context, (byName = new Map()));
  // By index: once per statement of the input, mostly before the code is optimised (for…of allocates per step there).
  for (let i = 0; i < statements.length; i++) {
    const st = statements[i]!;
    if (st.kind !== 'directive') continue;
    let rule = byName.get(st.name);
    if (!rule) byName.set(st.name, (rule = ruleFor(st.name, context)));
    const inner = checkDirective(st, rule, w);
    if (inner !== undefined && st.block && !st.freeform) walk(st.block, inner, w);
  }
}

function ruleFor(name: string, context: ContextName): Rule {
  const spec = lookupDirective(name);
  const variant = spec ? variantInContext(spec, context) ?? null : undefined;
  return { variant, args: variant ? argRule(variant.arity) : NO_ARGS_RULE, inner: variant?.block ? childContext(context, name) : undefined };
}

/** Checks one directive; returns the context of its block when analysis should enter it. */
function checkDirective(d: Directive, rule: Rule, w: Walk): ContextName | undefined {
  const variant = rule.variant;
  if (variant === undefined) {
    finding(w, d, 'unknown-directive', `unknown directive "${d.name}"`);
    return undefined;
  }
  if (variant === null) {
    finding(w, d, 'directive-not-allowed', `"${d.name}" directive is not allowed here`);
    return undefined;
  }
  const hasBlock = d.block !== undefined || d.raw !== undefined;
  if (!variant.block && hasBlock) {
    // The body would swallow what follows it in nginx: always an error.
    finding(w, d, 'not-terminated', `directive "${d.name}" is not terminated by ";"`, true);
    return undefined;
  }
  if (variant.block && !hasBlock) {
    finding(w, d, 'no-opening-brace', `directive "${d.name}" has no opening "{"`);
    return undefined;
  }
  const count = directiveArgCount(d);
  if (!ruleAccepts(rule.args, count)) {
    finding(w, d, 'invalid-argument-count', `invalid number of arguments in "${d.name}" directive`);
  } else if (variant.onOff && !isOnOff(argValue(d, 0))) {
    finding(w, d, 'invalid-flag-value', `invalid value "${argValue(d, 0) ?? ''}" in "${d.name}" directive, it must be "on" or "off"`);
  }
  return rule.inner;
}

function finding(w: Walk, d: Directive, code: AnalyzeCode, message: string, always = false): void {
  w.out.push(diagnostic(code, message, d.source, always || w.opts.strict ? 'error' : 'warning'));
}

/** The directive's argument count, without the raw Lua body the parser also keeps as the last one. */
function directiveArgCount(d: Directive): number {
  const count = argCount(d);
  if (d.raw === undefined) return count;
  return count > 0 && argValue(d, count - 1) === d.raw ? count - 1 : count;
}

/** The argument counts an arity list accepts: any n ≥ atLeast, or n ≤ MAX_ARGS with bit n of `counts` set. */
interface ArgRule {
  atLeast: number;
  counts: number;
}

const NO_ARGS_RULE: ArgRule = { atLeast: Infinity, counts: 0 };

// Worked out once per arity list (the table's lists are shared by every directive of that name).
const argRules = new WeakMap<readonly ArityFlag[], ArgRule>();

/** nginx's argument-count test, in ngx_conf_handler's order: ANY, FLAG, 1MORE, 2MORE, then NOARGS/TAKEn. */
function argRule(arity: readonly ArityFlag[]): ArgRule {
  let rule = argRules.get(arity);
  if (rule) return rule;
  if (arity.includes('ANY')) rule = { atLeast: 0, counts: 0 };
  else if (arity.includes('FLAG')) rule = { atLeast: Infinity, counts: 1 << 1 };
  else if (arity.includes('1MORE')) rule = { atLeast: 1, counts: 0 };
  else if (arity.includes('2MORE')) rule = { atLeast: 2, counts: 0 };
  else {
    let counts = 0;
    for (const flag of arity) {
      if (flag === 'NOARGS') counts |= 1;
      const m = /^TAKE(\d+)$/.exec(flag);
      if (m) for (const digit of m[1]!) if (Number(digit) <= MAX_ARGS) counts |= 1 << Number(digit);
    }
    rule = { atLeast: Infinity, counts };
  }
  argRules.set(arity, rule);
  return rule;
}

function ruleAccepts(rule: ArgRule, n: number): boolean {
  return n >= rule.atLeast || (n <= MAX_ARGS && ((rule.counts >> n) & 1) === 1);
}

/** nginx's argument-count test, in ngx_conf_handler's order. */
export function acceptsArgCount(arity: readonly ArityFlag[], n: number): boolean {
  return ruleAccepts(argRule(arity), n);
}

// ngx_conf_set_flag_slot compares without regard to case.
function isOnOff(value: string | undefined): boolean {
  const v = value?.toLowerCase();
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
