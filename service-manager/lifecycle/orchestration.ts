import type { InstanceRecord } from '../registry/registry.js';
import type { Changes } from '../service-type/attributes.js';

/**
 * What drives instances through their lifecycle once the API has accepted a
 * request. The API records the request first, then tells the orchestration,
 * which reports progress back through the registry.
 */
export interface Orchestration {
  created(instance: InstanceRecord): void;
  reconfigured(instance: InstanceRecord, changes: Changes): void;
  retried(instance: InstanceRecord): void;
  /** The instance is in `destroy`; it is removed once its teardown is confirmed. */
  deleteRequested(instance: InstanceRecord): void;
  /**
   * Resolves when the registry shows the instance's state as of a moment
   * ago, not as of long ago: true when it had to ask, so the registry may
   * hold newer state than the record given.
   */
  refresh(instance: InstanceRecord): Promise<boolean>;
}
