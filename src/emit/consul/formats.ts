// Consul's wire formats for one instance. Three shapes of the same data:
//  - a service definition for an agent's -config-dir (snake_case keys, `{"services": [...]}`),
//  - the agent API body of PUT /v1/agent/service/register (PascalCase),
//  - the catalog API body of PUT /v1/catalog/register, for hosts that run no agent
//    (an external node; consul-esm runs the checks of nodes with NodeMeta external-node).
import { externalNodeName } from './names.js';
import { MANAGED_BY, META, type ConsulInstance, type ConsulServicePlan, type InstanceCheck } from './registrations.js';

/** nginx considers a server up until it fails; so does the check's initial status. */
export const INITIAL_CHECK_STATUS = 'passing';

export interface AgentDefinitionFile {
  services: Record<string, unknown>[];
}

export function agentDefinitionFile(service: ConsulServicePlan): AgentDefinitionFile {
  return { services: service.instances.map(agentDefinition) };
}

// The file formats below are written by JSON.stringify, which leaves out a key whose value is
// undefined: an absent part is written as undefined in the one literal (one object shape per
// format, nothing added after creation), the same text as leaving the key out.

export function agentDefinition(instance: ConsulInstance): Record<string, unknown> {
  return {
    id: instance.id,
    name: instance.service,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    meta: instance.meta,
    weights: { passing: instance.weight, warning: 1 },
    check: instance.check ? agentDefinitionCheck(instance.check) : undefined,
  };
}

function agentDefinitionCheck(check: InstanceCheck): Record<string, unknown> {
  const failures = check.failuresBeforeCritical > 1 ? check.failuresBeforeCritical : undefined;
  // (the target's key is the kind: one literal per kind)
  return check.kind === 'tcp'
    ? { name: check.name, tcp: check.target, interval: seconds(check.intervalS), timeout: seconds(check.timeoutS), failures_before_critical: failures, status: INITIAL_CHECK_STATUS }
    : { name: check.name, http: check.target, interval: seconds(check.intervalS), timeout: seconds(check.timeoutS), failures_before_critical: failures, status: INITIAL_CHECK_STATUS };
}

export function agentRegisterPayload(instance: ConsulInstance): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    ID: instance.id,
    Name: instance.service,
    Address: instance.address,
    Port: instance.port,
    Tags: instance.tags,
    Meta: instance.meta,
    Weights: { Passing: instance.weight, Warning: 1 },
  };
  if (instance.check) payload.Check = agentApiCheck(instance.check);
  return payload;
}

function agentApiCheck(check: InstanceCheck): Record<string, unknown> {
  const out: Record<string, unknown> = { Name: check.name, [check.kind.toUpperCase()]: check.target };
  out.Interval = seconds(check.intervalS);
  out.Timeout = seconds(check.timeoutS);
  if (check.failuresBeforeCritical > 1) out.FailuresBeforeCritical = check.failuresBeforeCritical;
  out.Status = INITIAL_CHECK_STATUS;
  return out;
}

/** The check id the agent gives the single check of a service registration. */
export function agentCheckId(instanceId: string): string {
  return `service:${instanceId}`;
}

export function catalogRegisterPayload(instance: ConsulInstance): Record<string, unknown> {
  const node = externalNodeName(instance.address);
  return {
    Node: node,
    Address: instance.address,
    NodeMeta: { 'external-node': 'true', 'external-probe': 'true', managed_by: MANAGED_BY } satisfies Record<string, string> & Record<typeof META.managedBy, string>,
    Service: {
      ID: instance.id,
      Service: instance.service,
      Address: instance.address,
      Port: instance.port,
      Tags: instance.tags,
      Meta: instance.meta,
      Weights: { Passing: instance.weight, Warning: 1 },
    },
    Checks: instance.check ? [catalogCheck(node, instance.id, instance.check)] : undefined,
  };
}

function catalogCheck(node: string, serviceId: string, check: InstanceCheck): Record<string, unknown> {
  return {
    Node: node,
    CheckID: agentCheckId(serviceId),
    Name: check.name,
    ServiceID: serviceId,
    Status: INITIAL_CHECK_STATUS,
    Definition:
      check.kind === 'tcp'
        ? { TCP: check.target, IntervalDuration: seconds(check.intervalS), TimeoutDuration: seconds(check.timeoutS) }
        : { HTTP: check.target, IntervalDuration: seconds(check.intervalS), TimeoutDuration: seconds(check.timeoutS) },
  };
}

function seconds(s: number): string {
  return `${s}s`;
}
