// Reads what Consul has, plans, and applies: the body of `consul register` and
// `consul deregister`. Reads and deregistrations go through the npm client;
// registrations are a plain PUT because the client drops Weights.
import type Consul from 'consul';
import { agentCheckId, agentRegisterPayload, catalogRegisterPayload } from '../emit/consul/formats.js';
import { allInstances, MANAGED_BY, MANAGED_TAG, META, type ConsulRegistrations } from '../emit/consul/registrations.js';
import { consulClient, type ConsulConnection } from './connection.js';
import { toConsulError } from './errors.js';
import { consulPut } from './http.js';
import { planChanges, type Change, type ConsulMode, type ConsulPlan, type ExistingInstance } from './plan.js';

export interface SyncOptions {
  conn: ConsulConnection;
  mode: ConsulMode;
  dryRun: boolean;
}

export interface SyncResult {
  plan: ConsulPlan;
  applied: boolean;
}

/** Converges Consul to the registrations: registers/updates them, removes this config's leftovers. */
export async function syncRegistrations(registrations: ConsulRegistrations, options: SyncOptions): Promise<SyncResult> {
  return run(registrations.configId, allInstances(registrations), options);
}

/** Removes every instance registered for this config. */
export async function removeRegistrations(configId: string, options: SyncOptions): Promise<SyncResult> {
  return run(configId, [], options);
}

async function run(configId: string, desired: ReturnType<typeof allInstances>, options: SyncOptions): Promise<SyncResult> {
  const client = consulClient(options.conn);
  try {
    const existing = await readExisting(client, options);
    const plan = planChanges(options.mode, configId, desired, existing);
    if (options.mode === 'catalog') plan.nodeRemovals = await emptiedNodes(client, plan);
    if (!options.dryRun) await apply(client, plan, options);
    return { plan, applied: !options.dryRun };
  } finally {
    client.destroy();
  }
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConsulError(err, operation);
  }
}

// ---------------------------------------------------------------- reading

async function readExisting(client: Consul, options: SyncOptions): Promise<ExistingInstance[]> {
  return options.mode === 'agent' ? readAgentServices(client) : readCatalogServices(client);
}

interface AgentServiceView {
  ID: string;
  Service: string;
  Address?: string;
  Port?: number;
  Tags?: string[] | null;
  Meta?: Record<string, string> | null;
  Weights?: { Passing: number; Warning: number } | null;
}

async function readAgentServices(client: Consul): Promise<ExistingInstance[]> {
  const services = (await call('GET /v1/agent/services', () => client.agent.service.list())) as unknown as Record<
    string,
    AgentServiceView
  >;
  return Object.values(services ?? {}).map((s) => ({
    node: null,
    id: s.ID,
    service: s.Service,
    address: s.Address ?? '',
    port: s.Port ?? 0,
    tags: s.Tags ?? [],
    meta: s.Meta ?? {},
    weights: s.Weights ?? null,
  }));
}

interface CatalogServiceView {
  Node: string;
  ServiceID: string;
  ServiceName: string;
  ServiceAddress?: string;
  ServicePort?: number;
  ServiceTags?: string[] | null;
  ServiceMeta?: Record<string, string> | null;
  ServiceWeights?: { Passing: number; Warning: number } | null;
}

async function readCatalogServices(client: Consul): Promise<ExistingInstance[]> {
  const names = (await call('GET /v1/catalog/services', () => client.catalog.service.list())) as unknown as Record<
    string,
    string[] | null
  >;
  const ours = Object.entries(names ?? {})
    .filter(([, tags]) => (tags ?? []).includes(MANAGED_TAG))
    .map(([name]) => name)
    .sort();
  const out: ExistingInstance[] = [];
  for (const name of ours) {
    const entries = (await call(`GET /v1/catalog/service/${name}`, () =>
      client.catalog.service.nodes({ service: name }),
    )) as unknown as CatalogServiceView[];
    for (const e of entries ?? []) {
      out.push({
        node: e.Node,
        id: e.ServiceID,
        service: e.ServiceName,
        address: e.ServiceAddress ?? '',
        port: e.ServicePort ?? 0,
        tags: e.ServiceTags ?? [],
        meta: e.ServiceMeta ?? {},
        weights: e.ServiceWeights ?? null,
      });
    }
  }
  return out;
}

interface NodeServicesView {
  Node?: { Meta?: Record<string, string> | null } | null;
  Services?: Record<string, unknown> | null;
}

/** Our external nodes whose every service this run deregisters, and that no wanted instance uses. */
async function emptiedNodes(client: Consul, plan: ConsulPlan): Promise<string[]> {
  const kept = new Set(plan.changes.filter((c) => c.action !== 'deregister').map((c) => c.node));
  const leaving = new Map<string, Set<string>>();
  for (const c of plan.changes) {
    if (c.action !== 'deregister' || !c.node || kept.has(c.node)) continue;
    if (!leaving.has(c.node)) leaving.set(c.node, new Set());
    leaving.get(c.node)!.add(c.id);
  }
  const removals: string[] = [];
  for (const [node, ids] of [...leaving].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const view = (await call(`GET /v1/catalog/node/${node}`, () =>
      client.catalog.node.services({ node }),
    )) as unknown as NodeServicesView | null;
    const meta = view?.Node?.Meta ?? {};
    const remaining = Object.keys(view?.Services ?? {}).filter((id) => !ids.has(id));
    if (meta[META.managedBy] === MANAGED_BY && remaining.length === 0) removals.push(node);
  }
  return removals;
}

// ---------------------------------------------------------------- writing

async function apply(client: Consul, plan: ConsulPlan, options: SyncOptions): Promise<void> {
  const writes = plan.changes.filter((c) => c.action === 'register' || c.action === 'update');
  for (const change of writes) await register(client, change, options);
  for (const change of plan.changes.filter((c) => c.action === 'deregister')) await deregister(client, change, options);
  for (const node of plan.nodeRemovals) {
    await call('PUT /v1/catalog/deregister', () => client.catalog.deregister({ node }));
  }
}

async function register(client: Consul, change: Change, options: SyncOptions): Promise<void> {
  const instance = change.instance!;
  if (options.mode === 'agent') {
    await consulPut(options.conn, '/agent/service/register?replace-existing-checks=true', agentRegisterPayload(instance));
    return;
  }
  await consulPut(options.conn, '/catalog/register', catalogRegisterPayload(instance));
  // The catalog keeps checks it is not told about: an instance that lost its check must lose it there too.
  if (change.action === 'update' && instance.check === null) {
    await call('PUT /v1/catalog/deregister', () =>
      client.catalog.deregister({ node: change.node!, checkid: agentCheckId(instance.id) }),
    );
  }
}

async function deregister(client: Consul, change: Change, options: SyncOptions): Promise<void> {
  if (options.mode === 'agent') {
    await call(`PUT /v1/agent/service/deregister/${change.id}`, () => client.agent.service.deregister({ id: change.id }));
    return;
  }
  await call('PUT /v1/catalog/deregister', () =>
    client.catalog.deregister({ node: change.node!, serviceid: change.id }),
  );
}
