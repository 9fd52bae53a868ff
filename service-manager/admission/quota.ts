import type { AccountCapacity } from '../../lib/cloudstack/account.js';

/**
 * What a tenant may hold, and the pure decision whether one more instance,
 * or a bigger one, fits: against the tenant's quota and against what its
 * CloudStack account has left. Decided before any orchestrator or VM exists,
 * so a refused request costs nothing.
 */

export interface Quota {
  /** Live instances, failed ones included. */
  readonly instances: number;
  /** VMs of all its instances together: masters, agents, and the agents an autoscaler may add. */
  readonly vms: number;
  /** Agents of one instance (its autoscaling maximum included). */
  readonly agentsPerInstance: number;
  /** Writes (creates, updates, actions, deletes) per minute, with a burst allowance. */
  readonly writesPerMinute: number;
  readonly writeBurst: number;
}

/** How many VMs an instance stands for. */
export interface Footprint {
  readonly masters: number;
  readonly agents: number;
  /** The most agents it may reach without the tenant asking (the autoscaling maximum), when more than `agents`. */
  readonly reserve?: number;
}

/** One of the tenant's instances as admission counts it. */
export interface Held {
  readonly footprint: Footprint;
  /** Its VMs may not exist yet (being built), so the cloud's count does not show them. */
  readonly building: boolean;
  /** Its VMs are gone (a failure cleaned up) and will not come back without a retry. */
  readonly empty: boolean;
}

/** What a tenant's instances hold together, as admission weighs it. */
export interface Totals {
  readonly instances: number;
  /** VMs of the instances that are not empty. */
  readonly vms: number;
  /** VMs of the instances being built, which the cloud's count may not show yet. */
  readonly promised: number;
}

export const NO_TOTALS: Totals = { instances: 0, vms: 0, promised: 0 };

/** One instance's part of the totals: added for an instance that appears or changes, and taken away (sign -1) for what it was. */
export function addTo(totals: Totals, held: Held, sign: 1 | -1 = 1): Totals {
  const vms = vmsOf(held.footprint);
  return {
    instances: totals.instances + sign,
    vms: totals.vms + sign * (held.empty ? 0 : vms),
    promised: totals.promised + sign * (held.building ? vms : 0),
  };
}

export function totalOf(held: readonly Held[]): Totals {
  return held.reduce<Totals>((totals, h) => addTo(totals, h), NO_TOTALS);
}

export type Request =
  | { readonly kind: 'create'; readonly footprint: Footprint }
  /** `before` is the instance's footprint now, and part of `held`. */
  | { readonly kind: 'update'; readonly before: Footprint; readonly footprint: Footprint };

export type Admission = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** The VMs an instance stands for: masters, and the larger of its agents and the agents it may grow to. */
export function vmsOf(footprint: Footprint): number {
  return footprint.masters + Math.max(footprint.agents, footprint.reserve ?? 0);
}

export function admit(request: Request, held: Totals, quota: Quota, cloud: AccountCapacity | undefined): Admission {
  // Shrinking is always allowed, even when a lowered quota is still exceeded.
  if (request.kind === 'update' && vmsOf(request.footprint) <= vmsOf(request.before)) return { ok: true };
  const agents = Math.max(request.footprint.agents, request.footprint.reserve ?? 0);
  if (agents > quota.agentsPerInstance) {
    return refuse(`agents per instance: this ${request.kind} asks for ${agents}; the quota is ${quota.agentsPerInstance}`);
  }
  if (request.kind === 'create' && held.instances + 1 > quota.instances) {
    return refuse(`instances: this create would make ${held.instances + 1}; the quota is ${quota.instances} and ${held.instances} are held`);
  }
  const holding = held.vms;
  const more = vmsOf(request.footprint) - (request.kind === 'update' ? vmsOf(request.before) : 0);
  if (holding + more > quota.vms) {
    return refuse(`VMs: this ${request.kind} needs ${more} more, which would make ${holding + more}; the quota is ${quota.vms} and ${holding} are held`);
  }
  const available = cloud?.vmsAvailable;
  if (available === undefined) return { ok: true };
  // VMs of instances still being built are not in the cloud's count yet, but they will be.
  const promised = held.promised;
  if (more > available - promised) {
    return refuse(
      `the CloudStack account's VM limit: this ${request.kind} needs ${more} more VMs; the account has ${available} left, ${promised} of them promised to instances being built`,
    );
  }
  return { ok: true };
}

function refuse(why: string): Admission {
  return { ok: false, message: `Quota exceeded: ${why}.` };
}
