/**
 * The slice of the OCCI core model (GFD.221) that the service manager and the
 * service orchestrators expose: kinds with typed attributes and actions, and
 * resource instances of those kinds.
 */

export type AttributeValue = string | number | boolean;

/** OCCI 1.2 attribute types; `integer` renders as a number restricted by a pattern. */
export type AttributeType = 'string' | 'number' | 'integer' | 'boolean';

export interface AttributeProperties {
  readonly name: string;
  readonly type: AttributeType;
  readonly required: boolean;
  /** False for attributes only the service sets (rendered `{immutable}`). */
  readonly mutable: boolean;
  readonly default?: AttributeValue;
  readonly description?: string;
  /** A JSON Schema fragment for the allowed values, rendered in occi+json. */
  readonly pattern?: Readonly<Record<string, unknown>>;
}

export interface Category {
  readonly scheme: string;
  readonly term: string;
  readonly title?: string;
}

export interface Action extends Category {
  readonly attributes: readonly AttributeProperties[];
}

export interface Kind extends Category {
  /** Type identifier of the parent kind, e.g. OCCI core resource. */
  readonly parent?: string;
  /** Path of the kind's collection, e.g. `/mesos/`; absent when it cannot be instantiated. */
  readonly location?: string;
  readonly attributes: readonly AttributeProperties[];
  readonly actions: readonly Action[];
}

/** One resource instance as it is rendered. */
export interface Entity {
  readonly id: string;
  /** Path of the instance, e.g. `/mesos/abc`. */
  readonly location: string;
  readonly kind: Kind;
  /** Attributes in rendering order; values are already typed. */
  readonly attributes: ReadonlyArray<readonly [string, AttributeValue]>;
  /** How structured values (JSON in a string) read in the text renderings, whose clients split on commas and never unescape. */
  readonly textForms?: Readonly<Record<string, AttributeValue>>;
  /** Actions applicable right now, rendered as action links. */
  readonly actions: readonly Action[];
}

export const CORE_SCHEME = 'http://schemas.ogf.org/occi/core#';
export const ENTITY_TYPE = `${CORE_SCHEME}entity`;
export const RESOURCE_TYPE = `${CORE_SCHEME}resource`;

const text = (name: string, required = false, mutable = true, description?: string): AttributeProperties => ({
  name,
  type: 'string',
  required,
  mutable,
  ...(description ? { description } : {}),
});

/** The core model's root kind (GFD.221 §4.5.1): what every entity has. */
export const ENTITY_KIND: Kind = {
  scheme: CORE_SCHEME,
  term: 'entity',
  title: 'Entity',
  attributes: [text('occi.core.id', false, false, 'A unique identifier of the entity'), text('occi.core.title')],
  actions: [],
};

/** The core resource kind, parent of every service kind. */
export const RESOURCE_KIND: Kind = {
  scheme: CORE_SCHEME,
  term: 'resource',
  title: 'Resource',
  parent: ENTITY_TYPE,
  attributes: [text('occi.core.summary')],
  actions: [],
};

/** The link kind every OCCI server registers, even one that makes no links. */
export const LINK_KIND: Kind = {
  scheme: CORE_SCHEME,
  term: 'link',
  title: 'Link',
  parent: ENTITY_TYPE,
  location: '/link/',
  attributes: [text('occi.core.source', true), text('occi.core.target', true)],
  actions: [],
};

/** The core kinds a query interface lists besides the service's own (GFD.221 §Discovery). */
export const CORE_KINDS: readonly Kind[] = [ENTITY_KIND, RESOURCE_KIND, LINK_KIND];

export function typeId(category: Category): string {
  return category.scheme + category.term;
}
