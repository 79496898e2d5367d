// nginx's access phase beyond allow/deny: auth_basic (ngx_http_auth_basic_module),
// auth_request, satisfy, and third-party modules that may refuse a client
// (access_by_lua*, auth_jwt, auth_pam, auth_ldap…). Where Envoy can run the same
// check exactly (auth_basic with a `{SHA}` users file: the basic_auth filter) it
// is translated; anywhere else the route FAILS CLOSED: it refuses every request
// rather than forward what nginx would have checked. Never open. Checked with
// nginx 1.22:
// - auth_basic and auth_basic_user_file are inherited separately (http → server
//   → location → nested location → limit_except); `auth_basic off` ends it; a
//   realm without a users file checks nothing.
// - The access module runs first: with `satisfy all` (the default) a denied
//   client gets 403 with or without credentials; with `satisfy any` one passing
//   check lets the client in, and a refused one gets 401 when auth_basic refused.
// - auth_request: the auth location answers 2xx → pass, 401/403 → that status,
//   anything else (or no answer) → 500.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Directive } from '../parse/ast.js';
import { argValue } from '../parse/args.js';
import type { AuthGate, BasicAuth, ClosedGate, Src } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { anyHolds, familyOfNames, type Level, runCache, srcOf } from './util.js';

/** Access-phase directives that may refuse a client and that Envoy cannot run: each closes the route (value `off` excepted). */
export const CLOSING_GATES: ReadonlyMap<string, string> = new Map([
  ['auth_request', 'asks the auth location first (2xx passes, 401/403 are returned, anything else is 500)'],
  ['access_by_lua', 'runs Lua in the access phase, which may refuse the client'],
  ['access_by_lua_block', 'runs Lua in the access phase, which may refuse the client'],
  ['access_by_lua_file', 'runs Lua in the access phase, which may refuse the client'],
  ['auth_jwt', 'checks a JSON Web Token (NGINX Plus)'],
  ['auth_pam', 'checks credentials with PAM'],
  ['auth_ldap', 'checks credentials with LDAP'],
  ['auth_digest', 'checks HTTP digest credentials'],
  ['auth_gss', 'checks Kerberos (SPNEGO) credentials'],
  ['auth_spnego', 'checks Kerberos (SPNEGO) credentials'],
]);

/** Web application firewalls: they inspect requests but are not an authentication gate; reported, the route stays as nginx's when the WAF passes it. */
export const WAF_DIRECTIVES: ReadonlySet<string> = new Set(['modsecurity', 'modsecurity_rules', 'modsecurity_rules_file', 'modsecurity_rules_remote', 'modsecurity_transaction_id', 'SecRulesEnabled', 'SecRulesDisabled', 'LearningMode', 'DeniedUrl', 'BasicRule', 'CheckRule', 'LibInjectionSql', 'LibInjectionXss']);

/** Every directive authAt reads (the policy's inheritance depends on them). */
export const AUTH_DIRECTIVES: readonly string[] = ['auth_basic', 'auth_basic_user_file', 'satisfy', ...CLOSING_GATES.keys()];

/** The family (util.ts) of AUTH_DIRECTIVES: a level without any has no authentication of its own. */
export const AUTH_FAMILY = familyOfNames(new Set(AUTH_DIRECTIVES));

// authAt's answer where no level has any auth directive: most locations (read only by callers).
const NO_AUTH: { gate: AuthGate | null; satisfyAny: boolean } = Object.freeze({ gate: null, satisfyAny: false });

/** The status a route refusing what it cannot check answers (auth_request and the other gates): nginx's for a check that cannot complete. */
export const CLOSED_STATUS = 500;

/** The directory relative users files are read from (nginx: its configuration prefix, the main file's directory). */
let confDir = '.';

export function setConfDir(dir: string): void {
  confDir = dir;
}

/**
 * The authentication in effect at the innermost of `levels`, and whether `satisfy any`
 * joins it with allow/deny (both in effect, credentials checked by Envoy).
 */
export function authAt(levels: Level[], hasAccess: boolean): { gate: AuthGate | null; satisfyAny: boolean } {
  // (the dozen lookups below find nothing where no level names an auth directive)
  if (!anyHolds(levels, AUTH_FAMILY)) return NO_AUTH;
  const closing = closingGateAt(levels);
  const basic = basicAuthAt(levels);
  const satisfyAny = argOf(effectiveSimple(levels, 'satisfy')) === 'any';
  // satisfy any lets a client in on either check: keeping the credentials check alone refuses
  // everyone nginx refuses (and some it admits), which Envoy can enforce.
  const either = satisfyAny && hasAccess && basic !== null && basic.kind === 'basic' && closing === null;
  return { gate: closing ?? basic, satisfyAny: either };
}

function argOf(d: Directive | undefined): string | undefined {
  return d === undefined ? undefined : argValue(d, 0);
}

/** The first closing gate in effect (file order of the innermost level that sets one), null when none. */
function closingGateAt(levels: Level[]): AuthGate | null {
  for (const [name, what] of CLOSING_GATES) {
    const d = effectiveSimple(levels, name);
    if (!d || argOf(d) === 'off') continue;
    return { kind: 'closed', closed: closedGate(d, what) };
  }
  return null;
}

// One gate per directive: the locations inheriting it share the object.
const closedByDirective = runCache<Directive, ClosedGate>();

function closedGate(d: Directive, what: string): ClosedGate {
  let g = closedByDirective.get(d);
  if (!g) {
    const reason = `\`${d.name}\` ${what}: Envoy is not given that check, so the routes of what this location serves FAIL CLOSED: every request is answered ${CLOSED_STATUS} (nginx's answer when its check cannot complete) instead of being forwarded unchecked; configure the check in Envoy by hand (ext_authz or a filter doing the same) and then replace the direct response with the route`;
    closedByDirective.set(d, (g = { status: CLOSED_STATUS, headers: [], directive: d.name, reason, source: srcOf(d) }));
  }
  return g;
}

/** auth_basic with its users file in effect, as a gate (basic, or closed where Envoy would refuse the file); null: no check. */
function basicAuthAt(levels: Level[]): AuthGate | null {
  const realmAt = effectiveSimple(levels, 'auth_basic');
  const fileAt = effectiveSimple(levels, 'auth_basic_user_file');
  const realm = argOf(realmAt);
  if (!realmAt || realm === undefined || realm === 'off' || !fileAt || argOf(fileAt) === undefined) return null;
  return basicGate(realmAt, fileAt);
}

// One gate per (auth_basic, auth_basic_user_file) pair in effect.
const basicByPair = runCache<Directive, Map<Directive, AuthGate>>();

function basicGate(realmAt: Directive, fileAt: Directive): AuthGate {
  let byFile = basicByPair.get(realmAt);
  if (!byFile) basicByPair.set(realmAt, (byFile = new Map()));
  let g = byFile.get(fileAt);
  if (!g) byFile.set(fileAt, (g = makeBasicGate(argOf(realmAt)!, argOf(fileAt)!, srcOf(realmAt), srcOf(fileAt))));
  return g;
}

/** nginx's challenge for a realm. */
export function challengeOf(realm: string): string {
  return `Basic realm="${realm}"`;
}

function makeBasicGate(realm: string, file: string, source: Src, fileSource: Src): AuthGate {
  const refuse = (why: string): AuthGate => ({
    kind: 'closed',
    closed: {
      status: 401,
      headers: [{ name: 'WWW-Authenticate', value: challengeOf(realm) }],
      directive: 'auth_basic',
      basic: { realm, file, checked: false, source: fileSource },
      reason: `${why}: the routes FAIL CLOSED, every request is answered 401 with nginx's \`WWW-Authenticate: ${challengeOf(realm)}\` (no client gets in, not even with valid credentials)`,
      source,
    },
  });
  if (realm.includes('$')) return refuse(`realm \`${realm}\` with variables (nginx evaluates it per request)`);
  if (file.includes('$')) return refuse(`users file \`${file}\` with variables (nginx picks the file per request)`);
  const check = checkUsersFile(file);
  if (check.kind === 'refused') return refuse(`users file ${file} ${check.why}; Envoy's basic_auth filter accepts only \`user:{SHA}base64(sha1(password))\` lines and refuses the whole configuration otherwise: re-hash every password as {SHA} (\`htpasswd -s\`) and convert again`);
  return { kind: 'basic', basic: { realm, file, checked: check.kind === 'ok', source: fileSource } };
}

type FileCheck = { kind: 'ok' } | { kind: 'unread'; why: string } | { kind: 'refused'; why: string };

// Each file is read once per run.
const fileChecks = runCache<string, FileCheck>();

/** Whether Envoy's basic_auth filter would load the users file (its htpasswd reader's rules). */
export function checkUsersFile(file: string): FileCheck {
  let c = fileChecks.get(file);
  if (!c) {
    let text: string;
    try {
      text = readFileSync(isAbsolute(file) ? file : resolve(confDir, file), 'utf8');
      c = usersFileProblem(text);
    } catch (err) {
      c = { kind: 'unread', why: (err as NodeJS.ErrnoException).code ?? 'unreadable' };
    }
    fileChecks.set(file, c);
  }
  return c;
}

/**
 * Envoy's reading of an htpasswd text (basic_auth config): lines split on LF only (a CR
 * stays in the hash), empty lines and `#` comments skipped, `name:hash` with both
 * non-empty, each name once, hash `{SHA}` + 28 base64 characters.
 */
export function usersFileProblem(text: string): FileCheck {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const names = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' || line.startsWith('#')) continue;
    const at = `line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) return { kind: 'refused', why: `has a line without \`:\` (${at})` };
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (name === '' || hash === '') return { kind: 'refused', why: `has an empty user name or password (${at})` };
    if (names.has(name)) return { kind: 'refused', why: `names user "${name}" twice (${at})` };
    names.add(name);
    if (!hash.startsWith('{SHA}')) return { kind: 'refused', why: `holds the ${hashKind(hash)} hash of "${name}" (${at})` };
    if (hash.length !== 33) return { kind: 'refused', why: `holds a {SHA} hash of the wrong length for "${name}" (${at}: a comment field or a CR at the end?)` };
  }
  return { kind: 'ok' };
}

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'apr1 (MD5)';
  if (/^\$2[abxy]?\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('{SSHA}')) return 'salted SHA';
  if (hash.startsWith('{PLAIN}')) return 'plain-text';
  if (hash.startsWith('$')) return 'crypt(3)';
  return 'crypt(3) or plain';
}

/**
 * How `satisfy any` with allow/deny and auth_basic is emitted: the credentials only (a
 * location's routes), or both checks (limit_except, the server's fallback).
 */
export type SatisfyAnyAs = 'credentials' | 'both';

/** Report lines of the auth directives in effect at a location (or server), by what the gate became. */
export function markAuth(levels: Level[], gate: AuthGate | null, satisfyAny: SatisfyAnyAs | null, r: Reporter): void {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    for (const name of AUTH_DIRECTIVES) {
      const list = level.byName.get(name);
      if (!list) continue;
      for (const d of list) markOne(d, levels, gate, satisfyAny, r);
    }
  }
}

function markOne(d: Directive, levels: Level[], gate: AuthGate | null, satisfyAny: SatisfyAnyAs | null, r: Reporter): void {
  const at = srcOf(d);
  // Only the directive in effect here is reported for this location; an overridden one gets its mark where it applies.
  if (d.name !== 'satisfy' && effectiveSimple(levels, d.name) !== d) return;
  if (CLOSING_GATES.has(d.name)) {
    if (argOf(d) === 'off') r.mark(d, 'translated', `\`${d.name} off\`: no such check here, as in nginx`, at);
    else if (gate?.kind === 'closed' && gate.closed.directive === d.name) r.mark(d, 'unsupported', gate.closed.reason, at);
    else r.mark(d, 'unsupported', `\`${d.name}\` is not translated: the routes here fail closed (${gate?.kind === 'closed' ? gate.closed.directive : 'another check'} closes them first)`, at);
    return;
  }
  if (d.name === 'satisfy') {
    if (argOf(d) !== 'any') r.mark(d, 'translated', '`satisfy all` (nginx\'s default): allow/deny (RBAC, 403) first, then the credentials (401), as the filters are ordered', at);
    else if (satisfyAny === 'both') r.mark(d, 'approximated', '`satisfy any` lets a client in on either check; Envoy cannot combine the two filters with OR, so both are required here (fail closed to the stricter reading): a client nginx admits on one check only is refused', at);
    else if (satisfyAny === 'credentials') r.mark(d, 'approximated', '`satisfy any` lets a client in on either check; Envoy cannot combine the two filters with OR, so only the credentials are checked (fail closed to the stricter reading): every client nginx refuses is refused with nginx\'s 401, but clients of the allowed addresses must give credentials too', at);
    else r.mark(d, 'translated', '`satisfy any` with a single check here: the same as `satisfy all`', at);
    return;
  }
  if (argOf(d) === 'off') {
    r.mark(d, 'translated', '`auth_basic off`: no credentials asked here, as in nginx (Envoy\'s basic_auth filter is not enabled on these routes)', at);
    return;
  }
  if (gate === null || (gate.kind === 'closed' && gate.closed.directive !== 'auth_basic' && argOf(effectiveSimple(levels, 'auth_basic')) === 'off')) {
    const realm = argOf(effectiveSimple(levels, 'auth_basic'));
    const why = d.name === 'auth_basic' ? '`auth_basic` without `auth_basic_user_file` in effect' : realm === 'off' ? '`auth_basic off` in effect below it' : '`auth_basic_user_file` without `auth_basic` in effect';
    if (gate === null) r.mark(d, 'translated', `${why}: nginx checks no credentials here, nor does Envoy`, at);
    return;
  }
  if (gate.kind === 'closed') {
    r.mark(d, gate.closed.directive === 'auth_basic' ? 'unsupported' : 'translated', gate.closed.directive === 'auth_basic' ? gate.closed.reason : `credentials are not asked: ${gate.closed.directive} closes these routes`, at);
    return;
  }
  r.mark(d, 'approximated', basicReason(gate.basic), at);
}

function basicReason(b: BasicAuth): string {
  const parts = [`Envoy's basic_auth filter on the routes of what is served here (BasicAuthPerRoute, users file ${b.file} referenced by filename, never inlined), after allow/deny as in nginx: 401 without valid credentials, made nginx's by a local reply mapper (its \`WWW-Authenticate: ${challengeOf(b.realm)}\`, and its 401 page or the error_page for 401 in effect); Envoy reads the users file when it loads the configuration (nginx on every request: an edited file needs a reload)`];
  if (!b.checked) parts.push(`the file could not be read at convert time: Envoy accepts only \`{SHA}\` lines and refuses the whole configuration at load otherwise (re-hash with \`htpasswd -s\`)`);
  if (!isAbsolute(b.file)) parts.push('a relative path: nginx reads it from its configuration directory, Envoy from its working directory');
  return parts.join('; ');
}

/** What the WAF directives are reported as: not an authentication gate, so nothing is closed. */
export const WAF_REASON = 'web application firewall: not translated, Envoy forwards requests without this inspection (not an authentication gate, so the route is not closed); add an Envoy WAF filter by hand if the inspection is required';

/**
 * Two checks nginx runs one after the other on one request (a location's, then the one its
 * try_files hands the request to): the same gate, the one of them that exists, a closed one,
 * the first of two on one users file, else two users files, which Envoy's single basic_auth
 * filter cannot check together (closed).
 */
export function bothGates(first: AuthGate | undefined, second: AuthGate | undefined): AuthGate | undefined {
  if (!first || first === second) return second;
  if (!second) return first;
  if (first.kind === 'closed') return first;
  if (second.kind === 'closed') return second;
  // the same file: the second check passes whomever the first let in, and every 401 is the first's
  if (first.basic.file === second.basic.file) return first;
  let bySecond = twoFiles.get(first);
  if (!bySecond) twoFiles.set(first, (bySecond = new Map()));
  let g = bySecond.get(second);
  if (!g) bySecond.set(second, (g = twoFilesGate(first.basic, second.basic)));
  return g;
}

// One closed gate per pair of users files checked one after the other (the routes sharing it share the object).
const twoFiles = runCache<AuthGate, Map<AuthGate, AuthGate>>();

function twoFilesGate(first: BasicAuth, second: BasicAuth): AuthGate {
  const realm = first.realm;
  return {
    kind: 'closed',
    closed: {
      status: 401,
      headers: [{ name: 'WWW-Authenticate', value: challengeOf(realm) }],
      directive: 'auth_basic',
      reason: `nginx checks the credentials against ${first.file} and then ${second.file} (try_files hands the request to a location with its own auth_basic); Envoy's basic_auth filter checks one file per route: the routes FAIL CLOSED with 401 \`WWW-Authenticate: ${challengeOf(realm)}\``,
      source: first.source,
    },
  };
}
