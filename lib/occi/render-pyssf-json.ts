import { CORE_SCHEME, typeId, type Action, type AttributeProperties, type Entity, type Kind } from './model.js';

/**
 * pyssf's `application/occi+json`, which predates GFD.225 and which hurtle's
 * service manager and client code read: a category is an object with
 * `related`, flags per attribute (`required`, `immutable`, and pyssf's own
 * spelling `muttable`) and action ids; an entity keeps every attribute,
 * `occi.core.id` included, in `attributes`; the query interface and
 * collections are plain lists.
 */

function flag(attribute: AttributeProperties): 'required' | 'immutable' | 'muttable' {
  if (attribute.required) return 'required';
  return attribute.mutable ? 'muttable' : 'immutable';
}

function kindCategory(kind: Kind): Record<string, unknown> {
  return {
    term: kind.term,
    scheme: kind.scheme,
    ...(kind.title ? { title: kind.title } : {}),
    ...(kind.parent ? { related: [kind.parent] } : {}),
    ...(kind.location ? { location: kind.location } : {}),
    ...(kind.attributes.length > 0 ? { attributes: Object.fromEntries(kind.attributes.map((a) => [a.name, flag(a)])) } : {}),
    ...(kind.actions.length > 0 ? { actions: kind.actions.map(typeId) } : {}),
  };
}

function actionCategory(action: Action): Record<string, unknown> {
  return {
    term: action.term,
    scheme: action.scheme,
    ...(action.title ? { title: action.title } : {}),
    ...(action.attributes.length > 0 ? { attributes: Object.fromEntries(action.attributes.map((a) => [a.name, flag(a)])) } : {}),
  };
}

export function pyssfEntity(entity: Entity): Record<string, unknown> {
  return {
    kind: kindCategory(entity.kind),
    mixins: [],
    actions: entity.actions.map((action) => ({ kind: actionCategory(action), link: `${entity.location}?action=${action.term}` })),
    links: [],
    attributes: Object.fromEntries(entity.attributes),
  };
}

/** The core kinds first: hurtle's dependency lookup takes the last category with `related` as the service's kind. */
export function pyssfQueryInterface(kinds: readonly Kind[], actions: readonly Action[]): unknown[] {
  const core = kinds.filter((k) => k.scheme === CORE_SCHEME);
  const services = kinds.filter((k) => k.scheme !== CORE_SCHEME);
  return [...core.map(kindCategory), ...services.map(kindCategory), ...actions.map(actionCategory)];
}
