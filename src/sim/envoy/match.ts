// Virtual host and route matching.
// Docs: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto
// (VirtualHost.domains, RouteMatch, HeaderMatcher, QueryParameterMatcher) and
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/matcher/v3/string.proto (StringMatcher).

import { boolValue, enumValue, EnvoyConfigError, type Obj } from './config.js';
import { pathOnly } from './path.js';
import { re2FullMatch } from './regex.js';

/** The request as route matching sees it: after the connection manager's normalisation. */
export interface RouteRequest {
  /** Host/:authority after port/dot stripping */
  authority: string;
  /** :path with query, after normalisation */
  path: string;
  method: string;
  scheme: string;
  /** lowercased names; pseudo-headers included */
  headers: Record<string, string>;
  tls: boolean;
}

// ------------------------------------------------------------ virtual hosts

/**
 * VirtualHost.domains: "1. Exact domain names: www.foo.com. 2. Suffix domain
 * wildcards: *.foo.com or *-bar.foo.com. 3. Prefix domain wildcards: foo.* or
 * foo-*. 4. Special wildcard * matching any domain." "The wildcard will not match
 * the empty string" and "The longest wildcards match first". Matching is on the
 * lower-cased Host as sent (port included) unless ignore_port_in_host_matching.
 */
export function selectVirtualHost(routeConfig: Obj, authority: string): Obj | undefined {
  let host = authority;
  if (boolValue(routeConfig.ignore_port_in_host_matching, false)) {
    const p = portStart(host);
    if (p >= 0) host = host.slice(0, p);
  }
  host = host.toLowerCase();
  const vhosts: Obj[] = routeConfig.virtual_hosts ?? [];
  let exact: Obj | undefined;
  let suffix: { vh: Obj; len: number } | undefined;
  let prefix: { vh: Obj; len: number } | undefined;
  let star: Obj | undefined;
  const seen = new Set<string>();
  for (const vh of vhosts) {
    for (const raw of vh.domains ?? []) {
      const d = String(raw).toLowerCase();
      if (seen.has(d)) throw new EnvoyConfigError(`domain ${JSON.stringify(d)} appears in more than one virtual host`);
      seen.add(d);
      if (d === '*') {
        star = vh;
      } else if (d.startsWith('*')) {
        const s = d.slice(1);
        if (host.length > s.length && host.endsWith(s) && (!suffix || s.length > suffix.len)) suffix = { vh, len: s.length };
      } else if (d.endsWith('*')) {
        const p = d.slice(0, -1);
        if (host.length > p.length && host.startsWith(p) && (!prefix || p.length > prefix.len)) prefix = { vh, len: p.length };
      } else if (d === host) {
        exact = vh;
      }
    }
  }
  return exact ?? suffix?.vh ?? prefix?.vh ?? star;
}

/** Where the `:port` of a Host starts, IPv6 literals in brackets respected (HeaderUtility::getPortStart). */
export function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const v6end = host.lastIndexOf(']');
  if (v6end >= 0 && v6end > colon) return -1;
  return colon;
}

// ------------------------------------------------------------ string matching

/**
 * StringMatcher: exact / prefix / suffix / contains / safe_regex (full match; ignore_case
 * "has no effect for safe_regex"). ignore_case compares ASCII letters only
 * (absl::EqualsIgnoreCase, absl::StartsWithIgnoreCase …).
 */
export function stringMatch(m: Obj, value: string): boolean {
  const ic = boolValue(m.ignore_case, false);
  const v = ic ? asciiLower(value) : value;
  const lc = (s: unknown): string => (ic ? asciiLower(String(s)) : String(s));
  if (m.exact !== undefined) return v === lc(m.exact);
  if (m.prefix !== undefined) return v.startsWith(lc(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(lc(m.suffix));
  if (m.contains !== undefined) return v.includes(lc(m.contains));
  if (m.safe_regex !== undefined) return re2FullMatch(String(m.safe_regex.regex ?? ''), value);
  throw new EnvoyConfigError(`StringMatcher without a match pattern: ${JSON.stringify(m)}`);
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

// ------------------------------------------------------------ header matching

/**
 * HeaderMatcher. The value of a header sent several times is the values joined with
 * ",". A missing header matches only `present_match: false` (or, inverted,
 * `present_match: true`), unless treat_missing_header_as_empty makes it "". A
 * matcher with no specifier is a presence check. The deprecated `exact_match: ""`
 * matches any value. (HeaderUtility::matchHeaders in source/common/http/header_utility.cc.)
 */
export function headerMatch(m: Obj, headers: Record<string, string>): boolean {
  const name = String(m.name ?? '').toLowerCase();
  const invert = boolValue(m.invert_match, false);
  let value = headers[name];
  const hasPresent = m.present_match !== undefined;
  const present = boolValue(m.present_match, true);
  if (value === undefined) {
    if (!boolValue(m.treat_missing_header_as_empty, false)) {
      const isPresenceCheck = hasPresent || specifierless(m);
      const want = hasPresent ? present : true;
      return isPresenceCheck && (invert ? want : !want);
    }
    value = '';
  }
  let match: boolean;
  if (m.string_match !== undefined) match = stringMatch(m.string_match, value);
  else if (m.exact_match !== undefined) match = m.exact_match === '' || value === m.exact_match;
  else if (m.safe_regex_match !== undefined) match = re2FullMatch(String(m.safe_regex_match.regex ?? ''), value);
  else if (m.prefix_match !== undefined) match = value.startsWith(m.prefix_match);
  else if (m.suffix_match !== undefined) match = value.endsWith(m.suffix_match);
  else if (m.contains_match !== undefined) match = value.includes(m.contains_match);
  else if (m.range_match !== undefined) match = rangeMatch(m.range_match, value);
  else match = hasPresent ? present : true;
  return match !== invert;
}

function specifierless(m: Obj): boolean {
  return ['string_match', 'exact_match', 'safe_regex_match', 'prefix_match', 'suffix_match', 'contains_match', 'range_match', 'present_match'].every(
    (k) => m[k] === undefined,
  );
}

/** Int64Range, half-open [start, end); the value must be a whole decimal number. */
function rangeMatch(r: Obj, value: string): boolean {
  if (!/^[+-]?\d+$/.test(value)) return false;
  const n = Number(value);
  return n >= Number(r.start ?? 0) && n < Number(r.end ?? 0);
}

// ------------------------------------------------------ query parameter matching

/** Query parameters as Envoy's route matcher parses them: split on & and =, not percent-decoded. */
export function parseQuery(fullPath: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = fullPath.indexOf('?');
  if (q < 0) return out;
  const end = fullPath.indexOf('#', q);
  const qs = fullPath.slice(q + 1, end < 0 ? undefined : end);
  for (const part of qs.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    if (!out.has(k)) out.set(k, v); // the first value is the one matched
  }
  return out;
}

/** QueryParameterMatcher: string_match on the first value, or present_match; neither = must be present. */
export function queryParamMatch(m: Obj, params: Map<string, string>): boolean {
  const v = params.get(String(m.name ?? ''));
  if (m.present_match !== undefined) return (v !== undefined) === boolValue(m.present_match, true);
  if (v === undefined) return false;
  if (m.string_match !== undefined) return stringMatch(m.string_match, v);
  return true;
}

// ------------------------------------------------------------ route matching

export interface PathMatchResult {
  /** the part of the path a prefix_rewrite replaces */
  matched: string;
}

/**
 * RouteMatch path specifiers. prefix / path / path_separated_prefix are matched on
 * the path without query (Envoy's PathMatcher strips "?" and "#"); case_sensitive
 * (default true) applies to them; safe_regex is an RE2 full match of the path
 * without query, "case_sensitive … has no effect for safe_regex".
 */
export function pathMatch(match: Obj, req: RouteRequest, notes: string[]): PathMatchResult | null {
  const cs = boolValue(match.case_sensitive, true);
  const path = pathOnly(req.path);
  const eq = (a: string, b: string): boolean => (cs ? a === b : a.toLowerCase() === b.toLowerCase());
  const starts = (a: string, p: string): boolean => (cs ? a.startsWith(p) : a.toLowerCase().startsWith(p.toLowerCase()));
  if (req.method === 'CONNECT' && match.connect_matcher === undefined) {
    // CONNECT requests carry no :path for HTTP/1; only connect_matcher routes take them.
    return null;
  }
  if (match.prefix !== undefined) {
    const p = String(match.prefix);
    return starts(path, p) ? { matched: path.slice(0, p.length) } : null;
  }
  if (match.path !== undefined) {
    return eq(path, String(match.path)) ? { matched: path } : null;
  }
  if (match.safe_regex !== undefined) {
    return re2FullMatch(String(match.safe_regex.regex ?? ''), path) ? { matched: path } : null;
  }
  if (match.path_separated_prefix !== undefined) {
    // "either exactly match the path_separated_prefix or have it as a prefix, followed by /"
    const p = String(match.path_separated_prefix);
    if (eq(path, p)) return { matched: path };
    return starts(path, p + '/') ? { matched: path.slice(0, p.length) } : null;
  }
  if (match.connect_matcher !== undefined) {
    return req.method === 'CONNECT' ? { matched: '' } : null;
  }
  if (match.path_match_policy !== undefined) {
    notes.push('path_match_policy (URI template) is not simulated; the route is treated as not matching');
    return null;
  }
  throw new EnvoyConfigError(`RouteMatch without a path specifier: ${JSON.stringify(match)}`);
}

/** All of RouteMatch: path specifier, then headers (all must match), query parameters, grpc, tls_context. */
export function routeMatches(match: Obj, req: RouteRequest, notes: string[]): PathMatchResult | null {
  const pm = pathMatch(match, req, notes);
  if (!pm) return null;
  for (const h of match.headers ?? []) if (!headerMatch(h, req.headers)) return null;
  if ((match.query_parameters ?? []).length) {
    const params = parseQuery(req.path);
    for (const q of match.query_parameters) if (!queryParamMatch(q, params)) return null;
  }
  if (match.grpc !== undefined && !(req.headers['content-type'] ?? '').startsWith('application/grpc')) return null;
  if (match.tls_context !== undefined) {
    const want = boolValue(match.tls_context.presented, false);
    if (want && !req.tls) return null;
    if (match.tls_context.presented !== undefined && !want && req.tls) notes.push('tls_context.presented: false on a TLS request: client certificate presence is not simulated');
  }
  if (match.runtime_fraction !== undefined) notes.push('runtime_fraction ignored (treated as always matching)');
  if (match.dynamic_metadata !== undefined) notes.push('dynamic_metadata matcher not simulated (treated as matching)');
  if (match.filter_state !== undefined) notes.push('filter_state matcher not simulated (treated as matching)');
  return pm;
}

/** The enum of RedirectAction.response_code, with its status codes. */
export const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};
export function redirectCode(v: unknown): number {
  const name = enumValue(v, Object.keys(REDIRECT_CODES), 'MOVED_PERMANENTLY');
  return REDIRECT_CODES[name] ?? 301;
}
