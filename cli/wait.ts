import type { Timers } from '../lib/clock.js';
import { MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE } from '../service-manager/model/states.js';
import { textOf, type Instance } from './api.js';

/** What a wait is for: a cluster that serves (after a create or an update), or none at all (after a delete). */
export type Goal = 'serving' | 'gone';

/** One look at the instance: its state and message, or `gone` when the service manager no longer has it. */
export type Sighting = { readonly kind: 'present'; readonly state: string; readonly message: string } | { readonly kind: 'gone' };

export type Verdict = { readonly kind: 'done' } | { readonly kind: 'failed'; readonly reason: string } | { readonly kind: 'waiting' };

/** The states a wait passes through, in order, for the progress bar. */
export function stagesOf(goal: Goal, from: string): readonly string[] {
  if (goal === 'gone') return ['destroy', 'gone'];
  if (from === 'update') return ['update', 'ready'];
  return ['initialise', 'activate', 'deploy', 'provision', 'ready'];
}

/** How far along the stages a sighting is (a degraded cluster is as far as a ready one). */
export function stageIndex(stages: readonly string[], sighting: Sighting): number {
  const name = sighting.kind === 'gone' ? 'gone' : sighting.state === 'degraded' ? 'ready' : sighting.state;
  return Math.max(0, stages.indexOf(name));
}

/** Whether a wait is over, and how it ended. */
export function judge(goal: Goal, sighting: Sighting): Verdict {
  if (sighting.kind === 'gone') return goal === 'gone' ? { kind: 'done' } : { kind: 'failed', reason: 'The instance was deleted.' };
  if (sighting.state === 'failed') return { kind: 'failed', reason: sighting.message || 'The instance failed.' };
  if (goal === 'serving' && (sighting.state === 'ready' || sighting.state === 'degraded')) return { kind: 'done' };
  return { kind: 'waiting' };
}

export function sightingOf(instance: Instance | undefined): Sighting {
  if (!instance) return { kind: 'gone' };
  const message = instance.attributes[MESSAGE_ATTRIBUTE];
  return { kind: 'present', state: textOf(instance.attributes[STATE_ATTRIBUTE]) || 'unknown', message: textOf(message) };
}

export interface WaitOptions {
  readonly goal: Goal;
  readonly look: () => Promise<Sighting>;
  /** Told every sighting, with the time since the wait began. */
  readonly report: (sighting: Sighting, elapsedMs: number) => void;
  readonly timers: Timers;
  readonly intervalMs: number;
  /** Give up after this long; 0 waits as long as it takes. */
  readonly timeoutMs: number;
}

/** Looks at the instance until the verdict is in; a timeout is a failure that says how long it waited. */
export async function waitFor(options: WaitOptions): Promise<Verdict> {
  const { timers } = options;
  const start = timers.now();
  for (;;) {
    const sighting = await options.look();
    const elapsed = timers.now() - start;
    options.report(sighting, elapsed);
    const verdict = judge(options.goal, sighting);
    if (verdict.kind !== 'waiting') return verdict;
    if (options.timeoutMs > 0 && elapsed >= options.timeoutMs) {
      return {
        kind: 'failed',
        reason: `Gave up after ${Math.round(elapsed / 1000)} s; the instance is still in ${sighting.kind === 'present' ? sighting.state : 'flux'}.`,
      };
    }
    await timers.sleep(options.intervalMs);
  }
}
