import { setMaxListeners } from 'node:events';
import type { Timers } from '../lib/clock.js';
import { InvalidInput, Unavailable } from '../lib/errors.js';
import type { CloudStack } from '../lib/cloudstack/index.js';
import { CloudResourceNotFound, CloudStackError, CloudStackTransportError } from '../lib/cloudstack/index.js';
import type { Logger } from '../lib/logger.js';
import type { AttributeValue } from '../lib/occi/model.js';
import { EVENTS_ATTRIBUTE, HEALTH_ATTRIBUTE } from '../lib/cluster/health.js';
import { isSoAction, type SoAction, type StackState } from '../lib/hurtle/protocol.js';
import { ClusterBuilder, reason, type NodeVm, type Placement } from './cluster/builder.js';
import { checkChange, parseParameters, type ClusterParameters, type RawValue } from './cluster/parameters.js';
import { clusterPrefix, DAEMON_PORTS, ownerTags, slotKey, slotsFor, zkUrl, type Slot } from './cluster/plan.js';
import { MARATHON_PASSWORD_OUTPUT, MARATHON_USER_OUTPUT, type ClusterCredentials } from '../lib/cluster/credentials.js';
import { renderUserData } from './cluster/user-data.js';
import type { Drainer, DrainTarget } from './drain/drainer.js';
import type { WatchMode } from './health/decide.js';
import { ClusterWatch, type WatchReport, type WatchSettings } from './health/watch.js';
import type { Probe } from './readiness/probe.js';
import type { SmokeTest } from './readiness/smoke.js';

export interface OrchestratorSettings extends Omit<WatchSettings, 'replacementDeadlineMs'> {
  readonly deployDeadlineMs: number;
  readonly provisionDeadlineMs: number;
  readonly updateDeadlineMs: number;
  readonly deleteDeadlineMs: number;
  readonly designDeadlineMs: number;
  /** How long a scale-in waits for the leaving agents to empty before it removes them anyway. */
  readonly drainTimeoutMs: number;
  readonly concurrency: number;
  /** A VM that is not Running this long after its start was asked is destroyed and made again. */
  readonly vmStartTimeoutMs: number;
  /** Where this orchestrator's own traffic to the cluster comes from: its probes are let in from there. */
  readonly managementCidr: string;
}

export interface OrchestratorDeps {
  readonly instanceId: string;
  /** Tags the VMs with the service manager driving this orchestrator, when there is one. */
  readonly managerId?: string;
  readonly cloudstack: CloudStack;
  readonly probe: Probe;
  readonly smoke: SmokeTest;
  readonly drainer: Drainer;
  /** The cluster's own credentials: in its user data, in its outputs for its owner. */
  readonly credentials: ClusterCredentials;
  readonly timers: Timers;
  readonly settings: OrchestratorSettings;
  readonly logger: Logger;
}

/**
 * One service instance's cluster, driven through hurtle's phases: design
 * (PUT), deploy, provision, update, dispose. Phases run one after another in
 * the background; the stack state and its message say what is happening.
 * Dispose cancels whatever runs and removes every VM of the instance.
 */
export class Orchestrator {
  state: StackState = 'uninitialized';
  message = 'Not initialised.';
  outputs: Record<string, AttributeValue> = {};
  actions: SoAction[] = [];
  initialised = false;
  private raw = new Map<string, RawValue>();
  private params?: ClusterParameters;
  private placement?: Placement;
  private nodes = new Map<string, NodeVm>();
  private chain: Promise<void> = Promise.resolve();
  private controller = phaseController();
  /** Stops the watch of a ready cluster, so that an update can run. */
  private watching?: AbortController;
  private readonly watch: ClusterWatch;
  disposing = false;
  readonly prefix: string;

  constructor(private readonly deps: OrchestratorDeps) {
    this.prefix = clusterPrefix(deps.instanceId);
    const { probe, smoke, timers, settings, logger } = deps;
    this.watch = new ClusterWatch({
      probe,
      smoke,
      builder: () => this.builder(),
      timers,
      settings: { ...settings, replacementDeadlineMs: settings.deployDeadlineMs },
      logger,
      report: (report, outputs) => this.reported(report, outputs),
    });
  }

  /** The instance's parameters as given, for rendering. */
  parameters(): ReadonlyMap<string, RawValue> {
    return this.raw;
  }

  get stackId(): string {
    return this.state === 'uninitialized' ? 'N/A' : this.prefix;
  }

  /**
   * Design: checks the parameters and resolves zone, template, offerings and
   * network, failing fast with the reason. Repeating it with other
   * attributes applies them as an update.
   */
  async initialise(attributes: ReadonlyMap<string, RawValue>, defaults: ReadonlyMap<string, RawValue>): Promise<'created' | 'existing'> {
    if (this.disposing) throw new InvalidInput('The instance is being disposed.');
    if (this.initialised) {
      if (attributes.size > 0) this.update(attributes);
      return 'existing';
    }
    const raw = new Map([...defaults, ...attributes]);
    const params = parseParameters(raw);
    this.placement = await this.design(params);
    this.raw = raw;
    this.params = params;
    this.initialised = true;
    this.actions = ['deploy'];
    this.message = `Designed: ${params.masters} master${params.masters === 1 ? '' : 's'}, ${params.agents} agent${params.agents === 1 ? '' : 's'}${params.marathon ? ', Marathon' : ''}; waiting for deploy.`;
    return 'created';
  }

  private async design(params: ClusterParameters): Promise<Placement> {
    const { discovery } = this.deps.cloudstack;
    const signal = AbortSignal.timeout(Math.max(1, this.deps.settings.designDeadlineMs));
    try {
      const zone = await discovery.zone(params.zone, signal);
      const [template, master, agent, network] = await Promise.all([
        discovery.template(params.template, zone.id, signal),
        discovery.serviceOffering(params.masterOffering, signal),
        discovery.serviceOffering(params.agentOffering, signal),
        discovery.network(params.network, zone.id, signal),
      ]);
      return {
        zoneId: zone.id,
        templateId: template.id,
        masterOfferingId: master.id,
        agentOfferingId: agent.id,
        networkId: network.id,
        ...(network.cidr ? { network: { cidr: network.cidr, ...(network.gateway ? { gateway: network.gateway } : {}) } } : {}),
        securityGroupsEnabled: zone.securitygroupsenabled === true,
      };
    } catch (error) {
      if (error instanceof CloudResourceNotFound) throw new InvalidInput(`Cannot build the cluster: ${error.message}.`);
      if (error instanceof CloudStackError && error.classification === 'fatal')
        throw new InvalidInput(`Cannot build the cluster: CloudStack refused ${reason(error)}.`);
      if (error instanceof CloudStackError || error instanceof CloudStackTransportError || (error as Error).name === 'TimeoutError') {
        throw new Unavailable(`CloudStack cannot be asked right now (${reason(error)}); try again.`);
      }
      throw error;
    }
  }

  act(term: string, attributes: ReadonlyMap<string, RawValue>): void {
    if (!isSoAction(term) || !this.actions.includes(term)) throw new InvalidInput('Not applicable atm.');
    if (attributes.size > 0) this.update(attributes);
    if (term === 'deploy') {
      this.actions = ['provision'];
      this.enqueue('deploy', (signal) => this.deployPhase(signal));
    } else {
      this.actions = [];
      this.enqueue('provision', (signal) => this.provisionPhase(signal));
    }
  }

  /** Applies changed attributes: only the agent count and min_ready may change; a deployed cluster is scaled. */
  update(attributes: ReadonlyMap<string, RawValue>): void {
    if (!this.initialised || !this.params) throw new InvalidInput('The orchestrator is not initialised; PUT it first.');
    if (this.disposing) throw new InvalidInput('The instance is being disposed.');
    const raw = new Map([...this.raw, ...attributes]);
    const next = parseParameters(raw);
    checkChange(this.params, next);
    const scaled = next.agents !== this.params.agents || next.minReady !== this.params.minReady;
    this.raw = raw;
    this.params = next;
    if (!scaled || this.actions.length > 0) return;
    // Reported at once, so whoever sent the update never reads the previous phase's outcome as this one's.
    this.set('UPDATE_IN_PROGRESS', `update: scaling to ${next.agents} agent${next.agents === 1 ? '' : 's'}`);
    this.watching?.abort(new Error('updating'));
    this.enqueue('update', (signal) => this.updatePhase(signal));
  }

  /** Cancels any phase and removes every VM of the instance; the state ends DELETE_COMPLETE once none is left. */
  dispose(): void {
    if (this.disposing && this.state !== 'DELETE_FAILED') return;
    this.disposing = true;
    this.actions = [];
    this.controller.abort(new Error('disposed'));
    this.controller = phaseController();
    this.set('DELETE_IN_PROGRESS', 'delete: cancelling running work');
    this.chain = this.chain.then(() => this.deletePhase(this.controller.signal));
  }

  private enqueue(name: string, work: (signal: AbortSignal) => Promise<void>): void {
    const signal = this.controller.signal;
    this.chain = this.chain.then(async () => {
      if (signal.aborted) return;
      try {
        await work(signal);
      } catch (error) {
        if (!signal.aborted) this.deps.logger.error(`${name} phase crashed`, { error: error instanceof Error ? error.stack : String(error) });
      }
    });
  }

  private set(state: StackState, message: string): void {
    if (this.state !== state || this.message !== message) this.deps.logger.info('stack state', { state, message });
    this.state = state;
    this.message = message;
  }

  private builder(): ClusterBuilder {
    const { cloudstack, timers, settings, instanceId, managerId, logger } = this.deps;
    const owner = { instanceId, ...(managerId === undefined ? {} : { managerId }) };
    return new ClusterBuilder(
      cloudstack,
      timers,
      owner,
      this.prefix,
      this.placement,
      { concurrency: settings.concurrency, maxReplacements: settings.maxReplacements, vmStartTimeoutMs: settings.vmStartTimeoutMs },
      logger,
    );
  }

  private phase(deadlineMs: number, signal: AbortSignal, stage: 'CREATE' | 'UPDATE') {
    return {
      deadline: this.deps.timers.now() + deadlineMs,
      signal,
      progress: (message: string) => this.set(`${stage}_IN_PROGRESS`, message),
    };
  }

  private userData = (slot: Slot, name: string, address: string, masters: readonly string[]): string =>
    renderUserData({
      slot,
      address,
      masterAddresses: masters,
      cluster: this.prefix,
      marathon: this.params!.marathon,
      nodeName: name,
      credentials: this.deps.credentials,
    });

  private async deployPhase(signal: AbortSignal): Promise<void> {
    const { masters, agents } = this.params!;
    this.set('CREATE_IN_PROGRESS', `deploy: creating ${masters + agents} VMs (${masters} masters, ${agents} agents)`);
    try {
      // The group's rules are granted while the VMs are made: they need only the group to join it.
      const { granted } = await this.isolate(signal);
      granted.catch(() => undefined);
      const builder = this.builder();
      // A cluster scaled in has gaps among its agent slots: a restarted orchestrator keeps the agents it finds.
      const inventory = await builder.inventory(signal);
      const found = [...inventory.nodes.values()].filter((n) => n.slot.role === 'agent').map((n) => n.slot.index);
      const slots = slotsFor(masters, agents, found);
      this.nodes = await builder.build(slots, this.userData, this.phase(this.deps.settings.deployDeadlineMs, signal, 'CREATE'), inventory);
      await granted;
      const { user, password } = this.deps.credentials.marathon;
      const marathon: Record<string, AttributeValue> = this.params!.marathon ? { [MARATHON_USER_OUTPUT]: user, [MARATHON_PASSWORD_OUTPUT]: password } : {};
      this.outputs = { ...this.outputs, 'mesos.zk': zkUrl(this.masters(), 'mesos'), 'mesos.masters.addresses': this.masters().join(','), ...marathon };
      this.set('CREATE_COMPLETE', `deploy: all ${slots.length} VMs running`);
    } catch (error) {
      if (signal.aborted) return;
      this.set('CREATE_FAILED', `deploy failed: ${reason(error)}`);
    }
  }

  /**
   * In a zone with security groups the cluster gets a group of its own: its
   * members reach each other on anything, and this orchestrator reaches the
   * daemons' ports; nothing else gets in (another tenant's VMs included).
   */
  private async isolate(signal: AbortSignal): Promise<{ readonly granted: Promise<void> }> {
    const placement = this.placement!;
    if (!placement.securityGroupsEnabled || placement.securityGroupIds) return { granted: Promise.resolve() };
    this.set('CREATE_IN_PROGRESS', `deploy: making the cluster's security group ${this.prefix}`);
    const { instanceId, managerId, settings } = this.deps;
    const rules = [{ members: true as const }, ...DAEMON_PORTS.map((port) => ({ ports: [port, port] as const, cidr: settings.managementCidr }))];
    const { group, granted } = await this.deps.cloudstack.securityGroups.ensure(
      this.prefix,
      ownerTags({ instanceId, ...(managerId === undefined ? {} : { managerId }) }),
      rules,
      {
        deadlineMs: settings.deployDeadlineMs,
        signal,
      },
    );
    this.placement = { ...placement, securityGroupIds: [group.id] };
    return { granted };
  }

  private masters(): string[] {
    return [...this.nodes.values()]
      .filter((n) => n.slot.role === 'master')
      .sort((a, b) => a.slot.index - b.slot.index)
      .map((n) => n.address);
  }

  private async provisionPhase(signal: AbortSignal): Promise<void> {
    if (this.state !== 'CREATE_COMPLETE') {
      this.set('UPDATE_FAILED', `provision not possible: ${this.message}`);
      return;
    }
    this.set('UPDATE_IN_PROGRESS', 'provision: checking the masters');
    await this.readiness(signal, 'provision', this.deps.settings.provisionDeadlineMs);
  }

  /**
   * Watches the cluster until it is ready, and then for as long as it runs:
   * the watch reports every change of the cluster's health, and ends only
   * when the cluster fails to become ready, an update takes over, or the
   * instance is disposed.
   */
  private async readiness(signal: AbortSignal, mode: WatchMode, deadlineMs: number): Promise<void> {
    const watching = new AbortController();
    this.watching = watching;
    const both = AbortSignal.any([signal, watching.signal]);
    try {
      await this.watch.run(
        {
          nodes: this.nodes,
          masters: this.masters(),
          marathon: this.params!.marathon,
          smoke: this.params!.marathon && this.params!.smoke,
          minReady: () => this.params!.minReady,
          userData: this.userData,
        },
        mode,
        deadlineMs,
        both,
      );
    } catch (error) {
      if (both.aborted) return;
      this.set('UPDATE_FAILED', `${mode} failed: ${reason(error)}`);
    } finally {
      if (this.watching === watching) this.watching = undefined;
    }
  }

  /** What the watch saw: the stack state, its message and the outputs follow. */
  private reported(report: WatchReport, outputs: Record<string, AttributeValue>): void {
    this.outputs = { ...this.outputs, ...outputs, [HEALTH_ATTRIBUTE]: this.watch.reportedHealth, [EVENTS_ATTRIBUTE]: JSON.stringify(this.watch.events()) };
    const state = report.kind === 'progress' ? 'UPDATE_IN_PROGRESS' : report.kind === 'ready' ? 'UPDATE_COMPLETE' : 'UPDATE_FAILED';
    this.set(state, report.message);
  }

  /**
   * Scale out: agents in the lowest free slots, built and checked as before.
   * Scale in: the agents running the fewest tasks are drained and destroyed.
   */
  private async updatePhase(signal: AbortSignal): Promise<void> {
    const { masters, agents } = this.params!;
    try {
      const current = [...this.nodes.values()].filter((n) => n.slot.role === 'agent');
      const tasks = current.length > agents ? await this.tasksOn(current) : new Map<string, number>();
      const address = new Map(current.map((n) => [n.slot.index, n.address]));
      const slots = slotsFor(masters, agents, [...address.keys()], (index) => tasks.get(address.get(index)!) ?? 0);
      const keep = new Set(slots.map(slotKey));
      const surplus = [...this.nodes.values()].filter((n) => !keep.has(slotKey(n.slot)));
      this.set('UPDATE_IN_PROGRESS', `update: ${surplus.length > 0 ? `removing ${surplus.length}` : 'adding'} agents to reach ${agents}`);
      const options = this.phase(this.deps.settings.updateDeadlineMs, signal, 'UPDATE');
      if (surplus.length > 0) {
        const drained = await this.drain(surplus, signal);
        this.set('UPDATE_IN_PROGRESS', `update: removing ${surplus.length} agents to reach ${this.params!.agents}`);
        await this.builder().removeVms(
          surplus.map((n) => n.vm),
          options,
        );
        for (const node of surplus) this.nodes.delete(slotKey(node.slot));
        if (drained) await this.deps.drainer.release(drained);
      }
      this.nodes = await this.builder().build(slots, this.userData, options);
      await this.readiness(signal, 'update', this.deps.settings.updateDeadlineMs);
    } catch (error) {
      if (signal.aborted) return;
      this.set('UPDATE_FAILED', `update failed: ${reason(error)}`);
    }
  }

  /** The leading master as the watch last saw it, host:port. */
  private leader(): string | undefined {
    const master = this.outputs['mesos.master.url'];
    return typeof master === 'string' ? master.replace(/^http:\/\//, '') : undefined;
  }

  /** The tasks on each agent (by address), as the leader says; none known without a leader. */
  private async tasksOn(agents: readonly NodeVm[]): Promise<Map<string, number>> {
    const master = this.leader();
    return master === undefined ? new Map() : this.deps.drainer.tasksOn(master, agents);
  }

  /** Moves the work off agents about to be removed; without a known leader there is nothing to ask. */
  private async drain(surplus: readonly NodeVm[], signal: AbortSignal): Promise<DrainTarget | undefined> {
    const master = this.leader();
    if (master === undefined) return undefined;
    const marathon = this.outputs['mesos.marathon.url'];
    const target: DrainTarget = {
      master,
      ...(typeof marathon === 'string' ? { marathon } : {}),
      agents: surplus,
      of: [...this.nodes.values()].filter((n) => n.slot.role === 'agent').length,
    };
    const progress = (message: string): void => this.set('UPDATE_IN_PROGRESS', `update: ${message}`);
    progress(`draining ${surplus.length} agent${surplus.length === 1 ? '' : 's'} before removal`);
    const { drainTimeoutMs, pollMinMs } = this.deps.settings;
    const outcome = await this.deps.drainer.drain(target, { timeoutMs: drainTimeoutMs, pollMs: pollMinMs, signal, progress });
    this.deps.logger.info(`update: ${outcome}`);
    return target;
  }

  private async deletePhase(signal: AbortSignal): Promise<void> {
    this.set('DELETE_IN_PROGRESS', "delete: looking for the instance's VMs");
    try {
      await this.builder().destroyAll({
        deadline: this.deps.timers.now() + this.deps.settings.deleteDeadlineMs,
        signal,
        progress: (message) => this.set('DELETE_IN_PROGRESS', message),
      });
      this.nodes.clear();
      this.set('DELETE_IN_PROGRESS', `delete: removing the cluster's security group ${this.prefix}`);
      await this.deps.cloudstack.securityGroups.remove(this.prefix, { deadlineMs: this.deps.settings.deleteDeadlineMs, signal });
      this.outputs = {};
      this.set('DELETE_COMPLETE', 'delete: no VM of the instance is left');
    } catch (error) {
      this.set('DELETE_FAILED', `delete failed: ${reason(error)}`);
    }
  }

  /** Resolves when every queued phase has ended (for tests and shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }
}

/** A phase's cancellation: every VM and job of a large cluster waits on it at once, far more than Node's leak warning expects. */
function phaseController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
