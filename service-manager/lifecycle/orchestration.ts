import type { Logger } from '../../lib/logger.js';
import { SERVICE_MANAGER_ACTOR, type InstanceRecord, type InstanceRegistry } from '../registry/registry.js';
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
}

/**
 * The orchestration used when no service orchestrator runtime is attached:
 * instances wait in `initialise`, and since nothing was ever started for them
 * a teardown has nothing to undo and is confirmed at once.
 */
export class DetachedOrchestration implements Orchestration {
  constructor(
    private readonly registry: InstanceRegistry,
    private readonly logger: Logger,
  ) {}

  created(instance: InstanceRecord): void {
    this.logger.info('instance waits for an orchestrator runtime', { instance: instance.id, tenant: instance.tenant });
  }

  reconfigured(): void {}

  retried(): void {}

  deleteRequested(instance: InstanceRecord): void {
    this.registry.remove(instance.uid, instance.version, {
      actor: SERVICE_MANAGER_ACTOR,
      type: 'removed',
      message: 'Teardown confirmed: no service orchestrator or VM was started for this instance.',
    });
  }
}
