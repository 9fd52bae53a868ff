import { readFileSync } from 'node:fs';
import { ConfigError } from '../../lib/errors.js';
import { RESOURCE_TYPE, type AttributeProperties, type AttributeType, type AttributeValue, type Kind } from '../../lib/occi/model.js';
import { actionRules, MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE, type ActionRule } from '../model/states.js';
import { isObject } from '../../lib/objects.js';

/** A value that is fixed, or read from sm.cfg, or taken from another attribute of the instance. */
export type ValueRef = { readonly config: string } | { readonly attribute: string };

/** An attribute of the service kind as the manifest defines it. */
export interface AttributeDef {
  readonly name: string;
  readonly type: AttributeType;
  readonly description?: string;
  readonly required: boolean;
  /** Set by the service only (hurtle's "immutable"); clients never write it. */
  readonly output: boolean;
  /** An input that may change after creation with a partial update. */
  readonly updatable: boolean;
  /**
   * An output only the instance's owner may see, never stored or recorded in
   * its history: the service manager derives it whenever it renders it.
   */
  readonly secret?: boolean;
  readonly default?: AttributeValue | ValueRef;
  readonly enum?: readonly AttributeValue[];
  readonly minimum?: number | ValueRef;
  readonly maximum?: number | ValueRef;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
}

export interface ServiceType {
  /** The kind as the query interface renders it. */
  readonly kind: Kind;
  /** Attribute definitions in manifest order. */
  readonly attributes: ReadonlyMap<string, AttributeDef>;
  readonly endpoint: URL;
  /** The kind's actions and the states they apply in. */
  readonly actionRules: readonly ActionRule[];
  /** Looks a `section.key` up in sm.cfg, for defaults that come from configuration. */
  readonly configValue: (key: string) => string | undefined;
  /** The manifest's `broker` section as written (service-manager/broker reads it), if any. */
  readonly broker?: unknown;
}

/** Longest string value accepted when the manifest sets no max_length. */
export const DEFAULT_MAX_LENGTH = 4096;

const ATTRIBUTE_NAME = /^[a-z0-9_][a-z0-9_-]*(\.[a-z0-9_][a-z0-9_-]*)*$/;
const TERM = /^[a-z][a-z0-9_-]*$/;
const TYPES: readonly AttributeType[] = ['string', 'number', 'integer', 'boolean'];
const PROPERTIES = new Set([
  'type',
  'description',
  'required',
  'immutable',
  'updatable',
  'default',
  'enum',
  'minimum',
  'maximum',
  'max_length',
  'pattern',
  'secret',
]);

export function loadManifest(file: string, configValue: (key: string) => string | undefined): ServiceType {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read service manifest ${file}: ${(error as Error).message}`);
  }
  return buildServiceType(doc, configValue, file);
}

export function buildServiceType(doc: unknown, configValue: (key: string) => string | undefined, source = 'service manifest'): ServiceType {
  const fail = (why: string): never => {
    throw new ConfigError(`${source}: ${why}`);
  };
  if (!isObject(doc)) return fail('must be a JSON object');
  for (const key of Object.keys(doc)) {
    const known = ['service_type', 'service_description', 'service_attributes', 'service_endpoint', 'depends_on', 'broker'];
    if (!known.includes(key)) fail(`unknown field "${key}"`);
  }
  const { scheme, term } = splitServiceType(doc['service_type'], fail);
  const description = doc['service_description'];
  if (typeof description !== 'string' || description === '') fail('service_description must be a non-empty string');
  const endpoint = parseEndpoint(doc['service_endpoint'], fail);
  const dependsOn = doc['depends_on'] ?? [];
  if (!Array.isArray(dependsOn)) fail('depends_on must be a list');
  if ((dependsOn as unknown[]).length > 0) fail('depends_on: composition with other services is not supported');
  const rawAttributes = doc['service_attributes'];
  if (!isObject(rawAttributes)) return fail('service_attributes must be an object');
  const attributes = new Map<string, AttributeDef>();
  for (const [name, raw] of Object.entries(rawAttributes)) {
    attributes.set(
      name,
      parseAttribute(name, raw, (why) => fail(`service_attributes["${name}"]: ${why}`)),
    );
  }
  checkReferences(attributes, configValue, fail);
  for (const name of [STATE_ATTRIBUTE, MESSAGE_ATTRIBUTE]) {
    if (!attributes.get(name)?.output) fail(`service_attributes must declare ${name} as immutable`);
  }
  const rules = actionRules(scheme, term);
  const kind: Kind = {
    scheme,
    term,
    title: description as string,
    parent: RESOURCE_TYPE,
    location: `/${term}/`,
    attributes: [...attributes.values()].map((def) => properties(def, configValue)),
    actions: rules.map((rule) => rule.action),
  };
  return { kind, attributes, endpoint, actionRules: rules, configValue, ...(doc['broker'] === undefined ? {} : { broker: doc['broker'] }) };
}

function splitServiceType(value: unknown, fail: (why: string) => never): { scheme: string; term: string } {
  if (typeof value !== 'string') return fail('service_type must be a string such as http://example.org/occi/sm#mesos');
  const hash = value.indexOf('#');
  const term = value.slice(hash + 1);
  if (hash <= 0 || !TERM.test(term)) return fail(`service_type "${value}" must be <scheme>#<term> with a lower-case term`);
  if (term === 'link') return fail('service_type term "link" is taken by the OCCI link kind');
  return { scheme: value.slice(0, hash + 1), term };
}

function parseEndpoint(value: unknown, fail: (why: string) => never): URL {
  try {
    const url = new URL(String(value));
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  return fail(`service_endpoint "${String(value)}" must be an http(s) URL`);
}

function parseAttribute(name: string, raw: unknown, fail: (why: string) => never): AttributeDef {
  if (!ATTRIBUTE_NAME.test(name)) fail('is not a valid attribute name (lower-case, dot-separated)');
  if (name === 'occi.core.id') fail('occi.core.id is assigned by the service manager');
  if (typeof raw === 'string') return fromHurtleFlag(name, raw, fail);
  if (!isObject(raw)) return fail('must be an object or one of "immutable", "required", ""');
  for (const key of Object.keys(raw)) if (!PROPERTIES.has(key)) fail(`unknown property "${key}"`);
  const type = (raw['type'] ?? 'string') as AttributeType;
  if (!TYPES.includes(type)) fail(`type must be one of ${TYPES.join(', ')}`);
  const output = flag(raw, 'immutable', fail);
  const required = flag(raw, 'required', fail);
  if (output && required) fail('an immutable (service-set) attribute cannot be required');
  const def: AttributeDef = {
    name,
    type,
    required,
    output,
    updatable: !output && flag(raw, 'updatable', fail),
    ...optionalString(raw, 'description', fail),
    ...(raw['default'] === undefined ? {} : { default: valueOrRef(raw['default'], type, 'default', fail) }),
    ...(raw['enum'] === undefined ? {} : { enum: enumValues(raw['enum'], type, fail) }),
    ...bound(raw, 'minimum', type, fail),
    ...bound(raw, 'maximum', type, fail),
    ...maxLength(raw, type, fail),
    ...pattern(raw, type, fail),
  };
  if (output && def.default !== undefined) fail('an immutable (service-set) attribute has no default');
  const secret = flag(raw, 'secret', fail);
  if (secret && !output) fail('only an immutable (service-set) attribute can be secret');
  return secret ? { ...def, secret } : def;
}

function fromHurtleFlag(name: string, value: string, fail: (why: string) => never): AttributeDef {
  if (value !== 'immutable' && value !== 'required' && value !== '') {
    return fail('as a string must be "immutable", "required" or ""');
  }
  return { name, type: 'string', required: value === 'required', output: value === 'immutable', updatable: value === '' };
}

function flag(raw: Record<string, unknown>, key: string, fail: (why: string) => never): boolean {
  const value = raw[key] ?? false;
  return typeof value === 'boolean' ? value : fail(`${key} must be true or false`);
}

function optionalString(raw: Record<string, unknown>, key: 'description', fail: (why: string) => never) {
  const value = raw[key];
  if (value === undefined) return {};
  return typeof value === 'string' ? { [key]: value } : fail(`${key} must be a string`);
}

function isRef(value: unknown): value is ValueRef {
  if (!isObject(value) || Object.keys(value).length !== 1) return false;
  return typeof value['config'] === 'string' || typeof value['attribute'] === 'string';
}

function valueOrRef(value: unknown, type: AttributeType, what: string, fail: (why: string) => never) {
  if (isRef(value)) return value;
  return literal(value, type, what, fail);
}

function literal(value: unknown, type: AttributeType, what: string, fail: (why: string) => never): AttributeValue {
  if (!matchesType(value, type)) {
    return fail(`${what} ${JSON.stringify(value)} is not of type ${type}; use a literal or {"config": ...} / {"attribute": ...}`);
  }
  return value as AttributeValue;
}

export function matchesType(value: unknown, type: AttributeType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
  }
}

function enumValues(value: unknown, type: AttributeType, fail: (why: string) => never): AttributeValue[] {
  if (!Array.isArray(value) || value.length === 0) return fail('enum must be a non-empty list');
  return value.map((v) => literal(v, type, 'enum value', fail));
}

function bound(raw: Record<string, unknown>, key: 'minimum' | 'maximum', type: AttributeType, fail: (why: string) => never) {
  const value = raw[key];
  if (value === undefined) return {};
  if (type !== 'number' && type !== 'integer') return fail(`${key} applies to numbers only`);
  if (isRef(value)) return { [key]: value };
  return { [key]: literal(value, 'number', key, fail) as number };
}

function maxLength(raw: Record<string, unknown>, type: AttributeType, fail: (why: string) => never) {
  const value = raw['max_length'];
  if (value === undefined) return {};
  if (type !== 'string') return fail('max_length applies to strings only');
  if (!Number.isSafeInteger(value) || (value as number) < 1) return fail('max_length must be a positive whole number');
  return { maxLength: value as number };
}

function pattern(raw: Record<string, unknown>, type: AttributeType, fail: (why: string) => never) {
  const value = raw['pattern'];
  if (value === undefined) return {};
  if (type !== 'string' || typeof value !== 'string') return fail('pattern must be a regular expression for a string');
  try {
    return { pattern: new RegExp(value, 'u') };
  } catch (error) {
    return fail(`pattern is not a valid regular expression: ${(error as Error).message}`);
  }
}

function checkReferences(attributes: ReadonlyMap<string, AttributeDef>, configValue: (key: string) => string | undefined, fail: (why: string) => never): void {
  for (const def of attributes.values()) {
    for (const [what, ref] of [
      ['default', def.default],
      ['minimum', def.minimum],
      ['maximum', def.maximum],
    ] as const) {
      if (!isRef(ref)) continue;
      const where = `service_attributes["${def.name}"].${what}`;
      if ('config' in ref) {
        const text = configValue(ref.config);
        if (text === undefined) fail(`${where} refers to unknown configuration key ${ref.config}`);
        if (text !== '' && typedConfigValue(text, def.type) === undefined) {
          fail(`${where}: configuration ${ref.config} = "${text}" is not of type ${def.type}`);
        }
        continue;
      }
      const target = attributes.get(ref.attribute);
      if (target === undefined || target.output || target.name === def.name) {
        return fail(`${where} refers to ${ref.attribute}, which is not another input attribute`);
      }
      const fits = what === 'default' ? sameKind(target.type, def.type) : isNumeric(target.type);
      if (!fits) fail(`${where} refers to ${ref.attribute}, whose type ${target.type} does not fit`);
    }
  }
}

function isNumeric(type: AttributeType): boolean {
  return type === 'number' || type === 'integer';
}

function sameKind(a: AttributeType, b: AttributeType): boolean {
  return a === b || (isNumeric(a) && isNumeric(b));
}

/** Reads a configuration text as a value of an attribute's type. */
export function typedConfigValue(text: string, type: AttributeType): AttributeValue | undefined {
  if (type === 'string') return text;
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : undefined;
  if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return type === 'integer' && !Number.isSafeInteger(n) ? undefined : n;
}

/** The OCCI attribute properties of a definition, with bounds folded into a JSON Schema pattern. */
function properties(def: AttributeDef, configValue: (key: string) => string | undefined): AttributeProperties {
  const schema: Record<string, unknown> = {};
  if (def.type === 'integer') schema['type'] = 'integer';
  if (def.enum) schema['enum'] = def.enum;
  if (typeof def.minimum === 'number') schema['minimum'] = def.minimum;
  if (typeof def.maximum === 'number') schema['maximum'] = def.maximum;
  if (def.type === 'string' && !def.output) schema['maxLength'] = def.maxLength ?? DEFAULT_MAX_LENGTH;
  if (def.pattern) schema['pattern'] = def.pattern.source;
  const fallback = resolveStaticDefault(def, configValue);
  return {
    name: def.name,
    type: def.type,
    required: def.required,
    mutable: !def.output,
    ...(fallback === undefined ? {} : { default: fallback }),
    ...(def.description === undefined ? {} : { description: def.description }),
    ...(Object.keys(schema).length > 0 ? { pattern: schema } : {}),
  };
}

/** The default known without an instance: a literal, or the configured value. */
export function resolveStaticDefault(def: AttributeDef, configValue: (key: string) => string | undefined): AttributeValue | undefined {
  const value = def.default;
  if (value === undefined || !isObject(value)) return value;
  if (!('config' in value)) return undefined;
  const text = configValue(value.config);
  return text === undefined || text === '' ? undefined : typedConfigValue(text, def.type);
}
