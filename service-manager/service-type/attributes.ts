import { readableByHurtle } from '../../lib/occi/text-values.js';
import { InvalidInput } from '../../lib/errors.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import type { AttributeInput, WireValue } from '../../lib/occi/parse.js';
import { DEFAULT_MAX_LENGTH, matchesType, resolveStaticDefault, type AttributeDef, type ServiceType, type ValueRef } from './manifest.js';

/**
 * Validation of a service instance's input attributes against the manifest.
 * Stored inputs hold what the client gave plus fixed and configured defaults;
 * defaults that follow another attribute (min_ready = all agents) are derived
 * when read, so they keep following it after an update.
 */

export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface Change {
  readonly from?: AttributeValue;
  readonly to?: AttributeValue;
}

export type Changes = Readonly<Record<string, Change>>;

/** Checks a create request's attributes and returns the inputs to store. */
export function createInputs(type: ServiceType, given: readonly AttributeInput[]): Attributes {
  const inputs = readInputs(type, given, 'create');
  for (const def of type.attributes.values()) {
    if (def.output || inputs.has(def.name)) continue;
    const fallback = resolveStaticDefault(def, type.configValue);
    if (fallback !== undefined) inputs.set(def.name, fallback);
  }
  const stored = Object.fromEntries(inputs);
  const effective = effectiveInputs(type, stored);
  for (const def of type.attributes.values()) {
    if (def.required && effective[def.name] === undefined) {
      throw new InvalidInput(`Required attribute ${def.name} is missing.`);
    }
  }
  checkConstraints(type, effective);
  return stored;
}

/** Checks a partial update and returns the new stored inputs and what changed. */
export function updateInputs(
  type: ServiceType,
  current: Attributes,
  given: readonly AttributeInput[],
): { readonly next: Attributes; readonly changes: Changes } {
  const updates = readInputs(type, given, 'update');
  const next: Record<string, AttributeValue> = { ...current };
  const changes: Record<string, Change> = {};
  for (const [name, value] of updates) {
    if (current[name] === value) continue;
    changes[name] = current[name] === undefined ? { to: value } : { from: current[name], to: value };
    next[name] = value;
  }
  checkConstraints(type, effectiveInputs(type, next));
  return { next, changes };
}

/**
 * Checks a full replace (GFD.223: a PUT of an existing instance, such as a
 * client's GET, edit, PUT) and returns the new stored inputs and what
 * changed. Outputs in it are the service's and are ignored; fixed inputs
 * must keep their values; updatable ones may change. A string as the text
 * renderings show it (readable by hurtle's parsers) counts as unchanged.
 */
export function replaceInputs(
  type: ServiceType,
  current: Attributes,
  given: readonly AttributeInput[],
): { readonly next: Attributes; readonly changes: Changes } {
  const effective = effectiveInputs(type, current);
  const changing: AttributeInput[] = [];
  for (const attribute of given) {
    const def = type.attributes.get(attribute.name);
    if (def === undefined) throw unknownAttribute(type, attribute.name);
    if (def.output) continue;
    const value = coerce(def, attribute.value);
    const now = effective[def.name];
    if (value === now || (typeof now === 'string' && value === readableByHurtle(now))) continue;
    if (!def.updatable) {
      throw new InvalidInput(`Attribute ${def.name} is fixed when the instance is created and cannot be updated (${String(now)} → ${String(value)}).`);
    }
    changing.push(attribute);
  }
  return updateInputs(type, current, changing);
}

/** Stored inputs with the defaults that follow other attributes filled in. */
export function effectiveInputs(type: ServiceType, stored: Attributes): Attributes {
  const result: Record<string, AttributeValue> = { ...stored };
  for (const [name, source] of followers(type)) {
    if (result[name] === undefined && stored[source] !== undefined) result[name] = stored[source]!;
  }
  return result;
}

const FOLLOWERS = new WeakMap<ServiceType, ReadonlyArray<readonly [string, string]>>();

/** The attributes whose default is another attribute's value, with that attribute: found once per service type, as every rendering asks. */
function followers(type: ServiceType): ReadonlyArray<readonly [string, string]> {
  let found = FOLLOWERS.get(type);
  if (!found) {
    found = [...type.attributes.values()].flatMap((def) => (isAttributeRef(def.default) ? [[def.name, def.default.attribute] as const] : []));
    FOLLOWERS.set(type, found);
  }
  return found;
}

function readInputs(type: ServiceType, given: readonly AttributeInput[], mode: 'create' | 'update'): Map<string, AttributeValue> {
  const values = new Map<string, AttributeValue>();
  for (const { name, value } of given) {
    if (values.has(name)) throw new InvalidInput(`Attribute ${name} is given more than once.`);
    const def = type.attributes.get(name);
    if (def === undefined) throw unknownAttribute(type, name);
    if (def.output) throw new InvalidInput(`Attribute ${name} is set by the service and cannot be written.`);
    if (mode === 'update' && !def.updatable) {
      throw new InvalidInput(`Attribute ${name} is fixed when the instance is created and cannot be updated.`);
    }
    values.set(name, coerce(def, value));
  }
  return values;
}

function unknownAttribute(type: ServiceType, name: string): InvalidInput {
  const inputs = [...type.attributes.values()].filter((d) => !d.output).map((d) => d.name);
  return new InvalidInput(`Unknown attribute ${name}; the ${type.kind.term} kind takes ${inputs.join(', ')}.`);
}

/**
 * Turns a wire value into a value of the attribute's type. Text renderings
 * follow OCCI 1.2 lexical typing, but OCCI 1.1 clients quote every value, so a
 * quoted numeral or boolean is accepted for a numeric or boolean attribute.
 * JSON values must have the attribute's JSON type.
 */
export function coerce(def: AttributeDef, wire: WireValue): AttributeValue {
  const value = def.type === 'string' ? asString(def, wire) : asTyped(def, wire);
  if (value === undefined) {
    throw new InvalidInput(`Attribute ${def.name} must be ${article(def.type)}, got ${describe(wire)}.`);
  }
  return value;
}

function asString(def: AttributeDef, wire: WireValue): string | undefined {
  if (wire.lexical === 'json') return typeof wire.value === 'string' ? checkText(def, wire.value) : undefined;
  if (wire.lexical === 'number') return checkText(def, wire.text);
  return checkText(def, String(wire.value));
}

function checkText(def: AttributeDef, text: string): string {
  if (/[\x00-\x1f\x7f]/.test(text)) throw new InvalidInput(`Attribute ${def.name} contains control characters.`);
  const limit = def.maxLength ?? DEFAULT_MAX_LENGTH;
  if (text.length > limit) throw new InvalidInput(`Attribute ${def.name} is longer than ${limit} characters.`);
  return text;
}

function asTyped(def: AttributeDef, wire: WireValue): AttributeValue | undefined {
  let candidate: unknown = wire.value;
  if (wire.lexical === 'string') candidate = fromQuotedText(wire.value, def);
  if (wire.lexical === 'token') return undefined;
  return matchesType(candidate, def.type) ? (candidate as AttributeValue) : undefined;
}

function fromQuotedText(text: string, def: AttributeDef): unknown {
  if (def.type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

function article(type: string): string {
  return { string: 'a string', number: 'a number', integer: 'a whole number', boolean: 'true or false' }[type] ?? type;
}

function describe(wire: WireValue): string {
  if (wire.lexical === 'number') return wire.text;
  if (wire.lexical === 'string') return JSON.stringify(wire.value);
  return typeof wire.value === 'string' && wire.lexical === 'json' ? JSON.stringify(wire.value) : String(wire.value);
}

/** Enumerations, bounds (which may follow other attributes), lengths and patterns. */
export function checkConstraints(type: ServiceType, effective: Attributes): void {
  for (const def of type.attributes.values()) {
    const value = effective[def.name];
    if (value === undefined || def.output) continue;
    if (def.enum && !def.enum.includes(value)) {
      throw new InvalidInput(`Attribute ${def.name} must be one of ${def.enum.join(', ')}; got ${String(value)}.`);
    }
    if (typeof value === 'number') checkBounds(def, value, effective);
    if (typeof value === 'string' && def.pattern && !def.pattern.test(value)) {
      throw new InvalidInput(`Attribute ${def.name} = ${JSON.stringify(value)} does not match ${def.pattern.source}.`);
    }
  }
}

function checkBounds(def: AttributeDef, value: number, effective: Attributes): void {
  const bound = (ref: number | ValueRef | undefined): { limit: number; label: string } | undefined => {
    if (typeof ref === 'number') return { limit: ref, label: String(ref) };
    if (!isAttributeRef(ref)) return undefined;
    const limit = effective[ref.attribute];
    return typeof limit === 'number' ? { limit, label: `${ref.attribute} (${limit})` } : undefined;
  };
  const min = bound(def.minimum);
  if (min && value < min.limit) throw new InvalidInput(`Attribute ${def.name} = ${value} is below the minimum ${min.label}.`);
  const max = bound(def.maximum);
  if (max && value > max.limit) throw new InvalidInput(`Attribute ${def.name} = ${value} is above the maximum ${max.label}.`);
}

function isAttributeRef(value: unknown): value is { readonly attribute: string } {
  return typeof value === 'object' && value !== null && 'attribute' in value;
}
