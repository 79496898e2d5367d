// The files of consul/agent and consul/catalog as text: exactly what
// JSON.stringify(value, null, 2) + '\n' makes of agentDefinitionFile(service) and of
// service.instances.map(catalogRegisterPayload) (formats.ts, the shapes themselves; a test
// holds the two equal). Written out here because the generic serializer with an indent is
// the slowest part of rendering consul/ (6,000 instances, 22 MB on the benchmark): this
// builds no payload objects, and an instance's tags and meta are quoted and laid out once
// for both files (they sit at the same depth in each).
import { jsonString } from '../../report/json-string.js';
import { externalNodeName } from './names.js';
import { agentCheckId, INITIAL_CHECK_STATUS } from './formats.js';
import { MANAGED_BY, META, type ConsulInstance, type ConsulServicePlan, type InstanceCheck } from './registrations.js';

/** The agent file and the catalog file of one service. */
export interface ServiceFileTexts {
  agent: string;
  catalog: string;
}

export function serviceFileTexts(service: ConsulServicePlan): ServiceFileTexts {
  const agent: string[] = [];
  const catalog: string[] = [];
  for (const instance of service.instances) {
    const common = commonFields(instance);
    agent.push(agentInstanceText(instance, common));
    catalog.push(catalogInstanceText(instance, common));
  }
  return {
    agent: agent.length === 0 ? '{\n  "services": []\n}\n' : '{\n  "services": [\n' + agent.join(',\n') + '\n  ]\n}\n',
    catalog: catalog.length === 0 ? '[]\n' : '[\n' + catalog.join(',\n') + '\n]\n',
  };
}

/** What the agent and the catalog entry of an instance both write, quoted once. */
interface CommonFields {
  id: string;
  address: string;
  port: string;
  /** The tags list and the meta object, laid out for a field at depth 3 (6 spaces). */
  tags: string;
  meta: string;
  weight: string;
}

function commonFields(instance: ConsulInstance): CommonFields {
  return {
    id: jsonString(instance.id),
    address: jsonString(instance.address),
    port: jsonNumber(instance.port),
    tags: stringList(instance.tags, '      '),
    meta: stringRecord(instance.meta, '      '),
    weight: jsonNumber(instance.weight),
  };
}

/** One element of agentDefinitionFile's `services`, at depth 2. */
function agentInstanceText(instance: ConsulInstance, c: CommonFields): string {
  let text =
    '    {\n      "id": ' + c.id +
    ',\n      "name": ' + jsonString(instance.service) +
    ',\n      "address": ' + c.address +
    ',\n      "port": ' + c.port +
    ',\n      "tags": ' + c.tags +
    ',\n      "meta": ' + c.meta +
    ',\n      "weights": {\n        "passing": ' + c.weight + ',\n        "warning": 1\n      }';
  if (instance.check) text += ',\n      "check": ' + agentCheckText(instance.check);
  return text + '\n    }';
}

/** agentDefinitionCheck's object, at depth 3. */
function agentCheckText(check: InstanceCheck): string {
  let text =
    '{\n        "name": ' + jsonString(check.name) +
    ',\n        ' + jsonString(check.kind) + ': ' + jsonString(check.target) +
    ',\n        "interval": ' + jsonString(`${check.intervalS}s`) +
    ',\n        "timeout": ' + jsonString(`${check.timeoutS}s`);
  if (check.failuresBeforeCritical > 1) text += ',\n        "failures_before_critical": ' + jsonNumber(check.failuresBeforeCritical);
  return text + ',\n        "status": ' + STATUS + '\n      }';
}

/** catalogRegisterPayload's object, at depth 1. */
function catalogInstanceText(instance: ConsulInstance, c: CommonFields): string {
  const node = jsonString(externalNodeName(instance.address));
  let text =
    '  {\n    "Node": ' + node +
    ',\n    "Address": ' + c.address +
    ',\n    "NodeMeta": ' + NODE_META +
    ',\n    "Service": {\n      "ID": ' + c.id +
    ',\n      "Service": ' + jsonString(instance.service) +
    ',\n      "Address": ' + c.address +
    ',\n      "Port": ' + c.port +
    ',\n      "Tags": ' + c.tags +
    ',\n      "Meta": ' + c.meta +
    ',\n      "Weights": {\n        "Passing": ' + c.weight + ',\n        "Warning": 1\n      }\n    }';
  if (instance.check) text += ',\n    "Checks": [\n      ' + catalogCheckText(node, c.id, instance.id, instance.check) + '\n    ]';
  return text + '\n  }';
}

/** catalogCheck's object, at depth 3. */
function catalogCheckText(node: string, quotedId: string, id: string, check: InstanceCheck): string {
  return (
    '{\n        "Node": ' + node +
    ',\n        "CheckID": ' + jsonString(agentCheckId(id)) +
    ',\n        "Name": ' + jsonString(check.name) +
    ',\n        "ServiceID": ' + quotedId +
    ',\n        "Status": ' + STATUS +
    ',\n        "Definition": {\n          ' + jsonString(check.kind.toUpperCase()) + ': ' + jsonString(check.target) +
    ',\n          "IntervalDuration": ' + jsonString(`${check.intervalS}s`) +
    ',\n          "TimeoutDuration": ' + jsonString(`${check.timeoutS}s`) +
    '\n        }\n      }'
  );
}

const STATUS = jsonString(INITIAL_CHECK_STATUS);

/** catalogRegisterPayload's NodeMeta (the same for every instance), at depth 2. */
const NODE_META = stringRecord({ 'external-node': 'true', 'external-probe': 'true', [META.managedBy]: MANAGED_BY }, '    ');

/** A list of strings as JSON.stringify lays it out with an indent of 2, `indent` being its line's. */
function stringList(values: string[], indent: string): string {
  if (values.length === 0) return '[]';
  let text = '[';
  for (let i = 0; i < values.length; i++) text += (i === 0 ? '\n  ' : ',\n  ') + indent + jsonString(values[i]!);
  return text + '\n' + indent + ']';
}

/** An object of string values, likewise (keys in their own order, as JSON.stringify takes them). */
function stringRecord(record: Record<string, string>, indent: string): string {
  const keys = Object.keys(record);
  if (keys.length === 0) return '{}';
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    text += (i === 0 ? '\n  ' : ',\n  ') + indent + jsonString(key) + ': ' + jsonString(record[key]!);
  }
  return text + '\n' + indent + '}';
}

/** A number as JSON writes it (null when not finite). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
