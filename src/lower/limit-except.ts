// limit_except (ngx_http_core_module). For a request whose method is not listed,
// nginx switches to the block's configuration, merged from the location's
// (ngx_http_update_location_config, in the find-config phase). Checked with
// nginx 1.22:
// - GET implies HEAD; method names are compared without case, anything outside
//   nginx's list is `invalid method "X"`; a second block is `"limit_except"
//   directive is duplicate`.
// - The block's allow/deny, if it has any, replace the location's; without any
//   it inherits them.
// - The rewrite module's steps are not inherited by the block: the location's
//   `return`, `rewrite` and `if` do not run for the other methods; they reach the
//   location's content handler (proxy_pass, else the static files).
// - Nested locations do not inherit it.
import type { Directive } from '../parse/ast.js';
import type { Action, LimitExcept, Policy } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { accessRulesOfLevel, isAccessDirective } from './access.js';
import { directivesOf, errorAt, type Level, levelOf, srcOf } from './util.js';
import { effectiveArray } from './headers.js';
import { AUTH_DIRECTIVES, authAt, markAuth } from './auth.js';

const AUTH = new Set(AUTH_DIRECTIVES);

/** NGX_HTTP_* methods limit_except accepts (ngx_methods_names in ngx_http_core_module.c). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH']);

/** The location facts the block's meaning depends on. */
export interface LimitExceptContext {
  /** The location's policy (its access rules and the address they test). */
  policy: Policy;
  /** The location answers by an unconditional `return`/redirect (its rewrite phase's end). */
  terminal: boolean;
  /** The location has rewrite-phase steps before that (rewrite, if, set). */
  rewrites: boolean;
  /** The location's own directives (for its content handler). */
  own: Directive[];
  /** http → server → location levels (set_real_ip_from in effect). */
  levels: Level[];
}

/** What the location's other methods need; null when the location has no limit_except (or it is not translated). */
export function lowerLimitExcept(list: Directive[] | undefined, at: LimitExceptContext, r: Reporter): LimitExcept | null {
  if (!list) return null;
  if (list.length > 1) throw errorAt(list[1]!.source, '"limit_except" directive is duplicate', 'limit-except-duplicate');
  const d = list[0]!;
  const methods = listedMethods(d);
  const body = directivesOf(d.block);
  const own = accessRulesOfLevel(levelOf(body)); // nginx's errors for an invalid address, also when unused
  const handler = at.terminal ? contentHandlerOf(at.own) : undefined;
  if (handler) {
    // For the other methods nginx skips the `return` and runs this handler, which is not worked out for them here.
    r.markTree(d, 'unsupported', `\`limit_except\`: the location answers by \`return\`, which nginx does not run for methods other than ${methods.join(' ')}: they reach \`${handler.name}\`; not translated (every method gets the \`return\`)`, 'inside `limit_except`: not translated');
    return null;
  }
  markBody(body.filter((x) => !AUTH.has(x.name)), methods, r);
  // A block with rules of its own (unix: ones included) replaces the location's, as any level does.
  const client: 'peer' | 'real_ip' = effectiveArray(at.levels, 'set_real_ip_from').length ? 'real_ip' : 'peer';
  const access = own ? (own.v4.length || own.v6.length ? { rules: own, client } : null) : (at.policy.access ?? null);
  const out: LimitExcept = { methods, source: srcOf(d) };
  if (access) out.access = access;
  if (at.terminal) out.action = STATIC_FILES;
  // The block's auth_basic / auth_request…, inherited from the location as any level's.
  if (body.some((x) => AUTH.has(x.name))) {
    const levels = [...at.levels, levelOf(body)];
    const auth = authAt(levels, access !== null);
    // (satisfy any: the other methods keep both checks, the stricter reading)
    markAuth(levels, auth.gate, auth.satisfyAny ? 'both' : null, r);
    if (auth.gate !== (at.policy.auth ?? null)) out.auth = auth.gate;
  }
  const untranslated = body.filter((x) => !isAccessDirective(x) && !AUTH.has(x.name)).map((x) => `${x.name} at ${out.source.file}:${x.source.line}`);
  if (untranslated.length) out.untranslated = untranslated;
  r.mark(d, 'translated', reasonOf(methods, out, own !== null, at));
  return out;
}

/** What nginx's content phase does in a location without a handler: the static module (no files here). */
const STATIC_FILES: Action = Object.freeze({ kind: 'static', status: 404, reason: 'nginx serves files here (root/alias/try_files): answered with 404', source: null }) as Action;

/** The listed methods as nginx matches them: uppercase, HEAD with GET, sorted; nginx's error for an unknown one. */
function listedMethods(d: Directive): string[] {
  const out = new Set<string>();
  for (const a of d.args) {
    const m = a.value.toUpperCase();
    if (!METHODS.has(m)) throw errorAt(a.source, `invalid method "${a.value}"`, 'limit-except-method');
    out.add(m);
    if (m === 'GET') out.add('HEAD');
  }
  return [...out].sort();
}

const PASS = /_pass$/;
const HANDLERS = new Set(['empty_gif', 'stub_status', 'perl', 'js_content', 'flv', 'mp4', 'dav_methods', 'content_by_lua', 'content_by_lua_block', 'content_by_lua_file']);

function contentHandlerOf(ds: Directive[]): Directive | undefined {
  return ds.find((x) => PASS.test(x.name) || HANDLERS.has(x.name));
}

/** The block's directives: allow/deny translated; everything else reported with what it changes in nginx. */
function markBody(body: Directive[], methods: string[], r: Reporter): void {
  const others = `methods other than ${methods.join(' ')}`;
  for (const x of body) {
    if (isAccessDirective(x)) {
      if (x.args[0]?.value.startsWith('unix:')) r.mark(x, 'ignored', 'unix-socket clients: no unix listener is translated');
      else r.mark(x, 'translated', `RBAC on the location's routes, for ${others} (a policy per method class); a denied client gets 403 with nginx's page (local_reply_config)`);
      continue;
    }
    checkPassUri(x);
    r.markTree(x, 'unsupported', bodyReason(x, others), 'inside `limit_except`: not translated');
  }
}

function bodyReason(x: Directive, others: string): string {
  if (x.name === 'auth_basic' || x.name === 'auth_basic_user_file') {
    return `\`${x.name}\` inside \`limit_except\` is not translated: nginx asks ${others} for credentials (401), Envoy lets them through without`;
  }
  if (PASS.test(x.name)) return `\`${x.name}\` inside \`limit_except\` is not translated: nginx sends ${others} there, Envoy sends them where the location sends every method`;
  if (x.name === 'access_log') return `\`access_log\` inside \`limit_except\` is not translated: nginx logs ${others} there, Envoy logs them as the location's`;
  return `\`${x.name}\` inside \`limit_except\` is not translated (nginx applies it to ${others})`;
}

/** nginx's error for a proxy_pass with a URI part inside limit_except. */
function checkPassUri(x: Directive): void {
  if (x.name !== 'proxy_pass') return;
  const url = x.args[0]?.value ?? '';
  if (url.includes('$')) return; // with variables nginx does not check at load time
  const rest = url.replace(/^[a-z]+:\/\//i, '');
  if (rest.startsWith('unix:') ? /^unix:[^:]*:./.test(rest) : rest.includes('/')) {
    throw errorAt(x.source, '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block', 'proxy-pass-uri');
  }
}

function reasonOf(methods: string[], le: LimitExcept, ownRules: boolean, at: LimitExceptContext): string {
  const whom = ownRules ? "the block's allow/deny" : le.access ? "the location's allow/deny (the block has none)" : 'no allow/deny: every client';
  const parts = [`${methods.join(' ')} keep the location's access rules; every other method gets ${whom}: RBAC policies on \`:method\``];
  if (at.rewrites || at.terminal) parts.push("the location's return/rewrite/if run only for the listed methods, as in nginx: the routes made of them match only those");
  if (at.terminal) parts.push('the other methods reach the static files (404 here)');
  return parts.join('; ');
}
