import type { CloudStack, CloudStackCredentials } from '../../lib/cloudstack/index.js';
import { tagsOf } from '../../lib/cloudstack/types.js';
import { VM_TAGS } from '../../lib/cluster/tags.js';
import type { Logger } from '../../lib/logger.js';
import type { InstanceRegistry } from '../registry/registry.js';
import { messageOf } from '../../lib/errors.js';

export interface VmSweepDeps {
  readonly registry: InstanceRegistry;
  readonly managerId: string;
  /** The CloudStack accounts instances are built in. */
  readonly accounts: () => readonly CloudStackCredentials[];
  readonly connect: (account: CloudStackCredentials) => CloudStack;
  /** How long one VM's destroy may take. */
  readonly deadlineMs: number;
  readonly logger: Logger;
}

const GONE = new Set(['Destroyed', 'Expunging', 'Expunged']);

/**
 * Finds VMs, and clusters' security groups, that outlived their instance:
 * tagged with this service manager, naming an instance that is not live.
 * Only this SM's tag makes one a candidate, so what other service managers
 * or people made is never touched. A group goes once no VM holds it.
 */
export class VmSweeper {
  private readonly connections = new Map<string, CloudStack>();

  constructor(private readonly deps: VmSweepDeps) {}

  async sweep(): Promise<number> {
    let destroyed = 0;
    for (const account of this.deps.accounts()) {
      try {
        destroyed += await this.sweepAccount(account);
      } catch (error) {
        this.deps.logger.warn('VM sweep of an account failed; it is tried again on the next run', {
          account: account.apiKey.slice(0, 6),
          reason: messageOf(error),
        });
      }
    }
    return destroyed;
  }

  private async sweepAccount(account: CloudStackCredentials): Promise<number> {
    const cloudstack = this.connection(account);
    const vms = await cloudstack.vms.list({ tags: { [VM_TAGS.manager]: this.deps.managerId } });
    let destroyed = 0;
    for (const vm of vms) {
      const uid = tagsOf(vm)[VM_TAGS.instance];
      if (GONE.has(vm.state) || uid === undefined || this.deps.registry.byUid(uid)) continue;
      await cloudstack.vms.destroy(vm.id, { deadlineMs: this.deps.deadlineMs });
      this.deps.logger.warn('destroyed a VM whose instance no longer exists', { vm: vm.name, id: vm.id, uid });
      destroyed++;
    }
    return destroyed + (await this.sweepGroups(cloudstack));
  }

  private async sweepGroups(cloudstack: CloudStack): Promise<number> {
    let removed = 0;
    for (const group of await cloudstack.securityGroups.tagged(VM_TAGS.manager, this.deps.managerId)) {
      const uid = (group.tags ?? []).find((t) => t.key === VM_TAGS.instance)?.value;
      if (uid === undefined || this.deps.registry.byUid(uid) || (group.virtualmachinecount ?? 0) > 0) continue;
      await cloudstack.securityGroups.remove(group.name, { deadlineMs: this.deps.deadlineMs });
      this.deps.logger.warn('removed a security group whose instance no longer exists', { group: group.name, uid });
      removed++;
    }
    return removed;
  }

  private connection(account: CloudStackCredentials): CloudStack {
    let connection = this.connections.get(account.apiKey);
    if (!connection) {
      connection = this.deps.connect(account);
      this.connections.set(account.apiKey, connection);
    }
    return connection;
  }
}
