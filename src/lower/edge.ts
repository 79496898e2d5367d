// The edge settings of a server and of its locations (issue 7): compression,
// access logs, client IPs, client limits, error pages, request ids. Called by
// the lowering walk (index.ts) once per server and once per location; each
// call also reports the directives of the levels it reads.
import type { Directive } from '../parse/ast.js';
import type { Policy, ServerEdge } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { accessLogsAt, logFormats, markAccessLogs } from './access-log.js';
import { CLIENT_LIMIT_DIRECTIVES, clientLimitsAt, markClientLimits } from './client-limits.js';
import { compressionAt, markCompression } from './compression.js';
import { errorPagesAt, markErrorPages, staticFileResolver } from './error-page.js';
import { markRealIp, realIpAt } from './real-ip.js';
import { markTracing, tracingAt, usesRequestId } from './tracing.js';
import { markGrpc } from './grpc.js';
import { markHttp2 } from './http2.js';
import { markUnderscores, underscoreHeadersAt } from './underscores.js';

/** Server-level edge settings; reports the http- and server-level directives. `levels` = [http, server]. */
export function serverEdge(levels: Directive[][], r: Reporter): ServerEdge {
  const formats = logFormats(levels[0] ?? []);
  const realIp = realIpAt(levels);
  const files = staticFileResolver(levels[0] ?? [], levels[1] ?? []);
  for (const ds of levels) {
    const todo = unmarked(ds, r);
    markCompression(todo, r);
    markAccessLogs(todo, r, formats);
    markRealIp(todo, r, realIp);
    markClientLimits(todo, r);
    markErrorPages(todo, r, files);
    markTracing(todo, r);
    markGrpc(todo, r);
    markHttp2(todo, r);
    markUnderscores(todo, r);
  }
  const logs = accessLogsAt(levels, formats);
  return {
    compression: compressionAt(levels),
    accessLogs: logs ?? [],
    ...(logs === null ? { accessLogDefault: true } : {}),
    realIp,
    limits: clientLimitsAt(levels),
    errorPages: errorPagesAt(levels, files),
    tracing: tracingAt(levels),
    usesRequestId: levels.some((ds) => usesRequestId(ds)),
    underscoreHeaders: underscoreHeadersAt(levels),
  };
}

// Marks are never removed, so each level's unmarked list only shrinks: refiltering
// the last one keeps the http level (asked once per server) from being rescanned whole.
// `server` blocks are left out: lowerServer reports them and no edge mark handles one
// (kept in, the servers not lowered yet made the http level's list quadratic).
const pendingByReporter = new WeakMap<Reporter, WeakMap<Directive[], Directive[]>>();

function unmarked(ds: Directive[], r: Reporter): Directive[] {
  let pending = pendingByReporter.get(r);
  if (!pending) pendingByReporter.set(r, (pending = new WeakMap()));
  const todo = (pending.get(ds) ?? ds).filter((d) => d.name !== 'server' && !r.isMarked(d));
  pending.set(ds, todo);
  return todo;
}

/** Report the http-level edge directives (also when the http block has no server, e.g. servers in missing includes). */
export function markHttpEdge(http: Directive[], r: Reporter): void {
  serverEdge([http], r);
}

/** Location-level edge settings (Policy fields); reports the location's own directives. */
export function locationEdge(levels: Directive[][], r: Reporter): Pick<Policy, 'compression' | 'accessLogs' | 'errorPages'> {
  const ds = levels[levels.length - 1] ?? [];
  const formats = logFormats(levels[0] ?? []);
  const files = staticFileResolver(levels[0] ?? [], levels[1] ?? []);
  markCompression(ds, r);
  markAccessLogs(ds, r, formats);
  markRealIp(ds, r, realIpAt(levels));
  markErrorPages(ds, r, files);
  markTracing(ds, r);
  markGrpc(ds, r);
  markHttp2(ds, r);
  for (const d of ds) {
    if (CLIENT_LIMIT_DIRECTIVES.includes(d.name)) r.mark(d, 'approximated', 'set in a location: Envoy has one value per listener (the default server\'s), not per route');
    if (d.name === 'otel_trace') r.mark(d, 'approximated', 'set in a location: Envoy traces by the server\'s setting');
  }
  const logs = accessLogsAt(levels, formats);
  return { compression: compressionAt(levels), ...(logs ? { accessLogs: logs } : {}), errorPages: errorPagesAt(levels, files) };
}
