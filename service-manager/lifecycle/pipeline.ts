import type { SoAction, StackState, StackView } from '../../lib/hurtle/protocol.js';
import { outdated, startsIn, type Failure, type PipelineMemo } from '../model/memo.js';
import { isServing, type ServiceState, type TimedState } from '../model/states.js';

/**
 * The per-instance pipeline as a pure decision: given the instance's state
 * and what its orchestrator shows right now, the one next step. The driver
 * observes, asks, performs the step and asks again, so a restarted service
 * manager, a restarted orchestrator or a retry all continue from whatever
 * is actually there.
 */

/** What the service manager sees of an instance's orchestrator at one moment. */
export type SoObservation =
  /**
   * None runs: never started, stopped, or removed. `taken` says why its
   * port is no longer its own (something else answers there).
   */
  | { readonly kind: 'absent'; readonly exit?: string; readonly taken?: string }
  /**
   * It runs but gives no answer it can prove is its own; `since` is when
   * that was first seen, `unproven` when something did answer.
   */
  | { readonly kind: 'silent'; readonly reason: string; readonly since: number; readonly unproven?: boolean }
  /** It answers but was not initialised (no PUT yet, or it restarted). */
  | { readonly kind: 'fresh' }
  | { readonly kind: 'stack'; readonly stack: StackView };

export type OnFailure = 'delete' | 'keep';

export interface Situation {
  readonly state: ServiceState;
  readonly failedPhase?: ServiceState;
  readonly stateSince: number;
  readonly memo: PipelineMemo;
  /** Fingerprint of the parameters the instance has now. */
  readonly desired: string;
  readonly onFailure: OnFailure;
  readonly so: SoObservation;
  readonly now: number;
}

export interface PipelinePolicy {
  /** How long each state may last before the instance fails. */
  readonly deadlinesMs: Readonly<Record<TimedState, number>>;
  /** How long an orchestrator may stay silent before it is replaced. */
  readonly startTimeoutMs: number;
  /** Orchestrator starts allowed in one state; more is a crash loop. */
  readonly maxStarts: number;
  /** First wait before a failed teardown or clean-up is tried again; it doubles each time, up to an hour. */
  readonly teardownRetryMs: number;
}

export type SoCall = 'init' | SoAction | 'update' | 'dispose';

export type Decision =
  /** Start an orchestrator, on the instance's port or (when it was lost) a new one. */
  | { readonly kind: 'start'; readonly message: string; readonly newPort: boolean }
  /** Remove the orchestrator; a fresh one is started next. */
  | { readonly kind: 'replace'; readonly message: string }
  /**
   * Want a fresh orchestrator: after a retry (the failure is forgotten and
   * the starts counted anew), or for another try at a failed teardown or
   * clean-up (counted, and moved back to `to`).
   */
  | { readonly kind: 'renew'; readonly reason: 'retry' | 'teardown'; readonly message: string; readonly to?: ServiceState }
  | { readonly kind: 'call'; readonly call: SoCall; readonly message: string; readonly then?: ServiceState }
  | { readonly kind: 'advance'; readonly to: ServiceState; readonly message: string }
  /** Fail the instance; `vms` says what becomes of its VMs, absent when a teardown failed (it is tried again). */
  | { readonly kind: 'fail'; readonly cause: string; readonly vms?: Failure['vms'] }
  | { readonly kind: 'wait'; readonly message: string }
  /** The VMs of a failed instance are gone (on_failure=delete): remove its orchestrator too. */
  | { readonly kind: 'cleaned' }
  /** The teardown is confirmed: remove the orchestrator, then the instance. */
  | { readonly kind: 'remove' }
  /** Nothing to do until something changes; the message, if any, replaces the current one. */
  | { readonly kind: 'idle'; readonly message?: string };

const MAX_TEARDOWN_WAIT_MS = 3_600_000;

const DELETE_STATES: ReadonlySet<StackState> = new Set(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE', 'DELETE_FAILED']);

export function decide(s: Situation, policy: PipelinePolicy): Decision {
  if (outdated(s.memo)) {
    return s.so.kind === 'absent'
      ? { kind: 'start', message: 'starting a fresh service orchestrator', newPort: newPort(s) }
      : { kind: 'replace', message: 'replacing the service orchestrator with a fresh one' };
  }
  if (s.state === 'failed') return afterFailure(s, policy);
  if (s.state === 'destroy') return teardown(s, policy);
  return towardsReady(s, policy);
}

function towardsReady(s: Situation, policy: PipelinePolicy): Decision {
  // Out of failed and no longer failed: a retry, which starts over with a fresh orchestrator.
  if (s.memo.failure) return { kind: 'renew', reason: 'retry', message: 'starting over with a fresh service orchestrator' };
  const present = overdue(s, policy) ?? presence(s, policy);
  if (present) return present;
  if (s.memo.rejected) return failing(s, s.memo.rejected);
  if (s.state === 'initialise') return { kind: 'advance', to: 'activate', message: 'initialising the service orchestrator' };
  if (s.so.kind !== 'stack') return { kind: 'call', call: 'init', message: 'initialising the service orchestrator' };
  const { stack } = s.so;
  const current = s.memo.applied === s.desired;
  const early = s.state === 'activate' || s.state === 'deploy';
  switch (stack.state) {
    case 'uninitialized':
      if (stack.actions.includes('deploy')) {
        return { kind: 'call', call: 'deploy', message: 'creating the VMs', ...(s.state === 'activate' ? { then: 'deploy' as const } : {}) };
      }
      return progress(s, stack);
    case 'CREATE_IN_PROGRESS':
      return s.state === 'activate' ? { kind: 'advance', to: 'deploy', message: detail(stack) } : progress(s, stack);
    case 'CREATE_COMPLETE':
      if (stack.actions.includes('provision')) {
        return { kind: 'call', call: 'provision', message: 'every VM runs; checking that the cluster works', ...(early ? { then: 'provision' as const } : {}) };
      }
      return early ? { kind: 'advance', to: 'provision', message: detail(stack) } : progress(s, stack);
    case 'UPDATE_IN_PROGRESS':
      return early ? { kind: 'advance', to: 'provision', message: detail(stack) } : progress(s, stack);
    case 'UPDATE_COMPLETE':
      if (!current) return applyChanges(s);
      return serving(s, stack);
    case 'UPDATE_FAILED':
      if (!current && (isServing(s.state) || s.state === 'update')) return applyChanges(s);
      return failing(s, detail(stack));
    case 'CREATE_FAILED':
      return failing(s, detail(stack));
    case 'DELETE_IN_PROGRESS':
    case 'DELETE_COMPLETE':
    case 'DELETE_FAILED':
      return { kind: 'replace', message: 'replacing a service orchestrator that was disposed' };
  }
}

/**
 * A built cluster: ready or degraded as the orchestrator's watch finds it,
 * with its words; a provisioning or update that ends degraded goes to ready
 * first, since degraded is entered from ready.
 */
function serving(s: Situation, stack: StackView): Decision {
  const wanted: ServiceState = stack.health === 'degraded' && isServing(s.state) ? 'degraded' : 'ready';
  if (s.state !== wanted) return { kind: 'advance', to: wanted, message: detail(stack) };
  return stack.message ? { kind: 'idle', message: stack.message } : { kind: 'idle' };
}

function applyChanges(s: Situation): Decision {
  return { kind: 'call', call: 'update', message: 'applying the changed attributes', ...(s.state === 'update' ? {} : { then: 'update' as const }) };
}

function teardown(s: Situation, policy: PipelinePolicy): Decision {
  const late = overdue(s, policy);
  if (late) return late;
  if (!s.memo.started) return { kind: 'remove' };
  const present = presence(s, policy);
  if (present) return present;
  if (s.so.kind !== 'stack' || !DELETE_STATES.has(s.so.stack.state)) {
    return { kind: 'call', call: 'dispose', message: 'removing the cluster' };
  }
  const { stack } = s.so;
  if (stack.state === 'DELETE_COMPLETE') return { kind: 'remove' };
  if (stack.state === 'DELETE_FAILED') return failing(s, detail(stack));
  return { kind: 'wait', message: detail(stack) };
}

/**
 * A failed instance: with on_failure=delete its VMs are removed, and it
 * stays visible as failed. A clean-up or teardown that cannot finish now is
 * tried again with a fresh orchestrator, waiting longer each time.
 */
function afterFailure(s: Situation, policy: PipelinePolicy): Decision {
  const failure = s.memo.failure;
  if (s.failedPhase === 'destroy') {
    const attempt = (s.memo.teardowns ?? 0) + 2;
    return due(s, policy) ? { kind: 'renew', reason: 'teardown', to: 'destroy', message: `Retrying the teardown (attempt ${attempt}).` } : { kind: 'idle' };
  }
  if (!awaitsRetry(s.failedPhase, failure?.vms) || failure === undefined) return { kind: 'idle' };
  if (!s.memo.started) return { kind: 'cleaned' };
  const later = (why: string): Decision =>
    due(s, policy)
      ? { kind: 'renew', reason: 'teardown', message: failureMessage(failure) }
      : { kind: 'idle', message: failureMessage(failure, `${why}; tried again later`) };
  const present = presence(s, policy);
  if (present?.kind === 'fail') return later(present.cause);
  if (present) return { ...present, message: failureMessage(failure, present.message) };
  if (s.so.kind !== 'stack' || !DELETE_STATES.has(s.so.stack.state)) {
    return { kind: 'call', call: 'dispose', message: failureMessage(failure) };
  }
  const { stack } = s.so;
  if (stack.state === 'DELETE_COMPLETE') return { kind: 'cleaned' };
  if (stack.state === 'DELETE_FAILED') return later(detail(stack));
  return { kind: 'wait', message: failureMessage(failure, detail(stack)) };
}

/**
 * Whether a failed instance has something left to try again: its teardown,
 * or the clean-up of its VMs. Any other failed instance stays as it is until
 * a client retries or deletes it, so periodic checks pass it by.
 */
export function awaitsRetry(failedPhase: ServiceState | undefined, failedVms: Failure['vms'] | undefined): boolean {
  return failedPhase === 'destroy' || failedVms === 'removing';
}

/** Whether the next try of a failed teardown or clean-up is due: the wait doubles with each try, up to an hour. */
function due(s: Situation, policy: PipelinePolicy): boolean {
  const wait = Math.min(policy.teardownRetryMs * 2 ** (s.memo.teardowns ?? 0), MAX_TEARDOWN_WAIT_MS);
  return s.now >= (s.memo.retriedAt ?? s.stateSince) + wait;
}

/** A failure in the current state, with what becomes of the VMs. */
function failing(s: Situation, cause: string): Extract<Decision, { kind: 'fail' }> {
  if (s.state === 'destroy') return { kind: 'fail', cause };
  return { kind: 'fail', cause, vms: !s.memo.started ? 'none' : s.onFailure === 'keep' ? 'kept' : 'removing' };
}

/** A lost port (someone else took it while the orchestrator was down, or before it started) is given up for a new one. */
function newPort(s: Situation): boolean {
  if (s.memo.port === undefined) return true;
  return s.so.kind === 'absent' && (s.so.taken !== undefined || s.so.exit?.includes('EADDRINUSE') === true);
}

/** Is the orchestrator there and answering? If not, what to do about it. */
type Presence = Extract<Decision, { kind: 'start' | 'replace' | 'wait' | 'fail' }>;

function presence(s: Situation, policy: PipelinePolicy): Presence | undefined {
  const starts = startsIn(s.memo, s.state);
  if (s.so.kind === 'absent') {
    const startError = s.memo.startError;
    if (startError && !startError.retryable) return failing(s, `cannot start the service orchestrator: ${startError.reason}`);
    if (starts >= policy.maxStarts) {
      return failing(s, `the service orchestrator stopped ${starts} times${s.so.exit ? `; last: ${s.so.exit}` : ''}`);
    }
    const start = (message: string): Presence => ({ kind: 'start', message, newPort: newPort(s) });
    if (s.so.taken) return start(`${s.so.taken}; starting the service orchestrator on another port`);
    if (startError) return start(`cannot start the service orchestrator (${startError.reason}); trying again`);
    if (starts === 0 && !s.so.exit) return start('starting the service orchestrator');
    return start(`restarting the service orchestrator${s.so.exit ? ` (it stopped: ${s.so.exit})` : ''}`);
  }
  if (s.so.kind === 'silent') {
    const silentFor = s.now - Math.max(s.so.since, s.memo.startedAt ?? 0);
    if (silentFor <= policy.startTimeoutMs)
      return {
        kind: 'wait',
        message: s.so.unproven ? `waiting for the service orchestrator: ${s.so.reason}` : 'waiting for the service orchestrator to answer',
      };
    const why = `the service orchestrator did not answer for ${seconds(silentFor)} s (${s.so.reason})`;
    if (starts >= policy.maxStarts) return failing(s, why);
    return { kind: 'replace', message: `replacing the service orchestrator: ${why}` };
  }
  return undefined;
}

function overdue(s: Situation, policy: PipelinePolicy): Decision | undefined {
  if (isServing(s.state) || s.state === 'failed') return undefined;
  const limit = policy.deadlinesMs[s.state];
  if (s.now - s.stateSince <= limit) return undefined;
  const last = s.so.kind === 'stack' && s.so.stack.message ? `; the orchestrator last reported: ${s.so.stack.message}` : '';
  return failing(s, `${s.state} did not finish within ${seconds(limit)} s${last}`);
}

function progress(s: Situation, stack: StackView): Decision {
  if (!isServing(s.state)) return { kind: 'wait', message: detail(stack) };
  return { kind: 'wait', message: `${s.state}; the orchestrator restarted and is checking the cluster again: ${detail(stack)}` };
}

function detail(stack: StackView): string {
  return stack.message || `the orchestrator reports ${stack.state}`;
}

/** The message of a failed instance: its cause, then what became of its VMs. */
export function failureMessage(failure: Failure, detail?: string): string {
  const cause = failure.cause.replace(/[.\s]+$/, '');
  switch (failure.vms) {
    case 'removing':
      return `${cause}. Removing its VMs (on_failure=delete)${detail ? `: ${detail}` : ''}.`;
    case 'removed':
      return `${cause}. Its VMs were removed (on_failure=delete).`;
    case 'kept':
      return `${cause}. Its VMs are kept for debugging (on_failure=keep); delete the instance to remove them.`;
    case 'none':
      return `${cause}. No VM was made.`;
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
