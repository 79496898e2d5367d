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
  if (service.instances.length === 0) return { agent: '{\n  "services": []\n}\n', catalog: '[]\n' };
  // Each file's pieces in one list, joined once: one copy into the file's text (concatenated
  // pieces would be trees of strings, flattened by a second walk).
  const agent: string[] = ['{\n  "services": [\n'];
  const catalog: string[] = ['[\n'];
  for (const instance of service.instances) {
    if (agent.length > 1) {
      agent.push(',\n');
      catalog.push(',\n');
    }
    const common = commonFields(instance);
    agentInstanceText(agent, instance, common);
    catalogInstanceText(catalog, instance, common);
  }
  agent.push('\n  ]\n}\n');
  catalog.push('\n]\n');
  return { agent: agent.join(''), catalog: catalog.join('') };
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
function agentInstanceText(out: string[], instance: ConsulInstance, c: CommonFields): void {
  out.push(
    '    {\n      "id": ', c.id,
    ',\n      "name": ', jsonString(instance.service),
    ',\n      "address": ', c.address,
    ',\n      "port": ', c.port,
    ',\n      "tags": ', c.tags,
    ',\n      "meta": ', c.meta,
    ',\n      "weights": {\n        "passing": ', c.weight, ',\n        "warning": 1\n      }',
  );
  if (instance.check) agentCheckText(out, instance.check);
  out.push('\n    }');
}

/** agentDefinitionCheck's object, at depth 3. */
function agentCheckText(out: string[], check: InstanceCheck): void {
  out.push(
    ',\n      "check": {\n        "name": ', jsonString(check.name),
    ',\n        ', jsonString(check.kind), ': ', jsonString(check.target),
    ',\n        "interval": ', jsonString(`${check.intervalS}s`),
    ',\n        "timeout": ', jsonString(`${check.timeoutS}s`),
  );
  if (check.failuresBeforeCritical > 1) out.push(',\n        "failures_before_critical": ', jsonNumber(check.failuresBeforeCritical));
  out.push(',\n        "status": ', STATUS, '\n      }');
}

/** catalogRegisterPayload's object, at depth 1. */
function catalogInstanceText(out: string[], instance: ConsulInstance, c: CommonFields): void {
  const node = jsonString(externalNodeName(instance.address));
  out.push(
    '  {\n    "Node": ', node,
    ',\n    "Address": ', c.address,
    ',\n    "NodeMeta": ', NODE_META,
    ',\n    "Service": {\n      "ID": ', c.id,
    ',\n      "Service": ', jsonString(instance.service),
    ',\n      "Address": ', c.address,
    ',\n      "Port": ', c.port,
    ',\n      "Tags": ', c.tags,
    ',\n      "Meta": ', c.meta,
    ',\n      "Weights": {\n        "Passing": ', c.weight, ',\n        "Warning": 1\n      }\n    }',
  );
  if (instance.check) catalogCheckText(out, node, c.id, instance.id, instance.check);
  out.push('\n  }');
}

/** catalogCheck's object in the list `Checks`, at depth 3. */
function catalogCheckText(out: string[], node: string, quotedId: string, id: string, check: InstanceCheck): void {
  out.push(
    ',\n    "Checks": [\n      {\n        "Node": ', node,
    ',\n        "CheckID": ', jsonString(agentCheckId(id)),
    ',\n        "Name": ', jsonString(check.name),
    ',\n        "ServiceID": ', quotedId,
    ',\n        "Status": ', STATUS,
    ',\n        "Definition": {\n          ', jsonString(check.kind.toUpperCase()), ': ', jsonString(check.target),
    ',\n          "IntervalDuration": ', jsonString(`${check.intervalS}s`),
    ',\n          "TimeoutDuration": ', jsonString(`${check.timeoutS}s`),
    '\n        }\n      }\n    ]',
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
