import type { Timers } from '../../lib/clock.js';
import { EVENTS_ATTRIBUTE, parseHealthEvents, type HealthEventKind } from '../../lib/cluster/health.js';
import { messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { SERVICE_MANAGER_ACTOR, StaleInstance, type InstanceRecord, type InstanceRegistry } from '../registry/registry.js';
import { launchFor, type LaunchSettings } from '../runtime/launch.js';
import type { PortPool } from '../runtime/ports.js';
import { SoStartFailed, type SoRuntime } from '../runtime/runtime.js';
import type { ServiceType } from '../service-type/manifest.js';
import { SoRejected, SoUnavailable, type SoClient, type SoEntity } from '../so/client.js';
import type { StepOutcome } from './keyed-loop.js';
import { startsIn, type Failure, type PipelineMemo } from '../model/memo.js';
import type { SoObserver } from './observer.js';
import { orchestratorParameters, parametersFingerprint } from './parameters.js';
import { failureMessage, type Decision } from './pipeline.js';
import { MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE, type ServiceState } from '../model/states.js';

export interface ActuatorDeps {
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly runtime: SoRuntime;
  readonly client: SoClient;
  readonly ports: PortPool;
  readonly launch: LaunchSettings;
  readonly observer: SoObserver;
  readonly timers: Timers;
  readonly logger: Logger;
  /** Hears of each health event an orchestrator reported, once, as it is recorded. */
  readonly healthReported?: (kind: HealthEventKind) => void;
}

/**
 * Carries out the pipeline's decisions, and records what an orchestrator
 * reported, in the registry: it decides nothing. What it learns by acting
 * (a start that failed, parameters the orchestrator refused) goes into the
 * memo for the next decision. Every write starts from the instance as the
 * registry has it after the last await.
 */
export class Actuator {
  constructor(private readonly deps: ActuatorDeps) {}

  async perform(instance: InstanceRecord, decision: Decision): Promise<StepOutcome> {
    switch (decision.kind) {
      case 'start':
        return this.start(instance, decision);
      case 'replace':
        this.note(instance, decision.message);
        await this.deps.runtime.remove(instance.uid);
        this.deps.logger.info('service orchestrator removed to be replaced', about(instance));
        return 'acted';
      case 'renew':
        this.renew(instance, decision);
        return 'acted';
      case 'call':
        return this.call(instance, decision);
      case 'advance':
        this.transition(instance, decision.to, decision.message);
        return 'acted';
      case 'fail':
        this.fail(instance, decision);
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

  /** Copies what the orchestrator reports into the instance: its declared outputs and its new health events. */
  record(instance: InstanceRecord, entity: SoEntity): InstanceRecord {
    return this.recordHealth(this.recordOutputs(instance, entity), entity);
  }

  private async start(instance: InstanceRecord, decision: Extract<Decision, { kind: 'start' }>): Promise<StepOutcome> {
    const { memo } = instance;
    const generation = memo.generation ?? 1;
    let port: number;
    let launch;
    try {
      port = !decision.newPort && memo.port !== undefined ? memo.port : await this.deps.ports.allocate(this.heldPorts());
      launch = launchFor(this.deps.launch, instance, this.parameters(instance), { port, generation });
    } catch (error) {
      return this.startFailed(this.current(instance), error instanceof SoStartFailed ? error : new SoStartFailed(messageOf(error), true));
    }
    // Recorded before the start, so a crash in between still knows an orchestrator of this generation may run.
    const before = this.current(instance);
    const recorded = this.deps.registry.setMemo(instance.uid, { ...before.memo, port, started: true, running: generation });
    this.note(recorded, decision.message);
    try {
      await this.deps.runtime.start(launch);
    } catch (error) {
      return this.startFailed(this.current(recorded), error);
    }
    const { startError: _startError, ...latest } = this.current(recorded).memo;
    this.deps.registry.setMemo(instance.uid, {
      ...latest,
      startedAt: this.deps.timers.now(),
      phase: instance.state,
      starts: startsIn(latest, instance.state) + 1,
    });
    this.deps.logger.info('service orchestrator started', { ...about(instance), runtime: this.deps.runtime.kind, port });
    return 'acted';
  }

  private startFailed(instance: InstanceRecord, error: unknown): StepOutcome {
    const reason = messageOf(error);
    const retryable = !(error instanceof SoStartFailed) || error.retryable;
    this.deps.logger.warn('service orchestrator did not start', { ...about(instance), reason });
    this.deps.registry.setMemo(instance.uid, { ...instance.memo, startError: { reason, retryable } });
    return retryable ? 'waiting' : 'changed';
  }

  /** A fresh orchestrator is wanted: for a retry (its failure forgotten), or for another try at a teardown (counted). */
  private renew(instance: InstanceRecord, decision: Extract<Decision, { kind: 'renew' }>): void {
    const latest = this.current(instance);
    const { failure: _failure, startError: _startError, rejected: _rejected, ...rest } = latest.memo;
    const generation = (latest.memo.generation ?? 1) + 1;
    const memo: PipelineMemo =
      decision.reason === 'retry'
        ? { ...rest, generation, starts: 0, teardowns: 0 }
        : {
            ...rest,
            ...(latest.memo.failure ? { failure: latest.memo.failure } : {}),
            generation,
            starts: 0,
            teardowns: (latest.memo.teardowns ?? 0) + 1,
            retriedAt: this.deps.timers.now(),
          };
    if (decision.to) {
      // The version decided on: a request that changed the instance meanwhile makes the step look again.
      this.deps.registry.change(
        latest.uid,
        instance.version,
        { state: decision.to, failedPhase: null, stateMessage: decision.message, memo },
        { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: decision.to, message: decision.message },
      );
    } else {
      this.deps.registry.setMemo(latest.uid, memo);
    }
    this.deps.logger.info(decision.message, { ...about(instance), generation });
  }

  private async call(instance: InstanceRecord, decision: Extract<Decision, { kind: 'call' }>): Promise<StepOutcome> {
    const endpoint = this.deps.observer.endpoint(instance)!;
    const parameters = this.parameters(instance);
    try {
      switch (decision.call) {
        case 'init':
          await this.deps.client.init(endpoint, parameters);
          break;
        case 'update':
          await this.deps.client.update(endpoint, parameters);
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
        this.deps.registry.setMemo(instance.uid, { ...this.current(instance).memo, rejected: error.message });
        return 'changed';
      }
      if (!(error instanceof SoRejected || error instanceof SoUnavailable)) throw error;
      this.deps.logger.warn('orchestrator request did not succeed; looking again', { ...about(instance), call: decision.call, reason: error.message });
      return 'waiting';
    }
    this.deps.logger.info('orchestrator request', { ...about(instance), call: decision.call });
    let current = this.current(instance);
    if (decision.call === 'init' || decision.call === 'update') {
      current = this.deps.registry.setMemo(instance.uid, { ...current.memo, applied: parametersFingerprint(parameters) });
    }
    if (decision.then) this.transition(current, decision.then, decision.message);
    else this.note(current, decision.message);
    return 'acted';
  }

  private transition(instance: InstanceRecord, to: ServiceState, message: string): void {
    this.deps.registry.change(
      instance.uid,
      instance.version,
      { state: to, stateMessage: message },
      { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: to, message },
    );
    this.deps.logger.info('instance state', { ...about(instance), state: to, message });
  }

  private fail(instance: InstanceRecord, decision: Extract<Decision, { kind: 'fail' }>): void {
    const latest = this.current(instance);
    const { rejected: _rejected, ...memo } = latest.memo;
    const failure: Failure | undefined = decision.vms === undefined ? undefined : { cause: decision.cause, vms: decision.vms };
    const message = failure ? failureMessage(failure) : `Teardown failed: ${decision.cause.replace(/[.\s]+$/, '')}. It is retried automatically.`;
    this.deps.registry.change(
      latest.uid,
      instance.version,
      { state: 'failed', failedPhase: latest.state, stateMessage: message, memo: failure ? { ...memo, failure } : memo },
      { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: 'failed', message },
    );
    this.deps.logger.warn('instance failed', { ...about(instance), phase: latest.state, cause: decision.cause });
  }

  /** Replaces the state message when it says something new; true if it did. */
  private note(instance: InstanceRecord, message: string): boolean {
    const latest = this.current(instance);
    if (latest.stateMessage === message) return false;
    this.deps.registry.change(latest.uid, latest.version, { stateMessage: message }, { actor: SERVICE_MANAGER_ACTOR, type: 'progress', message });
    return true;
  }

  private async cleaned(instance: InstanceRecord): Promise<StepOutcome> {
    await this.deps.runtime.remove(instance.uid);
    const latest = this.current(instance);
    const failure: Failure = { cause: latest.memo.failure?.cause ?? latest.stateMessage, vms: latest.memo.started ? 'removed' : 'none' };
    const message = failureMessage(failure);
    // Its orchestrator is gone, so its port goes back to the pool at once; a retry takes a new one.
    const { port, ...memo } = latest.memo;
    this.deps.registry.change(
      latest.uid,
      latest.version,
      { stateMessage: message, memo: { ...memo, failure } },
      { actor: SERVICE_MANAGER_ACTOR, type: 'progress', message },
    );
    if (port !== undefined) this.deps.ports.release(port);
    this.deps.logger.info('failed instance cleaned up', about(instance));
    return 'idle';
  }

  private async remove(instance: InstanceRecord): Promise<StepOutcome> {
    await this.deps.runtime.remove(instance.uid);
    const latest = this.current(instance);
    this.deps.registry.remove(latest.uid, latest.version, {
      actor: SERVICE_MANAGER_ACTOR,
      type: 'removed',
      message: 'Teardown confirmed: no VM of the instance is left and its orchestrator is gone.',
    });
    if (latest.memo.port !== undefined) this.deps.ports.release(latest.memo.port);
    this.deps.observer.forget(instance.uid);
    this.deps.logger.info('instance removed', about(instance));
    return 'idle';
  }

  /** Copies the orchestrator's outputs the manifest declares into the instance, when they changed. */
  private recordOutputs(instance: InstanceRecord, entity: SoEntity): InstanceRecord {
    const outputs: Record<string, AttributeValue> = {};
    for (const def of this.deps.type.attributes.values()) {
      if (!def.output || def.secret || def.name === STATE_ATTRIBUTE || def.name === MESSAGE_ATTRIBUTE) continue;
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
    return this.deps.registry.change(instance.uid, instance.version, { outputs }, { actor: SERVICE_MANAGER_ACTOR, type: 'outputs_changed', changes: changes });
  }

  /** Adds the orchestrator's health events not yet in the instance's history. */
  private recordHealth(instance: InstanceRecord, entity: SoEntity): InstanceRecord {
    const seen = instance.memo.healthSeen ?? { time: -Infinity, seq: 0 };
    const fresh = parseHealthEvents(entity.attributes[EVENTS_ATTRIBUTE]).filter((e) => e.time > seen.time || (e.time === seen.time && e.seq > seen.seq));
    const last = fresh.at(-1);
    if (!last) return instance;
    const events = fresh.map((e) => ({ actor: SERVICE_MANAGER_ACTOR, type: 'health' as const, message: e.message }));
    const recorded = this.deps.registry.recordEvents(instance.uid, events, { ...instance.memo, healthSeen: { time: last.time, seq: last.seq } });
    for (const event of fresh) this.deps.healthReported?.(event.kind);
    return recorded;
  }

  private parameters(instance: InstanceRecord): Record<string, AttributeValue> {
    return orchestratorParameters(this.deps.type, instance.attributes);
  }

  /** Ports of instances whose orchestrator may run; a failure cleaned up has none. */
  private heldPorts(): Set<number> {
    const gone = (p: { state: string; failedVms?: Failure['vms'] }): boolean => p.state === 'failed' && (p.failedVms === 'removed' || p.failedVms === 'none');
    return new Set(this.deps.registry.recordedPorts().flatMap((p) => (gone(p) ? [] : [p.port])));
  }

  /** The instance as the registry has it now (the pipeline's own writes, or a request, may have moved it on). */
  private current(instance: InstanceRecord): InstanceRecord {
    const latest = this.deps.registry.byUid(instance.uid);
    if (!latest) throw new StaleInstance(instance.id);
    return latest;
  }
}

function about(instance: InstanceRecord): Record<string, string> {
  return { instance: instance.id, tenant: instance.tenant, uid: instance.uid };
}
