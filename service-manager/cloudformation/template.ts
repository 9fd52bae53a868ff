import { isMap, isScalar, isSeq, parseDocument, type CollectionTag, type Node, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { InvalidInput } from '../../lib/errors.js';
import { isObject } from '../../lib/objects.js';
import type { ResourceType } from './resources/resource-type.js';

/**
 * CloudFormation templates: YAML (with the short-form tags) or JSON, read into
 * the JSON long form, checked, and evaluated. Intrinsic functions: Ref,
 * Fn::GetAtt, Fn::Sub and Fn::Join; pseudo parameters AWS::StackName,
 * AWS::StackId, AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix
 * and AWS::NoValue.
 */

/** A template the service cannot take; the message says where and why, as CloudFormation words it. */
export class TemplateError extends InvalidInput {
  constructor(message: string) {
    super(message);
    this.code = 'ValidationError';
  }
}

export interface ParameterDef {
  readonly type: 'String' | 'Number';
  readonly default?: string;
  readonly allowedValues?: readonly string[];
  readonly allowedPattern?: RegExp;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minValue?: number;
  readonly maxValue?: number;
  readonly noEcho: boolean;
  readonly description?: string;
}

export interface ResourceDef {
  readonly type: ResourceType;
  readonly properties: Readonly<Record<string, unknown>>;
  /** Resources it needs first: DependsOn and every resource its properties refer to. */
  readonly needs: readonly string[];
}

export interface OutputDef {
  readonly value: unknown;
  readonly description?: string;
}

export interface Template {
  readonly description?: string;
  readonly parameters: ReadonlyMap<string, ParameterDef>;
  readonly resources: ReadonlyMap<string, ResourceDef>;
  readonly outputs: ReadonlyMap<string, OutputDef>;
  /** The resources in an order that creates each after what it needs. */
  readonly order: readonly string[];
}

export const PSEUDO_PARAMETERS = ['AWS::StackName', 'AWS::StackId', 'AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::NoValue'];
const FUNCTIONS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join']);
const SHORT_TAGS = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'Base64',
  'GetAZs',
  'ImportValue',
  'Cidr',
  'Condition',
];
const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Resources', 'Outputs']);
const MAX_BODY = 51_200;
const LOGICAL_ID = /^[A-Za-z0-9]+$/;

const fail = (why: string): never => {
  throw new TemplateError(`Template format error: ${why}`);
};

/** Tagged collections stay nodes, so that their tag is there to read. */
const keepNode = (node: YAMLMap.Parsed | YAMLSeq.Parsed): unknown => node;

const customTags: Array<ScalarTag | CollectionTag> = SHORT_TAGS.flatMap((name) => [
  { tag: `!${name}`, resolve: (text: string) => text },
  { tag: `!${name}`, collection: 'seq' as const, resolve: keepNode },
  { tag: `!${name}`, collection: 'map' as const, resolve: keepNode },
]);

/** YAML nodes into JSON, the short tags into the long form (`!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`). */
function longForm(node: unknown): unknown {
  let value: unknown;
  if (isMap(node)) value = Object.fromEntries(node.items.map((pair) => [String(longForm(pair.key)), longForm(pair.value)]));
  else if (isSeq(node)) value = node.items.map(longForm);
  else if (isScalar(node)) value = node.value;
  else return node;
  const tag = (node as Node).tag;
  if (tag === undefined || !tag.startsWith('!')) return value;
  const name = tag.slice(1);
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

/** The template text as a JSON document: JSON when it starts with `{`, YAML otherwise. */
export function parseTemplateText(text: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_BODY) fail(`the template is longer than ${MAX_BODY} bytes`);
  let doc: unknown;
  if (text.trimStart().startsWith('{')) {
    try {
      doc = JSON.parse(text);
    } catch (error) {
      return fail(`JSON not well-formed (${(error as Error).message})`);
    }
  } else {
    const parsed = parseDocument(text, { customTags, uniqueKeys: true });
    if (parsed.errors.length > 0) return fail(`YAML not well-formed (${parsed.errors[0].message.split('\n')[0]})`);
    doc = longForm(parsed.contents);
  }
  if (!isObject(doc)) return fail('the template must be an object');
  return doc;
}

function parseParameter(name: string, raw: unknown): ParameterDef {
  const where = `Parameters.${name}`;
  if (!isObject(raw)) return fail(`${where} must be an object`);
  const type = raw['Type'];
  if (type !== 'String' && type !== 'Number') return fail(`${where}.Type must be String or Number; got ${JSON.stringify(type)}`);
  const number = (key: string): number | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    const text = scalarText(value);
    const n = Number(text);
    return text !== undefined && text.trim() !== '' && Number.isFinite(n) ? n : fail(`${where}.${key} must be a number`);
  };
  const allowed = raw['AllowedValues'];
  if (allowed !== undefined && (!Array.isArray(allowed) || allowed.length === 0)) fail(`${where}.AllowedValues must be a non-empty list`);
  const pattern = raw['AllowedPattern'];
  let allowedPattern: RegExp | undefined;
  if (pattern !== undefined) {
    if (typeof pattern !== 'string') fail(`${where}.AllowedPattern must be text`);
    try {
      allowedPattern = new RegExp(`^(?:${pattern as string})$`, 'u');
    } catch {
      fail(`${where}.AllowedPattern is not a valid pattern`);
    }
  }
  const def: ParameterDef = {
    type,
    ...(raw['Default'] === undefined ? {} : { default: scalarText(raw['Default']) ?? fail(`${where}.Default must be a plain value`) }),
    ...(allowed === undefined
      ? {}
      : { allowedValues: (allowed as unknown[]).map((v) => scalarText(v) ?? fail(`${where}.AllowedValues must be plain values`)) }),
    ...(allowedPattern ? { allowedPattern } : {}),
    ...optional('minLength', number('MinLength')),
    ...optional('maxLength', number('MaxLength')),
    ...optional('minValue', number('MinValue')),
    ...optional('maxValue', number('MaxValue')),
    noEcho: raw['NoEcho'] === true || raw['NoEcho'] === 'true',
    ...(typeof raw['Description'] === 'string' ? { description: raw['Description'] } : {}),
  };
  if (def.default !== undefined) checkValue(name, def, def.default);
  return def;
}

/** A plain template value as text (CloudFormation passes parameters as text). */
function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/** A parameter value against its declaration, in CloudFormation's order: type, allowed values, pattern, length or range. */
export function checkValue(name: string, def: ParameterDef, value: string): void {
  const refuse = (why: string): never => {
    throw new TemplateError(`Parameter '${name}' ${why}`);
  };
  if (def.type === 'Number' && (value.trim() === '' || !Number.isFinite(Number(value)))) refuse(`must be a number; got '${value}'`);
  if (def.allowedValues && !def.allowedValues.includes(value)) refuse('must be one of AllowedValues');
  if (def.allowedPattern && !def.allowedPattern.test(value)) refuse('failed to satisfy constraint: Malformed input-Parameter does not match AllowedPattern');
  if (def.minLength !== undefined && value.length < def.minLength) refuse(`must contain at least ${def.minLength} characters`);
  if (def.maxLength !== undefined && value.length > def.maxLength) refuse(`must contain at most ${def.maxLength} characters`);
  if (def.minValue !== undefined && Number(value) < def.minValue) refuse(`must be a number not less than ${def.minValue}`);
  if (def.maxValue !== undefined && Number(value) > def.maxValue) refuse(`must be a number not greater than ${def.maxValue}`);
}

/** Every resource a value refers to, after checking that each function is one this service evaluates and each name exists. */
function references(value: unknown, where: string, names: { parameters: ReadonlySet<string>; resources: ReadonlySet<string> }): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => references(v, `${where}[${i}]`, names));
  if (!isObject(value)) return [];
  const keys = Object.keys(value);
  const fn = keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition') ? keys[0] : undefined;
  if (fn === undefined) return keys.flatMap((k) => references(value[k], `${where}.${k}`, names));
  if (!FUNCTIONS.has(fn)) return fail(`${fn} is not supported (at ${where}); this service evaluates ${[...FUNCTIONS].join(', ')}`);
  const arg = value[fn];
  const named = (target: string): string[] => {
    if (names.resources.has(target)) return [target];
    if (names.parameters.has(target) || PSEUDO_PARAMETERS.includes(target)) return [];
    return fail(`Unresolved resource dependencies [${target}] in the Resources block of the template (at ${where})`);
  };
  if (fn === 'Ref') return typeof arg === 'string' ? named(arg) : fail(`Ref takes a name (at ${where})`);
  if (fn === 'Fn::GetAtt') {
    if (!Array.isArray(arg) || arg.length !== 2 || !arg.every((a) => typeof a === 'string'))
      return fail(`Fn::GetAtt takes [resource, attribute] (at ${where})`);
    if (!names.resources.has(arg[0])) return fail(`Unresolved resource dependencies [${String(arg[0])}] in the Resources block of the template (at ${where})`);
    return [arg[0]];
  }
  if (fn === 'Fn::Join') {
    if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') return fail(`Fn::Join takes [delimiter, [values]] (at ${where})`);
    return references(arg[1], `${where}.Fn::Join`, names);
  }
  const pair: readonly unknown[] = Array.isArray(arg) && arg.length === 2 ? arg : [];
  const [text, variables]: readonly unknown[] = typeof arg === 'string' ? [arg, {}] : pair;
  if (typeof text !== 'string' || !isObject(variables)) return fail(`Fn::Sub takes a string, or [string, {variables}] (at ${where})`);
  const own = new Set(Object.keys(variables));
  const inText = [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].flatMap(([, name]) => {
    const target = name.trim();
    if (own.has(target)) return [];
    const dot = target.indexOf('.');
    return named(dot < 0 || PSEUDO_PARAMETERS.includes(target) ? target : target.slice(0, dot));
  });
  return [...inText, ...references(variables, `${where}.Fn::Sub`, names)];
}

/** Reads and checks a template: its sections, parameters, resources of known types, references and dependency order. */
export function parseTemplate(text: string, resourceTypes: ReadonlyMap<string, ResourceType>): Template {
  const doc = parseTemplateText(text);
  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key)) fail(`Invalid template property or properties [${key}]`);
  const version = doc['AWSTemplateFormatVersion'];
  if (version !== undefined && version !== '2010-09-09') fail(`${JSON.stringify(version)} is not a valid template version; use 2010-09-09`);
  const description = doc['Description'];
  if (description !== undefined && (typeof description !== 'string' || Buffer.byteLength(description) > 1024))
    fail('Description must be text of at most 1024 bytes');
  const rawParameters = doc['Parameters'] ?? {};
  if (!isObject(rawParameters)) return fail('Parameters must be an object');
  const parameters = new Map(Object.entries(rawParameters).map(([name, raw]) => [name, parseParameter(name, raw)]));
  const rawResources = doc['Resources'];
  if (!isObject(rawResources) || Object.keys(rawResources).length === 0) return fail('At least one Resources member must be defined.');
  const names = { parameters: new Set(parameters.keys()), resources: new Set(Object.keys(rawResources)) };
  for (const name of names.resources) if (names.parameters.has(name)) fail(`${name} is both a parameter and a resource`);
  const unknownTypes: string[] = [];
  const resources = new Map<string, ResourceDef>();
  for (const [name, raw] of Object.entries(rawResources)) {
    const where = `Resources.${name}`;
    if (!LOGICAL_ID.test(name)) fail(`${where}: logical ids are letters and digits`);
    if (!isObject(raw)) return fail(`${where} must be an object`);
    const type = typeof raw['Type'] === 'string' ? resourceTypes.get(raw['Type']) : undefined;
    if (!type) {
      unknownTypes.push(String(raw['Type']));
      continue;
    }
    const properties = raw['Properties'] ?? {};
    if (!isObject(properties)) return fail(`${where}.Properties must be an object`);
    type.check(properties, `${where}.Properties`);
    const dependsOn = raw['DependsOn'] === undefined ? [] : typeof raw['DependsOn'] === 'string' ? [raw['DependsOn']] : raw['DependsOn'];
    if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string' && names.resources.has(d))) {
      return fail(`${where}.DependsOn must name resources of this template`);
    }
    const needs = [...new Set([...(dependsOn as string[]), ...references(properties, `${where}.Properties`, names)])];
    if (needs.includes(name)) fail(`Circular dependency between resources: [${name}]`);
    resources.set(name, { type, properties, needs });
  }
  if (unknownTypes.length > 0) fail(`Unrecognized resource types: [${unknownTypes.join(', ')}]`);
  const rawOutputs = doc['Outputs'] ?? {};
  if (!isObject(rawOutputs)) return fail('Outputs must be an object');
  const outputs = new Map<string, OutputDef>();
  for (const [name, raw] of Object.entries(rawOutputs)) {
    if (!isObject(raw) || raw['Value'] === undefined) return fail(`Outputs.${name} must have a Value`);
    references(raw['Value'], `Outputs.${name}.Value`, names);
    outputs.set(name, { value: raw['Value'], ...(typeof raw['Description'] === 'string' ? { description: raw['Description'] } : {}) });
  }
  return { ...(typeof description === 'string' ? { description } : {}), parameters, resources, outputs, order: creationOrder(resources) };
}

function creationOrder(resources: ReadonlyMap<string, ResourceDef>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, path: readonly string[]): void => {
    if (order.includes(name)) return;
    if (visiting.has(name)) fail(`Circular dependency between resources: [${[...path, name].join(', ')}]`);
    visiting.add(name);
    for (const need of resources.get(name)!.needs) visit(need, [...path, name]);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of resources.keys()) visit(name, []);
  return order;
}

/** Each parameter's value: given, else the previous one (UsePreviousValue), else its default; every one checked. */
export function resolveParameters(template: Template, given: Readonly<Record<string, string>>): Record<string, string> {
  const unknown = Object.keys(given).filter((name) => !template.parameters.has(name));
  if (unknown.length > 0) throw new TemplateError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, def] of template.parameters) {
    const value = given[name] ?? def.default;
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) throw new TemplateError(`Parameters: [${missing.join(', ')}] must have values`);
  for (const [name, value] of Object.entries(values)) checkValue(name, template.parameters.get(name)!, value);
  return values;
}

/** What intrinsic functions read: parameters and pseudo parameters, and each resource's id and attributes. */
export interface Scope {
  readonly parameters: Readonly<Record<string, string>>;
  readonly pseudo: Readonly<Record<string, string>>;
  /** The resource's physical id, or undefined while it has none. */
  readonly ref: (resource: string) => string | undefined;
  readonly attribute: (resource: string, attribute: string) => unknown;
}

/** Removes a property, as `Ref: AWS::NoValue` asks. */
const NO_VALUE = Symbol('AWS::NoValue');

/** A value with every intrinsic function evaluated. */
export function evaluate(value: unknown, scope: Scope): unknown {
  const result = evaluateOrRemove(value, scope);
  return result === NO_VALUE ? undefined : result;
}

function evaluateOrRemove(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => evaluateOrRemove(v, scope)).filter((v) => v !== NO_VALUE);
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && FUNCTIONS.has(keys[0])) return call(keys[0], value[keys[0]], scope);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = evaluateOrRemove(value[key], scope);
    if (v !== NO_VALUE) out[key] = v;
  }
  return out;
}

function lookup(name: string, scope: Scope): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name in scope.parameters) return scope.parameters[name];
  if (name in scope.pseudo) return scope.pseudo[name];
  const dot = name.indexOf('.');
  if (dot > 0 && !name.startsWith('AWS::')) return scope.attribute(name.slice(0, dot), name.slice(dot + 1));
  return scope.ref(name);
}

function call(fn: string, arg: unknown, scope: Scope): unknown {
  if (fn === 'Ref') return lookup(arg as string, scope);
  if (fn === 'Fn::GetAtt') {
    const [resource, attribute] = arg as [string, string];
    return scope.attribute(resource, attribute);
  }
  if (fn === 'Fn::Join') {
    const [delimiter, list] = arg as [string, unknown];
    const items = evaluateOrRemove(list, scope);
    return (Array.isArray(items) ? items : [items]).map((item) => (item === undefined ? '' : String(item as string | number))).join(delimiter);
  }
  const [text, variables] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
  const own = evaluateOrRemove(variables, scope) as Record<string, unknown>;
  return text.replace(/\$\{(!?)([^}]*)\}/g, (_, literal: string, name: string) => {
    if (literal === '!') return `\${${name}}`;
    const target = name.trim();
    const found = target in own ? own[target] : lookup(target, scope);
    return found === undefined || found === NO_VALUE ? '' : (scalarText(found) ?? JSON.stringify(found));
  });
}
