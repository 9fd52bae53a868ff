import type { Timers } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { PipelineDriver } from '../lifecycle/driver.js';
import type { PipelinePolicy } from '../lifecycle/pipeline.js';
import { SERVICE_MANAGER_ACTOR, type InstanceRecord, type InstanceRegistry } from '../registry/registry.js';
import type { SoRuntime } from '../runtime/runtime.js';
import type { VmSweeper } from './vm-sweep.js';

export interface ReconcilerDeps {
  readonly registry: InstanceRegistry;
  readonly driver: PipelineDriver;
  readonly runtime: SoRuntime;
  readonly sweeper: VmSweeper;
  readonly policy: PipelinePolicy;
  /** First wait before a failed teardown is retried; it doubles with each attempt. */
  readonly retryAfterMs: number;
  readonly timers: Timers;
  readonly logger: Logger;
}

const MAX_RETRY_WAIT_MS = 3_600_000;

/**
 * The periodic checks that keep the registry and the world in agreement when
 * no request arrives: each is a plain method (the cron schedule only calls
 * them) and returns how many instances, orchestrators or VMs it acted on.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Looks at every instance whose loop is not running, as if a request had
   * come: the pipeline restarts an orchestrator that stopped (the new one
   * picks its cluster up from the CloudStack tags), fails a phase past its
   * deadline, and follows a ready cluster's health (degraded, healed, its
   * outputs and events).
   */
  resync(): number {
    return this.kickWhere((i) => i.state !== 'failed');
  }

  /**
   * Failed teardowns, and clean-ups of failed instances (on_failure=delete),
   * are tried again with a fresh orchestrator, waiting longer each time.
   */
  retries(): number {
    let retried = 0;
    const now = this.deps.timers.now();
    for (const instance of this.deps.registry.listAll()) {
      if (instance.state !== 'failed' || this.deps.driver.active(instance.uid)) continue;
      const teardown = instance.failedPhase === 'destroy';
      if (!teardown && instance.memo.failure?.vms !== 'removing') continue;
      const attempts = instance.memo.teardowns ?? 0;
      const wait = Math.min(this.deps.retryAfterMs * 2 ** attempts, MAX_RETRY_WAIT_MS);
      if (now < (instance.memo.retriedAt ?? instance.stateSince) + wait) continue;
      const memo = { ...instance.memo, replace: true, starts: 0, teardowns: attempts + 1, retriedAt: now };
      const message = teardown ? `Retrying the teardown (attempt ${attempts + 2}).` : instance.stateMessage;
      this.deps.registry.change(
        instance.uid,
        instance.version,
        teardown ? { state: 'destroy', failedPhase: null, stateMessage: message, memo } : { memo },
        { actor: SERVICE_MANAGER_ACTOR, type: teardown ? 'state_changed' : 'progress', ...(teardown ? { state: 'destroy' as const } : {}), message },
      );
      this.deps.logger.info(teardown ? 'retrying a failed teardown' : 'retrying the clean-up of a failed instance', {
        instance: instance.id,
        tenant: instance.tenant,
        attempt: attempts + 2,
      });
      this.deps.driver.kick(instance.uid);
      retried++;
    }
    return retried;
  }

  /** Removes orchestrators that belong to no live instance (left by a crash between two steps). */
  async orphans(): Promise<number> {
    let removed = 0;
    for (const so of await this.deps.runtime.list()) {
      if (this.deps.registry.byUid(so.uid)) continue;
      await this.deps.runtime.remove(so.uid);
      this.deps.logger.warn('removed an orchestrator that belongs to no instance', { uid: so.uid, runtime: this.deps.runtime.kind });
      removed++;
    }
    return removed;
  }

  /** Destroys VMs tagged with this service manager and an instance that no longer exists. */
  sweepVms(): Promise<number> {
    return this.deps.sweeper.sweep();
  }

  private kickWhere(wanted: (instance: InstanceRecord) => boolean): number {
    let kicked = 0;
    for (const instance of this.deps.registry.listAll()) {
      if (!wanted(instance) || this.deps.driver.active(instance.uid)) continue;
      this.deps.driver.kick(instance.uid);
      kicked++;
    }
    return kicked;
  }
}
