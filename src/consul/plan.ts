// What a register/deregister run must do, computed from what ngx2envoy wants
// registered and what Consul has: plain data in, plain data out. An instance is
// ours when its meta says managed_by=ngx2envoy and names the same config; only
// ours are ever removed.
import { externalNodeName } from '../emit/consul/names.js';
import { MANAGED_BY, META, type ConsulInstance } from '../emit/consul/registrations.js';

export type ConsulMode = 'agent' | 'catalog';
/** `foreign`: the id is held by an instance another config (or something else) registered; left alone. */
export type ChangeAction = 'register' | 'update' | 'deregister' | 'unchanged' | 'foreign';

/** An instance as Consul reports it (agent services or catalog service nodes). */
export interface ExistingInstance {
  /** The catalog node (catalog mode); null for the agent's own services. */
  node: string | null;
  id: string;
  service: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  weights: { Passing: number; Warning: number } | null;
}

export interface Change {
  action: ChangeAction;
  id: string;
  service: string;
  node: string | null;
  /** What will be registered (register, update, unchanged). */
  instance: ConsulInstance | null;
  /** Why an update is needed. */
  reason: string;
}

export interface ConsulPlan {
  mode: ConsulMode;
  configId: string;
  changes: Change[];
  /** Catalog mode: external nodes of ours left with no service, removed after the instances. */
  nodeRemovals: string[];
}

export function isOurs(meta: Record<string, string> | null | undefined, configId: string): boolean {
  return !!meta && meta[META.managedBy] === MANAGED_BY && meta[META.config] === configId;
}

export function desiredNode(mode: ConsulMode, instance: ConsulInstance): string | null {
  return mode === 'catalog' ? externalNodeName(instance.address) : null;
}

function instanceKey(node: string | null, id: string): string {
  return `${node ?? ''}\u0000${id}`;
}

/** register: converge Consul to `desired`; deregister: pass desired = [] to remove every instance of the config. */
export function planChanges(
  mode: ConsulMode,
  configId: string,
  desired: ConsulInstance[],
  existing: ExistingInstance[],
): ConsulPlan {
  const existingByKey = new Map(existing.map((e) => [instanceKey(e.node, e.id), e]));
  const desiredKeys = new Set<string>();
  const changes: Change[] = [];
  for (const instance of desired) {
    const node = desiredNode(mode, instance);
    const k = instanceKey(node, instance.id);
    desiredKeys.add(k);
    const current = existingByKey.get(k);
    if (current && !isOurs(current.meta, configId)) {
      const owner = current.meta?.[META.config] ? `config ${current.meta[META.config]}` : 'something other than ngx2envoy';
      changes.push({ action: 'foreign', id: instance.id, service: instance.service, node, instance, reason: `registered by ${owner}` });
      continue;
    }
    const reason = current ? differences(instance, current) : '';
    const action: ChangeAction = !current ? 'register' : reason ? 'update' : 'unchanged';
    changes.push({ action, id: instance.id, service: instance.service, node, instance, reason });
  }
  for (const e of existing) {
    if (desiredKeys.has(instanceKey(e.node, e.id)) || !isOurs(e.meta, configId)) continue;
    changes.push({ action: 'deregister', id: e.id, service: e.service, node: e.node, instance: null, reason: '' });
  }
  changes.sort((a, b) => compare(a.service, b.service) || compare(a.id, b.id) || compare(a.node ?? '', b.node ?? ''));
  return { mode, configId, changes, nodeRemovals: [] };
}

/** The fields that differ, or '' when the registered instance is what we would register. */
export function differences(instance: ConsulInstance, current: ExistingInstance): string {
  const diffs: string[] = [];
  if (current.service !== instance.service) diffs.push('service');
  if (current.address !== instance.address) diffs.push('address');
  if (current.port !== instance.port) diffs.push('port');
  if (JSON.stringify(current.tags) !== JSON.stringify(instance.tags)) diffs.push('tags');
  if (!sameMap(current.meta, instance.meta)) diffs.push('meta');
  if (current.weights && (current.weights.Passing !== instance.weight || current.weights.Warning !== 1)) diffs.push('weights');
  return diffs.join(', ');
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {}).sort();
  const bk = Object.keys(b).sort();
  return ak.length === bk.length && ak.every((k, i) => k === bk[i] && a[k] === b[k]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function planSummary(plan: ConsulPlan): Record<ChangeAction, number> {
  const counts: Record<ChangeAction, number> = { register: 0, update: 0, deregister: 0, unchanged: 0, foreign: 0 };
  for (const c of plan.changes) counts[c.action] += 1;
  return counts;
}

/** One line per instance, for --dry-run and the normal output. */
export function formatPlan(plan: ConsulPlan): string[] {
  const lines = plan.changes.map((c) => {
    const where = c.instance ? ` ${c.instance.address}:${c.instance.port} weight=${c.instance.weight}` : '';
    const node = c.node ? ` node=${c.node}` : '';
    const why = c.reason ? ` (${c.reason})` : '';
    return `${c.action.padEnd(10)} ${c.service} ${c.id}${node}${where}${why}`;
  });
  for (const node of plan.nodeRemovals) lines.push(`${'deregister'.padEnd(10)} node ${node}`);
  return lines;
}
