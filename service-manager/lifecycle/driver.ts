import { randomBytes } from 'node:crypto';
import type { Timers } from '../../lib/clock.js';
import { EVENTS_ATTRIBUTE, parseHealthEvents } from '../../lib/cluster/health.js';
import type { Logger } from '../../lib/logger.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { SERVICE_MANAGER_ACTOR, StaleInstance, type InstanceRecord, type InstanceRegistry } from '../registry/registry.js';
import { launchFor, soUrl, type LaunchSettings } from '../runtime/launch.js';
import type { PortPool } from '../runtime/ports.js';
import { SoStartFailed, type SoRuntime, type SoStatus } from '../runtime/runtime.js';
import { effectiveInputs, type Changes } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';
import { SoRejected, SoUnavailable, type SoClient, type SoEndpoint, type SoEntity } from '../so/client.js';
import { startsIn, type Failure, type PipelineMemo } from './memo.js';
import type { Orchestration } from './orchestration.js';
import { orchestratorParameters, parametersFingerprint } from './parameters.js';
import { decide, failureMessage, type Decision, type OnFailure, type PipelinePolicy, type SoObservation } from './pipeline.js';
import { IllegalTransition, isServing, MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE, type ServiceState } from './states.js';
import { messageOf } from '../../lib/errors.js';

const ON_FAILURE_ATTRIBUTE = 'mcn.service.on_failure';

export interface Pacing {
  /** First wait between two looks at an orchestrator; it grows while nothing changes. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  /** A GET of an instance asks its orchestrator when the last look is older than this. */
  readonly refreshMs: number;
}

export interface DriverDeps {
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly runtime: SoRuntime;
  readonly client: SoClient;
  readonly ports: PortPool;
  readonly launch: LaunchSettings;
  readonly policy: PipelinePolicy;
  readonly pacing: Pacing;
  readonly timers: Timers;
  readonly logger: Logger;
}

/** How long a GET waits for a fresh look before it answers with what is known. */
const REFRESH_WAIT_MS = 2000;
/** How long stopping waits for steps in flight. */
const STOP_WAIT_MS = 5000;

type Outcome = 'idle' | 'acted' | 'changed' | 'waiting';

interface Loop {
  ticking: boolean;
  /** Something happened during the current step: take another step at once. */
  again: boolean;
  wake?: () => void;
  waiters: Array<() => void>;
  done: Promise<void>;
}

/**
 * Drives every instance through its pipeline: one loop per instance that
 * observes the orchestrator, asks `decide` for the next step, performs it,
 * and waits a little (longer while nothing changes). A loop ends when its
 * instance is idle (ready and checked, failed and settled, or removed); the
 * API and the reconciler start it again with `kick`.
 */
export class PipelineDriver implements Orchestration {
  private readonly loops = new Map<string, Loop>();
  private readonly observedAt = new Map<string, number>();
  private readonly silentSince = new Map<string, number>();
  private stopping = false;

  constructor(private readonly deps: DriverDeps) {}

  created(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  reconfigured(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  /** A retry starts over with a fresh orchestrator, which adopts whatever VMs exist. */
  retried(instance: InstanceRecord): void {
    const { failure: _failure, ...memo } = instance.memo;
    this.deps.registry.setMemo(instance.uid, { ...memo, replace: true, starts: 0, teardowns: 0 });
    this.kick(instance.uid);
  }

  deleteRequested(instance: InstanceRecord): void {
    this.kick(instance.uid);
  }

  /** Waits (briefly) until the orchestrator was asked recently, so a GET shows fresh state. */
  async refresh(instance: InstanceRecord): Promise<void> {
    const { refreshMs } = this.deps.pacing;
    if (this.stopping || refreshMs === 0) return;
    if (this.deps.timers.now() - (this.observedAt.get(instance.uid) ?? -Infinity) <= refreshMs) return;
    await new Promise<void>((resolve) => {
      const cancel = this.deps.timers.schedule(REFRESH_WAIT_MS, resolve);
      const waiter = (): void => {
        cancel();
        resolve();
      };
      const running = this.loops.get(instance.uid);
      if (!running?.ticking) this.kick(instance.uid);
      const loop = this.loops.get(instance.uid);
      if (loop) loop.waiters.push(waiter);
      else waiter();
    });
  }

  /** Makes the instance's loop take a step now, starting it if it is not running. */
  kick(uid: string): void {
    if (this.stopping) return;
    const running = this.loops.get(uid);
    if (running) {
      running.again = true;
      running.wake?.();
      return;
    }
    const loop: Loop = { ticking: false, again: false, waiters: [], done: Promise.resolve() };
    this.loops.set(uid, loop);
    loop.done = this.run(uid, loop).finally(() => {
      this.loops.delete(uid);
      release(loop);
    });
  }

  /** When the instance's orchestrator was last looked at, on the pipeline's clock. */
  lastObserved(uid: string): number | undefined {
    return this.observedAt.get(uid);
  }

  /** Whether the instance's loop is running. */
  active(uid: string): boolean {
    return this.loops.has(uid);
  }

  /** Picks every instance up again, as after a restart: each is observed and continues from there. */
  resumeAll(): void {
    for (const instance of this.deps.registry.listAll()) this.kick(instance.uid);
  }

  /** Stops every loop; orchestrators keep running for the next service manager to adopt. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const loop of this.loops.values()) loop.wake?.();
    await Promise.race([Promise.all([...this.loops.values()].map((l) => l.done)), this.deps.timers.sleep(STOP_WAIT_MS)]);
  }

  private async run(uid: string, loop: Loop): Promise<void> {
    const { pollMinMs, pollMaxMs } = this.deps.pacing;
    let delay = pollMinMs;
    let previous: Outcome | undefined;
    while (!this.stopping) {
      loop.again = false;
      loop.ticking = true;
      let outcome: Outcome;
      try {
        outcome = await this.tick(uid);
      } catch (error) {
        outcome = this.unexpected(uid, error);
      } finally {
        loop.ticking = false;
      }
      release(loop);
      if (outcome === 'idle' && !loop.again) return;
      // The step after an action looks at once (the orchestrator answers synchronously); a run of actions slows down.
      delay = outcome === 'waiting' ? Math.min(Math.round(delay * 1.5), pollMaxMs) : outcome === 'acted' && previous !== 'acted' ? 0 : pollMinMs;
      previous = outcome;
      if (!loop.again && delay > 0) await this.pause(loop, delay);
    }
  }

  private pause(loop: Loop, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        cancel();
        loop.wake = undefined;
        resolve();
      };
      const cancel = this.deps.timers.schedule(ms, finish);
      loop.wake = finish;
    });
  }

  /** A step that threw: a concurrent change is simply looked at again; anything else is logged. */
  private unexpected(uid: string, error: unknown): Outcome {
    if (error instanceof StaleInstance || error instanceof IllegalTransition) return 'changed';
    this.deps.logger.error('pipeline step failed', { uid, error: error instanceof Error ? error.stack : String(error) });
    const state = this.deps.registry.byUid(uid)?.state;
    // Timed states end at their deadline; the others are picked up by the reconciler.
    return state === undefined || isServing(state) || state === 'failed' ? 'idle' : 'waiting';
  }

  private async tick(uid: string): Promise<Outcome> {
    let instance = this.deps.registry.byUid(uid);
    if (!instance) return 'idle';
    const seen = await this.observe(instance);
    this.observedAt.set(uid, this.deps.timers.now());
    if (seen.entity) instance = this.recordHealth(this.recordOutputs(instance, seen.entity), seen.entity);
    const decision = decide(
      {
        state: instance.state,
        ...(instance.failedPhase === undefined ? {} : { failedPhase: instance.failedPhase }),
        stateSince: instance.stateSince,
        memo: instance.memo,
        desired: parametersFingerprint(this.parameters(instance)),
        onFailure: this.onFailure(instance),
        so: seen.so,
        now: this.deps.timers.now(),
      },
      this.deps.policy,
    );
    return this.perform(instance, decision, seen.so);
  }

  private async observe(instance: InstanceRecord): Promise<{ so: SoObservation; entity?: SoEntity }> {
    const endpoint = this.endpoint(instance);
    if (!endpoint) return { so: { kind: 'absent' } };
    try {
      const entity = await this.deps.client.read(endpoint);
      this.silentSince.delete(instance.uid);
      return entity ? { so: { kind: 'stack', stack: entity.stack }, entity } : { so: { kind: 'fresh' } };
    } catch (error) {
      if (!(error instanceof SoUnavailable || error instanceof SoRejected)) throw error;
      const reason = error instanceof SoRejected ? `it refused the service manager: ${error.message}` : error.message;
      let status: SoStatus;
      try {
        status = await this.deps.runtime.status(instance.uid);
      } catch (failure) {
        return { so: this.silent(instance.uid, `${reason}; its runtime does not say why: ${messageOf(failure)}`) };
      }
      if (status.state === 'missing') return { so: { kind: 'absent' } };
      if (status.state === 'stopped') return { so: { kind: 'absent', exit: status.exit } };
      return { so: this.silent(instance.uid, reason) };
    }
  }

  private silent(uid: string, reason: string): SoObservation {
    const since = this.silentSince.get(uid) ?? this.deps.timers.now();
    this.silentSince.set(uid, since);
    return { kind: 'silent', reason, since };
  }

  private async perform(instance: InstanceRecord, decision: Decision, so: SoObservation): Promise<Outcome> {
    switch (decision.kind) {
      case 'start':
        return this.start(instance, decision.message, so);
      case 'replace':
        this.note(instance, decision.message);
        await this.deps.runtime.remove(instance.uid);
        this.deps.registry.setMemo(instance.uid, { ...this.current(instance).memo, replace: false });
        this.deps.logger.info('service orchestrator removed to be replaced', this.about(instance));
        return 'acted';
      case 'call':
        return this.call(instance, decision);
      case 'advance':
        this.transition(instance, decision.to, decision.message);
        return 'acted';
      case 'fail':
        this.fail(instance, decision.cause);
        return 'acted';
      case 'wait':
        return this.note(instance, decision.message) ? 'changed' : 'waiting';
      case 'cleaned':
        return this.cleaned(instance);
      case 'remove':
        return this.remove(instance);
      case 'idle':
        if (decision.message !== undefined) this.note(instance, decision.message);
        return 'idle';
    }
  }

  private async start(instance: InstanceRecord, message: string, so: SoObservation): Promise<Outcome> {
    const { memo } = instance;
    const lostPort = so.kind === 'absent' && so.exit?.includes('EADDRINUSE') === true;
    const token = memo.token ?? randomBytes(24).toString('base64url');
    let port: number;
    let launch;
    try {
      port = memo.port !== undefined && !lostPort ? memo.port : await this.deps.ports.allocate(this.heldPorts());
      launch = launchFor(this.deps.launch, instance, this.parameters(instance), { port, token });
    } catch (error) {
      return this.startFailed(instance, error instanceof SoStartFailed ? error : new SoStartFailed(messageOf(error), true));
    }
    // Recorded before the start, so a crash in between still knows an orchestrator may run.
    const recorded = this.deps.registry.setMemo(instance.uid, { ...memo, port, token, started: true, replace: false });
    this.note(recorded, message);
    try {
      await this.deps.runtime.start(launch);
    } catch (error) {
      return this.startFailed(this.current(recorded), error);
    }
    const now = this.deps.timers.now();
    const latest = this.current(recorded);
    this.deps.registry.setMemo(instance.uid, { ...latest.memo, startedAt: now, phase: instance.state, starts: startsIn(memo, instance.state) + 1 });
    this.silentSince.delete(instance.uid);
    this.deps.logger.info('service orchestrator started', { ...this.about(instance), runtime: this.deps.runtime.kind, port });
    return 'acted';
  }

  private startFailed(instance: InstanceRecord, error: unknown): Outcome {
    const reason = messageOf(error);
    this.deps.logger.warn('service orchestrator did not start', { ...this.about(instance), reason });
    if (error instanceof SoStartFailed && !error.retryable) {
      if (instance.state !== 'failed') {
        this.fail(instance, `cannot start the service orchestrator: ${reason}`);
        return 'acted';
      }
      if (instance.memo.failure) this.note(instance, failureMessage(instance.memo.failure, `cannot start an orchestrator to remove them: ${reason}`));
      return 'idle';
    }
    this.note(instance, `cannot start the service orchestrator (${reason}); trying again`);
    return isServing(instance.state) || instance.state === 'failed' ? 'idle' : 'waiting';
  }

  private async call(instance: InstanceRecord, decision: Extract<Decision, { kind: 'call' }>): Promise<Outcome> {
    const endpoint = this.endpoint(instance)!;
    const parameters = this.parameters(instance);
    let current = instance;
    try {
      switch (decision.call) {
        case 'init':
          await this.deps.client.init(endpoint, parameters);
          current = this.applied(instance, parameters);
          break;
        case 'update':
          await this.deps.client.update(endpoint, parameters);
          current = this.applied(instance, parameters);
          break;
        case 'deploy':
        case 'provision':
          await this.deps.client.act(endpoint, decision.call);
          break;
        case 'dispose':
          await this.deps.client.dispose(endpoint);
          break;
      }
    } catch (error) {
      if (error instanceof SoRejected && (decision.call === 'init' || decision.call === 'update')) {
        this.fail(instance, error.message);
        return 'acted';
      }
      if (!(error instanceof SoRejected || error instanceof SoUnavailable)) throw error;
      this.deps.logger.warn('orchestrator request did not succeed; looking again', { ...this.about(instance), call: decision.call, reason: error.message });
      return 'waiting';
    }
    this.deps.logger.info('orchestrator request', { ...this.about(instance), call: decision.call });
    if (decision.then) this.transition(current, decision.then, decision.message);
    else this.note(current, decision.message);
    return 'acted';
  }

  private applied(instance: InstanceRecord, parameters: Readonly<Record<string, AttributeValue>>): InstanceRecord {
    const latest = this.current(instance);
    return this.deps.registry.setMemo(instance.uid, { ...latest.memo, applied: parametersFingerprint(parameters) });
  }

  private transition(instance: InstanceRecord, to: ServiceState, message: string): void {
    this.deps.registry.change(
      instance.uid,
      instance.version,
      { state: to, stateMessage: message },
      { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: to, message },
    );
    this.deps.logger.info('instance state', { ...this.about(instance), state: to, message });
  }

  private fail(instance: InstanceRecord, cause: string): void {
    const teardown = instance.state === 'destroy';
    const failure: Failure = { cause, vms: !instance.memo.started ? 'none' : this.onFailure(instance) === 'keep' ? 'kept' : 'removing' };
    const message = teardown ? `Teardown failed: ${cause.replace(/[.\s]+$/, '')}. It is retried automatically.` : failureMessage(failure);
    const memo: PipelineMemo = teardown ? instance.memo : { ...instance.memo, failure };
    this.deps.registry.change(
      instance.uid,
      instance.version,
      { state: 'failed', failedPhase: instance.state, stateMessage: message, memo },
      { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: 'failed', message },
    );
    this.deps.logger.warn('instance failed', { ...this.about(instance), phase: instance.state, cause });
  }

  /** Replaces the state message when it says something new; true if it did. */
  private note(instance: InstanceRecord, message: string): boolean {
    const latest = this.current(instance);
    if (latest.stateMessage === message) return false;
    this.deps.registry.change(
      latest.uid,
      latest.version,
      { stateMessage: message },
      { actor: SERVICE_MANAGER_ACTOR, type: 'progress', message },
    );
    return true;
  }

  private async cleaned(instance: InstanceRecord): Promise<Outcome> {
    await this.deps.runtime.remove(instance.uid);
    const latest = this.current(instance);
    const failure: Failure = { cause: latest.memo.failure?.cause ?? latest.stateMessage, vms: latest.memo.started ? 'removed' : 'none' };
    const message = failureMessage(failure);
    this.deps.registry.change(
      latest.uid,
      latest.version,
      { stateMessage: message, memo: { ...latest.memo, failure } },
      { actor: SERVICE_MANAGER_ACTOR, type: 'progress', message },
    );
    this.deps.logger.info('failed instance cleaned up', this.about(instance));
    return 'idle';
  }

  private async remove(instance: InstanceRecord): Promise<Outcome> {
    await this.deps.runtime.remove(instance.uid);
    const latest = this.current(instance);
    this.deps.registry.remove(latest.uid, latest.version, {
      actor: SERVICE_MANAGER_ACTOR,
      type: 'removed',
      message: 'Teardown confirmed: no VM of the instance is left and its orchestrator is gone.',
    });
    if (latest.memo.port !== undefined) this.deps.ports.release(latest.memo.port);
    this.observedAt.delete(instance.uid);
    this.silentSince.delete(instance.uid);
    this.deps.logger.info('instance removed', this.about(instance));
    return 'idle';
  }

  /** Copies the orchestrator's outputs the manifest declares into the instance, when they changed. */
  private recordOutputs(instance: InstanceRecord, entity: SoEntity): InstanceRecord {
    const outputs: Record<string, AttributeValue> = {};
    for (const def of this.deps.type.attributes.values()) {
      if (!def.output || def.name === STATE_ATTRIBUTE || def.name === MESSAGE_ATTRIBUTE) continue;
      const value = entity.attributes[def.name];
      if (value !== undefined) outputs[def.name] = value;
    }
    const changes: Record<string, { from?: AttributeValue; to?: AttributeValue }> = {};
    for (const name of new Set([...Object.keys(outputs), ...Object.keys(instance.outputs)])) {
      const from = instance.outputs[name];
      const to = outputs[name];
      if (from !== to) changes[name] = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
    }
    if (Object.keys(changes).length === 0) return instance;
    return this.deps.registry.change(
      instance.uid,
      instance.version,
      { outputs },
      { actor: SERVICE_MANAGER_ACTOR, type: 'outputs_changed', changes: changes as Changes },
    );
  }

  /** Adds the orchestrator's health events not yet in the instance's history. */
  private recordHealth(instance: InstanceRecord, entity: SoEntity): InstanceRecord {
    const seen = instance.memo.healthSeen ?? { time: -Infinity, seq: 0 };
    const fresh = parseHealthEvents(entity.attributes[EVENTS_ATTRIBUTE]).filter((e) => e.time > seen.time || (e.time === seen.time && e.seq > seen.seq));
    const last = fresh.at(-1);
    if (!last) return instance;
    const events = fresh.map((e) => ({ actor: SERVICE_MANAGER_ACTOR, type: 'health' as const, message: e.message }));
    return this.deps.registry.recordEvents(instance.uid, events, { ...instance.memo, healthSeen: { time: last.time, seq: last.seq } });
  }

  private endpoint(instance: InstanceRecord): SoEndpoint | undefined {
    const { port, token } = instance.memo;
    if (port === undefined || token === undefined) return undefined;
    return { url: soUrl(this.deps.launch.host, port), tenant: instance.tenant, token };
  }

  private parameters(instance: InstanceRecord): Record<string, AttributeValue> {
    return orchestratorParameters(this.deps.type, instance.attributes);
  }

  private onFailure(instance: InstanceRecord): OnFailure {
    return effectiveInputs(this.deps.type, instance.attributes)[ON_FAILURE_ATTRIBUTE] === 'keep' ? 'keep' : 'delete';
  }

  private heldPorts(): Set<number> {
    return new Set(this.deps.registry.listAll().flatMap((i) => (i.memo.port === undefined ? [] : [i.memo.port])));
  }

  /** The instance as the registry has it now (the pipeline's own writes may have moved it on). */
  private current(instance: InstanceRecord): InstanceRecord {
    const latest = this.deps.registry.byUid(instance.uid);
    if (!latest) throw new StaleInstance(instance.id);
    return latest;
  }

  private about(instance: InstanceRecord): Record<string, string> {
    return { instance: instance.id, tenant: instance.tenant, uid: instance.uid };
  }
}

function release(loop: Loop): void {
  const waiters = loop.waiters.splice(0);
  for (const waiter of waiters) waiter();
}
