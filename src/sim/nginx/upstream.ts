// What nginx does when the servers of a proxied request's upstream fail
// (ngx_http_upstream_next, ngx_http_upstream_test_next, the round robin's peer choice),
// checked with nginx 1.22: the tries one request may make and what the client gets.
// - A peer per server that is not `down` (a name: one per address it resolves to,
//   unknown here: counted as one and said so). Each peer at most once per request;
//   the backups once every primary one was tried. Tries: all peers, or *_next_upstream_tries.
// - A refused connection sent nothing: nginx tries the next server when `error` is listed,
//   whatever the method; after the last try it answers 502.
// - A server that accepts the connection and never answers: after proxy_read_timeout the
//   request was sent, so it goes to the next server when `timeout` is listed and the method
//   is idempotent or `non_idempotent` is listed; after the last try nginx answers 504.
// - A response whose status is listed (http_500 … http_429) goes to the next server if
//   another try is left and the method is idempotent or `non_idempotent` is listed
//   (POST, LOCK and PATCH were sent already); otherwise it is the client's answer.
import type { CompiledConfig, NextUpstreamCondition, ProxyAction } from '../../ir/types.js';
import type { NginxReply } from './reply.js';

/** How the servers behave for this request (keys as in src/sim/envoy/retry.ts: `host:port`, `[v6]:port`, a socket path). */
export interface NginxUpstreamConditions {
  refused?: string[];
  statuses?: Record<string, number>;
  /** Servers that accept the connection and never answer (proxy_read_timeout fires). */
  timeout?: string[];
}

export type NginxUpstreamOutcome =
  | { kind: 'served'; endpoint: string; status: number }
  /** `reply`: nginx's own answer (its page, or error_page's) once src/sim/nginx/route.ts adds it */
  | { kind: 'failed'; status: number; reply?: NginxReply };

export interface NginxUpstreamResult {
  outcomes: NginxUpstreamOutcome[];
  maxTries: number;
}

const NON_IDEMPOTENT = new Set(['POST', 'LOCK', 'PATCH']);
const DEFAULT_CONDITIONS: NextUpstreamCondition[] = ['error', 'timeout'];

function keyOf(host: string, port: number, unix: boolean): string {
  if (unix) return host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Every outcome of the proxied request `action` makes with `method`, the servers behaving as `cond` says. */
export function nginxUpstreamOutcomes(ir: CompiledConfig, action: ProxyAction, method: string, cond: NginxUpstreamConditions, uncertain: string[]): NginxUpstreamResult {
  const backend = ir.backends.find((b) => b.name === action.backend);
  const servers = (backend?.servers ?? []).filter((s) => !s.down);
  if (servers.some((s) => !s.unix && !/^[\d.]+$/.test(s.host) && !s.host.includes(':'))) uncertain.push(`${action.backend} names a host: nginx has a peer per address it resolves to, counted here as one`);
  const primary = servers.filter((s) => !s.backup).map((s) => keyOf(s.host, s.port, s.unix));
  const backup = servers.filter((s) => s.backup).map((s) => keyOf(s.host, s.port, s.unix));
  const retry = action.retry ?? { conditions: DEFAULT_CONDITIONS, tries: 0, timeoutMs: 0 };
  const has = (c: string): boolean => (retry.conditions as string[]).includes(c);
  const total = primary.length + backup.length;
  const tries = retry.tries === 0 ? total : Math.min(retry.tries, total);
  const anyMethod = !NON_IDEMPOTENT.has(method.toUpperCase()) || has('non_idempotent');
  const refused = new Set(cond.refused ?? []);
  const silent = new Set(cond.timeout ?? []);
  const statuses = cond.statuses ?? {};
  const found = new Map<string, NginxUpstreamOutcome>();
  let maxTries = 0;
  const add = (o: NginxUpstreamOutcome): void => {
    found.set(o.kind === 'served' ? `served ${o.endpoint} ${o.status}` : `failed ${o.status}`, o);
  };
  const tryNext = (tried: string[]): void => {
    const fresh = primary.filter((h) => !tried.includes(h));
    const pool = fresh.length ? fresh : backup.filter((h) => !tried.includes(h));
    // No peer left ("no live upstreams"): 502.
    if (pool.length === 0) return add({ kind: 'failed', status: 502 });
    for (const host of pool) {
      const now = [...tried, host];
      maxTries = Math.max(maxTries, now.length);
      const left = tries - now.length > 0;
      if (refused.has(host)) {
        if (left && has('error')) tryNext(now);
        else add({ kind: 'failed', status: 502 });
        continue;
      }
      if (silent.has(host)) {
        if (left && anyMethod && has('timeout')) tryNext(now);
        else add({ kind: 'failed', status: 504 });
        continue;
      }
      const status = statuses[host] ?? 200;
      if (left && anyMethod && has(`http_${status}`)) tryNext(now);
      else add({ kind: 'served', endpoint: host, status });
    }
  };
  tryNext([]);
  return { outcomes: [...found.keys()].sort().map((k) => found.get(k)!), maxTries };
}
