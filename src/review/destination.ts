// Where a request ends up, in a form two configurations can be compared by.
import type { EnvoyDecision } from '../sim/envoy/index.js';

/** Part of the `diff --json` schema: keep stable. */
export interface Destination {
  kind: string; // 'route' | 'redirect' | 'direct_response' | 'no_route' | 'no_virtual_host' | 'no_listener' | 'rejected' | …
  /** Route name (the nginx location id) when one matched. */
  route: string | null;
  cluster: string | null;
  /** Path sent upstream (after prefix/regex rewrite). */
  path: string | null;
  status: number | null;
  location: string | null;
  /** Body of a direct response. */
  body: string | null;
  /** One line: `api_v1 /v2/x`, `redirect 301 https://…`, `direct_response 404`. */
  summary: string;
}

export function destinationOf(d: EnvoyDecision, requestPath: string): Destination {
  const base = {
    kind: d.kind,
    route: d.routeName ?? null,
    cluster: d.cluster ?? null,
    path: d.upstreamPath ?? null,
    status: d.status ?? null,
    location: d.redirectLocation ?? null,
    body: d.body ?? null,
  };
  return { ...base, summary: summarise(d, requestPath) };
}

function summarise(d: EnvoyDecision, requestPath: string): string {
  switch (d.kind) {
    case 'route': {
      const cluster = d.cluster ?? d.weightedClusters?.map((w) => `${w.cluster}:${w.weight}`).join('+') ?? '?';
      return d.upstreamPath && d.upstreamPath !== requestPath ? `${cluster} ${d.upstreamPath}` : cluster;
    }
    case 'redirect':
      return `redirect ${d.status ?? ''} ${d.redirectLocation ?? ''}`.trim();
    case 'direct_response':
      return `direct_response ${d.status ?? ''}`.trim();
    default:
      return d.kind;
  }
}

/** Whether two destinations differ in anything a client or upstream would notice. */
export function sameDestination(a: Destination, b: Destination): boolean {
  return a.kind === b.kind && a.cluster === b.cluster && a.path === b.path && a.status === b.status && a.location === b.location && a.body === b.body;
}
