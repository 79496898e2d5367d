// The edge settings of a server and of its locations (issue 7): compression,
// access logs, client IPs, client limits, error pages, request ids. Called by
// the lowering walk (index.ts) once per server and once per location; each
// call also reports the directives of the levels it reads.
import type { Directive } from '../parse/ast.js';
import type { Policy, ServerEdge } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { ACCESS_LOG_MARKED, accessLogsAt, logFormats, markAccessLogs } from './access-log.js';
import { CLIENT_LIMIT_DIRECTIVES, clientLimitsAt, markClientLimits } from './client-limits.js';
import { COMPRESSION_MARKED, compressionAt, markCompression } from './compression.js';
import { errorPagesAt, type FileResolver, markErrorPages, staticFileResolver } from './error-page.js';
import { markRealIp, realIpAt } from './real-ip.js';
import { markTracing, TRACING_MARKED, tracingAt, usesRequestId } from './tracing.js';
import { GRPC_MARKED, markGrpc } from './grpc.js';
import { HTTP2_MARKED, markHttp2 } from './http2.js';
import { markUnderscores, underscoreHeadersAt } from './underscores.js';
import { moreHeadersAt } from './more-headers.js';
import { errorAt, familyOfNames, holds, type Level, levelOf, runCache, runSet } from './util.js';
import { effectiveSimple } from './limits.js';
import { argValue } from '../parse/args.js';
import { NGINX_VERSION } from './special-response.js';

/**
 * Server-level edge settings; reports the http- and server-level directives. `levels` = [http, server].
 * `compression`: compressionAt(levels), when the caller already has it.
 */
export function serverEdge(levels: Level[], r: Reporter, compression: ServerEdge['compression'] = compressionAt(levels)): ServerEdge {
  const http = levels[0] ?? EMPTY_LEVEL;
  const formats = logFormats(http);
  const realIp = realIpAt(levels);
  const files = fileResolverOf(http, levels[1] ?? EMPTY_LEVEL);
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (edgeMarked.has(level.ds)) continue;
    edgeMarked.add(level.ds);
    const todo = unmarked(level.ds, r);
    if (todo.length === 0) continue; // (an empty list has an elements kind of its own: the markers never see one)
    markCompression(todo, r);
    markAccessLogs(todo, r, formats);
    markRealIp(todo, r, realIp);
    markClientLimits(todo, r);
    markErrorPages(todo, r, files);
    markTracing(todo, r);
    markGrpc(todo, r);
    markHttp2(todo, r);
    markUnderscores(todo, r);
    markServerTokens(todo, r);
  }
  const logs = accessLogsAt(levels, formats);
  const limits = clientLimitsAt(levels);
  const errorPages = errorPagesAt(levels, files);
  const tracing = tracingAt(levels);
  const requestId = anyUsesRequestId(levels);
  const underscoreHeaders = underscoreHeadersAt(levels);
  // (read in the order the fields were always read: each may report, or throw)
  const more = moreHeadersAt(levels);
  const tokens = serverTokensAt(levels);
  // Every server edge is built with every field, in one order (undefined: absent; the
  // order is the output's): one shape for V8 in everything that reads it.
  return {
    compression,
    accessLogs: logs ?? [],
    accessLogDefault: logs === null ? true : undefined,
    realIp,
    limits,
    errorPages,
    tracing,
    usesRequestId: requestId,
    underscoreHeaders,
    moreHeaders: more ?? undefined,
    serverTokens: tokens ?? undefined,
  };
}

function anyUsesRequestId(levels: Level[]): boolean {
  for (let i = 0; i < levels.length; i++) if (usesRequestId(levels[i]!.ds)) return true;
  return false;
}

/**
 * server_tokens in effect at the innermost of `levels`: 'off', 'build', or null for
 * `on` (the default). nginx rejects any other value when it loads the configuration.
 */
export function serverTokensAt(levels: Level[]): 'off' | 'build' | null {
  const d = effectiveSimple(levels, 'server_tokens');
  if (!d) return null;
  const v = argValue(d, 0) ?? '';
  if (v === 'on') return null;
  if (v === 'off' || v === 'build') return v;
  throw errorAt(d.args[0]?.source ?? d.source, `invalid value "${v}" in "server_tokens" directive, it must be "on", "off" or "build"`, 'server-tokens-value');
}

function markServerTokens(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name !== 'server_tokens') continue;
    const v = argValue(d, 0);
    const tail = v === 'off' ? '`nginx`' : `\`nginx/${NGINX_VERSION}\` (the version reproduced; a build name is not)`;
    r.mark(d, 'translated', `nginx's own error pages, which Envoy's local replies send (local_reply_config), end with ${tail}; the Server header: see the server_tokens note`);
  }
}

const EMPTY_LEVEL: Level = levelOf([]);


// The levels whose directives the markers above have seen. Whether a marker reports a
// directive depends on the directive alone, so once a level has been through them
// every directive of it they handle is marked: the http level (asked again with each
// server's levels, after markHttpEdge) has nothing more for them, and is not refiltered.
// A lowering run has one Reporter, so the set is kept for the run.
const edgeMarked = runSet<Directive[]>();

// `server` blocks are left out: lowerServer reports them and no edge mark handles one.
function unmarked(ds: Directive[], r: Reporter): Directive[] {
  // Made like a level's own list (directivesOf: sized, then filled), not by filter:
  // the markers get both, and one elements kind keeps them from deoptimising.
  const out = new Array<Directive>(ds.length);
  let k = 0;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name !== 'server' && !r.isMarked(d)) out[k++] = d;
  }
  out.length = k;
  return out;
}

// One resolver per server (it depends on the http and server levels only), so its
// answers are shared by the server's locations.
const resolvers = runCache<Level, Map<Level, FileResolver>>();

function fileResolverOf(http: Level, server: Level): FileResolver {
  let byServer = resolvers.get(http);
  if (!byServer) resolvers.set(http, (byServer = new Map()));
  let f = byServer.get(server);
  if (!f) byServer.set(server, (f = staticFileResolver(http.ds, server.ds)));
  return f;
}

/** Report the http-level edge directives (also when the http block has no server, e.g. servers in missing includes). */
export function markHttpEdge(http: Level, r: Reporter): void {
  serverEdge([http], r);
}

/** A location's edge settings: Policy's compression, accessLogs (null: inherited from the server) and errorPages. */
export interface LocationEdge {
  compression: Policy['compression'];
  accessLogs: NonNullable<Policy['accessLogs']> | null;
  errorPages: Policy['errorPages'];
}

// Set in a location, these have one value per listener in Envoy.
const PER_LISTENER = familyOfNames(new Set([...CLIENT_LIMIT_DIRECTIVES, 'otel_trace']));

/** Reports a location's own edge directives (its settings are read by locationEdgeAt). */
export function markLocationEdge(levels: Level[], r: Reporter): void {
  const own = levels[levels.length - 1] ?? EMPTY_LEVEL;
  const ds = own.ds;
  // Each marker looks at every directive of the level: skipped where it has nothing to report.
  if (holds(own, COMPRESSION_MARKED)) markCompression(ds, r);
  if (holds(own, ACCESS_LOG_MARKED)) markAccessLogs(ds, r, logFormats(levels[0] ?? EMPTY_LEVEL));
  if (own.byName.has('set_real_ip_from') || own.byName.has('real_ip_header') || own.byName.has('real_ip_recursive')) markRealIp(ds, r, realIpAt(levels));
  const pages = own.byName.get('error_page');
  if (pages) markErrorPages(pages, r, fileResolverOf(levels[0] ?? EMPTY_LEVEL, levels[1] ?? EMPTY_LEVEL));
  if (holds(own, TRACING_MARKED)) markTracing(ds, r);
  if (holds(own, GRPC_MARKED)) markGrpc(ds, r);
  if (holds(own, HTTP2_MARKED)) markHttp2(ds, r);
  if (own.byName.has('server_tokens')) markServerTokens(ds, r);
  if (!holds(own, PER_LISTENER)) return;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (CLIENT_LIMIT_DIRECTIVES.includes(d.name)) r.mark(d, 'approximated', 'set in a location: Envoy has one value per listener (the default server\'s), not per route');
    if (d.name === 'otel_trace') r.mark(d, 'approximated', 'set in a location: Envoy traces by the server\'s setting');
  }
}

/**
 * The edge settings in effect at the innermost of `levels` (levels[0] is http,
 * levels[1] the server). `compression`: compressionAt(levels), when the caller
 * already has it (a level without gzip/brotli directives inherits its parent's).
 */
export function locationEdgeAt(levels: Level[], compression: Policy['compression'] = compressionAt(levels)): LocationEdge {
  const formats = logFormats(levels[0] ?? EMPTY_LEVEL);
  const files = fileResolverOf(levels[0] ?? EMPTY_LEVEL, levels[1] ?? EMPTY_LEVEL);
  return { compression, accessLogs: accessLogsAt(levels, formats), errorPages: errorPagesAt(levels, files) };
}
