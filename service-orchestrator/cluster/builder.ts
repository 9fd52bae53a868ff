import type { Timers } from '../../lib/clock.js';
import { addressOf, CloudStackError, tagsOf, type CloudStack, type VirtualMachine } from '../../lib/cloudstack/index.js';
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
   * replacement limit.
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
    await this.removeVms(inventory.extras, options);
    return result;
  }

  /** Makes a slot's VM stopped, so its address is known before its user data is written. */
  private async create(slot: Slot, generation: number, ipAddress: string | undefined, options: PhaseOptions): Promise<NodeVm> {
    const name = vmName(this.prefix, slot, generation);
    const placement = this.placement;
    if (!placement) throw new BuildFailure(`cannot create ${describeSlot(slot)}: the cluster was never designed`);
    try {
      const vm = await this.cs.vms.deploy(
        {
          name,
          zoneId: placement.zoneId,
          templateId: placement.templateId,
          serviceOfferingId: slot.role === 'master' ? placement.masterOfferingId : placement.agentOfferingId,
          networkIds: [placement.networkId],
          startVm: false,
          tags: tagsFor(this.owner, slot, generation),
          ...(ipAddress ? { ipAddress } : {}),
        },
        { deadlineMs: this.left(options), signal: options.signal },
      );
      const address = addressOf(vm);
      if (!address) throw new BuildFailure(`${describeSlot(slot)} (${name}) got no address`);
      return { slot, generation, name, vm, address };
    } catch (error) {
      throw this.failure(`creating ${describeSlot(slot)} (${name})`, error);
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
    await this.cs.vms.destroy(node.vm.id, { deadlineMs: this.left(options), signal: options.signal });
    const keep = node.slot.role === 'master' ? node.address : undefined;
    return this.create(node.slot, node.generation + 1, keep, options);
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
   */
  async destroyAll(options: PhaseOptions): Promise<void> {
    for (;;) {
      const vms = await this.ownedVms(options.signal);
      if (vms.length === 0) return;
      options.progress(`delete: destroying ${vms.length} VM${vms.length === 1 ? '' : 's'}`);
      await this.removeVms(vms, options);
      if (this.timers.now() >= options.deadline) {
        const left = await this.ownedVms(options.signal);
        if (left.length === 0) return;
        throw new BuildFailure(`${left.length} VM${left.length === 1 ? '' : 's'} still exist${left.length === 1 ? 's' : ''}: ${left.map((v) => `${v.name} (${v.state})`).join(', ')}`);
      }
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
