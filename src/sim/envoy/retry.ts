// What Envoy's router does when the endpoints of the chosen cluster fail: the tries a
// request may make under the route's retry policy, and what the client gets.
// Docs: route_components.proto RetryPolicy (retry_on, num_retries — "defaults to 1" when
// a policy is set —, retry_host_predicate, host_selection_retry_max_attempts,
// retriable_status_codes, retry_priority); the router filter's x-envoy-retry-on values
// (connect-failure; 5xx and gateway-error include connect failures and resets; reset;
// reset-before-request; retriable-status-codes; retriable-4xx: 409); the previous_hosts
// predicate ("reject any host that has already been attempted"); previous_priorities
// ("the first update_frequency attempts use the unmodified priority load", then the
// attempted priorities are excluded, until none is left and the list is reset).
// A connection failure the router gives up on is a local 503 (flag UF; URX too when a retry
// policy ran out of retries); a cluster without endpoints a 503 (UH). An endpoint that
// accepts the connection and never answers ends the stream when the route's idle timeout
// (or the connection manager's stream_idle_timeout) fires: 504 with flag SI once the request
// was received (Http::Utility::maybeRequestTimeoutCode), or the route's `timeout` first:
// 504 UT; neither is retried here (the policies emitted have no per-try timeouts).
// The status and body the client gets are the local reply's (local-reply.ts, index.ts).

import { durationValue, numValue, typeOf, type LoadedConfig, type Obj } from './config.js';
import type { LocalReply } from './local-reply.js';

/** What the endpoints do, for the request at hand. */
export interface UpstreamConditions {
  /** Endpoints that refuse connections: `address:port` (`[v6]:port`), or a pipe's path. */
  refused?: string[];
  /** Endpoints answering with this status (the others answer 200). */
  statuses?: Record<string, number>;
  /** Endpoints that accept the connection and never answer. */
  timeout?: string[];
}

/** One way the request may end: an endpoint's answer, or a reply of the proxy itself. */
export type UpstreamOutcome =
  | { kind: 'served'; endpoint: string; status: number }
  /** `flags`: Envoy's response flags; `reply`: what the client gets once local_reply_config is applied (status is its status) */
  | { kind: 'failed'; status: number; flags?: string[]; reply?: LocalReply };

export interface UpstreamResult {
  /** Every outcome the request may have (the balancer's picks decide which), deduplicated and sorted. */
  outcomes: UpstreamOutcome[];
  /** The most tries one request may make. */
  maxTries: number;
}

interface Policy {
  retries: number;
  on: Set<string>;
  codes: Set<number>;
  previousHosts: boolean;
  selections: number;
  /** previous_priorities update_frequency (0: no retry priority plugin). */
  updateFrequency: number;
}

/** The policy in effect: the route's, else its virtual host's (a route's replaces the virtual host's entirely). */
function policyOf(route: Obj, vh: Obj): Policy | null {
  const p: Obj | undefined = route.route?.retry_policy ?? vh.retry_policy;
  if (!p) return null;
  const predicates: Obj[] = p.retry_host_predicate ?? [];
  const prio: Obj | undefined = p.retry_priority;
  const prioOn = prio && (prio.name === 'envoy.retry_priorities.previous_priorities' || typeOf(prio).endsWith('.PreviousPrioritiesConfig'));
  return {
    retries: numValue(p.num_retries) ?? 1,
    on: new Set(String(p.retry_on ?? '').split(',').map((s) => s.trim()).filter(Boolean)),
    codes: new Set(((p.retriable_status_codes ?? []) as unknown[]).map((c) => Number(c))),
    previousHosts: predicates.some((h) => h.name === 'envoy.retry_host_predicates.previous_hosts' || typeOf(h).endsWith('.PreviousHostsPredicate')),
    selections: numValue(p.host_selection_retry_max_attempts) ?? 0,
    updateFrequency: prioOn ? (numValue(prio!.typed_config?.update_frequency) ?? 0) : 0,
  };
}

/** A connection failure is retried under connect-failure, and under 5xx, gateway-error, reset and reset-before-request (nothing was sent). */
function retriesConnectFailure(p: Policy): boolean {
  return ['connect-failure', '5xx', 'gateway-error', 'reset', 'reset-before-request'].some((c) => p.on.has(c));
}

function retriesStatus(p: Policy, status: number): boolean {
  if (p.on.has('retriable-status-codes') && p.codes.has(status)) return true;
  if (p.on.has('5xx') && status >= 500) return true;
  if (p.on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
  return p.on.has('retriable-4xx') && status === 409;
}

/** An endpoint's key: `address:port` (`[v6]:port`) or a pipe's path. */
export function endpointKey(e: Obj): string {
  const sa = e.address?.socket_address;
  if (sa) {
    const a = String(sa.address ?? '');
    return `${a.includes(':') ? `[${a}]` : a}:${numValue(sa.port_value) ?? 0}`;
  }
  return String(e.address?.pipe?.path ?? '');
}

/** The cluster's endpoints by priority (index = priority; empty priorities are empty lists). */
function hostsByPriority(cfg: LoadedConfig, cluster: Obj): string[][] {
  const cla = cluster.load_assignment ?? cfg.endpoints.get(String(cluster.eds_cluster_config?.service_name ?? cluster.name));
  const out: string[][] = [];
  for (const group of cla?.endpoints ?? []) {
    const p = numValue(group.priority) ?? 0;
    for (let i = out.length; i <= p; i++) out.push([]);
    for (const lb of group.lb_endpoints ?? []) if (lb.endpoint) out[p]!.push(endpointKey(lb.endpoint));
  }
  return out;
}

/**
 * The priority the next try goes to. Every endpoint is healthy (no health checks are
 * simulated), so the whole load is on the first priority with endpoints; previous_priorities
 * takes out, at every update_frequency-th try, the priorities tried so far.
 */
function priorityFor(byPriority: string[][], tried: string[], p: Policy | null): number {
  const present = byPriority.map((h, i) => (h.length ? i : -1)).filter((i) => i >= 0);
  let excluded = new Set<number>();
  const uf = p?.updateFrequency ?? 0;
  if (uf > 0) {
    for (let k = uf; k <= tried.length; k += uf) {
      for (const h of tried.slice(0, k)) excluded.add(byPriority.findIndex((hs) => hs.includes(h)));
      if (present.every((i) => excluded.has(i))) excluded = new Set();
    }
  }
  return present.find((i) => !excluded.has(i)) ?? present[0] ?? -1;
}

/** The endpoints the balancer may pick for the next try in a priority. */
function candidates(hosts: string[], tried: string[], p: Policy | null): string[] {
  if (!p?.previousHosts) return hosts;
  const fresh = hosts.filter((h) => !tried.includes(h));
  const again = hosts.length - fresh.length;
  // Each rejected pick is made again, up to host_selection_retry_max_attempts times: the
  // round robin meets a host not tried within as many picks as there are hosts tried.
  return fresh.length > 0 && p.selections >= again ? fresh : hosts;
}

/** Every outcome of a request to `clusterName` through `route` (in `vh`) when the endpoints behave as `cond` says. */
export function upstreamOutcomes(cfg: LoadedConfig, route: Obj, vh: Obj, clusterName: string, cond: UpstreamConditions, notes: string[], streamIdle?: string): UpstreamResult {
  const cluster = cfg.clusters.get(clusterName);
  if (!cluster) return { outcomes: [{ kind: 'failed', status: 503, flags: ['NC'] }], maxTries: 0 };
  const byPriority = hostsByPriority(cfg, cluster);
  const p = policyOf(route, vh);
  const refused = new Set(cond.refused ?? []);
  const silent = new Set(cond.timeout ?? []);
  const timedOut = timeoutFailure(route, streamIdle);
  const statuses = cond.statuses ?? {};
  const lb = String(cluster.lb_policy ?? 'ROUND_ROBIN');
  if (p?.previousHosts && lb !== 'ROUND_ROBIN') notes.push(`cluster ${clusterName} balances with ${lb}: a retry's host selection finds a host not tried with high probability, not certainty (simulated as certain)`);
  const found = new Map<string, UpstreamOutcome>();
  let maxTries = 0;
  const add = (o: UpstreamOutcome): void => {
    found.set(o.kind === 'served' ? `served ${o.endpoint} ${o.status}` : `failed ${o.status} ${(o.flags ?? []).join(',')}`, o);
  };
  const tryNext = (tried: string[]): void => {
    const prio = priorityFor(byPriority, tried, p);
    if (prio < 0) {
      notes.push(`cluster ${clusterName} has no endpoint: Envoy answers 503 (no healthy upstream)`);
      add({ kind: 'failed', status: 503, flags: ['UH'] });
      return;
    }
    for (const host of candidates(byPriority[prio]!, tried, p)) {
      const now = [...tried, host];
      maxTries = Math.max(maxTries, now.length);
      const retryLeft = p !== null && now.length <= p.retries;
      if (refused.has(host)) {
        if (retryLeft && retriesConnectFailure(p!)) tryNext(now);
        // URX: a policy that would retry ran out of retries
        else add({ kind: 'failed', status: 503, flags: p !== null && retriesConnectFailure(p) ? ['UF', 'URX'] : ['UF'] });
        continue;
      }
      if (silent.has(host)) {
        if (timedOut) add(timedOut);
        else notes.push(`${host} never answers and the route has no timeout: the request waits forever`);
        continue;
      }
      const status = statuses[host] ?? 200;
      if (retryLeft && retriesStatus(p!, status)) tryNext(now);
      else add({ kind: 'served', endpoint: host, status });
    }
  };
  tryNext([]);
  const outcomes = [...found.keys()].sort().map((k) => found.get(k)!);
  return { outcomes, maxTries };
}

/** The reply when an endpoint never answers: the route's `timeout` (UT) or the idle timeout in effect (SI), whichever is shorter; null when both are off. */
function timeoutFailure(route: Obj, streamIdle: string | undefined): UpstreamOutcome | null {
  const ms = (d: string | undefined): number => (d === undefined ? 0 : Math.round(parseFloat(d) * 1000));
  // RouteAction.timeout defaults to 15s; idle_timeout set on the route replaces the connection manager's
  const total = ms(durationValue(route.route?.timeout) ?? '15s');
  const idle = route.route?.idle_timeout !== undefined ? ms(durationValue(route.route.idle_timeout)) : ms(streamIdle ?? '300s');
  if (total === 0 && idle === 0) return null;
  if (idle === 0 || (total > 0 && total <= idle)) return { kind: 'failed', status: 504, flags: ['UT'] };
  return { kind: 'failed', status: 504, flags: ['SI'] };
}
