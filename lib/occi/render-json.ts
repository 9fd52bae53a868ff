import { typeId, type Action, type AttributeProperties, type AttributeValue, type Entity, type Kind } from './model.js';

/** GFD.225 (`application/occi+json`) shapes. */

export interface AttributeJson {
  mutable: boolean;
  required: boolean;
  type: 'string' | 'number' | 'boolean';
  default?: AttributeValue;
  description?: string;
  pattern?: Readonly<Record<string, unknown>>;
}

export function attributeJson(attribute: AttributeProperties): AttributeJson {
  const json: AttributeJson = {
    mutable: attribute.mutable,
    required: attribute.required,
    type: attribute.type === 'integer' ? 'number' : attribute.type,
  };
  if (attribute.default !== undefined) json.default = attribute.default;
  if (attribute.description !== undefined) json.description = attribute.description;
  if (attribute.pattern !== undefined) json.pattern = attribute.pattern;
  return json;
}

function attributeMap(attributes: readonly AttributeProperties[]): Record<string, AttributeJson> {
  return Object.fromEntries(attributes.map((a) => [a.name, attributeJson(a)]));
}

export function kindJson(kind: Kind): Record<string, unknown> {
  return {
    term: kind.term,
    scheme: kind.scheme,
    ...(kind.title ? { title: kind.title } : {}),
    attributes: attributeMap(kind.attributes),
    actions: kind.actions.map(typeId),
    ...(kind.parent ? { parent: kind.parent } : {}),
    ...(kind.location ? { location: kind.location } : {}),
  };
}

export function actionJson(action: Action): Record<string, unknown> {
  return {
    term: action.term,
    scheme: action.scheme,
    ...(action.title ? { title: action.title } : {}),
    attributes: attributeMap(action.attributes),
  };
}

export function queryInterfaceJson(kinds: readonly Kind[], actions: readonly Action[]): Record<string, unknown> {
  return { kinds: kinds.map(kindJson), mixins: [], actions: actions.map(actionJson) };
}

/** Core attributes are members of their own in GFD.225, not entries of `attributes`. */
const CORE_MEMBERS: Record<string, string> = {
  'occi.core.id': 'id',
  'occi.core.title': 'title',
  'occi.core.summary': 'summary',
};

export function entityJson(entity: Entity): Record<string, unknown> {
  const attributes: Record<string, AttributeValue> = {};
  const members: Record<string, AttributeValue> = { id: entity.id };
  for (const [name, value] of entity.attributes) {
    const member = CORE_MEMBERS[name];
    if (member !== undefined) members[member] = value;
    else attributes[name] = value;
  }
  return {
    kind: typeId(entity.kind),
    mixins: [],
    attributes,
    actions: entity.actions.map(typeId),
    ...members,
  };
}
