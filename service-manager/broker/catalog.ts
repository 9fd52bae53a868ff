import { ConfigError, InvalidInput } from '../../lib/errors.js';
import { isObject } from '../../lib/objects.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { DEFAULT_MAX_LENGTH, resolveStaticDefault, type AttributeDef, type ServiceType } from '../service-type/manifest.js';

/** A plan: a name for a set of attribute values a platform's users pick from. */
export interface Plan {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** What the service offers a broker platform, from the manifest's `broker` section. */
export interface BrokerCatalog {
  readonly serviceId: string;
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** Parameter name → the attribute it sets. */
  readonly parameters: ReadonlyMap<string, string>;
  readonly plans: readonly Plan[];
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Reads the manifest's `broker` section against the service's attributes; undefined when there is none. */
export function parseBrokerCatalog(type: ServiceType): BrokerCatalog | undefined {
  const raw = type.broker;
  if (raw === undefined) return undefined;
  const fail = (why: string): never => {
    throw new ConfigError(`service manifest: broker: ${why}`);
  };
  if (!isObject(raw)) return fail('must be an object');
  const serviceId = text(raw, 'service_id', fail);
  if (!ID.test(serviceId)) fail('service_id must be 1-64 of A-Z a-z 0-9 . _ - (a GUID is best)');
  const name = text(raw, 'name', fail);
  if (!NAME.test(name)) fail('name must be lower case letters, digits, "-" or "_"');
  const tags = raw['tags'] ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) fail('tags must be a list of strings');
  const parameters = new Map<string, string>();
  const rawParameters = raw['parameters'];
  if (!isObject(rawParameters)) return fail('parameters must map parameter names to attributes');
  for (const [parameter, attribute] of Object.entries(rawParameters)) {
    const def = typeof attribute === 'string' ? type.attributes.get(attribute) : undefined;
    if (!def || def.output) fail(`parameters.${parameter} must name an attribute a client may set`);
    parameters.set(parameter, attribute as string);
  }
  const rawPlans = raw['plans'];
  if (!Array.isArray(rawPlans) || rawPlans.length === 0) return fail('plans must be a list of at least one plan');
  const plans = rawPlans.map((plan, i) => parsePlan(plan, type, (why) => fail(`plans[${i}]: ${why}`)));
  for (const key of ['id', 'name'] as const) {
    if (new Set(plans.map((p) => p[key])).size !== plans.length) fail(`plans must have distinct ${key}s`);
  }
  return { serviceId, name, description: text(raw, 'description', fail), tags: tags as string[], parameters, plans };
}

function parsePlan(raw: unknown, type: ServiceType, fail: (why: string) => never): Plan {
  if (!isObject(raw)) return fail('must be an object');
  const id = text(raw, 'id', fail);
  if (!ID.test(id)) fail('id must be 1-64 of A-Z a-z 0-9 . _ -');
  const name = text(raw, 'name', fail);
  if (!NAME.test(name)) fail('name must be lower case letters, digits, "-" or "_"');
  const attributes = raw['attributes'] ?? {};
  if (!isObject(attributes)) return fail('attributes must be an object');
  for (const [attribute, value] of Object.entries(attributes)) {
    const def = type.attributes.get(attribute);
    if (!def || def.output) fail(`attributes: ${attribute} is not an attribute a client may set`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') fail(`attributes: ${attribute} must be a plain value`);
  }
  return { id, name, description: text(raw, 'description', fail), attributes: attributes as Record<string, AttributeValue> };
}

function text(raw: Record<string, unknown>, key: string, fail: (why: string) => never): string {
  const value = raw[key];
  return typeof value === 'string' && value !== '' ? value : fail(`${key} must be a non-empty string`);
}

/** The JSON Schema (draft-04) of one parameter, from its attribute's properties. */
function parameterSchema(def: AttributeDef, configValue: ServiceType['configValue'], plan: Plan): Record<string, unknown> {
  const schema: Record<string, unknown> = { type: def.type, description: `${def.name}: ${def.description ?? ''}`.trim() };
  if (def.enum) schema['enum'] = def.enum;
  if (typeof def.minimum === 'number') schema['minimum'] = def.minimum;
  if (typeof def.maximum === 'number') schema['maximum'] = def.maximum;
  if (def.type === 'string') schema['maxLength'] = def.maxLength ?? DEFAULT_MAX_LENGTH;
  if (def.pattern) schema['pattern'] = def.pattern.source;
  const fallback = plan.attributes[def.name] ?? resolveStaticDefault(def, configValue);
  if (fallback !== undefined) schema['default'] = fallback;
  return schema;
}

function parametersSchema(catalog: BrokerCatalog, type: ServiceType, plan: Plan, updatable: boolean): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [parameter, attribute] of catalog.parameters) {
    const def = type.attributes.get(attribute)!;
    if (updatable && !def.updatable) continue;
    properties[parameter] = parameterSchema(def, type.configValue, plan);
  }
  return { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', properties, additionalProperties: false };
}

/** `GET /v2/catalog`. */
export function catalogDocument(catalog: BrokerCatalog, type: ServiceType): Record<string, unknown> {
  return {
    services: [
      {
        id: catalog.serviceId,
        name: catalog.name,
        description: catalog.description,
        tags: catalog.tags,
        bindable: true,
        instances_retrievable: true,
        bindings_retrievable: true,
        allow_context_updates: false,
        plan_updateable: true,
        metadata: { displayName: type.kind.title ?? catalog.name },
        plans: catalog.plans.map((plan) => ({
          id: plan.id,
          name: plan.name,
          description: plan.description,
          free: true,
          bindable: true,
          plan_updateable: true,
          schemas: {
            service_instance: {
              create: { parameters: parametersSchema(catalog, type, plan, false) },
              update: { parameters: parametersSchema(catalog, type, plan, true) },
            },
            service_binding: { create: { parameters: { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', additionalProperties: false } } },
          },
        })),
      },
    ],
  };
}

/** The attributes a plan and a platform's parameters ask for; parameters win over the plan. */
export function requestedAttributes(catalog: BrokerCatalog, plan: Plan, parameters: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const attributes: Record<string, unknown> = { ...plan.attributes };
  for (const [name, value] of Object.entries(parameters)) {
    const attribute = catalog.parameters.get(name);
    if (attribute === undefined) throw new InvalidInput(`Unknown parameter "${name}"; this service takes ${[...catalog.parameters.keys()].join(', ')}.`);
    attributes[attribute] = value;
  }
  return attributes;
}
