// `set $name value`: the rewrite module's variables, where every request reaching a
// location's content phase holds the same text in one. Such a variable is a constant
// of that location and a proxy_pass built from constants (the linuxserver/SWAG idiom
// `set $upstream_app ombi; … proxy_pass http://$upstream_app:$upstream_port;`) is as
// fixed as a literal one. Anything that could make the value differ between requests
// keeps the variable unknown (and its uses reported as before):
// - nginx runs a server's rewrite directives in its server-rewrite phase and a location's
//   own ones in its location-rewrite phase; those of enclosing locations never run for a
//   nested one (checked with nginx 1.22: an unset variable there is empty);
// - a `set` inside `if`, after a conditional `break`/`rewrite … break`, or with a value
//   built from unknown variables is conditional;
// - a variable also set by another location of the server may arrive with that value
//   through an internal redirect (rewrite … last, error_page, try_files);
// - a variable written by another directive (map, geo, split_clients, perl_set, js_set,
//   auth_request_set, set_by_lua and the other set_* modules) or by a named regex
//   capture, and every variable of a server where Lua, Perl or njs code runs, may hold
//   anything.
import type { Directive } from '../parse/ast.js';
import type { Template } from '../ir/types.js';
import { ALWAYS_MATCHES } from './rewrite.js';
import { directivesOf, type Level, runCache } from './util.js';
import type { Reporter } from './classify.js';

/** A variable's text on every request, and the `set` directives that gave it. */
export interface Constant {
  value: string;
  /** Each `set` it came from, with the text it set. */
  sets: { set: Directive; value: string }[];
}

/** What is known of a variable after a run of rewrite directives: absent from the map, never set there. */
type Known = Constant | { unknown: string };

/** What a server's rewrite directives and the configuration around it leave for its locations. */
export interface ServerVariables {
  /** The whole server is excluded (code that can set any variable runs in it). */
  excludedServer: string | null;
  /** Variables no `set` decides, with why. */
  excluded: Map<string, string>;
  /** After the server-level rewrite directives. */
  server: Map<string, Known>;
  /** Variables some location (or `if` inside one) of the server sets. */
  setInLocations: Set<string>;
  /** Named captures of location and server_name regexes: set before the location's rewrite directives run. */
  captured: Set<string>;
  /** The first directive that may change a request's URI in this server (then $request_uri is not the URI sent), or null. */
  uriChangedBy: Directive | null;
}

/** Directives that change the URI (rewrite) or redirect internally with another one. */
const URI_CHANGERS = new Set(['rewrite', 'try_files', 'error_page']);

function firstUriChanger(ds: Directive[], deep: boolean): Directive | null {
  for (const d of ds) {
    if (URI_CHANGERS.has(d.name)) return d;
    if (deep && d.block && d.name !== 'server' && d.name !== 'upstream') {
      const inner = firstUriChanger(directivesOf(d.block), true);
      if (inner) return inner;
    }
  }
  return null;
}

/** Directives writing the variable named by argument `index` (a negative index counts from the end). */
const WRITERS: Record<string, number> = {
  map: 1,
  geo: -1,
  split_clients: 1,
  perl_set: 0,
  js_set: 0,
  auth_request_set: 0,
  auth_jwt_claim_set: 0,
  secure_link_md5: -1,
};

/** Directive names running code that can set any variable (ngx.var.x = …, $r->variable, r.variables). */
const CODE_JS = new Set(['js_content', 'js_access', 'js_header_filter', 'js_body_filter', 'js_preread', 'js_filter']);

function runsCode(name: string): boolean {
  return name.includes('_by_lua') || name === 'perl' || CODE_JS.has(name);
}

/**
 * nginx's own variables and prefixed families (a name like $upstream_app is the user's:
 * only upstream_http_*, upstream_cookie_*, upstream_trailer_* and the names below are nginx's).
 */
const BUILTIN_PREFIXES = ['http_', 'sent_http_', 'sent_trailer_', 'cookie_', 'arg_', 'upstream_http_', 'upstream_cookie_', 'upstream_trailer_'];
const BUILTINS = new Set(
  (
    'args binary_remote_addr body_bytes_sent bytes_sent connection connection_requests connection_time content_length content_type ' +
    'document_root document_uri host hostname https is_args limit_rate msec nginx_version pid pipe proxy_add_x_forwarded_for ' +
    'proxy_host proxy_port query_string realpath_root remote_addr remote_port remote_user request request_body request_body_file ' +
    'request_completion request_filename request_id request_length request_method request_time request_uri scheme server_addr ' +
    'server_name server_port server_protocol status time_iso8601 time_local uri realip_remote_addr realip_remote_port ' +
    'upstream_addr upstream_bytes_received upstream_bytes_sent upstream_cache_status upstream_connect_time upstream_header_time ' +
    'upstream_queue_time upstream_response_length upstream_response_time upstream_status proxy_protocol_addr proxy_protocol_port ' +
    'proxy_protocol_server_addr proxy_protocol_server_port ssl_cipher ssl_client_cert ssl_client_fingerprint ssl_client_i_dn ' +
    'ssl_client_raw_cert ssl_client_s_dn ssl_client_serial ssl_client_verify ssl_protocol ssl_server_name ssl_session_id ' +
    'ssl_session_reused ssl_early_data ssl_alpn_protocol ssl_ciphers ssl_curves'
  ).split(' '),
);

function isBuiltin(name: string): boolean {
  return BUILTINS.has(name) || /^[0-9]$/.test(name) || BUILTIN_PREFIXES.some((p) => name.startsWith(p));
}

/** `$name` / `${name}` as a whole argument → name. */
function variableName(arg: string | undefined): string | null {
  const m = arg === undefined ? null : /^\$(?:\{(\w+)\}|(\w+))$/.exec(arg);
  return m ? (m[1] ?? m[2])!.toLowerCase() : null;
}

const NAMED_CAPTURE = /\(\?(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/g;

/** Names of the named captures in a regex argument (`(?<name>…)`, `(?P<name>…)`, `(?'name'…)`). */
function namedCaptures(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(NAMED_CAPTURE)) out.push((m[1] ?? m[2])!.toLowerCase());
  return out;
}

/** Directives whose regex captures the rewrite walk sees in order (runRewrites, collectSets). */
const WALKED_CAPTURES = new Set(['if', 'rewrite']);
/** Directives matched before any location's rewrite directives run. */
const MATCH_CAPTURES = new Set(['location', 'server_name']);

/**
 * Records in `excluded` what every directive of `ds` (and its blocks) may write besides
 * `set`, and in `captured` the named captures of location and server name regexes.
 */
function collectWriters(ds: Directive[], excluded: Map<string, string>, captured: Set<string>): string | null {
  for (const d of ds) {
    if (runsCode(d.name)) return `\`${d.name}\` at ${d.source.line}:${d.source.col} runs code that can set any variable`;
    const at = d.name.startsWith('set_') ? 0 : WRITERS[d.name];
    if (at !== undefined && d.name !== 'set') {
      const arg = d.args[at < 0 ? d.args.length + at : at]?.value;
      const name = variableName(arg);
      if (name && !excluded.has(name)) excluded.set(name, `\`${d.name}\` at ${d.source.line}:${d.source.col} also writes it`);
    }
    if (!WALKED_CAPTURES.has(d.name)) {
      for (const a of d.args) {
        if (!a.value.includes('(?')) continue;
        for (const name of namedCaptures(a.value)) {
          if (MATCH_CAPTURES.has(d.name)) captured.add(name);
          else if (!excluded.has(name)) excluded.set(name, `a named regex capture at ${a.source.line}:${a.source.col} also writes it`);
        }
      }
    }
    if (d.block && d.name !== 'server' && d.name !== 'upstream') {
      const why = collectWriters(directivesOf(d.block), excluded, captured);
      if (why) return why;
    }
  }
  return null;
}

/** Every variable a `set` (or an `if`/`rewrite` capture) anywhere in `ds` writes (locations, nested ones and `if` blocks included). */
function collectSets(ds: Directive[], into: Set<string>): void {
  for (const d of ds) {
    if (d.name === 'set') {
      const name = variableName(d.args[0]?.value);
      if (name) into.add(name);
    } else if (WALKED_CAPTURES.has(d.name)) for (const a of d.args) for (const name of namedCaptures(a.value)) into.add(name);
    if (d.block) collectSets(directivesOf(d.block), into);
  }
}

/** What the http level (outside its servers) holds for every server's variables. */
interface HttpVariables {
  excludedServer: string | null;
  excluded: Map<string, string>;
  captured: Set<string>;
  uriChangedBy: Directive | null;
}

// Worked out once per http block and run (its maps may hold thousands of entries).
const httpVariablesOf = runCache<Level, HttpVariables>();

function httpVariables(http: Level): HttpVariables {
  let hv = httpVariablesOf.get(http);
  if (hv) return hv;
  const own = http.ds.filter((d) => d.name !== 'server');
  const excluded = new Map<string, string>();
  const captured = new Set<string>();
  hv = { excludedServer: collectWriters(own, excluded, captured), excluded, captured, uriChangedBy: firstUriChanger(own, false) };
  httpVariablesOf.set(http, hv);
  return hv;
}

// A server's facts, worked out when one of its locations first needs them past the http level's.
const serverVariablesOf = runCache<Level, ServerVariables>();

/** The rewrite-phase facts of a server and its surroundings, for its locations' constants. */
export function serverVariables(http: Level, server: Level): ServerVariables {
  let sv = serverVariablesOf.get(server);
  if (!sv) serverVariablesOf.set(server, (sv = workOutServerVariables(http, server)));
  return sv;
}

function workOutServerVariables(http: Level, server: Level): ServerVariables {
  // http-level writers (map, geo, …) apply to every server; the server's own block holds the rest.
  const hv = httpVariables(http);
  const excluded = new Map(hv.excluded);
  const captured = new Set(hv.captured);
  const excludedServer = hv.excludedServer ?? collectWriters(server.ds, excluded, captured);
  const setInLocations = new Set<string>();
  for (const loc of server.byName.get('location') ?? []) collectSets([loc], setInLocations);
  const uriChangedBy = hv.uriChangedBy ?? firstUriChanger(server.ds, true);
  return { excludedServer, excluded, server: runRewrites(server.ds, () => undefined), setInLocations, captured, uriChangedBy };
}

/**
 * The variables a run of rewrite directives leaves set: `outer` gives the value a
 * variable had before it (server level, for a location).
 */
function runRewrites(ds: Directive[], outer: (name: string) => Known | undefined): Map<string, Known> {
  const vars = new Map<string, Known>();
  let mayHaveStopped: string | null = null; // some requests may skip what follows
  const valueOf = (name: string): Known | undefined => vars.get(name) ?? outer(name);
  for (const d of ds) {
    switch (d.name) {
      case 'set': {
        const name = variableName(d.args[0]?.value);
        const text = d.args[1]?.value;
        if (!name || text === undefined) break;
        const made = evaluate(text, d, valueOf);
        const before = valueOf(name);
        if (mayHaveStopped && !sameValue(before, made)) vars.set(name, { unknown: mayHaveStopped });
        else vars.set(name, made);
        break;
      }
      case 'if': {
        const inside = new Set<string>();
        collectSets([d], inside);
        for (const a of d.args) for (const name of namedCaptures(a.value)) inside.add(name);
        for (const name of inside) vars.set(name, { unknown: `set conditionally by the \`if\` at ${d.source.line}:${d.source.col}` });
        if (stopsInside(directivesOf(d.block))) mayHaveStopped ??= `the \`if\` at ${d.source.line}:${d.source.col} may end the rewrite phase before`;
        break;
      }
      case 'rewrite': {
        const regex = d.args[0]?.value ?? '';
        const flag = d.args[2]?.value;
        for (const name of namedCaptures(regex)) vars.set(name, { unknown: `captured by the rewrite at ${d.source.line}:${d.source.col}` });
        if (flag === 'break' || flag === 'last') {
          if (ALWAYS_MATCHES.has(regex)) return vars; // nothing after it runs
          if (flag === 'break') mayHaveStopped ??= `the \`rewrite … break\` at ${d.source.line}:${d.source.col} may end the rewrite phase before`;
        }
        break;
      }
      case 'break':
      case 'return':
        return vars;
    }
  }
  return vars;
}

function sameValue(a: Known | undefined, b: Known): boolean {
  return a !== undefined && 'value' in a && 'value' in b && a.value === b.value;
}

/** Whether a block holds a `break` or a `rewrite … break` (return ends the request: it leaves no value behind). */
function stopsInside(ds: Directive[]): boolean {
  return ds.some((d) => d.name === 'break' || (d.name === 'rewrite' && d.args[2]?.value === 'break'));
}

/** A `set` value: its text with the variables it names replaced, when each is a constant. */
function evaluate(text: string, d: Directive, valueOf: (name: string) => Known | undefined): Known {
  let out = '';
  const sets: Constant['sets'] = [];
  const parts = splitVariables(text);
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const k = isBuiltin(p.var) ? undefined : valueOf(p.var);
    if (!k || 'unknown' in k) return { unknown: `\`set\` at ${d.source.line}:${d.source.col} uses $${p.var}, which is not a constant` };
    out += k.value;
    sets.push(...k.sets);
  }
  sets.push({ set: d, value: out });
  return { value: out, sets };
}

/** Literal text and `$name` / `${name}` references, in order. */
function splitVariables(text: string): (string | { var: string })[] {
  const out: (string | { var: string })[] = [];
  const re = /\$(?:\{(\w+)\}|(\w+))/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index! > last) out.push(text.slice(last, m.index));
    out.push({ var: (m[1] ?? m[2])!.toLowerCase() });
    last = m.index! + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A variable's constant text at a location (its own rewrite directives in `own`), or why it has none. */
export type Lookup = (name: string) => Constant | { why: string };

/** `http`, `server`: the levels around the location (a server fragment's http level is empty). */
export function locationLookup(http: Level, server: Level, own: Level): Lookup {
  let mine: Map<string, Known> | null = null;
  return (name) => {
    // The http level's facts first: they settle most variables without a walk of the server.
    const hv = httpVariables(http);
    if (hv.excludedServer) return { why: hv.excludedServer };
    if (isBuiltin(name)) return { why: `$${name} is nginx's own variable, which differs between requests` };
    const httpWhy = hv.excluded.get(name);
    if (httpWhy) return { why: `$${name}: ${httpWhy}` };
    const sv = serverVariables(http, server);
    if (sv.excludedServer) return { why: sv.excludedServer };
    const ex = sv.excluded.get(name);
    if (ex) return { why: `$${name}: ${ex}` };
    mine ??= runRewrites(own.ds, (n) => before(sv, n));
    const k = mine.get(name) ?? before(sv, name);
    // For the methods limit_except does not list, nginx uses the block's configuration: the location's own `set`s do not run.
    if (own.byName.has('limit_except') && k && 'value' in k && !sameValue(before(sv, name), k)) {
      return { why: `$${name}: for the methods \`limit_except\` does not list, nginx skips this location's \`set\` and the value differs` };
    }
    if (!k) return { why: `$${name} is not set here` };
    if ('unknown' in k) return { why: `$${name}: ${k.unknown}` };
    return k;
  };
}

/** A variable's value when a location's own rewrite directives start. */
function before(sv: ServerVariables, name: string): Known | undefined {
  if (sv.captured.has(name)) return { unknown: 'a named capture of a location or server name regex writes it' };
  if (sv.setInLocations.has(name)) return { unknown: 'set in other locations of the server (an internal redirect may bring their value)' };
  return sv.server.get(name);
}

/** A template with every variable replaced by its constant: the text and the `set`s it came from, or why not. */
export function foldTemplate(t: Template, lookup: Lookup): { text: string; sets: Constant['sets'] } | { why: string } {
  let text = '';
  const sets = new Map<Directive, string>();
  for (const p of t.parts) {
    if ('text' in p) {
      text += p.text;
      continue;
    }
    const k = lookup(p.var.toLowerCase());
    if ('why' in k) return k;
    text += k.value;
    for (const s of k.sets) sets.set(s.set, s.value);
  }
  return { text, sets: [...sets].map(([set, value]) => ({ set, value })) };
}

/**
 * Reports each `set` whose constant a proxy_pass was built from (the rewrite module
 * reported it unsupported; a directive included in several places is decided once).
 */
export function markFoldedSets(sets: Constant['sets'], used: string, r: Reporter): void {
  for (const { set, value } of sets) {
    r.override(set, 'translated', `constant: ${set.args[0]!.value} is "${value}" on every request reaching \`${used}\`, which is translated with it`);
  }
}
