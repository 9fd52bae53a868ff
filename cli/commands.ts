import type { Timers } from '../lib/clock.js';
import { STATE_ATTRIBUTE } from '../service-manager/model/states.js';
import { textOf, type Instance, type InstanceEvent, type SmApi } from './api.js';
import { ApiError, WaitFailed } from './errors.js';
import { progressFor, type ProgressMode } from './progress.js';
import { eventLine, instanceDetails, instanceTable } from './render.js';
import { sightingOf, stagesOf, waitFor, type Goal } from './wait.js';

export interface CommandDeps {
  readonly api: SmApi;
  readonly timers: Timers;
  /** Results: text for people, or JSON with --json. */
  readonly out: NodeJS.WritableStream;
  /** Progress and notes, so that results stay clean for pipes. */
  readonly err: NodeJS.WritableStream;
  readonly json: boolean;
  readonly progress: ProgressMode;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** What each mesosctl command does, given where to print and whom to ask. */
export class Commands {
  constructor(private readonly deps: CommandDeps) {}

  async create(name: string, attributes: Record<string, unknown>, wait: boolean): Promise<void> {
    const { api } = this.deps;
    if (await api.find(name)) throw new ApiError(409, `Instance ${name} exists already; scale it, or delete it first.`);
    const created = await api.create(name, attributes);
    this.note(`Creating ${name}.`);
    await this.finish(name, created, wait ? 'serving' : undefined);
  }

  async list(): Promise<void> {
    const instances = await this.deps.api.list();
    this.print(this.deps.json ? json(instances) : instanceTable(instances));
  }

  async get(name: string): Promise<void> {
    const instance = await this.deps.api.get(name);
    this.print(this.deps.json ? json(instance) : instanceDetails(instance));
  }

  async scale(name: string, agents: number, wait: boolean): Promise<void> {
    const updated = await this.deps.api.update(name, { 'mesos.agents': agents });
    this.note(`Scaling ${name} to ${agents} agents.`);
    await this.finish(name, updated, wait ? 'serving' : undefined);
  }

  async delete(name: string, wait: boolean): Promise<void> {
    await this.deps.api.remove(name);
    this.note(`Deleting ${name}.`);
    if (!wait) return;
    await this.await(name, 'gone', 'destroy');
    if (this.deps.json) this.print(json({ id: name, deleted: true }));
    else this.print(`${name} is gone: every VM is deleted.\n`);
  }

  async retry(name: string, wait: boolean): Promise<void> {
    await this.deps.api.act(name, 'retry');
    this.note(`Retrying ${name}.`);
    await this.finish(name, await this.deps.api.get(name), wait ? 'serving' : undefined);
  }

  /** Prints the history; with `follow`, goes on printing what happens until the instance is gone. */
  async events(name: string, follow: boolean): Promise<void> {
    let after = 0;
    const printAll = (events: readonly InstanceEvent[]): void => {
      for (const event of events) this.print(this.deps.json ? `${JSON.stringify(event)}\n` : eventLine(event));
      after = events.at(-1)?.seq ?? after;
    };
    for (let page = await this.deps.api.events(name); page.length > 0; page = await this.deps.api.events(name, after)) printAll(page);
    if (!follow) return;
    for (;;) {
      await this.deps.timers.sleep(this.deps.intervalMs);
      try {
        printAll(await this.deps.api.events(name, after));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          this.note(`${name} is gone.`);
          return;
        }
        throw error;
      }
    }
  }

  /** Prints the instance as it is now, or waits for the goal first and prints it then. */
  private async finish(name: string, now: Instance, goal: Goal | undefined): Promise<void> {
    const instance = goal === undefined ? now : await this.await(name, goal, textOf(now.attributes[STATE_ATTRIBUTE]));
    if (this.deps.json) this.print(json(instance));
    else this.print(summary(instance));
  }

  private async await(name: string, goal: Goal, from: string): Promise<Instance> {
    const { api, timers } = this.deps;
    let latest: Instance | undefined;
    const progress = progressFor(this.deps.progress, stagesOf(goal, from), this.deps.err);
    try {
      const verdict = await waitFor({
        goal,
        timers,
        intervalMs: this.deps.intervalMs,
        timeoutMs: this.deps.timeoutMs,
        look: async () => sightingOf((latest = await api.find(name))),
        report: (sighting, elapsed) => progress.show(sighting, elapsed),
      });
      if (verdict.kind === 'failed') throw new WaitFailed(`${name}: ${verdict.reason}`);
    } finally {
      progress.end();
    }
    return latest ?? { id: name, attributes: {}, actions: [] };
  }

  private print(text: string): void {
    this.deps.out.write(text);
  }

  private note(text: string): void {
    if (!this.deps.json) this.deps.err.write(`${text}\n`);
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function summary(instance: Instance): string {
  const a = instance.attributes;
  const lines = [`${instance.id}: ${textOf(a[STATE_ATTRIBUTE])}`];
  for (const [label, name] of [
    ['Mesos', 'mesos.master.url'],
    ['Marathon', 'mesos.marathon.url'],
    ['ZooKeeper', 'mesos.zk'],
  ] as const) {
    if (typeof a[name] === 'string' && a[name] !== '') lines.push(`  ${label}: ${a[name]}`);
  }
  if (a['mesos.agents.active'] !== undefined) lines.push(`  agents: ${textOf(a['mesos.agents.active'])} of ${textOf(a['mesos.agents'])} active`);
  return `${lines.join('\n')}\n`;
}
