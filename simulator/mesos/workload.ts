import { configVersion, fieldValue, misfit, planApp, settled, taskIdFor, type App, type MarathonState, type Offer } from './marathon.js';
import { freePorts, holdsResources, isTerminal, parseRanges, runOf, usedBy, type Task, type TaskState } from './tasks.js';
import { modeOf, names, type MachineId } from './maintenance.js';
import type { AgentRecord, Group, MarathonGroup } from './records.js';
import type { MesosTiming } from './timing.js';

/**
 * The work on an emulated Mesos cluster: tasks staged, run and ended on the
 * agents, what they hold of each agent, what happens to them when an agent
 * is lost or a machine is taken down for maintenance, and Marathon's offer
 * cycle that keeps its apps' instances launched.
 */

const COMPLETED_KEPT = 1000;

export function machineOf(record: AgentRecord): Required<MachineId> {
  return { hostname: record.hostname, ip: record.agent.flags.ip };
}

/** What the work needs of the world it runs in. */
export interface WorkloadHost {
  readonly timing: MesosTiming;
  readonly marathonGroups: ReadonlyMap<string, MarathonGroup>;
  now(): number;
  /** Runs fn later and then brings the world up to date; returns a cancel. */
  later(ms: number, fn: () => void): () => void;
}

export class Workload {
  constructor(private readonly world: WorkloadHost) {}

  tasksOn(group: Group, agentId: string): Task[] {
    return [...group.tasks.values()].filter((t) => t.agentId === agentId);
  }

  used(group: Group, agentId: string): ReturnType<typeof usedBy> {
    return usedBy(this.tasksOn(group, agentId));
  }

  launch(group: Group, record: AgentRecord, spec: Pick<Task, 'id' | 'name' | 'frameworkId' | 'command' | 'resources' | 'appId' | 'version'>): Task {
    const now = this.world.now();
    const task: Task = {
      ...spec,
      agentId: record.id,
      hostname: record.hostname,
      address: record.agent.flags.ip,
      run: runOf(spec.command),
      state: 'TASK_STAGING',
      statuses: [{ state: 'TASK_STAGING', timestamp: now }],
      stagedAt: now,
    };
    group.tasks.set(task.id, task);
    task.next = this.world.later(this.world.timing.taskStagingMs, () => this.start(group, task));
    return task;
  }

  private start(group: Group, task: Task): void {
    task.next = undefined;
    if (task.state !== 'TASK_STAGING' || !this.agentAlive(group, task)) return;
    const now = this.world.now();
    task.state = 'TASK_RUNNING';
    task.startedAt = now;
    task.statuses.push({ state: 'TASK_RUNNING', timestamp: now });
    const run = task.run;
    if (run.kind === 'exit') this.exited(group, task, run.code);
    else if (run.kind === 'sleep') task.next = this.world.later(run.ms, () => this.exited(group, task, run.code));
  }

  /** Whether the agent process runs: a task goes on while its agent is disconnected from a master, not when the agent is dead. */
  private agentAlive(group: Group, task: Task): boolean {
    const record = group.agents.get(task.agentId);
    return record !== undefined && record.agent.state !== 'down';
  }

  private exited(group: Group, task: Task, code: number): void {
    if (task.state !== 'TASK_RUNNING' || !this.agentAlive(group, task)) return;
    task.exitCode = code;
    if (code === 0) this.end(group, task, 'TASK_FINISHED', 'Command exited with status 0');
    else this.end(group, task, 'TASK_FAILED', `Command exited with status ${code}`, 'REASON_COMMAND_EXECUTOR_FAILED');
  }

  /** A kill: the executor gets its grace period; a task not yet running ends at once. */
  kill(group: Group, task: Task): void {
    if (!holdsResources(task.state) || task.state === 'TASK_KILLING') return;
    if (task.state === 'TASK_STAGING') {
      this.end(group, task, 'TASK_KILLED', 'Killed before it started');
      return;
    }
    task.next?.();
    task.state = 'TASK_KILLING';
    task.statuses.push({ state: 'TASK_KILLING', timestamp: this.world.now() });
    task.next = this.world.later(this.world.timing.taskKillMs, () => this.end(group, task, 'TASK_KILLED', 'Command terminated with signal Terminated'));
  }

  end(group: Group, task: Task, state: TaskState, message?: string, reason?: string): void {
    if (isTerminal(task.state)) return;
    task.next?.();
    task.next = undefined;
    task.state = state;
    task.statuses.push({ state, timestamp: this.world.now(), ...(message ? { message } : {}), ...(reason ? { reason } : {}) });
    group.tasks.delete(task.id);
    group.ended.set(state, (group.ended.get(state) ?? 0) + 1);
    group.completedTasks.push(task);
    if (group.completedTasks.length > COMPLETED_KEPT) group.completedTasks.shift();
    for (const marathon of this.world.marathonGroups.values()) {
      if (marathon.frameworkId === task.frameworkId) marathon.state.taskEnded(task, this.world.now());
    }
  }

  /** The master removed an agent it could not reach: its tasks are unreachable (Marathon is partition-aware). */
  agentRemoved(group: Group, agentId: string): void {
    const now = this.world.now();
    for (const task of this.tasksOn(group, agentId)) {
      if (!holdsResources(task.state)) continue;
      task.next?.();
      task.next = undefined;
      task.state = 'TASK_UNREACHABLE';
      task.statuses.push({ state: 'TASK_UNREACHABLE', timestamp: now, reason: 'REASON_SLAVE_REMOVED', message: 'Agent is unreachable' });
    }
  }

  /** An agent came back: its unreachable tasks were replaced already (Marathon expunges them at once), so they are killed. */
  agentBack(group: Group, agentId: string): void {
    for (const task of this.tasksOn(group, agentId)) {
      if (task.state === 'TASK_UNREACHABLE') this.end(group, task, 'TASK_KILLED', 'Killed: the task was replaced while its agent was unreachable');
    }
  }

  /** /machine/down: the machines' agents are shut down and their tasks gone. */
  machinesDown(group: Group, machines: readonly MachineId[]): void {
    for (const record of [...group.agents.values()]) {
      if (!machines.some((m) => names(m, machineOf(record)))) continue;
      for (const task of this.tasksOn(group, record.id))
        this.end(group, task, 'TASK_GONE_BY_OPERATOR', 'Agent was brought down for maintenance', 'REASON_AGENT_REMOVED_BY_OPERATOR');
      group.agents.delete(record.id);
      record.agent.registeredWith = undefined;
      if (record.agent.state === 'running') record.agent.state = 'disconnected';
    }
  }

  /** What the agents offer Marathon now: the free part of each active agent. */
  offers(group: Group): Offer[] {
    const offers: Offer[] = [];
    for (const record of group.agents.values()) {
      if (!record.active || record.recovered || record.agent.state !== 'running') continue;
      const used = this.used(group, record.id);
      const ports = parseRanges(record.resources.ports).reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
      offers.push({
        agentId: record.id,
        hostname: record.hostname,
        attributes: record.attributes,
        cpus: record.resources.cpus - used.cpus,
        mem: record.resources.mem - used.mem,
        disk: record.resources.disk - used.disk,
        freePorts: ports - used.ports.length,
        maintenance: modeOf(group.maintenance, machineOf(record)) !== 'UP',
      });
    }
    return offers;
  }

  /**
   * One pass of Marathon's scheduler over the cluster it is registered
   * with: kill what scaling or a restart retires, launch what is missing on
   * offers that fit (the agent with most free cpus first), note in the
   * queue what could not be placed and why, finish deployments that are done.
   */
  offerCycle(marathon: MarathonGroup, mesos: Group, frameworkId: string, declineMaintenance: boolean): void {
    const state = marathon.state;
    const now = this.world.now();
    const ofFramework = [...mesos.tasks.values()].filter((t) => t.frameworkId === frameworkId);
    for (const task of ofFramework) {
      if (task.appId !== undefined && !state.apps.has(task.appId)) this.kill(mesos, task);
    }
    for (const app of [...state.apps.values()].sort((a, b) => a.definition.id.localeCompare(b.definition.id))) {
      const tasks = ofFramework.filter((t) => t.appId === app.definition.id);
      const plan = planApp(app, tasks);
      for (const task of plan.kill) this.kill(mesos, task);
      this.place(app, plan.launch, tasks, mesos, frameworkId, state, declineMaintenance, now);
    }
    for (const [id, deployment] of state.deployments) {
      const tasks = [...mesos.tasks.values()].filter((t) => t.frameworkId === frameworkId && t.appId === deployment.appId);
      if (settled(state.apps.get(deployment.appId), tasks)) state.deployments.delete(id);
    }
  }

  private place(
    app: App,
    count: number,
    tasks: readonly Task[],
    mesos: Group,
    frameworkId: string,
    state: MarathonState,
    declineMaintenance: boolean,
    now: number,
  ): void {
    const id = app.definition.id;
    if (count === 0) {
      state.queue.delete(id);
      return;
    }
    const entry = state.queue.get(id) ?? { count, since: now, processedOffers: 0, unusedOffers: 0, rejections: new Map<string, number>() };
    state.queue.set(id, entry);
    if (now < app.delayUntil) {
      entry.count = count;
      app.wake ??= this.world.later(app.delayUntil - now, () => {
        app.wake = undefined;
      });
      return;
    }
    const peers = tasks.filter((t) => holdsResources(t.state));
    const peerValue = (task: Task, field: string): string | undefined => {
      const record = mesos.agents.get(task.agentId);
      return record ? fieldValue(field, record.hostname, record.attributes) : undefined;
    };
    let left = count;
    entry.rejections.clear();
    const offers = this.offers(mesos);
    while (left > 0) {
      const fits = offers.filter((o) => {
        const why = misfit(app.definition, o, peers, peerValue, declineMaintenance);
        if (why) entry.rejections.set(why, (entry.rejections.get(why) ?? 0) + 1);
        return why === undefined;
      });
      entry.processedOffers += offers.length;
      if (fits.length === 0) break;
      const offer = [...fits].sort((a, b) => b.cpus - a.cpus || a.agentId.localeCompare(b.agentId))[0];
      const record = mesos.agents.get(offer.agentId)!;
      const ports = freePorts(record.resources, this.used(mesos, record.id).ports, app.definition.ports) ?? [];
      const task = this.launch(mesos, record, {
        id: taskIdFor(id),
        name: id.slice(1).replaceAll('/', '.'),
        frameworkId,
        command: app.definition.cmd,
        resources: { cpus: app.definition.cpus, mem: app.definition.mem, disk: app.definition.disk, ports },
        appId: id,
        version: configVersion(app),
      });
      peers.push(task);
      offers.splice(offers.indexOf(offer), 1, {
        ...offer,
        cpus: offer.cpus - app.definition.cpus,
        mem: offer.mem - app.definition.mem,
        disk: offer.disk - app.definition.disk,
        freePorts: offer.freePorts - ports.length,
      });
      left--;
    }
    if (left === 0) {
      state.queue.delete(id);
      return;
    }
    entry.count = left;
    entry.unusedOffers += offers.length;
    if (offers.length > 0) entry.lastUnusedOfferAt = now;
  }
}
