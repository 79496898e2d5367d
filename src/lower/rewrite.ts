// The rewrite module at one level (server or location): return, rewrite, if,
// set, break → RewriteStep[] in order, plus the terminal `return` if one is
// always reached. Conditional steps (rewrite with a regex) become Envoy routes
// placed before the level's own route; what Envoy cannot express is reported.
import type { Directive } from '../parse/ast.js';
import type { RedirectAction, ReportClass, ReturnAction, RewriteStep } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { pcreToRe2 } from './regex.js';
import { planRedirect } from './redirect.js';
import { lowerIfReturn, type MapOf } from './if-return.js';
import { errorAt, hasVariables, runCache, srcOf, templateOf, tupleKey } from './util.js';
import { argCount, argValue } from '../parse/args.js';

/** Rewrite regexes every URI matches (a URI always starts with `/`): the route needs no extra condition. */
export const ALWAYS_MATCHES = new Set(['^', '^/', '^(.*)$', '^/(.*)$', '^(.*)', '^/(.*)', '.*', '^.*$', '^.*', '(.*)', '^/.*', '^/.*$', '/']);

/** The directive each rewrite step came from (a later pass may resolve and re-report it). */
export const stepDirective = runCache<RewriteStep, Directive>();

export const REWRITE_DIRECTIVES = new Set(['return', 'rewrite', 'if', 'set', 'break', 'rewrite_log', 'uninitialized_variable_warn']);

export interface RewriteLevel {
  steps: RewriteStep[];
  /** The `return` every request of this level reaches (after the conditional steps), if any. */
  terminal: ReturnAction | RedirectAction | null;
}

export interface RewriteScope {
  level: 'server' | 'location';
  /** RE2 form of the location's regex, for `$1` in `return` (regex locations only). */
  locationRegex: string | null;
  serverName: string;
  /** The map defining a variable here, for `if ($v)` (absent: none is looked up). */
  mapOf?: MapOf;
}

export function lowerRewriteLevel(ds: Directive[], scope: RewriteScope, r: Reporter): RewriteLevel {
  const steps: RewriteStep[] = [];
  let terminal: ReturnAction | RedirectAction | null = null;
  let stopper: Directive | null = null; // the directive after which nothing runs (its text is built only when needed)
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (!REWRITE_DIRECTIVES.has(d.name)) continue;
    if (stopper) {
      const stopped = whyStopped(stopper);
      if (d.name === 'if') r.markTree(d, 'ignored', `never executed: ${stopped}`);
      else r.mark(d, 'ignored', `never executed: ${stopped}`);
      continue;
    }
    switch (d.name) {
      case 'return': {
        const action = lowerReturn(d, scope, r);
        steps.push({ kind: 'return', action, source: srcOf(d) });
        terminal = action;
        stopper = d;
        break;
      }
      case 'rewrite': {
        const step = lowerRewrite(d, scope, r);
        stepDirective.set(step, d);
        steps.push(step);
        if (step.kind === 'rewrite' && step.flag === 'break' && step.regex === '^') stopper = d;
        break;
      }
      case 'break':
        r.mark(d, 'translated', 'ends the rewrite phase');
        stopper = d;
        break;
      case 'if':
        steps.push(lowerIfReturn(d, scope.locationRegex, r, (ret) => lowerReturn(ret, scope, r), scope.mapOf));
        break;
      case 'set':
        steps.push({ kind: 'unsupported', directive: 'set', source: srcOf(d) });
        // (a set whose constant a proxy_pass uses is re-reported by set-constants.ts, once, also where included again)
        if (!r.isMarked(d)) r.mark(d, 'unsupported', '`set`: nginx variables are not translated (a constant one is where a proxy_pass uses it)');
        break;
      case 'rewrite_log':
        r.mark(d, 'ignored', 'logging');
        break;
      case 'uninitialized_variable_warn':
        r.mark(d, 'ignored', 'logging');
        break;
    }
  }
  return { steps, terminal };
}

/** Why the directives after `d` (a return, a break, or an unconditional rewrite … break) never run. */
function whyStopped(d: Directive): string {
  if (d.name === 'return') return `\`return\` at ${d.source.line}:${d.source.col} ends the rewrite phase`;
  if (d.name === 'break') return `\`break\` at ${d.source.line}:${d.source.col}`;
  return 'an unconditional `rewrite … break` ends the rewrite phase';
}

function lowerReturn(d: Directive, scope: RewriteScope, r: Reporter): ReturnAction | RedirectAction {
  const a0 = argValue(d, 0);
  const a1 = argValue(d, 1);
  if (a0 === undefined || argCount(d) > 2) throw errorAt(d.source, 'invalid number of arguments in "return" directive', 'arity');
  const at = srcOf(d);
  if (!/^\d+$/.test(a0)) {
    if (argCount(d) !== 1 || !/^(https?:\/\/|\$scheme)/.test(a0)) throw errorAt(d.args[0]!.source, `invalid return code "${a0}"`, 'return-code');
    const action: RedirectAction = { kind: 'redirect', status: 302, location: templateOf(a0), source: at };
    reportRedirect(d, action, scope, r);
    return action;
  }
  const status = Number(a0);
  if (status > 999) throw errorAt(d.args[0]!.source, `invalid return code "${a0}"`, 'return-code');
  if ([301, 302, 303, 307, 308].includes(status) && a1 !== undefined) {
    const action: RedirectAction = { kind: 'redirect', status, location: templateOf(a1), source: at };
    reportRedirect(d, action, scope, r);
    return action;
  }
  const body = a1 === undefined ? null : templateOf(a1);
  const action: ReturnAction = { kind: 'return', status, body, source: at };
  if (status === 444) r.mark(d, 'approximated', 'nginx closes the connection without a response; Envoy answers a direct response with status 444', at);
  else if (status < 200 || status >= 600) r.mark(d, 'unsupported', `status ${status} cannot be a direct response in Envoy (200–599): answered with 500`, at);
  else if (body && hasVariables(body)) r.mark(d, 'unsupported', `direct response body \`${body.raw}\` uses variables, which Envoy's direct_response cannot render: sent without a body`, at);
  else r.mark(d, 'translated', `direct_response ${status}${body ? ' with the body' : ''}`, at);
  return action;
}

type Verdict = [ReportClass, string];

// A redirect's verdict depends on its status, target and capture regex only (not
// on the server: its name changes no reason): servers repeating the same
// `return 301 …` are judged once per run.
const redirectVerdicts = runCache<string, Verdict>();

function reportRedirect(d: Directive, action: RedirectAction, scope: RewriteScope, r: Reporter): void {
  const key = tupleKey([String(action.status), scope.locationRegex ?? '', scope.locationRegex === null ? '-' : '+', action.location.raw]);
  let v = redirectVerdicts.get(key);
  if (!v) redirectVerdicts.set(key, (v = redirectVerdict(action, scope)));
  r.mark(d, v[0], v[1], action.source);
}

function redirectVerdict(action: RedirectAction, scope: RewriteScope): Verdict {
  const plan = planRedirect(action.location, { captureRegex: scope.locationRegex, rewrite: false, serverName: scope.serverName });
  if (!plan.ok) return ['unsupported', `${plan.reason}: answered with a 500 direct response`];
  if (plan.approximation) return ['approximated', `redirect ${action.status}: ${plan.approximation}`];
  return ['translated', `redirect ${action.status}`];
}

// A rewrite's verdict depends on its words, the level and whether the location is a
// regex one: the same line in many servers is judged once per run.
const rewriteVerdicts = runCache<string, Verdict>();

function lowerRewrite(d: Directive, scope: RewriteScope, r: Reporter): RewriteStep {
  const regex = argValue(d, 0);
  const replacement = argValue(d, 1);
  const flagText = argValue(d, 2);
  if (regex === undefined || replacement === undefined || argCount(d) > 3) throw errorAt(d.source, 'invalid number of arguments in "rewrite" directive', 'arity');
  const flag = (flagText ?? null) as 'last' | 'break' | 'redirect' | 'permanent' | null;
  if (flag !== null && !['last', 'break', 'redirect', 'permanent'].includes(flag)) throw errorAt(d.args[2]!.source, `invalid parameter "${flagText}"`, 'rewrite-flag');
  const conv = pcreToRe2(regex);
  if (!conv.ok) throw errorAt(d.args[0]!.source, `rewrite regex "${regex}" has no RE2 form: ${conv.message} at offset ${conv.offset}`, 'pcre-only-regex');
  const step: RewriteStep = { kind: 'rewrite', regex, replacement: templateOf(replacement), flag, source: srcOf(d) };
  const key = tupleKey([scope.level, scope.locationRegex === null ? '-' : '+', flag ?? '', regex, replacement]);
  let v = rewriteVerdicts.get(key);
  if (!v) rewriteVerdicts.set(key, (v = rewriteVerdict(step, conv.re2, scope)));
  r.mark(d, v[0], v[1]);
  return step;
}

function rewriteVerdict(step: RewriteStep & { kind: 'rewrite' }, re2: string, scope: RewriteScope): Verdict {
  const { regex, flag } = step;
  const replacement = step.replacement.raw;
  const absolute = /^(https?:\/\/|\$scheme)/.test(replacement);
  if (scope.locationRegex && !ALWAYS_MATCHES.has(regex) && ((flag !== 'last' && flag !== null) || absolute)) {
    return ['unsupported', 'a conditional rewrite inside a regex location: an Envoy route cannot require two regexes on the path; not translated'];
  }
  if (flag === 'redirect' || flag === 'permanent' || absolute) {
    const plan = planRedirect(step.replacement, { captureRegex: re2, rewrite: true, serverName: scope.serverName });
    if (!plan.ok) return ['unsupported', `${plan.reason}: not translated`];
    return [plan.approximation ? 'approximated' : 'translated', `redirect when the regex matches${plan.approximation ? ': ' + plan.approximation : ''}`];
  }
  if (flag === 'break') {
    if (scope.level === 'server') return ['unsupported', 'a server-level `rewrite … break` changes the URI before location search: not translated'];
    if (hasNonCaptureVars(step)) return ['unsupported', 'replacement uses variables Envoy cannot compute: not translated'];
    if (replacement.includes('?')) return ['unsupported', 'replacement sets a query string: Envoy rewrites only the path: not translated'];
    return ['translated', 'regex_rewrite of the upstream path when the regex matches'];
  }
  return ['unsupported', `\`rewrite\` ${flag === 'last' ? 'with `last`' : 'without a flag'} searches the locations again with the new URI: not translated (requests continue as if it did not match)`];
}

function hasNonCaptureVars(step: { replacement: { parts: ({ text: string } | { var: string })[] } }): boolean {
  return step.replacement.parts.some((p) => 'var' in p && !/^[0-9]$/.test(p.var));
}
