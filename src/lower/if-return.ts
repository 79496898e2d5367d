// `if (condition) { return …; }` (certbot's HTTP→HTTPS idiom): nginx runs the
// rewrite phase in order, and an `if` whose condition holds and whose block is
// only a `return` ends the request there. Envoy expresses it as a route placed
// before the level's own routes, matching on the condition. Only conditions
// Envoy can test exactly (or with a stated difference) are taken; any other
// `if` stays unsupported.
import type { Directive } from '../parse/ast.js';
import { ifArgs } from '../parse/crossplane.js';
import type { IfCondition, MapTest, RedirectAction, ReturnAction, RewriteStep } from '../ir/types.js';
import { mapClasses, markMapUsed, MAX_MAP_ROUTES, type MapUse, testHolds } from './http-map.js';
import type { Reporter } from './classify.js';
import { pcreToRe2 } from './regex.js';
import { srcOf } from './util.js';

const COMPARED = new Set(['host', 'http_host', 'scheme', 'request_method']);
const SEARCHED = new Set(['uri', 'request_uri', 'request_method']);

type Lowered = { ok: true; condition: IfCondition; cls: 'translated' | 'approximated'; reason: string } | { ok: false; reason: string };

/** The `if` → a step: an `if` step when Envoy can test it, else an unsupported one (reported). */
export function lowerIfReturn(
  d: Directive,
  locationRegex: string | null,
  r: Reporter,
  lowerReturn: (ret: Directive) => ReturnAction | RedirectAction,
  mapOf: MapOf = () => null,
): RewriteStep {
  const body = (d.block ?? []).filter((s): s is Directive => s.kind === 'directive');
  const ret = body.length === 1 && body[0]!.name === 'return' ? body[0]! : null;
  const lowered = ret ? (mapCondition(d, mapOf, r) ?? ifCondition(d, locationRegex)) : { ok: false as const, reason: 'its block is not a single `return`' };
  if (lowered.ok && ret && usesCaptures(ret) && lowered.condition.kind === 'regex') {
    return unsupported(d, r, 'the `return` uses regex captures of the condition');
  }
  if (!lowered.ok || !ret) return unsupported(d, r, lowered.ok ? '' : lowered.reason);
  const action = lowerReturn(ret);
  r.mark(d, lowered.cls, lowered.reason);
  return { kind: 'if', condition: lowered.condition, action, source: srcOf(d) };
}

function unsupported(d: Directive, r: Reporter, why: string): RewriteStep {
  r.markTree(
    d,
    'unsupported',
    `\`if\` has no exact Envoy form${why ? ` (${why})` : ''}: the condition and its block are not translated (requests behave as if it were false)`,
    'inside `if`: not translated',
  );
  return { kind: 'unsupported', directive: 'if', source: srcOf(d) };
}

/** The map (if any) defining a variable where this `if` is: see src/lower/http-map.ts. */
export type MapOf = (name: string) => MapUse | null;

/** `if ($v)`, `if ($v = literal)`, `if ($v != literal)` on a map variable; null when the condition reads no map variable. */
function mapCondition(d: Directive, mapOf: MapOf, r: Reporter): Lowered | null {
  const args = ifArgs(d.args.map((a) => a.value));
  const name = /^\$\{?(\w+)\}?$/.exec(args[0] ?? '')?.[1]?.toLowerCase();
  if (!name || COMPARED.has(name) || SEARCHED.has(name)) return null;
  const use = mapOf(name);
  if (!use) return null;
  const op = args[1];
  let test: MapTest;
  if (args.length === 1) test = { op: 'truthy' };
  else if (args.length === 3 && (op === '=' || op === '!=') && !args[2]!.includes('$')) test = { op: op === '=' ? 'equals' : 'differs', value: args[2]! };
  else return { ok: false, reason: `condition \`${args.join(' ')}\` on the map variable $${name}` };
  if (!use.ok) return { ok: false, reason: `$${name} comes from a \`map\` that cannot be expressed: ${use.why}` };
  const classes = mapClasses(use.map);
  const routes = classes.filter((c) => testHolds(test, c.value)).length + 2;
  if (routes > MAX_MAP_ROUTES) return { ok: false, reason: `$${name} would take ${routes} routes, over the limit of ${MAX_MAP_ROUTES}` };
  const holds = test.op === 'truthy' ? 'is neither empty nor "0"' : `${test.op === 'equals' ? 'is' : 'is not'} "${test.value}"`;
  markMapUsed(use, r, `\`if\` at ${srcOf(d).file}:${d.source.line}`);
  const reason = `route first for the requests whose $${name} (the map at ${use.map.source.file}:${use.map.source.line}) ${holds}: for each key group giving such a value, a route matching it and none of the groups before it giving another; ${use.how}`;
  return { ok: true, condition: { kind: 'map', map: use.map, test }, cls: use.cls, reason };
}

function usesCaptures(ret: Directive): boolean {
  return ret.args.some((a) => /\$\{?[0-9]/.test(a.value));
}

/** Reads `$var = literal`, `$var != literal`, `$var ~ regex` (and `~*`, `!~`, `!~*`). */
function ifCondition(d: Directive, locationRegex: string | null): Lowered {
  const args = ifArgs(d.args.map((a) => a.value));
  if (args.length !== 3 || !args[0]!.startsWith('$')) return { ok: false, reason: `condition \`${args.join(' ')}\`` };
  const [variable, op, operand] = [args[0]!.slice(1), args[1]!, args[2]!];
  if ((op === '=' || op === '!=') && COMPARED.has(variable)) return compare(variable as Compared, op === '!=', operand);
  if (['~', '~*', '!~', '!~*'].includes(op) && SEARCHED.has(variable)) return search(variable as Searched, op, operand, locationRegex);
  return { ok: false, reason: `condition on \`$${variable}\` with \`${op}\`` };
}

type Compared = 'host' | 'http_host' | 'scheme' | 'request_method';
type Searched = 'uri' | 'request_uri' | 'request_method';

function compare(variable: Compared, negate: boolean, value: string): Lowered {
  if (value.includes('$')) return { ok: false, reason: `compared with variables (\`${value}\`)` };
  const condition: IfCondition = { kind: 'compare', variable, value, negate };
  const op = negate ? 'differs from' : 'equals';
  switch (variable) {
    case 'host':
      return { ok: true, condition, cls: 'translated', reason: `route first when :authority (port and trailing dot stripped, compared ignoring case: $host is lowercased) ${op} "${value}"` };
    case 'http_host':
      if (value.includes(':') || value.endsWith('.')) return { ok: false, reason: 'Envoy strips the port and trailing dot from :authority before routing' };
      return { ok: true, condition, cls: 'approximated', reason: `route first when :authority ${op} "${value}": $http_host is the raw Host header, and Envoy has stripped a port or trailing dot the client sent` };
    case 'scheme':
      return { ok: true, condition, cls: 'translated', reason: `$scheme is known per listener (http, or https on ssl listens): decided at compile time` };
    case 'request_method':
      return { ok: true, condition, cls: 'translated', reason: `route first when :method ${op} "${value}"` };
  }
}

function search(variable: Searched, op: string, regex: string, locationRegex: string | null): Lowered {
  const caseless = op.endsWith('*');
  const negate = op.startsWith('!');
  const conv = pcreToRe2(regex, caseless);
  if (!conv.ok) return { ok: false, reason: `regex "${regex}" has no RE2 form: ${conv.message}` };
  const condition: IfCondition = { kind: 'regex', variable, regex, caseless, negate };
  if (variable === 'request_method') {
    return { ok: true, condition, cls: 'translated', reason: `route first when :method ${negate ? 'does not match' : 'matches'} the regex` };
  }
  if (variable === 'request_uri') {
    const reason = `route first when :path ${negate ? 'does not match' : 'matches'} the regex: $request_uri is the URI as sent, Envoy's :path is normalised (merged slashes, resolved dot segments)`;
    return { ok: true, condition, cls: 'approximated', reason };
  }
  if (negate) return { ok: false, reason: 'a negated regex on $uri: an Envoy route cannot require that the path does not match' };
  if (locationRegex !== null) return { ok: false, reason: 'a regex on $uri inside a regex location: an Envoy route cannot require two regexes on the path' };
  return { ok: true, condition, cls: 'translated', reason: 'route first when the path matches the regex (safe_regex on the normalised path)' };
}
