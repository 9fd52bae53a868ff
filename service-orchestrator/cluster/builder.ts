import type { Timers } from '../../lib/clock.js';
import { WRITE_RETRY } from '../../lib/cloudstack/backoff.js';
import {
  addressOf,
  CloudStackError,
  CloudStackTimeout,
  isTransient,
  tagsOf,
  type CloudStack,
  type DeploySpec,
  type SubmittedVm,
  type VirtualMachine,
} from '../../lib/cloudstack/index.js';
import { isAddressTaken } from '../../lib/cloudstack/vms.js';
import type { Logger } from '../../lib/logger.js';
import { AddressPicker } from './addresses.js';
import { describeSlot, slotFromName, slotKey, TAGS, tagsFor, vmName, type Owner, type Slot } from './plan.js';
import { asError, messageOf } from '../../lib/errors.js';

/** Where and how the VMs are made, resolved from names to ids. */
export interface Placement {
  readonly zoneId: string;
  readonly templateId: string;
  readonly masterOfferingId: string;
  readonly agentOfferingId: string;
  readonly networkId: string;
  /** The network's addresses, when the cloud says them: VMs then get chosen addresses and start with complete user data. */
  readonly network?: { readonly cidr: string; readonly gateway?: string };
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
  /** Addresses in use in the cluster's network, by any VM of the account; known when VMs get chosen addresses. */
  readonly taken?: readonly string[];
}

/** A VM asked for and not yet waited for. */
interface Launch {
  readonly slot: Slot;
  readonly name: string;
  readonly address: string;
  readonly submitted: SubmittedVm;
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
/** Rounds of choosing addresses again after the cloud said some were taken. */
const ADDRESS_ROUNDS = 5;

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

  /**
   * The instance's VMs by slot, from one listing: of the account's VMs in
   * the cluster's network when VMs get chosen addresses (the addresses in
   * use come with it, and VMs named like the cluster's that a crash left
   * untagged count too), else of the VMs tagged with the instance.
   */
  async inventory(signal?: AbortSignal): Promise<Inventory> {
    const network = this.placement?.network ? this.placement.networkId : undefined;
    const listed = await this.cs.vms.list(network ? { networkId: network } : { tags: { [TAGS.instance]: this.owner.instanceId } }, signal);
    const ours = (vm: VirtualMachine): boolean => {
      const owner = tagsOf(vm)[TAGS.instance];
      return owner === this.owner.instanceId || (owner === undefined && slotFromName(this.prefix, vm.name) !== undefined);
    };
    const vms = network ? listed.filter(ours) : listed;
    const nodes = new Map<string, NodeVm>();
    const extras: VirtualMachine[] = [];
    for (const vm of vms) {
      const found = slotFromName(this.prefix, vm.name);
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
    if (!network) return { nodes, extras };
    // A destroyed VM keeps its address until it is expunged.
    const taken = listed.map((vm) => addressOf(vm)).filter((a): a is string => a !== undefined);
    return { nodes, extras, taken };
  }

  /**
   * Brings every slot to a Running VM configured for the cluster, adopting
   * what exists. Where the network's addresses are known, the missing VMs
   * get chosen addresses and are deployed already started with complete
   * user data, all at once, tagged in one call per role; otherwise they are
   * created stopped and configured once every master's address is known.
   * A VM whose configuration may name other masters than the cluster has
   * (one that existed while masters were missing, or was adopted by name)
   * is replaced by a new one configured right. A VM that fails to start is
   * destroyed and replaced up to the replacement limit. A master's
   * replacement keeps its address. VMs of the instance in no slot asked for
   * are removed.
   */
  async build(slots: readonly Slot[], userData: UserDataFor, options: PhaseOptions, known?: Inventory): Promise<Map<string, NodeVm>> {
    const inventory = known ?? (await this.inventory(options.signal));
    const created = new Map<string, NodeVm>();
    for (const slot of slots) {
      const existing = inventory.nodes.get(slotKey(slot));
      if (existing) created.set(slotKey(slot), existing);
    }
    const missing = slots.filter((slot) => !created.has(slotKey(slot)));
    await this.tagNodes(
      [...created.values()].filter((n) => tagsOf(n.vm)[TAGS.instance] === undefined).map((n) => ({ role: n.slot.role, id: n.vm.id })),
      options,
    );
    if (inventory.taken && missing.length > 0) {
      const stale = await this.launch(slots, missing, created, inventory.taken, userData, options);
      // cloud-init applies user data at a VM's first boot only: a VM that may have booted with the wrong one is made anew.
      await this.pool([...stale], async (key) => created.set(key, await this.replace(created.get(key)!, options)));
    } else {
      await this.pool(missing, async (slot) => created.set(slotKey(slot), await this.create(slot, 1, undefined, options)));
    }
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

  /**
   * Deploys the missing slots' VMs started, at chosen addresses, with their
   * user data; masters first, so every agent names the masters that exist.
   * Fills `nodes` and returns the keys of the nodes to make anew.
   */
  private async launch(
    slots: readonly Slot[],
    missing: readonly Slot[],
    nodes: Map<string, NodeVm>,
    taken: readonly string[],
    userData: UserDataFor,
    options: PhaseOptions,
  ): Promise<Set<string>> {
    const network = this.placement!.network!;
    const picker = new AddressPicker(network.cidr, network.gateway, taken, this.prefix);
    const addresses = new Map([...nodes].map(([key, node]) => [key, node.address]));
    const masterSlots = slots.filter((s) => s.role === 'master');
    const masters = (): string[] => masterSlots.map((s) => addresses.get(slotKey(s))!);
    // Nodes made while masters were missing name addresses those masters may not get now.
    const stale = new Set(missing.some((s) => s.role === 'master') ? nodes.keys() : []);
    const launched: Launch[] = [];
    for (const role of ['master', 'agent'] as const) {
      let pending = missing.filter((s) => s.role === role);
      for (let round = 0; pending.length > 0; round++) {
        if (round >= ADDRESS_ROUNDS) throw new BuildFailure(`creating ${pending.map((s) => describeSlot(s)).join(', ')}: every address chosen was taken`);
        for (const slot of pending) addresses.set(slotKey(slot), picker.next());
        const outcome = await this.submitAll(pending, addresses, masters(), userData, options);
        launched.push(...outcome.launched);
        for (const slot of outcome.refused) picker.exclude(addresses.get(slotKey(slot))!);
        // A master that must move to another address makes the user data of every master launched so far name a wrong one.
        if (role === 'master' && outcome.refused.length > 0) for (const l of launched) stale.add(slotKey(l.slot));
        pending = outcome.refused;
      }
    }
    // The tags' jobs and the deploys' are waited for together: one look at the account's jobs sees them all.
    const tagging = this.tagNodes(
      launched.map((l) => ({ role: l.slot.role, id: l.submitted.id })),
      options,
    );
    await Promise.all([tagging, ...launched.map(async (l) => nodes.set(slotKey(l.slot), await this.launched(l, options)))]);
    // A VM of the same name made earlier (its answer lost) was adopted at another address: its user data is not the one
    // rendered now, and when it is a master, every node names a wrong master.
    const moved = launched.filter((l) => nodes.get(slotKey(l.slot))!.address !== l.address);
    for (const l of moved) stale.add(slotKey(l.slot));
    if (moved.some((l) => l.slot.role === 'master')) for (const key of nodes.keys()) stale.add(key);
    return stale;
  }

  /** Submits each slot's deploy; the slots whose chosen address the cloud refused as taken come back. */
  private async submitAll(
    slots: readonly Slot[],
    addresses: ReadonlyMap<string, string>,
    masters: readonly string[],
    userData: UserDataFor,
    options: PhaseOptions,
  ): Promise<{ launched: Launch[]; refused: Slot[] }> {
    const launched: Launch[] = [];
    const refused: Slot[] = [];
    await this.pool(slots, async (slot) => {
      const name = vmName(this.prefix, slot, 1);
      const address = addresses.get(slotKey(slot))!;
      const spec = { ...this.spec(slot, name, address), userData: userData(slot, name, address, masters) };
      try {
        launched.push({ slot, name, address, submitted: await this.cs.vms.submit(spec, { deadlineMs: this.left(options), signal: options.signal }) });
      } catch (error) {
        if (!isAddressTaken(error)) throw this.failure(`creating ${describeSlot(slot)} (${name})`, error);
        refused.push(slot);
      }
    });
    return { launched, refused };
  }

  /** Tags VMs with their owner and role, one call for each role. */
  private async tagNodes(vms: ReadonlyArray<{ readonly role: Slot['role']; readonly id: string }>, options: PhaseOptions): Promise<void> {
    await Promise.all(
      (['master', 'agent'] as const).map(async (role) => {
        const ids = vms.filter((vm) => vm.role === role).map((vm) => vm.id);
        if (ids.length > 0) await this.cs.vms.tag(ids, tagsFor(this.owner, role), { deadlineMs: this.left(options), signal: options.signal });
      }),
    );
  }

  /** Waits for a launched VM; one that failed to come up is kept as it is, in Error, for run() to replace. */
  private async launched(l: Launch, options: PhaseOptions): Promise<NodeVm> {
    try {
      const vm = await this.cs.vms.deployed(l.submitted, true, {
        deadlineMs: Math.min(this.left(options), this.limits.vmStartTimeoutMs),
        signal: options.signal,
      });
      return { slot: l.slot, generation: 1, name: l.name, vm, address: addressOf(vm) ?? l.address };
    } catch (error) {
      if (options.signal.aborted) throw error;
      this.logger?.warn('a VM did not come up', { vm: l.name, error: reason(error) });
      const vm = (await this.cs.vms.get(l.submitted.id, options.signal)) ?? {
        id: l.submitted.id,
        name: l.name,
        state: 'Error',
        zoneid: '',
        templateid: '',
        serviceofferingid: '',
        created: '',
      };
      return { slot: l.slot, generation: 1, name: l.name, vm: vm.state === 'Running' ? { ...vm, state: 'Error' } : vm, address: addressOf(vm) ?? l.address };
    }
  }

  private spec(slot: Slot, name: string, ipAddress: string | undefined): DeploySpec & { readonly tags: Record<string, string> } {
    const placement = this.placement;
    if (!placement) throw new BuildFailure(`cannot create ${describeSlot(slot)}: the cluster was never designed`);
    return {
      name,
      zoneId: placement.zoneId,
      templateId: placement.templateId,
      serviceOfferingId: slot.role === 'master' ? placement.masterOfferingId : placement.agentOfferingId,
      networkIds: [placement.networkId],
      ...(placement.securityGroupIds ? { securityGroupIds: placement.securityGroupIds } : {}),
      tags: tagsFor(this.owner, slot.role),
      ...(ipAddress ? { ipAddress } : {}),
    };
  }

  /** Makes a slot's VM stopped, so its address is known before its user data is written. */
  private async create(slot: Slot, generation: number, ipAddress: string | undefined, options: PhaseOptions): Promise<NodeVm> {
    const name = vmName(this.prefix, slot, generation);
    const spec = { ...this.spec(slot, name, ipAddress), startVm: false };
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
    // The VM was just listed or made: its state is fresh.
    const vm = node.vm;
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
    const named = (await this.cs.client.list<VirtualMachine>('listVirtualMachines', 'virtualmachine', { keyword: this.prefix }, { signal })).filter((vm) =>
      vm.name.startsWith(`${this.prefix}-`),
    );
    const all = new Map([...tagged, ...named].map((vm) => [vm.id, vm]));
    return [...all.values()].filter((vm) => !GONE.has(vm.state));
  }

  /** Runs work over items with bounded concurrency; the first failure stops new work and is thrown. */
  private async pool<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
    let next = 0;
    let failure: Error | undefined;
    const worker = async (): Promise<void> => {
      while (next < items.length && failure === undefined) {
        const item = items[next++];
        try {
          await work(item);
        } catch (error) {
          failure ??= asError(error);
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
