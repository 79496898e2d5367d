// headers-more (openresty/headers-more-nginx-module): more_set_headers,
// more_clear_headers, more_set_input_headers, more_clear_input_headers.
// Parsed as the module parses them (options apply to the whole command, wherever
// they are written; `Name: value`, `Name:` and `Name` forms), inherited as the
// module merges them (outer levels' commands run first, then the inner level's:
// nothing is replaced), and reported header by header: what Envoy's route header
// lists express exactly, what they approximate, and what they cannot express.
import type { Directive } from '../parse/ast.js';
import type { MoreHeaderOp, MoreHeaders, ReportClass, Template } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { errorAt, familyOfNames, holds, type Level, runCache, srcOf, templateOf } from './util.js';
import { argValue } from '../parse/args.js';
import { formatHeaderValue, headerValueCaveats } from './headers.js';

export const MORE_OUTPUT = ['more_set_headers', 'more_clear_headers'];
export const MORE_INPUT = ['more_set_input_headers', 'more_clear_input_headers'];
export const MORE_DIRECTIVES: readonly string[] = [...MORE_OUTPUT, ...MORE_INPUT];
export const MORE_FAMILY = familyOfNames(new Set(MORE_DIRECTIVES));

/** The options each command accepts (module 0.34; `-a` came later and is accepted, not translated). */
const OPTIONS: Record<string, string> = {
  more_set_headers: 'sta',
  more_clear_headers: 'st',
  more_set_input_headers: 'tr',
  more_clear_input_headers: 't',
};

// A directive's headers, parsed once per run (levels are shared by every location below them).
const parsedByDirective = runCache<Directive, MoreHeaderOp[]>();

/** The headers of one command, in order, with the command's options on each (nginx's errors raised here). */
export function moreHeaderOps(d: Directive): MoreHeaderOp[] {
  let ops = parsedByDirective.get(d);
  if (!ops) parsedByDirective.set(d, (ops = parseCommand(d)));
  return ops;
}

function parseCommand(d: Directive): MoreHeaderOp[] {
  const clear = d.name.includes('_clear_');
  const names: { name: string; value: string; raw: string }[] = [];
  const statuses: number[] = [];
  const types: string[] = [];
  let replaceOnly = false;
  let append = false;
  for (let i = 0; i < d.args.length; i++) {
    const arg = argValue(d, i) ?? '';
    if (arg === '') continue; // the module skips empty arguments
    if (!arg.startsWith('-')) {
      names.push({ ...splitHeader(arg, d), raw: arg });
      continue;
    }
    const opt = arg.length === 2 ? arg[1]! : '';
    if (!opt || !OPTIONS[d.name]!.includes(opt)) throw errorAt(d.source, `${d.name}: invalid option name: "${arg}"`, 'headers-more-option');
    if (opt === 'r') {
      replaceOnly = true;
      continue;
    }
    if (opt === 'a') {
      append = true;
      continue;
    }
    if (i === d.args.length - 1) throw errorAt(d.source, `${d.name}: option -${opt} takes an argument.`, 'headers-more-option');
    const list = argValue(d, ++i) ?? '';
    if (opt === 's') statuses.push(...statusList(list, d));
    else types.push(...list.split(/\s+/).filter((t) => t !== ''));
  }
  return names.map(({ name, value }) => {
    const op: MoreHeaderOp = { name, value: clear || value === '' ? null : templateOf(value), source: srcOf(d) };
    if (statuses.length) op.statuses = statuses;
    if (types.length) op.types = types;
    if (replaceOnly) op.replaceOnly = true;
    if (append) op.append = true;
    return op;
  });
}

/**
 * `Name: value` as the module reads it: the name runs from the first non-blank
 * character to a `:` or a blank, every `:` and blank after it is skipped, and the
 * value is the rest. (The module takes the name's characters from the start of
 * the argument, so leading blanks stay in it and its end is cut: kept as nginx has it.)
 */
function splitHeader(raw: string, d: Directive): { name: string; value: string } {
  const isBlank = (c: string) => /\s/.test(c);
  let i = 0;
  while (i < raw.length && isBlank(raw[i]!)) i++;
  if (i === raw.length) throw errorAt(d.source, `${d.name}: no key found in the header argument: ${raw}`, 'headers-more-header');
  let len = 0;
  while (i < raw.length && raw[i] !== ':' && !isBlank(raw[i]!)) {
    i++;
    len++;
  }
  while (i < raw.length && (raw[i] === ':' || isBlank(raw[i]!))) i++;
  const name = raw.slice(0, len);
  if (name.endsWith('*') && name.length < 2) throw errorAt(d.source, `${d.name}: wildcard key too short: ${raw}`, 'headers-more-header');
  return { name, value: raw.slice(i) };
}

/** A -s list: status codes separated by blanks (nginx's error names the first character that is not a digit). */
function statusList(list: string, d: Directive): number[] {
  const out: number[] = [];
  for (const word of list.split(/\s+/)) {
    if (word === '') continue;
    const bad = /[^0-9]/.exec(word);
    if (bad) throw errorAt(d.source, `${d.name}: invalid digit "${bad[0]}" found in the status code list "${list}"`, 'headers-more-status');
    out.push(Number(word));
  }
  return out;
}

// ---------------------------------------------------------------- inheritance

const EMPTY: MoreHeaders = Object.freeze({ output: [], input: [] }) as MoreHeaders;

// The commands in effect below a chain of levels: one object per chain of levels that
// have commands of their own (every location inheriting a list gets the same object).
const chains = runCache<MoreHeaders, Map<Level, MoreHeaders>>();

/** The headers-more commands in effect at the innermost of `levels` (outer ones first); null: none. */
export function moreHeadersAt(levels: Level[]): MoreHeaders | null {
  let acc = EMPTY;
  for (const level of levels) {
    // (the family first: it answers for most levels without a lookup per name)
    if (!holds(level, MORE_FAMILY) || !MORE_DIRECTIVES.some((n) => level.byName.has(n))) continue;
    let byLevel = chains.get(acc);
    if (!byLevel) chains.set(acc, (byLevel = new Map()));
    let next = byLevel.get(level);
    if (!next) byLevel.set(level, (next = withLevel(acc, level)));
    acc = next;
  }
  return acc === EMPTY ? null : acc;
}

function withLevel(acc: MoreHeaders, level: Level): MoreHeaders {
  const output = [...acc.output];
  const input = [...acc.input];
  for (const d of level.ds) {
    if (MORE_OUTPUT.includes(d.name)) output.push(...moreHeaderOps(d));
    else if (MORE_INPUT.includes(d.name)) input.push(...moreHeaderOps(d));
  }
  return { output, input };
}

// ---------------------------------------------------------------- what Envoy can express

/**
 * Response headers Envoy writes itself after the route's lists (Date, and the
 * framing and hop-by-hop headers of its codec), with the reason; `server` is the
 * connection manager's (server_name, server_header_transformation) and handled there.
 */
const ENVOY_OWNED: Record<string, string> = {
  date: 'Envoy\'s connection manager writes Date on every response itself',
  'content-length': 'Envoy\'s codec frames each message itself (Content-Length, Transfer-Encoding)',
  'transfer-encoding': 'Envoy\'s codec frames each message itself (Content-Length, Transfer-Encoding)',
  connection: 'hop-by-hop header: Envoy\'s codec manages it (nginx cannot change the response\'s either)',
  'keep-alive': 'hop-by-hop header: Envoy\'s codec manages it',
  'proxy-connection': 'hop-by-hop header: Envoy\'s codec manages it',
  upgrade: 'hop-by-hop header: Envoy\'s codec manages it',
  te: 'hop-by-hop header: Envoy\'s codec manages it',
  trailer: 'hop-by-hop header: Envoy\'s codec manages it',
};

/** Whether a header name can go in an Envoy header list as written (an RFC 9110 token). */
export function isTokenName(name: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

export type MoreVerdict = [ReportClass, string];

const LOCAL_REPLIES = 'Envoy\'s own error replies (upstream unreachable 502, upstream timeout 504, access denied 403, body too large 413) do not carry route headers, nginx\'s error pages do';

/** How one response header of a command is translated (Server aside: see serverOp). */
export function outputVerdict(op: MoreHeaderOp): MoreVerdict {
  const why = untranslatable(op, 'response');
  if (why) return ['unsupported', why];
  const name = op.name.toLowerCase();
  if (name === 'server') {
    if (op.value && op.value.parts.some((p) => 'var' in p)) return ['unsupported', `Server \`${op.value.raw}\` with variables: Envoy's server_name is a fixed text`];
    return ['translated', op.value ? 'the connection manager\'s server_name (Envoy writes it on every response, its own replies included)' : 'server_header_transformation PASS_THROUGH and `server` removed on every route: no Server header, as nginx'];
  }
  const value = valueVerdict(op.value);
  if (value[0] === 'unsupported') return value;
  const what = op.value ? 'response_headers_to_add (OVERWRITE_IF_EXISTS_OR_ADD: replaces the header)' : 'response_headers_to_remove';
  const caveats = value[1] ? `; ${value[1]}` : '';
  return ['approximated', `${what} on the routes it applies to, direct responses and redirects included; ${LOCAL_REPLIES}${caveats}`];
}

/** How one request header of a command is translated. */
export function inputVerdict(op: MoreHeaderOp): MoreVerdict {
  const why = untranslatable(op, 'request');
  if (why) return ['unsupported', why];
  const name = op.name.toLowerCase();
  if (name === 'host') return ['unsupported', 'Envoy\'s header lists cannot change Host (nginx\'s $host and $http_host change with it)'];
  const value = valueVerdict(op.value);
  if (value[0] === 'unsupported') return value;
  const what = !op.value
    ? 'request_headers_to_remove'
    : op.replaceOnly
      ? 'request_headers_to_add with OVERWRITE_IF_EXISTS (-r: only where the request has it)'
      : 'request_headers_to_add (OVERWRITE_IF_EXISTS_OR_ADD: replaces the client\'s header)';
  const caveats = value[1] ? `; ${value[1]}` : '';
  return [caveats ? 'approximated' : 'translated', `${what} on the proxied routes; a proxy_set_header of the same name wins, as in nginx${caveats}`];
}

/** The reason an op has no Envoy form, or null. */
function untranslatable(op: MoreHeaderOp, kind: 'request' | 'response'): string | null {
  if (op.statuses) return '-s (status condition): Envoy\'s route header lists have no status condition: not translated';
  if (op.types) return `-t (content-type condition on the ${kind}): Envoy's route header lists have no such condition: not translated`;
  if (op.append) return '-a (append): not known to the module version this translation follows (0.34): not translated';
  if (op.name.endsWith('*')) return `wildcard \`${op.name}\`: Envoy removes ${kind} headers by exact name only: not translated`;
  if (!isTokenName(op.name)) return `header name \`${op.name}\` (as nginx reads the argument) is not a valid header name for Envoy: not translated`;
  const name = op.name.toLowerCase();
  if (kind === 'response' && ENVOY_OWNED[name]) return `${ENVOY_OWNED[name]}: not translated`;
  if (kind === 'request' && name !== 'date' && ENVOY_OWNED[name]) return `${ENVOY_OWNED[name]}: not translated`;
  return null;
}

/** A value's formatter verdict: unsupported (variables without a formatter), or the approximations it carries ('' for none). */
function valueVerdict(value: Template | null): MoreVerdict {
  if (!value) return ['translated', ''];
  const f = formatHeaderValue(value, { scheme: 'http', port: 80, serverName: '', proxyHost: '' });
  if ('unsupported' in f) return ['unsupported', `${f.unsupported.join(', ')} has no Envoy formatter: header not changed`];
  return ['translated', headerValueCaveats(value).join('; ')];
}

/** Whether an op is translated into the route lists (or, for Server, the listener): not unsupported. */
export function translatable(op: MoreHeaderOp, kind: 'input' | 'output'): boolean {
  return (kind === 'output' ? outputVerdict(op) : inputVerdict(op))[0] !== 'unsupported';
}

// ---------------------------------------------------------------- report

const SEVERITY: Record<ReportClass, number> = { translated: 0, ignored: 1, approximated: 2, unsupported: 3 };

/** Report a command: the worst of its headers' verdicts, each reason once with the headers it is about. */
export function markMoreHeaders(d: Directive, r: Reporter): void {
  const ops = moreHeaderOps(d);
  const output = MORE_OUTPUT.includes(d.name);
  if (ops.length === 0) {
    r.mark(d, 'translated', 'no header: nothing to do');
    return;
  }
  let cls: ReportClass = 'translated';
  const byReason = new Map<string, string[]>();
  for (const op of ops) {
    const [c, why] = output ? outputVerdict(op) : inputVerdict(op);
    if (SEVERITY[c] > SEVERITY[cls]) cls = c;
    const names = byReason.get(why);
    if (names) names.push(op.name);
    else byReason.set(why, [op.name]);
  }
  const reasons = [...byReason].map(([why, names]) => (byReason.size > 1 ? `${names.join(', ')}: ${why}` : why));
  r.mark(d, cls, reasons.join(' | '));
}

// ---------------------------------------------------------------- net effect

/**
 * What a list of commands does to each header name once all have run, for the
 * translatable headers (names as last written, in the order of each name's first
 * command): Envoy applies a list's removals before its additions, so the
 * order nginx runs them in is worked out here. `replace` is -r's conditional
 * set (only where the header is there); a set or clear before it decides it.
 */
export type NetOp = { name: string; kind: 'set' | 'replace'; value: Template } | { name: string; kind: 'clear' };

export function netMoreOps(ops: MoreHeaderOp[], kind: 'input' | 'output'): NetOp[] {
  const net = new Map<string, NetOp>();
  for (const op of ops) {
    if (!translatable(op, kind)) continue;
    const key = op.name.toLowerCase();
    const before = net.get(key);
    const name = op.name;
    let next: NetOp;
    if (!op.value) next = { name, kind: 'clear' };
    else if (!op.replaceOnly || before?.kind === 'set') next = { name, kind: 'set', value: op.value };
    else if (before?.kind === 'clear') next = before; // -r finds nothing to replace
    else next = { name, kind: 'replace', value: op.value };
    net.set(key, next);
  }
  return [...net.values()];
}
