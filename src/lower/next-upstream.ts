// proxy_next_upstream / grpc_next_upstream (and their _tries, _timeout): when nginx
// passes a failed request on to the next server of the upstream
// (ngx_http_upstream_next, ngx_http_upstream_test_next), and the Envoy retry policy
// that does the same where Envoy can say it (planRetry). Checked with nginx 1.22:
// a refused connection is retried for every method, a response status or a reset
// after the request was sent only for idempotent methods unless `non_idempotent`
// is listed; each server is tried at most once per request, backups after every
// primary one; `_tries` caps the servers tried.
import type { Directive } from '../parse/ast.js';
import type { BackendServer, NextUpstreamCondition, ReportClass, UpstreamRetry } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { errorAt, type Level, LowerError, parseTimeMs, runCache, srcOf } from './util.js';
import { isIp } from './upstream.js';

export type RetryFamily = 'proxy' | 'grpc';

/** nginx's conditions in the order of its bitmask (ngx_http_proxy_next_upstream_masks). */
const CONDITIONS: readonly NextUpstreamCondition[] = ['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429', 'non_idempotent'];
const STATUS_OF: Partial<Record<NextUpstreamCondition, number>> = { http_500: 500, http_502: 502, http_503: 503, http_504: 504, http_403: 403, http_404: 404, http_429: 429 };

/** nginx's default: `error timeout`, no limit on tries or time. */
export const DEFAULT_RETRY: UpstreamRetry = Object.freeze({ conditions: Object.freeze(['error', 'timeout']) as unknown as NextUpstreamCondition[], tries: 0, timeoutMs: 0 });

/** The innermost occurrence of a directive across the inheritance chain (limits.ts has the same; not imported: it imports this module). */
function effective(levels: Level[], name: string): Directive | undefined {
  for (let i = levels.length - 1; i >= 0; i--) {
    const here = levels[i]!.byName.get(name);
    if (here) return here[here.length - 1];
  }
  return undefined;
}

/** The three directive names of each family (made once: retryAt asks for every proxied location). */
const NAMES: Readonly<Record<RetryFamily, { next: string; tries: string; timeout: string }>> = { proxy: namesOf('proxy'), grpc: namesOf('grpc') };

function namesOf(family: RetryFamily): { next: string; tries: string; timeout: string } {
  return { next: `${family}_next_upstream`, tries: `${family}_next_upstream_tries`, timeout: `${family}_next_upstream_timeout` };
}

// A directive's conditions are read by the level's check, its report line and every
// location's retry rule below it: read once per directive (the list is never modified).
const conditionsByDirective = runCache<Directive, NextUpstreamCondition[]>();

/** The conditions a *_next_upstream directive lists (`off` anywhere: none), as nginx reads them. */
export function conditionsOf(d: Directive): NextUpstreamCondition[] {
  let c = conditionsByDirective.get(d);
  if (!c) conditionsByDirective.set(d, (c = readConditions(d)));
  return c;
}

function readConditions(d: Directive): NextUpstreamCondition[] {
  if (d.args.length === 0) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
  const set = new Set<string>();
  let off = false;
  for (const a of d.args) {
    // ngx_conf_set_bitmask_slot: names are compared case-insensitively
    const v = a.value.toLowerCase();
    if (v === 'off') off = true;
    else if ((CONDITIONS as readonly string[]).includes(v) || v === 'updating') set.add(v);
    else throw errorAt(a.source, `invalid value "${a.value}"`, 'next-upstream-value');
  }
  // `off` wins over anything listed with it (ngx_http_proxy_merge_loc_conf); `updating` is the cache's.
  // Frozen like DEFAULT_RETRY's list (shared, never modified): one kind of list for their readers.
  return Object.freeze(off ? [] : CONDITIONS.filter((c) => set.has(c))) as NextUpstreamCondition[];
}

function triesOf(d: Directive): number {
  const v = d.args[0]?.value ?? '';
  if (d.args.length !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
  if (!/^\d+$/.test(v)) throw errorAt(d.source, `"${d.name}" directive invalid number`, 'next-upstream-tries');
  return Number(v);
}

function timeoutOf(d: Directive): number {
  if (d.args.length !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
  const ms = parseTimeMs(d.args[0]!.value);
  if (ms === null) throw errorAt(d.source, `"${d.name}" directive invalid value`, 'next-upstream-timeout');
  return ms;
}

// One answer per combination of directives in effect (most locations inherit the default).
const retries = runCache<string, UpstreamRetry>();
const ids = new WeakMap<Directive, number>();
let nextId = 1;

function idOf(d: Directive | undefined): number {
  if (!d) return 0;
  let id = ids.get(d);
  if (id === undefined) ids.set(d, (id = nextId++));
  return id;
}

/** The retry rule in effect for a location's proxy_pass (`proxy`) or grpc_pass (`grpc`): each directive is inherited on its own. */
export function retryAt(levels: Level[], family: RetryFamily): UpstreamRetry {
  const n = NAMES[family];
  const next = effective(levels, n.next);
  const tries = effective(levels, n.tries);
  const timeout = effective(levels, n.timeout);
  if (!next && !tries && !timeout) return DEFAULT_RETRY;
  const key = `${idOf(next)}/${idOf(tries)}/${idOf(timeout)}`;
  let r = retries.get(key);
  if (!r) {
    r = { conditions: next ? conditionsOf(next) : DEFAULT_RETRY.conditions, tries: tries ? triesOf(tries) : 0, timeoutMs: timeout ? timeoutOf(timeout) : 0 };
    r.sources = [next, tries, timeout].filter((d): d is Directive => d !== undefined).map((d) => srcOf(d));
    retries.set(key, r);
  }
  return r;
}

// ---------------------------------------------------------------- the Envoy policy

/** What Envoy's retry policy says for one proxy_pass to one backend (emit/envoy/retry.ts writes it). */
export interface RetryPlan {
  /** retry_on, in this order: connect-failure, reset, retriable-status-codes. */
  retryOn: string[];
  /** retriable_status_codes, ascending. */
  statusCodes: number[];
  /** Tries after the first: one per other server nginx may try. */
  numRetries: number;
  /** nginx's peers that are not down: primary (Envoy priority 0) and backup (priority 1) ones. */
  primaries: number;
  backups: number;
  /** Host selections a retry may make to find a server not tried yet (the cluster's total weight). */
  hostSelectionAttempts: number;
}

/**
 * The peers nginx makes of the servers that are not down: one per address, and a name
 * has as many as it resolves to, which is known only at run time. Envoy's STRICT_DNS
 * cluster (dns_lookup_family ALL) also makes a host per address; a name is counted as
 * two (its IPv4 and IPv6 address, as `localhost` has): a retry beyond its addresses goes
 * to one already tried, which changes how long a failure takes, not its outcome.
 */
export function peersOf(servers: BackendServer[]): { primaries: number; backups: number; weight: number; names: number } {
  let primaries = 0;
  let backups = 0;
  let weight = 0;
  let names = 0;
  for (const s of servers) {
    if (s.down) continue;
    const dns = !s.unix && !isIp(s.host);
    const n = dns ? 2 : 1;
    if (dns) names++;
    if (s.backup) backups += n;
    else primaries += n;
    weight += n * Math.max(1, s.weight);
  }
  return { primaries, backups, weight, names };
}

/** What Envoy retries on for a rule: the part of nginx's rule it can say for every method alike. */
export function envoyConditions(retry: UpstreamRetry): { retryOn: string[]; statusCodes: number[] } {
  const has = (c: NextUpstreamCondition) => retry.conditions.includes(c);
  const retryOn: string[] = [];
  // A connect that fails (refused, or timed out) sends nothing: nginx tries the next server for any method.
  if (has('error') || has('timeout')) retryOn.push('connect-failure');
  // After the request was sent nginx retries only idempotent methods, unless non_idempotent:
  // Envoy's retry policy is the same for every method, so these are retried only then.
  const anyMethod = has('non_idempotent');
  if (anyMethod && (has('error') || has('invalid_header'))) retryOn.push('reset');
  const statusCodes = anyMethod ? retry.conditions.map((c) => STATUS_OF[c]).filter((s): s is number => s !== undefined).sort((a, b) => a - b) : [];
  if (statusCodes.length) retryOn.push('retriable-status-codes');
  return { retryOn, statusCodes };
}

/** The retry policy of a proxy_pass to `servers`, or null where nginx has nothing to retry on (or does not retry). */
export function planRetry(retry: UpstreamRetry, servers: BackendServer[]): RetryPlan | null {
  const peers = peersOf(servers);
  const total = peers.primaries + peers.backups;
  const tries = retry.tries === 0 ? total : Math.min(retry.tries, total);
  const { retryOn, statusCodes } = envoyConditions(retry);
  if (tries < 2 || retryOn.length === 0) return null;
  return { retryOn, statusCodes, numRetries: tries - 1, primaries: peers.primaries, backups: peers.backups, hostSelectionAttempts: peers.weight };
}

// ---------------------------------------------------------------- the report

const RESET_AFTER_SEND = 'a connection error after the request was sent (reset, closed before the response header)';

/** What a rule leaves untranslated, in words; `lost`: conditions with no effect at all in Envoy. */
export function retryDifferences(retry: UpstreamRetry): { lost: string[]; approximated: string[] } {
  const has = (c: NextUpstreamCondition) => retry.conditions.includes(c);
  const lost: string[] = [];
  const approximated: string[] = [];
  const anyMethod = has('non_idempotent');
  if (has('error') !== has('timeout')) {
    approximated.push(`Envoy's connect-failure retries refused and timed-out connects alike; nginx retries only ${has('error') ? 'errors (not connect timeouts)' : 'timeouts (not refused connects)'} here`);
  }
  if (has('error') && !anyMethod) approximated.push(`${RESET_AFTER_SEND} is retried by nginx for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS…), not by Envoy (its \`reset\` would resend POST, LOCK and PATCH too)`);
  if (has('error') && anyMethod) approximated.push(`${RESET_AFTER_SEND} → reset (Envoy also retries a reset while the response body streams, which nginx cannot once it has sent to the client)`);
  if (has('timeout')) approximated.push('a read or send timeout before the response header is not retried (proxy_read_timeout ends the request: the route idle_timeout)');
  const statuses = retry.conditions.filter((c) => STATUS_OF[c] !== undefined);
  if (statuses.length && !anyMethod) lost.push(`${statuses.join(' ')}: nginx passes idempotent requests answered so to the next server; Envoy's retry policy cannot tell methods apart and retrying would resend POST, LOCK and PATCH, which nginx never does without non_idempotent: not retried`);
  if (has('invalid_header') && !anyMethod) lost.push('invalid_header: an invalid or empty response header is not retried (nginx retries idempotent requests; Envoy\'s `reset` would resend every method)');
  if (has('invalid_header') && anyMethod) approximated.push('invalid_header → reset (Envoy resets the stream on a malformed response header)');
  return { lost, approximated };
}

/** What every translated rule shares (`backups`: whether to speak of backup servers). */
function common(backups: boolean): string {
  const order = backups ? ', backups only after every primary one (retry_priority previous_priorities)' : '';
  return `each server is tried at most once (retry_host_predicate previous_hosts)${order}, with a back-off of at most 1 ms between tries where nginx has none; a connection failure after the last try is Envoy's 503 where nginx answers 502`;
}

const NEXT_UPSTREAM_NAMES: ReadonlySet<string> = new Set(['proxy', 'grpc'].flatMap((f) => Object.values(NAMES[f as RetryFamily])));

/** Raises nginx's error for an invalid *_next_upstream* directive of a level (nginx reads each, used or not). */
export function checkNextUpstream(ds: Directive[]): void {
  for (const d of ds) {
    if (!NEXT_UPSTREAM_NAMES.has(d.name)) continue;
    if (d.name.endsWith('_tries')) triesOf(d);
    else if (d.name.endsWith('_timeout')) timeoutOf(d);
    else conditionsOf(d);
  }
}

/**
 * The report line of a *_next_upstream* directive: what it becomes for the proxy_pass (or
 * grpc_pass) routes using it. Never throws: checkNextUpstream raised nginx's error for an
 * invalid one before (a marker given one anyway reports it unsupported).
 */
export function markNextUpstream(d: Directive, r: Reporter): void {
  try {
    markValid(d, r);
  } catch (err) {
    if (!(err instanceof LowerError)) throw err;
    r.mark(d, 'unsupported', `nginx rejects it: ${err.message}`);
  }
}

function markValid(d: Directive, r: Reporter): void {
  if (d.name.endsWith('_next_upstream_tries')) {
    const n = triesOf(d);
    r.mark(d, 'translated', n === 0 ? 'no limit: every server of the upstream once (num_retries = servers − 1)' : `num_retries ${n - 1} at most (${n} tries, each on another server)`);
    return;
  }
  if (d.name.endsWith('_next_upstream_timeout')) {
    const ms = timeoutOf(d);
    if (ms === 0) r.mark(d, 'translated', 'no limit on the time spent trying servers, as Envoy\'s retries (the route timeout is 0s)');
    else r.mark(d, 'unsupported', 'not translated: Envoy bounds the retries by their count only; nginx stops trying other servers once this long has passed since the first try');
    return;
  }
  const conditions = conditionsOf(d);
  // The line depends on the conditions only: the same list written in many locations is worded once.
  const key = conditions.join(' ');
  let v = conditionVerdicts.get(key);
  if (!v) conditionVerdicts.set(key, (v = conditionsVerdict(conditions)));
  r.mark(d, v[0], v[1]);
}

const conditionVerdicts = runCache<string, [ReportClass, string]>();

function conditionsVerdict(conditions: NextUpstreamCondition[]): [ReportClass, string] {
  const retry: UpstreamRetry = { conditions, tries: 0, timeoutMs: 0 };
  if (retry.conditions.length === 0) return ['translated', 'no retry_policy on the routes here: Envoy does not retry, as nginx does not'];
  const { retryOn, statusCodes } = envoyConditions(retry);
  const { lost, approximated } = retryDifferences(retry);
  const what = retryOn.length
    ? `retry_policy on the routes to upstreams with more than one server: retry_on ${retryOn.join(',')}${statusCodes.length ? ` (${statusCodes.join(', ')})` : ''}; ${common(true)}`
    : 'no retry_policy: nothing listed here is retried by Envoy';
  const cls = lost.length ? 'unsupported' : 'approximated';
  return [cls, [what, ...approximated, ...lost].join('; ')];
}

/** The report note for a proxy_pass to a backend under nginx's default rule (no *_next_upstream directive in effect). */
export function defaultRetryReason(plan: RetryPlan, clusters: string[], names: number): string {
  const backups = plan.backups ? `, then its ${plan.backups} backup server${plan.backups > 1 ? 's' : ''}` : '';
  const dns = names ? `; nginx has a server per address a name resolves to: the count takes two per name (IPv4 and IPv6), a retry beyond them goes to a server already tried` : '';
  return `nginx passes a request whose connection fails to the next server (the default of proxy_next_upstream and grpc_next_upstream, \`error timeout\`, every server once): the routes to ${clusters.length > 1 ? 'clusters' : 'cluster'} ${clusters.map((c) => `\`${c}\``).join(', ')} retry it (retry_policy connect-failure, num_retries ${plan.numRetries}) on each of its ${plan.primaries} servers${backups}; ${common(plan.backups > 0)}; ${RESET_AFTER_SEND} and a read timeout are retried by nginx for idempotent methods, not by Envoy${dns}`;
}
