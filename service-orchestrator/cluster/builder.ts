import type { Timers } from '../../lib/clock.js';
import { WRITE_RETRY } from '../../lib/cloudstack/backoff.js';
import { addressOf, CloudStackError, CloudStackTimeout, isTransient, tagsOf, type CloudStack, type DeploySpec, type VirtualMachine } from '../../lib/cloudstack/index.js';
import type { Logger } from '../../lib/logger.js';
import { describeSlot, slotFromTags, slotKey, TAGS, tagsFor, vmName, type Owner, type Slot } from './plan.js';
import { messageOf } from '../../lib/errors.js';

/** Where and how the VMs are made, resolved from names to ids. */
export interface Placement {
  readonly zoneId: string;
  readonly templateId: string;
  readonly masterOfferingId: string;
  readonly agentOfferingId: string;
  readonly networkId: string;
  /** The zone applies security groups: the cluster gets its own, and its VMs join it. */
  readonly securityGroupsEnabled: boolean;
  /** The cluster's group, once it exists. */
  readonly securityGroupIds?: readonly string[];
}

/** A slot's current VM. */
export interface NodeVm {
  readonly slot: Slot;
  readonly generation: number;
  readonly name: string;
  readonly vm: VirtualMachine;
  readonly address: string;
}

export interface Inventory {
  /** The newest live VM of each slot, by slot key. */
  readonly nodes: Map<string, NodeVm>;
  /** Live VMs of the instance that belong to no current slot (older generations). */
  readonly extras: VirtualMachine[];
}

/** Renders a node's user data once every master's address is known. */
export type UserDataFor = (slot: Slot, name: string, address: string, masters: readonly string[]) => string;

export interface PhaseOptions {
  /** When the phase must be done, on the orchestrator's clock. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly progress: (message: string) => void;
}

export class BuildFailure extends Error {}

/** How long one destroy is waited for before the others go on; it stays asked. */
const DESTROY_WAIT_MS = 60_000;
/** Between two listings while destroys the cloud was asked for are still pending. */
const WATCH_WHILE_DESTROYING_MS = 5000;
/** Tries of one VM's deploy through transient failures. */
const CREATE_ATTEMPTS = 3;

const GONE = new Set(['Destroyed', 'Expunging']);

/**
 * Makes and removes the cluster's VMs on CloudStack. Every VM carries the
 * instance, role, slot and generation as tags and a name derived from them,
 * so whatever an earlier run left behind is found and adopted.
 */
export class ClusterBuilder {
  constructor(
    private readonly cs: CloudStack,
    private readonly timers: Timers,
    private readonly owner: Owner,
    private readonly prefix: string,
    /** Absent for an orchestrator that only tears down. */
    private readonly placement: Placement | undefined,
    private readonly limits: { readonly concurrency: number; readonly maxReplacements: number; readonly vmStartTimeoutMs: number },
    private readonly logger?: Logger,
  ) {}

  private left(options: PhaseOptions): number {
    return Math.max(1, options.deadline - this.timers.now());
  }

  async inventory(signal?: AbortSignal): Promise<Inventory> {
    const vms = await this.cs.vms.list({ tags: { [TAGS.instance]: this.owner.instanceId } }, signal);
    const nodes = new Map<string, NodeVm>();
    const extras: VirtualMachine[] = [];
    for (const vm of vms) {
      const found = slotFromTags(tagsOf(vm));
      if (!found || GONE.has(vm.state)) continue;
      const key = slotKey(found.slot);
      const current = nodes.get(key);
      const node: NodeVm = { slot: found.slot, generation: found.generation, name: vm.name, vm, address: addressOf(vm) ?? '' };
      if (!current || current.generation < node.generation) {
        if (current) extras.push(current.vm);
        nodes.set(key, node);
      } else {
        extras.push(vm);
      }
    }
    return { nodes, extras };
  }

  /**
   * Brings every slot to a Running VM configured for the cluster: adopts
   * what exists, creates the rest stopped, sets each node's user data once
   * all master addresses are known, then starts them. A VM that fails to
   * start is destroyed and replaced (masters keep their address) up to the
   * replacement limit. VMs of the instance in no slot asked for are removed.
   */
  async build(slots: readonly Slot[], userData: UserDataFor, options: PhaseOptions): Promise<Map<string, NodeVm>> {
    const inventory = await this.inventory(options.signal);
    const created = new Map<string, NodeVm>();
    await this.pool(slots, async (slot) => {
      const existing = inventory.nodes.get(slotKey(slot));
      created.set(slotKey(slot), existing ?? (await this.create(slot, 1, undefined, options)));
    });
    const masters = slots.filter((s) => s.role === 'master').map((s) => created.get(slotKey(s))!.address);
    const count = (role: Slot['role']): number => slots.filter((s) => s.role === role).length;
    let running = 0;
    const result = new Map<string, NodeVm>();
    await this.pool(slots, async (slot) => {
      const node = await this.run(created.get(slotKey(slot))!, userData, masters, count(slot.role), options);
      result.set(slotKey(slot), node);
      options.progress(`deploy: ${++running} of ${slots.length} VMs running`);
    });
    // VMs of slots the cluster no longer has (a scale-in cut short by a restart) go with the older generations.
    const wanted = new Set(slots.map(slotKey));
    const unwanted = [...inventory.nodes.values()].filter((n) => !wanted.has(slotKey(n.slot))).map((n) => n.vm);
    await this.removeVms([...inventory.extras, ...unwanted], options);
    return result;
  }

  /** Makes a slot's VM stopped, so its address is known before its user data is written. */
  private async create(slot: Slot, generation: number, ipAddress: string | undefined, options: PhaseOptions): Promise<NodeVm> {
    const name = vmName(this.prefix, slot, generation);
    const placement = this.placement;
    if (!placement) throw new BuildFailure(`cannot create ${describeSlot(slot)}: the cluster was never designed`);
    const spec = {
      name,
      zoneId: placement.zoneId,
      templateId: placement.templateId,
      serviceOfferingId: slot.role === 'master' ? placement.masterOfferingId : placement.agentOfferingId,
      networkIds: [placement.networkId],
      ...(placement.securityGroupIds ? { securityGroupIds: placement.securityGroupIds } : {}),
      startVm: false,
      tags: tagsFor(this.owner, slot, generation),
      ...(ipAddress ? { ipAddress } : {}),
    };
    try {
      const vm = await this.deploy(spec, options);
      const address = addressOf(vm);
      if (!address) throw new BuildFailure(`${describeSlot(slot)} (${name}) got no address`);
      return { slot, generation, name, vm, address };
    } catch (error) {
      throw this.failure(`creating ${describeSlot(slot)} (${name})`, error);
    }
  }

  /** Deploys, trying again (the deploy adopts a VM of the same name) when the cloud failed only for now. */
  private async deploy(spec: DeploySpec, options: PhaseOptions): Promise<VirtualMachine> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.cs.vms.deploy(spec, { deadlineMs: this.left(options), signal: options.signal });
      } catch (error) {
        if (options.signal.aborted || !isTransient(error) || attempt + 1 >= CREATE_ATTEMPTS) throw error;
        this.logger?.warn('deploying a VM failed for now; trying again', { vm: spec.name, error: reason(error) });
        await this.timers.sleep(Math.min(this.left(options), this.cs.client.backoff(attempt, WRITE_RETRY)), options.signal);
      }
    }
  }

  /** Configures and starts a node's VM; replaces it when it ends in Error or fails to start. */
  private async run(node: NodeVm, userData: UserDataFor, masters: readonly string[], of: number, options: PhaseOptions): Promise<NodeVm> {
    let current = node;
    for (let attempt = 0; ; attempt++) {
      try {
        return { ...current, vm: await this.start(current, userData, masters, options) };
      } catch (error) {
        if (options.signal.aborted) throw error;
        const what = `${describeSlot(current.slot, of)} (${current.name}, ${current.address})`;
        if (attempt >= this.limits.maxReplacements) throw this.failure(`starting ${what}`, error);
        this.logger?.warn('replacing a VM that did not start', { vm: current.name, error: String(error) });
        options.progress(`deploy: ${what} did not start (${reason(error)}); replacing it`);
        current = await this.replace(current, options);
      }
    }
  }

  /** Waits at most the VM start timeout: a VM stuck in Starting is replaced rather than waited for. */
  private async start(node: NodeVm, userData: UserDataFor, masters: readonly string[], options: PhaseOptions): Promise<VirtualMachine> {
    const deadlineMs = Math.min(this.left(options), this.limits.vmStartTimeoutMs);
    const vm = (await this.cs.vms.get(node.vm.id, options.signal)) ?? node.vm;
    if (vm.state === 'Running') return vm;
    if (vm.state === 'Error') throw new BuildFailure('the VM is in Error');
    if (vm.state === 'Stopped') {
      await this.cs.vms.setUserData(vm.id, userData(node.slot, node.name, node.address, masters), { deadlineMs, signal: options.signal });
      return this.cs.vms.start(vm.id, { deadlineMs, signal: options.signal });
    }
    return this.cs.vms.waitForState(vm.id, ['Running'], { deadlineMs, signal: options.signal });
  }

  /**
   * Destroys a node's VM and makes the next generation of its slot. A master
   * keeps its address, which every node's configuration names.
   */
  async replace(node: NodeVm, options: PhaseOptions): Promise<NodeVm> {
    const master = node.slot.role === 'master';
    // An agent's new VM needs nothing of the old one: a destroy stuck behind a hung start is left to the cloud.
    const wait = master ? this.left(options) : Math.min(this.left(options), DESTROY_WAIT_MS);
    try {
      await this.cs.vms.destroy(node.vm.id, { deadlineMs: wait, signal: options.signal });
    } catch (error) {
      if (master || !(error instanceof CloudStackTimeout)) throw error;
      this.logger?.warn('the old VM is still being destroyed; its replacement is made meanwhile', { vm: node.name });
    }
    return this.create(node.slot, node.generation + 1, master ? node.address : undefined, options);
  }

  /** Configures and starts an agent's fresh VM (after a replacement during provisioning). */
  async startNode(node: NodeVm, userData: UserDataFor, masters: readonly string[], of: number, options: PhaseOptions): Promise<NodeVm> {
    return this.run(node, userData, masters, of, options);
  }

  /** Destroys VMs, several at a time. */
  async removeVms(vms: readonly VirtualMachine[], options: Omit<PhaseOptions, 'progress'>): Promise<void> {
    await this.pool(vms, (vm) => this.cs.vms.destroy(vm.id, { deadlineMs: this.left({ ...options, progress: () => undefined }), signal: options.signal }));
  }

  /**
   * Destroys every VM of the instance, tagged or (after a crash between
   * deploy and tagging) only named like it, until a listing shows none left.
   * No destroy is waited for long: a VM whose destroy waits behind a hung
   * job is asked once and then watched, while the others go on; whatever
   * is still there at the deadline is named in the failure.
   */
  async destroyAll(options: PhaseOptions): Promise<void> {
    const asked = new Set<string>();
    const failures = new Map<string, string>();
    for (;;) {
      const vms = await this.ownedVms(options.signal);
      if (vms.length === 0) return;
      if (this.timers.now() >= options.deadline) {
        const left = vms.map((v) => `${v.name} (${v.state}${failures.has(v.id) ? `: ${failures.get(v.id)}` : ''})`);
        throw new BuildFailure(`${vms.length} VM${vms.length === 1 ? '' : 's'} still exist${vms.length === 1 ? 's' : ''}: ${left.join(', ')}`);
      }
      options.progress(`delete: destroying ${vms.length} VM${vms.length === 1 ? '' : 's'}`);
      const fresh = vms.filter((vm) => !asked.has(vm.id));
      await this.pool(fresh, async (vm) => {
        asked.add(vm.id);
        try {
          await this.cs.vms.destroy(vm.id, { deadlineMs: Math.min(this.left(options), DESTROY_WAIT_MS), signal: options.signal });
          failures.delete(vm.id);
        } catch (error) {
          if (options.signal.aborted) throw error;
          if (error instanceof CloudStackTimeout) return;
          // Asked again on the next round.
          asked.delete(vm.id);
          failures.set(vm.id, reason(error));
        }
      });
      if (fresh.length === 0 || failures.size > 0) await this.timers.sleep(Math.min(this.left(options), WATCH_WHILE_DESTROYING_MS), options.signal);
    }
  }

  private async ownedVms(signal: AbortSignal): Promise<VirtualMachine[]> {
    const tagged = await this.cs.vms.list({ tags: { [TAGS.instance]: this.owner.instanceId } }, signal);
    const named = (await this.cs.client.list<VirtualMachine>('listVirtualMachines', 'virtualmachine', { keyword: this.prefix }, { signal })).filter(
      (vm) => vm.name.startsWith(`${this.prefix}-`),
    );
    const all = new Map([...tagged, ...named].map((vm) => [vm.id, vm]));
    return [...all.values()].filter((vm) => !GONE.has(vm.state));
  }

  /** Runs work over items with bounded concurrency; the first failure stops new work and is thrown. */
  private async pool<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
    let next = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (next < items.length && failure === undefined) {
        const item = items[next++]!;
        try {
          await work(item);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.limits.concurrency, items.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  private failure(what: string, error: unknown): Error {
    if (error instanceof BuildFailure && error.message.startsWith(what)) return error;
    return new BuildFailure(`${what}: ${reason(error)}`);
  }
}

export function reason(error: unknown): string {
  if (error instanceof CloudStackError) return `${error.command} ${error.errorcode} ${error.errortext}`;
  return messageOf(error);
}
