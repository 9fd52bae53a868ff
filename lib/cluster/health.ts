import { isObject } from '../objects.js';

/**
 * How an orchestrator reports the health of a ready cluster, and how the
 * service manager reads it: the contract both sides import. The stack stays
 * UPDATE_COMPLETE while a ready cluster is watched; `mesos.cluster.health`
 * says whether it is whole, and `mesos.cluster.events` lists what the health
 * watch did, oldest first, so a reader that looks only now and then misses
 * none of the recent ones.
 */

export const HEALTH_ATTRIBUTE = 'mesos.cluster.health';
export const EVENTS_ATTRIBUTE = 'mesos.cluster.events';
/** The agents as the last check saw them: a JSON list of slot, VM, address, Mesos id, active, replacements. */
export const AGENT_NODES_ATTRIBUTE = 'mesos.agents.nodes';

export type ClusterHealth = 'healthy' | 'degraded';

export type HealthEventKind =
  /** The cluster fell below what was promised. */
  | 'degraded'
  /** It is whole again. */
  | 'healed'
  | 'leader-changed'
  | 'replacing'
  | 'replaced'
  | 'replacement-failed'
  /** Too many nodes are unhealthy at once: nothing is replaced until fewer are. */
  | 'remediation-stopped'
  | 'remediation-resumed';

export interface HealthEvent {
  /** Increases by one with each event of this orchestrator. */
  readonly seq: number;
  /** Epoch milliseconds on the orchestrator's clock. */
  readonly time: number;
  readonly kind: HealthEventKind;
  readonly message: string;
}

/** How many of the latest events the orchestrator keeps and renders. */
export const EVENTS_KEPT = 50;

const KINDS: readonly HealthEventKind[] = [
  'degraded',
  'healed',
  'leader-changed',
  'replacing',
  'replaced',
  'replacement-failed',
  'remediation-stopped',
  'remediation-resumed',
];

export function isClusterHealth(value: unknown): value is ClusterHealth {
  return value === 'healthy' || value === 'degraded';
}

/** The events an orchestrator rendered; whatever is malformed is left out. */
export function parseHealthEvents(text: unknown): HealthEvent[] {
  if (typeof text !== 'string') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(doc)) return [];
  return (doc as unknown[]).filter(
    (e): e is HealthEvent =>
      isObject(e) &&
      Number.isSafeInteger(e['seq']) &&
      Number.isFinite(e['time']) &&
      KINDS.includes(e['kind'] as HealthEventKind) &&
      typeof e['message'] === 'string',
  );
}
