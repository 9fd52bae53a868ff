import type { Orchestration } from '../../service-manager/lifecycle/orchestration.js';
import { SERVICE_MANAGER_ACTOR, type InstanceRecord, type InstanceRegistry } from '../../service-manager/registry/registry.js';

/**
 * An orchestration with no orchestrator behind it, for tests of the API alone:
 * instances wait in `initialise`, and since nothing was ever started for them
 * a teardown has nothing to undo and is confirmed at once.
 */
export class DetachedOrchestration implements Orchestration {
  constructor(private readonly registry: InstanceRegistry) {}

  created(): void {}

  reconfigured(): void {}

  retried(): void {}

  deleteRequested(instance: InstanceRecord): void {
    this.registry.remove(instance.uid, instance.version, {
      actor: SERVICE_MANAGER_ACTOR,
      type: 'removed',
      message: 'Teardown confirmed: nothing was started for this instance.',
    });
  }

  async refresh(): Promise<boolean> {
    return false;
  }
}
