import type { Clock } from '../../lib/clock.js';
import { LOAD_OUTPUTS, WAITING_OUTPUTS } from '../../lib/cluster/load.js';
import { messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { applyUpdate } from '../instances/service.js';
import type { Orchestration } from '../lifecycle/orchestration.js';
import type { InstanceEvent, InstanceRecord, InstanceRegistry } from '../registry/registry.js';
import { effectiveInputs, type Attributes } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';
import { decideScale, type AutoscaleObservation, type AutoscalePolicy, type HoldNote } from './decide.js';

export const AUTOSCALER_ACTOR = 'autoscaler';

const AGENTS = 'mesos.agents';
const MIN_READY = 'mesos.agents.min_ready';
const ACTIVE = 'mesos.agents.active';
const AUTOSCALE = 'mesos.autoscale';

export interface AutoscalerDeps {
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly orchestration: Orchestration;
  readonly clock: Clock;
  /** How long utilisation must stay past a threshold before it counts. */
  readonly sustainMs: number;
  readonly logger: Logger;
}

/** What the autoscaler carries from one look at a cluster to the next. */
interface Memory {
  readonly lastScaledAt?: number;
  readonly highSince?: number;
  readonly lowSince?: number;
  /** The last hold told in the instance's history, so it is told once, not at every look. */
  readonly note?: HoldNote;
}

/**
 * The autoscaling loop: each look refreshes every ready autoscaled cluster's
 * outputs, asks `decideScale` and, when it says so, changes `mesos.agents`
 * as a tenant's update would (the pipeline then scales the cluster, draining
 * the agents that leave). The decision's reason is the update's message and
 * event.
 */
export class Autoscaler {
  private readonly memory = new Map<string, Memory>();

  constructor(private readonly deps: AutoscalerDeps) {}

  /** One look at every autoscaled cluster; returns how many it resized. */
  async run(): Promise<number> {
    // Only instances that say so are looked at, unless the manifest autoscales by default.
    const candidates = this.autoscaled({}) ? this.deps.registry.listAll() : this.deps.registry.withAttribute(AUTOSCALE);
    const autoscaled = candidates.filter((i) => this.autoscaled(i.attributes));
    for (const uid of this.memory.keys()) if (!autoscaled.some((i) => i.uid === uid)) this.memory.delete(uid);
    const results = await Promise.all(autoscaled.map((instance) => this.look(instance)));
    return results.filter(Boolean).length;
  }

  private async look(seen: InstanceRecord): Promise<boolean> {
    try {
      if (seen.state === 'ready') await this.deps.orchestration.refresh(seen);
      const instance = this.deps.registry.byUid(seen.uid);
      if (!instance || !this.autoscaled(instance.attributes)) return false;
      return await this.act(instance);
    } catch (error) {
      this.deps.logger.warn('autoscaling an instance failed', { instance: seen.uid, error: messageOf(error) });
      return false;
    }
  }

  private async act(instance: InstanceRecord): Promise<boolean> {
    const { uid } = instance;
    const inputs = effectiveInputs(this.deps.type, instance.attributes);
    const memory = this.memory.get(uid) ?? { ...lastScaled(this.deps.registry.events(uid)) };
    const now = this.deps.clock.now();
    const decision = decideScale(observe(instance, inputs, memory), now, policyOf(inputs, this.deps.sustainMs));
    if (decision.kind === 'hold') {
      const { highSince, lowSince, note } = decision;
      if (note !== undefined && note !== memory.note)
        this.deps.registry.addEvent(uid, { actor: AUTOSCALER_ACTOR, type: 'autoscale', message: decision.reason });
      this.memory.set(uid, { lastScaledAt: memory.lastScaledAt, highSince, lowSince, note });
      return false;
    }
    const changes = { [AGENTS]: { from: instance.attributes[AGENTS], to: decision.agents } };
    await applyUpdate(this.deps, instance, { ...instance.attributes, [AGENTS]: decision.agents }, changes, AUTOSCALER_ACTOR, decision.reason);
    this.memory.set(uid, { lastScaledAt: now });
    this.deps.logger.info('autoscaled', { instance: uid, agents: decision.agents, reason: decision.reason });
    return true;
  }

  private autoscaled(attributes: Attributes): boolean {
    return effectiveInputs(this.deps.type, attributes)[AUTOSCALE] === true;
  }
}

function policyOf(inputs: Attributes, sustainMs: number): AutoscalePolicy {
  return {
    min: number(inputs['mesos.autoscale.min']),
    max: number(inputs['mesos.autoscale.max']),
    cpuHigh: number(inputs['mesos.autoscale.cpu_high']),
    cpuLow: number(inputs['mesos.autoscale.cpu_low']),
    cooldownMs: number(inputs['mesos.autoscale.cooldown_s']) * 1000,
    sustainMs,
  };
}

/** The cluster as its last outputs show it; min_ready counts only when the tenant set it (its default follows mesos.agents). */
function observe(instance: InstanceRecord, inputs: Attributes, memory: Memory): AutoscaleObservation {
  const out = (name: string): number => number(instance.outputs[name]);
  return {
    state: instance.state,
    agents: number(inputs[AGENTS]),
    minReady: instance.attributes[MIN_READY] === undefined ? 1 : number(instance.attributes[MIN_READY]),
    active: out(ACTIVE),
    cpusUsed: out(LOAD_OUTPUTS.cpusUsed),
    cpusTotal: out(LOAD_OUTPUTS.cpusTotal),
    memUsed: out(LOAD_OUTPUTS.memUsed),
    memTotal: out(LOAD_OUTPUTS.memTotal),
    waiting: { tasks: out(WAITING_OUTPUTS.tasks), cpus: out(WAITING_OUTPUTS.cpus), mem: out(WAITING_OUTPUTS.mem) },
    lastScaledAt: memory.lastScaledAt,
    highSince: memory.highSince,
    lowSince: memory.lowSince,
  };
}

/** When mesos.agents last changed, by anyone: a tenant's resize starts the cooldown too. */
function lastScaled(events: readonly InstanceEvent[]): Memory {
  const last = events.filter((e) => e.type === 'updated' && e.changes?.[AGENTS] !== undefined).at(-1);
  return last ? { lastScaledAt: last.time } : {};
}

function number(value: AttributeValue | undefined): number {
  return typeof value === 'number' ? value : 0;
}
