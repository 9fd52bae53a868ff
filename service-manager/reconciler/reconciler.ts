import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { PipelineDriver } from '../lifecycle/driver.js';
import type { InstanceRegistry } from '../registry/registry.js';
import { STATES } from '../model/states.js';
import type { SoRuntime } from '../runtime/runtime.js';
import type { VmSweeper } from './vm-sweep.js';

export interface ReconcilerDeps {
  readonly registry: InstanceRegistry;
  readonly driver: PipelineDriver;
  readonly runtime: SoRuntime;
  readonly sweeper: VmSweeper;
  readonly clock: Clock;
  /** How long a removed instance's history is kept. */
  readonly retentionMs: number;
  readonly logger: Logger;
}

/** Every state but failed: the instances a resync looks at. */
const UNFAILED = STATES.filter((state) => state !== 'failed');

/**
 * The periodic checks that keep the registry and the world in agreement when
 * no request arrives: each is a plain method (the cron schedule only calls
 * them) and returns how many instances, orchestrators or VMs it acted on.
 * What to do about an instance is the pipeline's decision; the checks only
 * make it look.
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
    return this.kickIdle(this.deps.registry.inStates(UNFAILED));
  }

  /**
   * Looks at the failed instances with something left to try again: the pipeline tries a failed teardown or
   * clean-up (on_failure=delete) again with a fresh orchestrator once its
   * back-off has passed.
   */
  retries(): number {
    return this.kickIdle(this.deps.registry.awaitingRetry());
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

  /** Deletes instances removed longer ago than the retention, with their histories. */
  prune(): number {
    return this.deps.registry.prune(this.deps.clock.now() - this.deps.retentionMs);
  }

  /** Makes the loops of these instances take a step, unless they are running already. */
  private kickIdle(uids: readonly string[]): number {
    let kicked = 0;
    for (const uid of uids) {
      if (this.deps.driver.active(uid)) continue;
      this.deps.driver.kick(uid);
      kicked++;
    }
    return kicked;
  }
}
