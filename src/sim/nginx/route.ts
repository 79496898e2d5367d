// Where nginx sends one request: server, location (after the rewrite phases),
// and what the content phase does (proxy with the upstream URI nginx builds,
// redirect, return, or files/404). Plain data in and out; every answer names
// the nginx source lines behind it.
import type {
  Action,
  AuthGate,
  CompiledConfig,
  HttpMap,
  IfCondition,
  LimitExcept,
  Location,
  Policy,
  RewriteStep,
  Src,
  Template,
  VirtualServer,
} from '../../ir/types.js';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { selectLocation } from './location.js';
import { mapLookup } from './map.js';
import { compileNginxRegex, searchRegex, type Captures, NO_CAPTURES } from './regex.js';
import { normaliseHost, selectServer } from './server.js';
import { escapeUri, parseTarget, toByteString } from './uri.js';
import type { HeaderEdit } from './headers.js';
import type { MoreHeaders } from '../../ir/types.js';
import { nginxUpstreamOutcomes, type NginxUpstreamConditions, type NginxUpstreamResult } from './upstream.js';
import { type NginxReply, type ReplyLevel, specialReply, textReply } from './reply.js';

export interface NginxRequest {
  method?: string;
  /** The port the request arrives on. */
  port: number;
  /** The local address it arrives on (selects between `listen IP:port` and `listen port`). */
  address?: string;
  /** The Host header as sent; null = no Host header. */
  host: string | null;
  /** The request target as sent: path and query (`/a//b?x=1`) or absolute form. */
  target: string;
  headers?: Record<string, string>;
  scheme?: 'http' | 'https';
  httpVersion?: '1.0' | '1.1';
  /** The client's address, tested by allow/deny (default 127.0.0.1). */
  remoteAddress?: string;
  /** How the upstream's servers behave: a proxied outcome then says what the request may get (outcome.upstream). */
  upstream?: NginxUpstreamConditions;
  /** The request body's length (client_max_body_size); absent: no body. */
  bodyLength?: number;
}

export type NginxOutcome =
  | {
      kind: 'proxy';
      backend: string;
      /** The Envoy cluster of this proxy_pass's transport. */
      cluster: string;
      scheme: string;
      upstreamUri: string;
      /** With request.upstream: what the request may end with, nginx passing it from server to server. */
      upstream?: NginxUpstreamResult;
      source: Src;
    }
  | { kind: 'redirect'; status: number; location: string; source: Src | null }
  | { kind: 'return'; status: number; body: string | null; source: Src | null }
  | { kind: 'static'; status: number; reason: string; source: Src | null }
  | { kind: 'error'; status: number; reason: string };

export interface LocationRef {
  id: string;
  modifier: Location['modifier'];
  pattern: string;
  source: Src;
}

export interface NginxRoute {
  /** Null when no listener accepts the port. */
  server: { id: string; source: Src; matchedBy: string; name: string | null } | null;
  /** The location that served the request (after rewrites); null = none matched (server level). */
  location: LocationRef | null;
  /** Locations visited, in order, when rewrites restarted the search. */
  visited: LocationRef[];
  /** The URI locations were matched against last ($uri), and the args. */
  uri: string;
  args: string;
  outcome: NginxOutcome;
  /** Parts the model could not evaluate exactly (unsupported steps, unknown variables). */
  uncertain: string[];
  /** headers-more's header edits for this request, values evaluated (absent: none in effect). See sim/nginx/headers.ts. */
  headersMore?: { output: HeaderEdit[]; input: HeaderEdit[] };
  /**
   * When nginx answers itself (return, redirect, its errors): status, body and Content-Type
   * as the client gets them, error_page applied (sim/nginx/reply.ts). A proxied request's
   * failures carry theirs in outcome.upstream.
   */
  reply?: NginxReply;
}

/** nginx allows 10 URI changes per request (NGX_HTTP_MAX_URI_CHANGES) before answering 500. */
const MAX_URI_CHANGES = 10;

interface Ctx {
  ir: CompiledConfig;
  req: NginxRequest;
  host: string;
  serverName: string;
  uri: string;
  args: string;
  hasArgs: boolean;
  unparsed: string;
  quoted: boolean;
  internal: boolean;
  validLocation: boolean;
  validUnparsed: boolean;
  captures: Captures;
  uncertain: string[];
}

type StepsResult =
  | { kind: 'continue'; uriChanged: boolean }
  | { kind: 'break' }
  | { kind: 'respond'; outcome: NginxOutcome };

export function routeNginx(ir: CompiledConfig, req: NginxRequest): NginxRoute {
  const started = startRequest(ir, req);
  if ('outcome' in started) return started;
  const { server, serverRef, ctx } = started;
  noteMergeSlashes(ir, ctx);
  const serverSteps = runSteps(server.rewrites, ctx);
  const phase: Phase =
    serverSteps.kind === 'respond' ? { location: null, visited: [], outcome: serverSteps.outcome } : locationPhases(server, ctx);
  const level: ReplyLevel = {
    errorPages: phase.location ? (phase.location.policy.errorPages ?? []) : (server.edge?.errorPages ?? []),
    tokens: (phase.location ? phase.location.policy.serverTokens : server.edge?.serverTokens) ?? 'on',
  };
  const reply = replyOf(phase.outcome, level, ctx.uncertain);
  const route: NginxRoute = {
    server: serverRef,
    location: phase.location ? refOf(phase.location) : null,
    visited: phase.visited,
    uri: ctx.uri,
    args: ctx.args,
    outcome: phase.outcome,
    uncertain: ctx.uncertain,
  };
  if (reply) route.reply = reply;
  const more = phase.location ? phase.location.policy.moreHeaders : server.edge?.moreHeaders;
  if (more) route.headersMore = headerEdits(more, phase.location !== null, ctx);
  return route;
}

/**
 * headers-more's commands as edits of this request: the output ones run on every
 * response of the location (or of the server, outside locations); the input ones at
 * the end of the location's rewrite phase (never for a server-level answer).
 */
function headerEdits(m: MoreHeaders, inLocation: boolean, ctx: Ctx): { output: HeaderEdit[]; input: HeaderEdit[] } {
  const edit = (op: MoreHeaders['output'][number]): HeaderEdit => {
    const e: HeaderEdit = { name: op.name, value: op.value ? expand(op.value, ctx) : null, source: op.source };
    if (op.statuses) e.statuses = op.statuses;
    if (op.types) e.types = op.types;
    if (op.replaceOnly) e.replaceOnly = true;
    if (op.append) e.append = true;
    return e;
  };
  return { output: m.output.map(edit), input: inLocation ? m.input.map(edit) : [] };
}

interface Phase {
  location: Location | null;
  visited: LocationRef[];
  outcome: NginxOutcome;
}

/** Server selection and request validation: the request context, or nginx's early answer. */
function startRequest(ir: CompiledConfig, req: NginxRequest): NginxRoute | { server: VirtualServer; serverRef: NonNullable<NginxRoute['server']>; ctx: Ctx } {
  const parsed = parseTarget(req.target);
  const hostHeader = parsed.ok && parsed.host !== null ? parsed.host : req.host;
  const choice = selectServer(ir, { port: req.port, address: req.address, host: hostHeader });
  const answer = (server: NginxRoute['server'], status: number, reason: string): NginxRoute => ({
    server,
    location: null,
    visited: [],
    uri: '',
    args: '',
    outcome: { kind: 'error', status, reason },
    uncertain: [],
  });
  if (!choice) return answer(null, 0, `no listener on port ${req.port}`);
  const server = choice.server;
  const serverRef = { id: server.id, source: server.source, matchedBy: choice.by, name: choice.name ? choice.name.value : null };
  const host = normaliseHost(hostHeader);
  if (!parsed.ok) return answer(serverRef, 400, parsed.reason);
  if (!host.ok) return answer(serverRef, 400, host.reason);
  if (hostHeader === null && (req.httpVersion ?? '1.1') === '1.1') return answer(serverRef, 400, 'HTTP/1.1 request without Host');
  const ctx: Ctx = {
    ir,
    req,
    host: host.host,
    serverName: firstServerName(server),
    uri: parsed.uri,
    args: parsed.args,
    hasArgs: parsed.hasArgs,
    unparsed: parsed.unparsed,
    quoted: parsed.quoted,
    internal: false,
    validLocation: true,
    validUnparsed: true,
    captures: choice.captures,
    uncertain: [],
  };
  return { server, serverRef, ctx };
}

/** Find location, its rewrite phase, again while rewrites change the URI; then the content phase. */
function locationPhases(server: VirtualServer, ctx: Ctx): Phase {
  const visited: LocationRef[] = [];
  for (let changes = 0; ; changes++) {
    const chosen = selectLocation(server, ctx.uri);
    if (chosen.by === 'regex') ctx.captures = chosen.captures; // static matches leave captures as they were
    const location = chosen.location;
    if (location) visited.push(refOf(location));
    // ngx_http_core_find_config_phase: `internal` is checked first, the slash redirect's location included.
    if (location?.internal && !ctx.internal) {
      return { location, visited, outcome: { kind: 'error', status: 404, reason: `internal location ${location.id}: external requests get 404` } };
    }
    if (location && chosen.by === 'auto-redirect') {
      const target = location.pattern + (ctx.args ? '?' + ctx.args : '');
      return { location, visited, outcome: { kind: 'redirect', status: 301, location: target, source: location.source } };
    }
    // client_max_body_size is checked when the location is found, before its rewrite phase (ngx_http_core_find_config_phase).
    const limit = location?.policy.clientMaxBodySize ?? 0;
    if (location && limit > 0 && (ctx.req.bodyLength ?? 0) > limit) {
      return { location, visited, outcome: { kind: 'error', status: 413, reason: `body of ${ctx.req.bodyLength} bytes over client_max_body_size ${limit}` } };
    }
    // limit_except: for a method it does not list, nginx uses the block's configuration, without the location's rewrite steps.
    const limited = location ? limitedBy(location, ctx) : null;
    // nginx skips the location rewrite phase when no location matched.
    const steps = location && !limited ? runSteps(location.rewrites, ctx) : { kind: 'continue' as const, uriChanged: false };
    if (steps.kind === 'respond') return { location, visited, outcome: steps.outcome };
    if (steps.kind === 'continue' && steps.uriChanged) {
      // nginx counts down from MAX + 1 on every re-search and fails when it reaches 0.
      if (changes + 1 > MAX_URI_CHANGES) {
        return { location, visited, outcome: { kind: 'error', status: 500, reason: 'rewrite or internal redirection cycle' } };
      }
      continue;
    }
    const action = limited ? (limited.action ?? location!.action) : location ? location.action : server.fallback;
    // The access phase (allow/deny) comes after the rewrite phases, before content.
    const access = limited ? limited.access : location ? location.policy.access : server.fallbackAccess;
    const gate = limited && limited.auth !== undefined ? limited.auth : location ? location.policy.auth : server.fallbackAuth;
    // try_files … @name: the location's own access phase ran before try_files handed the request on.
    const handed = !limited ? location?.policy.handedFrom : undefined;
    const refused = (handed ? accessPhase(handed.access, handed.auth ?? null, handed.satisfyAny === true, ctx) : null) ?? accessPhase(access, gate ?? null, !limited && location?.policy.satisfyAny === true, ctx);
    if (refused) return { location, visited, outcome: refused };
    if (steps.kind === 'break' && (action.kind === 'return' || action.kind === 'redirect')) {
      // `return` belongs to the rewrite phase that `break` just ended: the static handler answers.
      ctx.uncertain.push('`rewrite … break` skips `return`: nginx serves files here, which the model does not run');
      return { location, visited, outcome: { kind: 'static', status: 404, reason: '`rewrite … break` skips `return`: nginx serves files', source: null } };
    }
    return { location, visited, outcome: content(action, location, ctx) };
  }
}

/** The location's limit_except when it applies to the request's method (one it does not list), else null. */
function limitedBy(location: Location, ctx: Ctx): LimitExcept | null {
  const le = location.limitExcept;
  if (!le || le.methods.includes(ctx.req.method ?? 'GET')) return null;
  if (le.untranslated) ctx.uncertain.push(`limit_except at ${le.source.file}:${le.source.line} holds what the model does not run for this method: ${le.untranslated.join(', ')}`);
  return le;
}

/**
 * nginx's access phase: allow/deny first, then the credentials; with `satisfy all` the first
 * refusal answers, with `satisfy any` one pass lets the client in and a refusal by
 * auth_basic (401) wins over a 403.
 */
function accessPhase(access: Policy['access'], gate: AuthGate | null, satisfyAny: boolean, ctx: Ctx): NginxOutcome | null {
  const forbidden = accessForbidden(access, ctx);
  if (forbidden && !satisfyAny) return forbidden;
  const unauthorized = gate ? authRefusal(gate, ctx) : null;
  if (!satisfyAny) return unauthorized;
  if (!forbidden || !unauthorized) return null;
  return unauthorized;
}

/** What nginx's auth modules answer; null when the client passes. */
function authRefusal(gate: AuthGate, ctx: Ctx): NginxOutcome | null {
  if (gate.kind === 'closed' && !gate.closed.basic) {
    // nginx runs a check the model does not (an auth service, Lua, a hash it does not compute).
    ctx.uncertain.push(`${gate.closed.directive} at ${gate.closed.source.file}:${gate.closed.source.line} decides first in nginx: not modelled (the compiled route refuses every request with ${gate.closed.status})`);
    return null;
  }
  const b = gate.kind === 'basic' ? gate.basic : gate.closed.basic!;
  const verdict = htpasswdAccepts(b.file, header(ctx, 'authorization'), ctx);
  if (verdict) return null;
  return { kind: 'error', status: 401, reason: `auth_basic: no valid credentials (WWW-Authenticate: Basic realm="${b.realm}")` };
}

/** A request header by name (any case). */
function header(ctx: Ctx, name: string): string | undefined {
  const headers = ctx.req.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * ngx_http_auth_basic_module: `Authorization: Basic base64(user:password)` checked against the
 * users file (`name:hash[:comment]` lines, `#` comments). The model computes `{SHA}` and
 * `{PLAIN}` hashes; others are noted and do not match.
 */
function htpasswdAccepts(file: string, authorization: string | undefined, ctx: Ctx): boolean {
  if (authorization === undefined || !/^basic /i.test(authorization)) return false;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    ctx.uncertain.push(`auth_basic_user_file ${file} cannot be read: nginx answers 500 then`);
    return false;
  }
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    const at = raw.indexOf(':');
    if (at < 0 || raw.slice(0, at) !== user) continue;
    const hash = raw.slice(at + 1).split(':')[0]!;
    if (hash.startsWith('{PLAIN}')) return hash.slice(7) === password;
    if (hash.startsWith('{SHA}')) return hash.slice(5) === createHash('sha1').update(Buffer.from(password, 'latin1')).digest('base64');
    ctx.uncertain.push(`auth_basic: the hash of "${user}" is not {SHA} or {PLAIN}: not computed by the model`);
    return false;
  }
  return false;
}

/**
 * ngx_http_access_module: the rules of the client's family in order, the first whose
 * address matches decides (deny: 403), none matching lets the request in.
 */
function accessForbidden(access: Policy['access'], ctx: Ctx): NginxOutcome | null {
  if (!access) return null;
  const client = ctx.req.remoteAddress ?? '127.0.0.1';
  if (access.client === 'real_ip') ctx.uncertain.push('allow/deny test the address real_ip takes from the request, which the model does not run: the client address is tested');
  const family = isIPv6(client) ? 'ipv6' : isIPv4(client) ? 'ipv4' : null;
  if (family === null) return null;
  for (const rule of family === 'ipv6' ? access.rules.v6 : access.rules.v4) {
    const [prefix, len] = rule.cidr.split('/');
    const list = new BlockList();
    list.addSubnet(prefix!, Number(len), family);
    if (!list.check(client, family)) continue;
    if (rule.action === 'allow') return null;
    return { kind: 'error', status: 403, reason: `access forbidden by rule (deny at ${rule.source.file}:${rule.source.line})` };
  }
  return null;
}

/** The model merges slashes as nginx does by default; `merge_slashes` is not in the IR. */
function noteMergeSlashes(ir: CompiledConfig, ctx: Ctx): void {
  const merge = ir.report.find((e) => e.directive === 'merge_slashes');
  if (merge && /\/\//.test(ctx.unparsed)) ctx.uncertain.push(`merge_slashes at ${merge.file}:${merge.line} is not modelled (the model merges)`);
}

/** nginx's own answer for an outcome (a proxied request's failures get theirs in place); null when it proxies. */
function replyOf(outcome: NginxOutcome, level: ReplyLevel, uncertain: string[]): NginxReply | null {
  switch (outcome.kind) {
    case 'proxy':
      if (outcome.upstream) outcome.upstream.outcomes = outcome.upstream.outcomes.map((o) => (o.kind === 'failed' ? { ...o, reply: specialReply(o.status, level, uncertain) } : o));
      return null;
    case 'return':
      return outcome.body === null ? specialReply(outcome.status, level, uncertain) : textReply(outcome.status, outcome.body, uncertain);
    case 'redirect':
      return specialReply(outcome.status, level, uncertain, outcome.location);
    case 'static':
    case 'error':
      return outcome.status > 0 ? specialReply(outcome.status, level, uncertain) : null;
  }
}

function refOf(l: Location): LocationRef {
  return { id: l.id, modifier: l.modifier, pattern: l.pattern, source: l.source };
}

function firstServerName(server: VirtualServer): string {
  return server.names.find((n) => n.kind !== 'regex')?.value ?? '';
}

/** Runs rewrite-module steps in order (rewrite, return). */
function runSteps(steps: RewriteStep[], ctx: Ctx): StepsResult {
  let uriChanged = false;
  for (const step of steps) {
    if (step.kind === 'unsupported') {
      ctx.uncertain.push(`${step.directive} at ${step.source.file}:${step.source.line} is not evaluated`);
      continue;
    }
    if (step.kind === 'return') return { kind: 'respond', outcome: respond(step.action, ctx) };
    if (step.kind === 'if') {
      if (ifHolds(step.condition, ctx)) return { kind: 'respond', outcome: respond(step.action, ctx) };
      continue;
    }
    const captures = searchRegex(compileNginxRegex(step.regex, false), ctx.uri);
    if (!captures) continue;
    ctx.captures = captures;
    let replacement = expand(step.replacement, ctx);
    const addArgs = !replacement.endsWith('?');
    if (!addArgs) replacement = replacement.slice(0, -1);
    const isRedirect =
      step.flag === 'redirect' || step.flag === 'permanent' || /^(https?:\/\/|\$scheme)/.test(step.replacement.raw);
    if (isRedirect) {
      const q = replacement.includes('?');
      const location = replacement + (addArgs && ctx.args ? (q ? '&' : '?') + ctx.args : '');
      const status = step.flag === 'permanent' ? 301 : 302;
      return { kind: 'respond', outcome: { kind: 'redirect', status, location, source: step.source } };
    }
    const q = replacement.indexOf('?');
    if (q >= 0) {
      const newArgs = replacement.slice(q + 1);
      ctx.args = addArgs && ctx.args ? `${newArgs}&${ctx.args}` : newArgs;
      ctx.hasArgs = true;
      ctx.uri = toByteString(replacement.slice(0, q));
    } else {
      ctx.uri = toByteString(replacement);
      if (!addArgs) ctx.args = '';
    }
    ctx.internal = true;
    ctx.validUnparsed = false;
    if (step.flag === 'break') {
      ctx.validLocation = false;
      return { kind: 'break' };
    }
    uriChanged = true;
    if (step.flag === 'last') return { kind: 'continue', uriChanged };
  }
  return { kind: 'continue', uriChanged };
}

/** nginx's `if` test: an exact string compare, or a PCRE search (captures kept as nginx keeps them). */
function ifHolds(c: IfCondition, ctx: Ctx): boolean {
  if (c.kind === 'map') {
    const value = mapValue(c.map, ctx);
    // nginx's `if ($v)`: false for "" and "0"
    return c.test.op === 'truthy' ? value !== '' && value !== '0' : (value === c.test.value) === (c.test.op === 'equals');
  }
  const value = variable(c.variable, ctx);
  if (c.kind === 'compare') return (value === c.value) !== c.negate;
  const captures = searchRegex(compileNginxRegex(c.regex, c.caseless), value);
  if (captures && !c.negate) ctx.captures = captures;
  return (captures !== null) !== c.negate;
}

function respond(action: Action, ctx: Ctx): NginxOutcome {
  if (action.kind === 'redirect') {
    return { kind: 'redirect', status: action.status, location: expand(action.location, ctx), source: action.source };
  }
  if (action.kind === 'return') {
    return { kind: 'return', status: action.status, body: action.body ? expand(action.body, ctx) : null, source: action.source };
  }
  if (action.kind === 'static') {
    // Files, try_files, index, error_page and other handlers may redirect internally: not modelled.
    ctx.uncertain.push(`content is not proxied or returned here (${action.reason}): nginx's answer depends on files and handlers the model does not run`);
    return { kind: 'static', status: action.status, reason: action.reason, source: action.source };
  }
  return { kind: 'error', status: 500, reason: 'proxy action in the rewrite phase' };
}

/** A map's value for this request: its input variable looked up as nginx does. */
function mapValue(map: HttpMap, ctx: Ctx): string {
  const input = map.input;
  const from = input.kind === 'header' ? `http_${input.name.replace(/-/g, '_')}` : input.kind === 'method' ? 'request_method' : input.kind;
  return mapLookup(map, variable(from, ctx));
}

function content(chosen: Action, location: Location | null, ctx: Ctx): NginxOutcome {
  // proxy_pass to a map variable: the action of the value the map gives
  const value = location?.dispatch ? mapValue(location.dispatch.map, ctx) : null;
  const action = value === null ? chosen : (location!.dispatch!.actions.find((a) => a.value === value)?.action ?? chosen);
  if (action.kind !== 'proxy') return respond(action, ctx);
  const outcome: NginxOutcome = {
    kind: 'proxy',
    backend: action.backend,
    cluster: action.cluster,
    scheme: action.scheme,
    upstreamUri: upstreamUri(action.uri, location, ctx),
    source: action.source,
  };
  if (ctx.req.upstream) outcome.upstream = nginxUpstreamOutcomes(ctx.ir, action, ctx.req.method ?? 'GET', ctx.req.upstream, ctx.uncertain);
  return outcome;
}

/** The URI nginx puts in the upstream request line (ngx_http_proxy_create_request). */
function upstreamUri(uriPart: Template | null, location: Location | null, ctx: Ctx): string {
  const part = uriPart ? expand(uriPart, ctx) : '';
  const hasVars = uriPart !== null && uriPart.parts.some((p) => 'var' in p);
  if (hasVars && part !== '') return part;
  if (part === '' && ctx.validUnparsed) return ctx.unparsed;
  const prefixLen =
    ctx.validLocation && part !== '' && location ? Math.min(location.pattern.length, ctx.uri.length) : 0;
  const tail = ctx.uri.slice(prefixLen);
  const escaped = ctx.quoted || ctx.internal ? escapeUri(tail) : tail;
  const head = ctx.validLocation ? part : '';
  return head + escaped + (ctx.args ? '?' + ctx.args : '');
}

/** Evaluates a template; unknown variables are kept as written and recorded as uncertain. */
function expand(t: Template, ctx: Ctx): string {
  let out = '';
  for (const p of t.parts) out += 'text' in p ? p.text : variable(p.var, ctx);
  return out;
}

function variable(name: string, ctx: Ctx): string {
  if (/^\d+$/.test(name)) return ctx.captures.numbered[Number(name)] ?? '';
  if (name in ctx.captures.named) return ctx.captures.named[name]!;
  const headers = ctx.req.headers ?? {};
  const header = (h: string) => {
    if (h === 'host') return ctx.req.host ?? '';
    const key = Object.keys(headers).find((k) => k.toLowerCase().replace(/-/g, '_') === h);
    return key ? headers[key]! : '';
  };
  switch (name) {
    case 'uri':
    case 'document_uri':
      return ctx.uri;
    case 'request_uri':
      return ctx.unparsed;
    case 'args':
    case 'query_string':
      return ctx.args;
    case 'is_args':
      return ctx.args ? '?' : '';
    case 'host':
      return ctx.host || ctx.serverName;
    case 'server_name':
      return ctx.serverName;
    case 'scheme':
      return ctx.req.scheme ?? 'http';
    case 'server_port':
      return String(ctx.req.port);
    case 'request_method':
      return ctx.req.method ?? 'GET';
    case 'remote_addr':
      return ctx.req.remoteAddress ?? '127.0.0.1';
  }
  if (name.startsWith('http_')) return header(name.slice(5));
  if (name.startsWith('arg_')) {
    const want = name.slice(4).toLowerCase();
    for (const kv of ctx.args.split('&')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && kv.slice(0, eq).toLowerCase() === want) return kv.slice(eq + 1);
    }
    return '';
  }
  ctx.uncertain.push(`variable $${name} is not evaluated`);
  return '$' + name;
}
