import type { AttributeValue } from '../../../lib/occi/model.js';

/**
 * A kind of resource a template may declare. Each is one module; the stack
 * engine knows only this interface, so a new kind is a new module and an
 * entry in `index.ts`. Today every kind is made as an instance of this
 * service manager, its properties becoming the instance's attributes.
 */
export interface ResourceType {
  /** As templates name it, e.g. `CloudStack::Mesos::Cluster`. */
  readonly name: string;
  /** Checks what the template states literally; values that intrinsic functions compute are checked once known. */
  check(properties: Readonly<Record<string, unknown>>, where: string): void;
  /** The instance attributes for fully evaluated properties. */
  attributes(properties: Readonly<Record<string, unknown>>, where: string): Record<string, AttributeValue>;
  /** The instance attribute a property sets. */
  attributeOf(property: string): string | undefined;
  /** Whether a stack update may change this property of an existing resource. */
  updatable(property: string): boolean;
  /** `Fn::GetAtt` names → the instance attribute that answers each. */
  readonly outputs: ReadonlyMap<string, string>;
}
