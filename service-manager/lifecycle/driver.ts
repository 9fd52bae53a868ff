import { StaleInstance, type InstanceRecord } from '../registry/registry.js';
import { effectiveInputs } from '../service-type/attributes.js';
import { Actuator, type ActuatorDeps } from './actuator.js';
import { KeyedLoop, type StepOutcome } from './keyed-loop.js';
import { SoObserver } from './observer.js';
import type { Orchestration } from './orchestration.js';
import { orchestratorParameters, parametersFingerprint } from './parameters.js';
import { decide, type OnFailure, type PipelinePolicy } from './pipeline.js';
import { IllegalTransition, isServing } from '../model/states.js';

const ON_FAILURE_ATTRIBUTE = 'mcn.service.on_failure';

export interface Pacing {
  /** First wait between two looks at an orchestrator; it grows while nothing changes. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  /** A GET of an instance asks its orchestrator when the last look is older than this. */
  readonly refreshMs: number;
  /** Steps (looks and actions) of all instances running at once. */
  readonly maxRunning: number;
}

export interface DriverDeps extends Omit<ActuatorDeps, 'observer'> {
  readonly policy: PipelinePolicy;
  readonly pacing: Pacing;
}

/** How long a GET waits for a fresh look before it answers with what is known. */
const REFRESH_WAIT_MS = 2000;
/** How long stopping waits for steps in flight. */
const STOP_WAIT_MS = 5000;

/**
 * Drives every instance through its pipeline, one keyed loop per instance:
 * each step observes the orchestrator, asks `decide` for the next step and
 * has the actuator perform it. A loop ends when its instance is idle (ready
 * and checked, failed and settled, or removed); the API and the reconciler
 * start it again with `kick`.
 */
export class PipelineDriver implements Orchestration {
  private readonly observer: SoObserver;
  private readonly actuator: Actuator;
  private readonly loop: KeyedLoop;

  constructor(private readonly deps: DriverDeps) {
    this.observer = new SoObserver({ client: deps.client, runtime: deps.runtime, timers: deps.timers, host: deps.launch.host, keyFor: deps.launch.keyFor });
    this.actuator = new Actuator({ ...deps, observer: this.observer });
    this.loop = new KeyedLoop((uid) => this.step(uid), {
      timers: deps.timers,
      pollMinMs: deps.pacing.pollMinMs,
      pollMaxMs: deps.pacing.pollMaxMs,
      maxRunning: deps.pacing.maxRunning,
      onError: (uid, error) => this.unexpected(uid, error),
    });
  }

  created(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  reconfigured(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  /** The instance left failed for the phase that failed: the pipeline starts over with a fresh orchestrator. */
  retried(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  deleteRequested(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  /** Waits (briefly) until the orchestrator was asked recently, so a GET shows fresh state. */
  async refresh(instance: InstanceRecord): Promise<boolean> {
    const { refreshMs } = this.deps.pacing;
    if (refreshMs === 0) return false;
    if (this.deps.timers.now() - (this.observer.lastObserved(instance.uid) ?? -Infinity) <= refreshMs) return false;
    await this.loop.stepped(instance.uid, REFRESH_WAIT_MS);
    return true;
  }

  /** Makes the instance's loop take a step now, starting it if it is not running. */
  kick(uid: string): void {
    this.loop.kick(uid);
  }

  /** Whether the instance's loop is running. */
  active(uid: string): boolean {
    return this.loop.active(uid);
  }

  /** When the instance's orchestrator was last looked at, on the pipeline's clock. */
  lastObserved(uid: string): number | undefined {
    return this.observer.lastObserved(uid);
  }

  /** Picks every instance up again, as after a restart: each is observed and continues from there. */
  resumeAll(): void {
    for (const instance of this.deps.registry.liveStates()) this.kick(instance.uid);
  }

  /** Stops every loop; orchestrators keep running for the next service manager to adopt. */
  stop(): Promise<void> {
    return this.loop.stop(STOP_WAIT_MS);
  }

  private async step(uid: string): Promise<StepOutcome> {
    let instance = this.deps.registry.byUid(uid);
    if (!instance) return 'idle';
    const seen = await this.observer.observe(instance);
    instance = this.deps.registry.byUid(uid);
    if (!instance) return 'idle';
    if (seen.entity) instance = this.actuator.record(instance, seen.entity);
    const decision = decide(
      {
        state: instance.state,
        ...(instance.failedPhase === undefined ? {} : { failedPhase: instance.failedPhase }),
        stateSince: instance.stateSince,
        memo: instance.memo,
        desired: parametersFingerprint(orchestratorParameters(this.deps.type, instance.attributes)),
        onFailure: this.onFailure(instance),
        so: seen.so,
        now: this.deps.timers.now(),
      },
      this.deps.policy,
    );
    return this.actuator.perform(instance, decision);
  }

  /** A step that threw: a concurrent change is simply looked at again; anything else is logged. */
  private unexpected(uid: string, error: unknown): StepOutcome {
    if (error instanceof StaleInstance || error instanceof IllegalTransition) return 'changed';
    this.deps.logger.error('pipeline step failed', { uid, error: error instanceof Error ? error.stack : String(error) });
    const state = this.deps.registry.byUid(uid)?.state;
    // Timed states end at their deadline; the others are picked up by the reconciler.
    return state === undefined || isServing(state) || state === 'failed' ? 'idle' : 'waiting';
  }

  private onFailure(instance: InstanceRecord): OnFailure {
    return effectiveInputs(this.deps.type, instance.attributes)[ON_FAILURE_ATTRIBUTE] === 'keep' ? 'keep' : 'delete';
  }
}
