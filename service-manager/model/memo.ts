import type { ServiceState } from './states.js';

/**
 * What the pipeline remembers about an instance's orchestrator between its
 * steps and across service manager restarts. The registry stores it with the
 * instance; only the pipeline and the reconciler write it.
 */
export interface PipelineMemo {
  /** The port the orchestrator listens on, kept for the instance's life so a restarted SM reaches it. */
  readonly port?: number;
  /** An orchestrator was started at least once, so VMs may exist. */
  readonly started?: boolean;
  /** When the current orchestrator was started, for its start-up timeout. */
  readonly startedAt?: number;
  /** Orchestrator starts counted in `phase`; a crash loop fails the phase. */
  readonly starts?: number;
  readonly phase?: ServiceState;
  /** Fingerprint of the parameters the orchestrator was last given. */
  readonly applied?: string;
  /**
   * The orchestrator wanted (1 when absent) and the one started last: a
   * retry, a teardown retry or a cloud that starts empty wants a fresh
   * orchestrator, and the running one is replaced until they agree.
   */
  readonly generation?: number;
  readonly running?: number;
  /** Why the last start of an orchestrator failed, and whether trying again may help. */
  readonly startError?: { readonly reason: string; readonly retryable: boolean };
  /** The orchestrator refused the instance's parameters, saying why. */
  readonly rejected?: string;
  /** Why the instance failed, and what became of its VMs. */
  readonly failure?: Failure;
  /** The newest health event of the orchestrator already in the instance's history. */
  readonly healthSeen?: { readonly time: number; readonly seq: number };
  /** Teardown attempts so far and when the last began, for the reconciler's back-off. */
  readonly teardowns?: number;
  readonly retriedAt?: number;
}

export interface Failure {
  readonly cause: string;
  /** `removing` until the clean-up of `on_failure=delete` is confirmed; `none` when no orchestrator ever ran. */
  readonly vms: 'removing' | 'removed' | 'kept' | 'none';
}

/** Whether an orchestrator older than the one wanted was started (and may still run). */
export function outdated(memo: PipelineMemo): boolean {
  return memo.started === true && (memo.running ?? 1) < (memo.generation ?? 1);
}

/** Orchestrator starts in the instance's current state. */
export function startsIn(memo: PipelineMemo, state: ServiceState): number {
  return memo.phase === state ? (memo.starts ?? 0) : 0;
}
