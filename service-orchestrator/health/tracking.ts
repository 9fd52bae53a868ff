import type { Role, Slot } from '../cluster/plan.js';

/**
 * Each node's health over time, from one verdict per poll: since when it is
 * healthy or not, whether it ever was, and whether it flaps. Pure: the
 * previous records and this poll's sightings give the next records.
 */

/** What one poll said of one node. */
export interface Sighting {
  readonly key: string;
  readonly slot: Slot;
  /** The VM's name: a replacement is a new VM and starts a new record. */
  readonly name: string;
  readonly address: string;
  /** Unknown when nobody could say (no leader to ask): the node's timers neither start nor stop. */
  readonly status: 'healthy' | 'unhealthy' | 'unknown';
  readonly reason: string;
  readonly mesosId?: string;
}

/** What is remembered of one VM between polls. */
export interface NodeRecord {
  readonly firstSeen: number;
  readonly healthySince?: number;
  readonly unhealthySince?: number;
  readonly everHealthy: boolean;
  /** When it last dropped out (healthy, then not, with the same leader). */
  readonly lastDrop?: number;
  readonly flapping: boolean;
}

/** One node as the decisions see it. */
export interface NodeHealth extends Sighting {
  readonly role: Role;
  /** How long its VM has been watched (since it first ran). */
  readonly watchedMs: number;
  /** How long it has been unhealthy without a break; 0 when healthy. */
  readonly unhealthyMs: number;
  /** How long it has been healthy without a break; 0 when not. */
  readonly healthyMs: number;
  readonly everHealthy: boolean;
}

export interface TrackingContext {
  readonly now: number;
  /** The leader changed since the last poll: agents dropping out now are re-registering, not flapping. */
  readonly leaderChanged: boolean;
  /** How long a flapping agent must stay active without a break to count again. */
  readonly quarantineMs: number;
  /**
   * Drops within the quarantine that make an agent flapping: 1 while a
   * cluster is being built (any drop is suspect), 2 once it is ready (a
   * single restart is not a flap).
   */
  readonly dropsToFlap: 1 | 2;
}

export function track(
  previous: ReadonlyMap<string, NodeRecord>,
  sightings: readonly Sighting[],
  context: TrackingContext,
): { readonly records: Map<string, NodeRecord>; readonly nodes: NodeHealth[] } {
  const records = new Map<string, NodeRecord>();
  const nodes = sightings.map((sighting) => {
    const before = previous.get(sighting.name) ?? { firstSeen: context.now, everHealthy: false, flapping: false };
    const record = next(before, sighting, context);
    records.set(sighting.name, record);
    return view(sighting, record, context);
  });
  return { records, nodes };
}

function next(record: NodeRecord, sighting: Sighting, context: TrackingContext): NodeRecord {
  const { now } = context;
  if (sighting.status === 'unknown') return record;
  if (sighting.status === 'unhealthy') {
    const dropped = record.healthySince !== undefined && !context.leaderChanged && sighting.slot.role === 'agent';
    const again = record.lastDrop !== undefined && now - record.lastDrop < context.quarantineMs;
    const flapping = record.flapping || (dropped && (context.dropsToFlap === 1 || again));
    const { healthySince: _healthySince, ...rest } = record;
    return { ...rest, unhealthySince: record.unhealthySince ?? now, flapping, ...(dropped ? { lastDrop: now } : {}) };
  }
  const healthySince = record.healthySince ?? now;
  if (record.flapping && now - healthySince < context.quarantineMs) return { ...record, healthySince, everHealthy: true };
  const { unhealthySince: _unhealthySince, ...rest } = record;
  return { ...rest, healthySince, everHealthy: true, flapping: false };
}

function view(sighting: Sighting, record: NodeRecord, context: TrackingContext): NodeHealth {
  const base = {
    ...sighting,
    role: sighting.slot.role,
    watchedMs: context.now - record.firstSeen,
    everHealthy: record.everHealthy,
    unhealthyMs: record.unhealthySince === undefined ? 0 : context.now - record.unhealthySince,
    healthyMs: sighting.status === 'healthy' && record.healthySince !== undefined ? context.now - record.healthySince : 0,
  };
  if (sighting.status !== 'healthy' || !record.flapping) return base;
  const activeMs = context.now - (record.healthySince ?? context.now);
  return {
    ...base,
    healthyMs: 0,
    status: 'unhealthy',
    reason: `flapping: active again for ${seconds(activeMs)} s of the ${seconds(context.quarantineMs)} s it must hold`,
  };
}

export function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
