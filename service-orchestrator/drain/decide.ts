import { seconds } from '../health/tracking.js';

/**
 * Whether agents leaving the cluster are drained: a pure decision from what
 * the leading master says runs on them, and how long the drain has taken.
 */

export interface DrainingAgent {
  /** "agent 3 of 3 (127.10.0.7)" */
  readonly label: string;
  /** Tasks that still hold its resources, or undefined when the master could not say. */
  readonly tasks?: number;
}

export interface DrainObservation {
  readonly agents: readonly DrainingAgent[];
  readonly since: number;
}

export type DrainVerdict =
  | { readonly kind: 'drained'; readonly message: string }
  | { readonly kind: 'wait'; readonly message: string }
  | { readonly kind: 'give-up'; readonly message: string };

export function decideDrain(o: DrainObservation, now: number, timeoutMs: number): DrainVerdict {
  const busy = o.agents.filter((a) => a.tasks !== 0);
  const waited = seconds(now - o.since);
  if (busy.length === 0) return { kind: 'drained', message: `drained ${o.agents.map((a) => a.label).join(', ')} in ${waited} s` };
  const what = busy
    .map((a) => (a.tasks === undefined ? `${a.label}: the master cannot say what runs there` : `${a.label}: ${a.tasks} task${a.tasks === 1 ? '' : 's'} left`))
    .join('; ');
  if (now - o.since >= timeoutMs) return { kind: 'give-up', message: `drain gave up after ${waited} s (${what}); removing the agents anyway` };
  return { kind: 'wait', message: `draining before removal, ${waited} s so far: ${what}` };
}
