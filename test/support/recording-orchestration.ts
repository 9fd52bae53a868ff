import type { Orchestration } from '../../service-manager/lifecycle/orchestration.js';
import type { InstanceRecord } from '../../service-manager/registry/registry.js';
import type { Changes } from '../../service-manager/service-type/attributes.js';

/** An orchestration that only records what it was told, so tests decide when teardowns finish. */
export class RecordingOrchestration implements Orchestration {
  readonly calls: Array<{ readonly call: string; readonly id: string; readonly changes?: Changes }> = [];

  created(instance: InstanceRecord): void {
    this.calls.push({ call: 'created', id: instance.id });
  }

  reconfigured(instance: InstanceRecord, changes: Changes): void {
    this.calls.push({ call: 'reconfigured', id: instance.id, changes });
  }

  retried(instance: InstanceRecord): void {
    this.calls.push({ call: 'retried', id: instance.id });
  }

  deleteRequested(instance: InstanceRecord): void {
    this.calls.push({ call: 'deleteRequested', id: instance.id });
  }

  async refresh(): Promise<boolean> {
    return false;
  }
}
