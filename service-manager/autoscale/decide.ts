import type { ServiceState } from '../model/states.js';

/**
 * How many agents an autoscaled cluster should have, as a pure decision
 * from one look at it. Like Kubernetes' cluster-autoscaler, work that waits
 * because no agent has room for it adds just enough agents for it; CPU
 * utilisation above `cpuHigh` for `sustainMs` adds one, below `cpuLow` for
 * as long removes one when the agents left can hold what runs. Never below
 * `min` or `min_ready`, never above `max`, never within the cooldown of the
 * last change, never while the cluster is not ready.
 */

export interface AutoscalePolicy {
  readonly min: number;
  readonly max: number;
  /** Utilisation (0–1) of the agents' cpus. */
  readonly cpuHigh: number;
  readonly cpuLow: number;
  readonly cooldownMs: number;
  /** How long utilisation must stay past a threshold before it counts. */
  readonly sustainMs: number;
}

export interface AutoscaleObservation {
  readonly state: ServiceState;
  /** The agents asked for now (mesos.agents). */
  readonly agents: number;
  readonly minReady: number;
  readonly active: number;
  readonly cpusUsed: number;
  readonly cpusTotal: number;
  readonly memUsed: number;
  readonly memTotal: number;
  readonly waiting: { readonly tasks: number; readonly cpus: number; readonly mem: number };
  readonly lastScaledAt?: number;
  /** Since when utilisation has been above cpuHigh (below cpuLow), as the previous decisions noted. */
  readonly highSince?: number;
  readonly lowSince?: number;
}

/** Why a hold is worth telling the tenant about: the load asks for a change the bounds or the work forbid. */
export type HoldNote = 'at-maximum' | 'cannot-shrink';

export type AutoscaleDecision =
  | { readonly kind: 'hold'; readonly reason: string; readonly highSince?: number; readonly lowSince?: number; readonly note?: HoldNote }
  | { readonly kind: 'scale'; readonly agents: number; readonly reason: string };

const pct = (x: number): string => `${Math.round(x * 100)} %`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function decideScale(o: AutoscaleObservation, now: number, policy: AutoscalePolicy): AutoscaleDecision {
  const floor = Math.max(policy.min, o.minReady);
  // An explicit min_ready above the maximum wins: mesos.agents may never fall below it.
  const ceiling = Math.max(policy.max, floor);
  if (o.state !== 'ready') return { kind: 'hold', reason: `not ready (${o.state})` };
  if (o.agents > ceiling)
    return { kind: 'scale', agents: ceiling, reason: `autoscale: ${plural(o.agents, 'agent')} is above the maximum, removing ${o.agents - ceiling}` };
  if (o.agents < floor)
    return { kind: 'scale', agents: floor, reason: `autoscale: ${plural(o.agents, 'agent')} is below the minimum, adding ${floor - o.agents}` };
  if (o.lastScaledAt !== undefined && now - o.lastScaledAt < policy.cooldownMs) {
    return { kind: 'hold', reason: `cooling down for ${Math.ceil((policy.cooldownMs - (now - o.lastScaledAt)) / 1000)} s more` };
  }
  if (o.active === 0 || o.cpusTotal <= 0) return { kind: 'hold', reason: 'no agent reports its resources yet' };
  const perAgent = { cpus: o.cpusTotal / o.active, mem: o.memTotal / o.active };
  if (o.waiting.tasks > 0) return forDemand(o, perAgent, ceiling);
  const utilisation = o.cpusUsed / o.cpusTotal;
  if (utilisation > policy.cpuHigh) {
    const since = o.highSince ?? now;
    if (o.agents >= ceiling)
      return {
        kind: 'hold',
        reason: `cpu utilisation ${pct(utilisation)} is high, but the cluster is at its maximum of ${ceiling}`,
        highSince: since,
        note: 'at-maximum',
      };
    if (now - since < policy.sustainMs)
      return {
        kind: 'hold',
        reason: `cpu utilisation ${pct(utilisation)} above ${pct(policy.cpuHigh)} for ${Math.round((now - since) / 1000)} s`,
        highSince: since,
      };
    return {
      kind: 'scale',
      agents: o.agents + 1,
      reason: `autoscale: cpu utilisation ${pct(utilisation)} above ${pct(policy.cpuHigh)} for ${Math.round((now - since) / 1000)} s, adding 1 agent`,
    };
  }
  if (utilisation < policy.cpuLow && o.agents > floor) {
    const since = o.lowSince ?? now;
    const left = o.active - 1;
    const fits = left > 0 && o.cpusUsed <= policy.cpuHigh * left * perAgent.cpus && o.memUsed <= left * perAgent.mem;
    if (!fits)
      return {
        kind: 'hold',
        reason: `cpu utilisation ${pct(utilisation)} is low, but ${plural(left, 'agent')} could not hold what runs`,
        lowSince: since,
        note: 'cannot-shrink',
      };
    if (now - since < policy.sustainMs)
      return {
        kind: 'hold',
        reason: `cpu utilisation ${pct(utilisation)} below ${pct(policy.cpuLow)} for ${Math.round((now - since) / 1000)} s`,
        lowSince: since,
      };
    return {
      kind: 'scale',
      agents: o.agents - 1,
      reason: `autoscale: cpu utilisation ${pct(utilisation)} below ${pct(policy.cpuLow)} for ${Math.round((now - since) / 1000)} s and ${plural(left, 'agent')} ${left === 1 ? 'holds' : 'hold'} what runs, removing 1 agent`,
    };
  }
  return { kind: 'hold', reason: `cpu utilisation ${pct(utilisation)} is within ${pct(policy.cpuLow)}–${pct(policy.cpuHigh)}` };
}

/** Just enough agents for what waits, by cpus and by memory, up to the maximum. */
function forDemand(o: AutoscaleObservation, perAgent: { cpus: number; mem: number }, ceiling: number): AutoscaleDecision {
  const need = Math.max(1, Math.ceil(o.waiting.cpus / perAgent.cpus - 1e-9), Math.ceil(o.waiting.mem / perAgent.mem - 1e-9));
  const target = Math.min(ceiling, o.agents + need);
  const what = `${plural(o.waiting.tasks, 'task')} waiting for ${o.waiting.cpus} cpus and ${o.waiting.mem} MB`;
  if (target <= o.agents) return { kind: 'hold', reason: `${what}, but the cluster is at its maximum of ${ceiling}`, note: 'at-maximum' };
  return { kind: 'scale', agents: target, reason: `autoscale: ${what}, adding ${plural(target - o.agents, 'agent')}` };
}
