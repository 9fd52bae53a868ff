import type { AttributeValue } from '../../../lib/occi/model.js';
import type { AttributeDef, ServiceType } from '../../service-type/manifest.js';
import { TemplateError } from '../template.js';
import type { ResourceType } from './resource-type.js';

export const MESOS_CLUSTER = 'CloudStack::Mesos::Cluster';

/** Properties → the attributes of the service's kind they set. */
const PROPERTIES: Readonly<Record<string, string>> = {
  Masters: 'mesos.masters',
  Agents: 'mesos.agents',
  MinReady: 'mesos.agents.min_ready',
  Marathon: 'mesos.marathon',
  SmokeTest: 'mesos.readiness.smoke',
  Zone: 'cloudstack.zone',
  Template: 'cloudstack.template',
  MasterOffering: 'cloudstack.offering.master',
  AgentOffering: 'cloudstack.offering.agent',
  Autoscale: 'mesos.autoscale',
  AutoscaleMin: 'mesos.autoscale.min',
  AutoscaleMax: 'mesos.autoscale.max',
  OnFailure: 'mcn.service.on_failure',
  Title: 'occi.core.title',
};

const OUTPUTS = new Map([
  ['MasterUrl', 'mesos.master.url'],
  ['MarathonUrl', 'mesos.marathon.url'],
  ['ZooKeeper', 'mesos.zk'],
  ['AgentsActive', 'mesos.agents.active'],
]);

const isIntrinsic = (value: unknown): boolean => typeof value === 'object' && value !== null;

/** A property's value as its attribute's type, CloudFormation passing parameters as text. */
function typed(def: AttributeDef, value: unknown, where: string): AttributeValue {
  const refuse = (why: string): never => {
    throw new TemplateError(`${where}: ${why}`);
  };
  if (def.type === 'boolean') {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return refuse(`${JSON.stringify(value)} is not true or false`);
  }
  if (def.type === 'integer' || def.type === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isSafeInteger(n)))
      refuse(`${JSON.stringify(value)} is not a ${def.type === 'integer' ? 'whole number' : 'number'}`);
    if (typeof def.minimum === 'number' && n < def.minimum) refuse(`${n} is below the minimum ${def.minimum}`);
    if (typeof def.maximum === 'number' && n > def.maximum) refuse(`${n} is above the maximum ${def.maximum}`);
    if (def.enum && !def.enum.includes(n)) refuse(`${n} is not one of ${def.enum.join(', ')}`);
    return n;
  }
  if (typeof value !== 'string') return refuse(`${JSON.stringify(value)} is not text`);
  if (def.enum && !def.enum.includes(value)) refuse(`"${value}" is not one of ${def.enum.join(', ')}`);
  return value;
}

/** A Mesos cluster of this service manager's kind, with the bounds its manifest sets. */
export function mesosClusterType(type: ServiceType): ResourceType {
  const defOf = (property: string, where: string): AttributeDef => {
    const def = PROPERTIES[property] === undefined ? undefined : type.attributes.get(PROPERTIES[property]);
    if (!def) throw new TemplateError(`${where}.${property}: ${MESOS_CLUSTER} has no such property; it takes ${Object.keys(PROPERTIES).join(', ')}`);
    return def;
  };
  return {
    name: MESOS_CLUSTER,
    check(properties, where) {
      for (const [property, value] of Object.entries(properties)) {
        const def = defOf(property, where);
        if (!isIntrinsic(value)) typed(def, value, `${where}.${property}`);
      }
    },
    attributes(properties, where) {
      const attributes: Record<string, AttributeValue> = {};
      for (const [property, value] of Object.entries(properties)) {
        if (value === undefined) continue;
        const def = defOf(property, where);
        attributes[def.name] = typed(def, value, `${where}.${property}`);
      }
      return attributes;
    },
    attributeOf: (property) => PROPERTIES[property],
    updatable: (property) => {
      const name = PROPERTIES[property];
      return name !== undefined && type.attributes.get(name)?.updatable === true;
    },
    outputs: OUTPUTS,
  };
}
