import { clusterTextForms } from '../../lib/cluster/text-forms.js';
import type { AttributeValue, Entity } from '../../lib/occi/model.js';
import { MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE } from '../model/states.js';
import type { InstanceRecord } from '../registry/registry.js';
import { effectiveInputs } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';

/** The values of an instance's secret outputs, derived when it is rendered for its owner. */
export type SecretOutputs = (record: InstanceRecord) => Readonly<Record<string, AttributeValue>>;

const NO_SECRETS: SecretOutputs = () => ({});

/** Where an instance is, below the service's collection. */
export function instancePath(type: ServiceType, id: string): string {
  return `${type.kind.location}${id}`;
}

/** The OCCI resource a client sees for an instance: id first, then the manifest's attributes in order. */
export function toEntity(type: ServiceType, record: InstanceRecord, secrets: SecretOutputs = NO_SECRETS): Entity {
  const inputs = effectiveInputs(type, record.attributes);
  const derived = secrets(record);
  const attributes: Array<readonly [string, AttributeValue]> = [['occi.core.id', record.id]];
  for (const def of type.attributes.values()) {
    const value = def.secret ? derived[def.name] : valueOf(def.name, def.output, record, inputs);
    if (value !== undefined) attributes.push([def.name, value]);
  }
  return {
    id: record.id,
    location: instancePath(type, record.id),
    kind: type.kind,
    attributes,
    actions: type.actionRules.filter((rule) => rule.applies(record.state)).map((rule) => rule.action),
    textForms: clusterTextForms(record.outputs),
  };
}

function valueOf(name: string, output: boolean, record: InstanceRecord, inputs: Readonly<Record<string, AttributeValue>>): AttributeValue | undefined {
  if (name === STATE_ATTRIBUTE) return record.state;
  if (name === MESSAGE_ATTRIBUTE) return record.stateMessage;
  return output ? record.outputs[name] : inputs[name];
}
