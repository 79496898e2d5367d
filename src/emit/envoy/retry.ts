// nginx's retry on the next server (src/lower/next-upstream.ts planRetry) → the
// route's RetryPolicy (route_components.proto). Policies are frozen and shared by
// every route with the same policy (the same rules recur for backend after backend):
// hoisting, the validator and the YAML writer then meet each distinct one once.
import type { Backend, UpstreamRetry } from '../../ir/types.js';
import { DEFAULT_RETRY, planRetry, type RetryPlan } from '../../lower/next-upstream.js';
import type { Emission, Json } from './context.js';

const PREVIOUS_HOSTS = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
const PREVIOUS_PRIORITIES = 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';

// Envoy's back-off must be positive (base_interval gt 0); nginx tries the next server at once.
const NO_BACK_OFF: Json = Object.freeze({ base_interval: '0.001s', max_interval: '0.001s' });
const HOST_PREDICATES: Json = Object.freeze([Object.freeze({ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: Object.freeze({ '@type': PREVIOUS_HOSTS }) })]);

// by backend, then rule: rules are mostly a location's own object, backends far fewer
const policies = new WeakMap<Backend, Map<UpstreamRetry, { plan: RetryPlan | null; json: Json | null }>>();

/** The retry_policy of a route proxying to `backend` under `retry` (absent: nginx's default), or null: nothing to retry on. */
export function retryPolicyOf(retry: UpstreamRetry | undefined, backend: Backend, em: Emission): Json | null {
  const rule = retry ?? DEFAULT_RETRY;
  let byRule = policies.get(backend);
  if (!byRule) policies.set(backend, (byRule = new Map()));
  let p = byRule.get(rule);
  if (p === undefined) {
    const plan = planRetry(rule, backend.servers);
    byRule.set(rule, (p = { plan, json: sharedPolicy(plan) }));
  }
  const plan = p.plan;
  if (plan && plan.backups > plan.primaries && plan.numRetries > plan.primaries) {
    em.noteOnce(`retry-backups:${backend.name}`, backend.source, 'upstream', 'approximated', `${backend.name} has more backup servers (${plan.backups}) than primary ones (${plan.primaries}): after ${plan.primaries} tries of the backups Envoy's previous_priorities turns back to the primary servers, already tried, so at most ${plan.primaries} backups are tried where nginx tries each`);
  }
  return p.json;
}

// (one per distinct policy, for the process: a few dozen; policies are frozen, never changed)
const byContent = new Map<string, Json>();

/** policyJson's policy, the one object of its content. */
function sharedPolicy(plan: RetryPlan | null): Json | null {
  if (!plan) return null;
  // everything policyJson reads of the plan
  const key = `${plan.retryOn.join(',')}|${plan.statusCodes.join(',')}|${plan.numRetries}|${plan.hostSelectionAttempts}|${plan.primaries}|${plan.backups}`;
  let json = byContent.get(key);
  if (json === undefined) byContent.set(key, (json = policyJson(plan)));
  return json;
}

export function policyJson(plan: RetryPlan | null): Json | null {
  if (!plan) return null;
  const p: Json = { retry_on: plan.retryOn.join(',') };
  if (plan.statusCodes.length) p.retriable_status_codes = Object.freeze([...plan.statusCodes]);
  p.num_retries = plan.numRetries;
  // Each retry on a server not tried yet, as nginx's round robin never picks a peer twice in one request.
  p.retry_host_predicate = HOST_PREDICATES;
  p.host_selection_retry_max_attempts = plan.hostSelectionAttempts;
  // Backups (priority 1) once every primary server was tried: the priority load leaves out
  // priority 0 after as many tries as it has servers.
  if (plan.backups > 0 && plan.primaries > 0 && plan.numRetries >= plan.primaries) {
    p.retry_priority = { name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': PREVIOUS_PRIORITIES, update_frequency: plan.primaries } };
  }
  p.retry_back_off = NO_BACK_OFF;
  return Object.freeze(p);
}
