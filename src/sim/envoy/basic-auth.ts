// Envoy's basic_auth HTTP filter (envoy.extensions.filters.http.basic_auth.v3), written from
// its documentation and behaviour: the users are an htpasswd text (a DataSource: read from
// the file here, as Envoy does at load) of `name:{SHA}base64(sha1(password))` lines, empty
// lines and `#` comments skipped, anything else refusing the configuration; a route's
// BasicAuthPerRoute replaces the users; HttpFilter.disabled turns the filter off where no
// per-route config enables it. A request without a valid `Authorization: Basic …` is
// answered 401 with `WWW-Authenticate: Basic realm="<scheme>://<host><path>"`, a local reply
// that the connection manager's local_reply_config mappers may change.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvoyConfigError, typeOf, type Obj } from './config.js';
import { perFilterConfigs } from './filters.js';
import type { RouteRequest } from './match.js';

const BASIC_AUTH_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth';

export interface BasicAuthDenial {
  status: number;
  body: string;
  /** response headers of the filter's local reply (lowercase names), before the connection manager's local reply mappers */
  headers: Record<string, string>;
}

const isBasicAuth = (f: Obj): boolean => typeOf(f) === BASIC_AUTH_TYPE;

/** The denial of the first basic_auth filter refusing the request on this route, or null when every one lets it through. */
export function basicAuthDenial(hcm: Obj, rc: Obj, vh: Obj, route: Obj, req: RouteRequest, notes: string[], filesFrom?: string): BasicAuthDenial | null {
  const filters: Obj[] = (hcm.http_filters ?? []).filter(isBasicAuth);
  if (filters.length === 0) return null;
  const choices = perFilterConfigs(hcm, rc, vh, route, []);
  for (const f of filters) {
    const perRoute = choices[String(f.name ?? '')]?.config ?? null;
    if (!perRoute && f.disabled === true) continue;
    const users = readUsers(perRoute ? perRoute.users : f.typed_config?.users, filesFrom);
    const why = refusal(users, req.headers['authorization']);
    if (why === null) continue;
    const uri = `${req.scheme}://${req.authority}${req.path}`.slice(0, 256);
    const denial: BasicAuthDenial = { status: 401, body: `User authentication failed. ${why}`, headers: { 'www-authenticate': `Basic realm="${uri}"` } };
    return denial;
  }
  return null;
}

/** Why the credentials do not pass (the filter's reply text after "User authentication failed."), null when they do. */
function refusal(users: Map<string, string>, authorization: string | undefined): string | null {
  if (authorization === undefined) return 'Missing username and password.';
  if (!authorization.startsWith('Basic ')) return "Expected 'Basic' authentication scheme.";
  const decoded = Buffer.from(authorization.slice(6), 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'Invalid basic credential format.';
  const hash = users.get(decoded.slice(0, colon));
  const given = createHash('sha1').update(Buffer.from(decoded.slice(colon + 1), 'latin1')).digest('base64');
  return hash === given ? null : 'Invalid username/password combination.';
}

/** The users of a DataSource as Envoy reads them (name → base64 SHA-1), or its load error. */
function readUsers(source: Obj | undefined, filesFrom: string | undefined): Map<string, string> {
  let text: string;
  if (source?.filename !== undefined) {
    try {
      text = readFileSync(resolve(filesFrom ?? '.', String(source.filename)), 'utf8');
    } catch (err) {
      throw new EnvoyConfigError(`basic auth: cannot read ${String(source.filename)} (${(err as NodeJS.ErrnoException).code ?? 'error'}): Envoy refuses the configuration`);
    }
  } else if (source?.inline_string !== undefined) text = String(source.inline_string);
  else if (source?.inline_bytes !== undefined) text = Buffer.from(String(source.inline_bytes), 'base64').toString('utf8');
  else throw new EnvoyConfigError('basic auth: no users DataSource');
  if (text === '') throw new EnvoyConfigError('basic auth: DataSource cannot be empty');
  const users = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new EnvoyConfigError('basic auth: invalid htpasswd format, username:password is expected');
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (name === '' || hash === '') throw new EnvoyConfigError('basic auth: empty user name or password');
    if (users.has(name)) throw new EnvoyConfigError(`basic auth: duplicate user '${name}'`);
    if (!hash.startsWith('{SHA}')) throw new EnvoyConfigError(`basic auth: unsupported htpasswd format: please use {SHA} for '${name}'`);
    if (hash.length !== 33) throw new EnvoyConfigError(`basic auth: invalid SHA hash length for '${name}'`);
    users.set(name, hash.slice(5));
  }
  return users;
}

/**
 * The first local_reply_config mapper whose filter takes this reply, applied (status,
 * headers_to_add; a body mapper is noted). Filters read: status_code_filter (EQ, GE, LE),
 * and_filter, or_filter, and the CEL filter `xds.route_name in [...]`; others are noted and
 * taken as not matching.
 */
