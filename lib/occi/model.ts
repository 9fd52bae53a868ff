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
export const RESOURCE_TYPE = `${CORE_SCHEME}resource`;

/** The link kind every OCCI server registers, even one that makes no links. */
export const LINK_KIND: Kind = {
  scheme: CORE_SCHEME,
  term: 'link',
  title: 'Link',
  location: '/link/',
  attributes: [],
  actions: [],
};

export function typeId(category: Category): string {
  return category.scheme + category.term;
}
