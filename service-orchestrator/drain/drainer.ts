import type { Timers } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { describeSlot } from '../cluster/plan.js';
import type { NodeVm } from '../cluster/builder.js';
import type { DaemonHttp } from '../readiness/daemon-http.js';
import { describeAnswer, isAnswer, jsonOf } from '../readiness/observation.js';
import { decideDrain, type DrainingAgent } from './decide.js';

/**
 * Empties agents before a scale-in removes them, with Mesos' maintenance
 * primitives: the agents' machines join the maintenance schedule (so
 * Marathon declines their offers), Marathon's tasks on them are killed so
 * that it launches them on the agents that stay, and once nothing runs
 * there (or the drain deadline passes) the machines are brought down.
 * After their VMs are gone, `release` takes them out of the schedule.
 */

export interface DrainTarget {
  /** The leading master, host:port. */
  readonly master: string;
  /** Marathon's URL, when it runs. */
  readonly marathon?: string;
  readonly agents: readonly NodeVm[];
  /** How many agents the cluster had, for the labels. */
  readonly of: number;
}

export interface DrainOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly progress: (message: string) => void;
}

interface MasterState {
  readonly slaves?: Array<{ id?: string; hostname?: string }>;
  readonly frameworks?: Array<{ tasks?: Array<{ slave_id?: string; state?: string }> }>;
}

export class Drainer {
  constructor(
    private readonly http: DaemonHttp,
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {}

  async drain(target: DrainTarget, options: DrainOptions): Promise<string> {
    const since = this.timers.now();
    await this.schedule(target);
    for (;;) {
      await this.moveMarathonTasks(target);
      const verdict = decideDrain({ agents: await this.look(target), since }, this.timers.now(), options.timeoutMs);
      if (verdict.kind !== 'wait') {
        if (verdict.kind === 'give-up') this.logger.warn(verdict.message);
        await this.call('POST', `http://${target.master}/machine/down`, machines(target.agents));
        return verdict.message;
      }
      options.progress(verdict.message);
      await this.timers.sleep(options.pollMs, options.signal);
    }
  }

  /** Brings the removed machines up again, which takes them out of the schedule. */
  async release(target: DrainTarget): Promise<void> {
    await this.call('POST', `http://${target.master}/machine/up`, machines(target.agents));
  }

  private async schedule(target: DrainTarget): Promise<void> {
    const current = jsonOf(await this.http.get(`http://${target.master}/maintenance/schedule`)) as { windows?: unknown[] } | undefined;
    const window = { machine_ids: machines(target.agents), unavailability: { start: { nanoseconds: Math.round(this.timers.now() * 1e6) } } };
    await this.call('POST', `http://${target.master}/maintenance/schedule`, { windows: [...(current?.windows ?? []), window] });
  }

  /** Kills Marathon's tasks still running on the draining agents; Marathon puts them on other agents. */
  private async moveMarathonTasks(target: DrainTarget): Promise<void> {
    if (!target.marathon) return;
    const hosts = new Set(target.agents.map((a) => a.address));
    const tasks =
      (jsonOf(await this.http.get(`${target.marathon}/v2/tasks`)) as { tasks?: Array<{ id?: string; host?: string; state?: string }> } | undefined)?.tasks ??
      [];
    const ids = tasks.filter((t) => t.host !== undefined && hosts.has(t.host) && t.state !== 'TASK_KILLING').map((t) => t.id);
    if (ids.length > 0) await this.call('POST', `${target.marathon}/v2/tasks/delete?scale=false`, { ids });
  }

  /** How many tasks each agent runs, by address, as the leading master (host:port) says; empty when it cannot be asked. */
  async tasksOn(master: string, agents: readonly NodeVm[]): Promise<Map<string, number>> {
    const state = await this.masterState(master);
    if (!state) return new Map();
    return new Map(agents.map((agent) => [agent.address, tasksOf(state, agent.address)]));
  }

  private async look(target: DrainTarget): Promise<DrainingAgent[]> {
    const state = await this.masterState(target.master);
    return target.agents.map((agent) => {
      const label = `${describeSlot(agent.slot, target.of)} (${agent.address})`;
      return state ? { label, tasks: tasksOf(state, agent.address) } : { label };
    });
  }

  private async masterState(master: string): Promise<MasterState | undefined> {
    return jsonOf(await this.http.get(`http://${master}/master/state`)) as MasterState | undefined;
  }

  private async call(method: 'POST', url: string, body: unknown): Promise<void> {
    const answer = await this.http.request(method, url, body);
    if (!isAnswer(answer) || answer.status !== 200) this.logger.warn('drain: a maintenance call failed', { url, answer: describeAnswer(answer) });
  }
}

function tasksOf(state: MasterState, address: string): number {
  const id = state.slaves?.find((s) => s.hostname === address)?.id;
  if (id === undefined) return 0;
  return (state.frameworks ?? []).flatMap((f) => f.tasks ?? []).filter((t) => t.slave_id === id).length;
}

function machines(agents: readonly NodeVm[]): Array<{ hostname: string; ip: string }> {
  return agents.map((a) => ({ hostname: a.address, ip: a.address }));
}
