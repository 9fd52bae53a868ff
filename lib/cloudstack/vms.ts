import type { CloudStackClient } from './client.js';
import type { Discovery } from './discovery.js';
import { CloudStackError, isTransient as transient } from './errors.js';
import { retryingWrite, type OperationOptions } from './retry.js';
import { tagsOf, type VirtualMachine } from './types.js';

/** What to deploy. The name is the hostname and must be deterministic, so a lost answer can be reconciled. */
export interface DeploySpec {
  readonly name: string;
  readonly displayName?: string;
  readonly zoneId: string;
  readonly templateId: string;
  readonly serviceOfferingId: string;
  readonly networkIds?: readonly string[];
  readonly securityGroupIds?: readonly string[];
  readonly keypair?: string;
  /** Plain text (e.g. #cloud-config); base64-encoded here. */
  readonly userData?: string;
  /** Labels marking the owner, written right after the VM exists. */
  readonly tags: Readonly<Record<string, string>>;
  /** False to create the VM Stopped (e.g. to set its user data once its address is known); true by default. */
  readonly startVm?: boolean;
  /** A chosen address in the default network, e.g. to give a replacement the address of the VM it replaces. */
  readonly ipAddress?: string;
}

export interface SubmittedVm {
  readonly id: string;
  /** Absent when an existing VM was adopted after its job had finished. */
  readonly jobid?: string;
}

export type { OperationOptions } from './retry.js';

export interface DeployOptions extends OperationOptions {
  /** Called with the VM id and job id before waiting, so the caller can journal them. */
  readonly onSubmitted?: (vm: SubmittedVm) => void | Promise<void>;
}

export interface VmFilter {
  /** All must match; one pair is sent as the server-side filter, the rest are checked here. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly zoneId?: string;
  readonly networkId?: string;
  readonly state?: string;
}

/** The largest base64 user data a default CloudStack accepts (vm.userdata.max.length). */
export const USER_DATA_LIMIT = 32_768;

/** How often a VM without a pending job is looked at while waiting for its state. */
const POLL_WHILE_ADOPTING_MS = 2000;

/** Deploying, listing and destroying VMs without ever leaving one behind unknowingly. */
export class VirtualMachines {
  constructor(
    private readonly client: CloudStackClient,
    private readonly discovery: Discovery,
    private readonly userDataLimit = USER_DATA_LIMIT,
  ) {}

  /**
   * Deploys a VM, tags it, and waits until it runs. If the deploy answer is
   * lost, the VM is looked up by name and adopted instead of deployed twice.
   * A VM that ends in Error is left for the caller to destroy; the thrown
   * error's resourceId names it.
   */
  async deploy(spec: DeploySpec, options: DeployOptions): Promise<VirtualMachine> {
    const submitted = await this.submit(spec, options);
    await options.onSubmitted?.(submitted);
    await this.tag([submitted.id], spec.tags, options);
    return this.deployed(submitted, spec.startVm !== false, options);
  }

  /** Waits for a VM submitted with `submit` to be Running (or Stopped, when it was deployed stopped). */
  async deployed(submitted: SubmittedVm, started: boolean, options: OperationOptions): Promise<VirtualMachine> {
    const settled = started ? ['Running'] : ['Stopped', 'Running'];
    if (submitted.jobid === undefined) return this.waitForState(submitted.id, settled, options);
    return this.awaitDeployJob(submitted.id, submitted.jobid, settled, options);
  }

  private async awaitDeployJob(id: string, jobid: string, settled: readonly string[], options: OperationOptions): Promise<VirtualMachine> {
    const result = await this.client
      .waitForJob<{ virtualmachine: VirtualMachine }>('deployVirtualMachine', jobid, {
        ...options,
        onLost: async () => {
          const vm = await this.get(id, options.signal);
          return vm && settled.includes(vm.state) ? { virtualmachine: vm } : undefined;
        },
      })
      .catch((error: unknown) => {
        throw withResource(error, id);
      });
    return result.virtualmachine;
  }

  /**
   * Asks for a VM without waiting for it (see `deployed`); its tags are not
   * set. A VM of the same name that a lost answer made is adopted instead.
   */
  async submit(spec: DeploySpec, options: OperationOptions): Promise<SubmittedVm> {
    const params = {
      name: spec.name,
      displayname: spec.displayName ?? spec.name,
      zoneid: spec.zoneId,
      templateid: spec.templateId,
      serviceofferingid: spec.serviceOfferingId,
      networkids: spec.networkIds,
      securitygroupids: spec.securityGroupIds,
      keypair: spec.keypair,
      userdata: spec.userData === undefined ? undefined : this.encodeUserData(spec.userData, 'deployVirtualMachine'),
      startvm: spec.startVm === false ? false : undefined,
      ipaddress: spec.ipAddress,
    };
    // Before every new try the VM is looked up by its name: a deploy whose answer was lost may have made it.
    return retryingWrite(
      this.client,
      options,
      false,
      () => this.client.request<SubmittedVm>('deployVirtualMachine', params, options),
      async (error) => {
        const clash = error instanceof CloudStackError && error.errorcode === 431 && /already exists/.test(error.errortext);
        if (!clash && !transient(error, false)) return undefined;
        const existing = await this.findByName(spec.name, spec.zoneId, options.signal);
        if (existing) return { id: existing.id, ...(existing.jobid ? { jobid: existing.jobid } : {}) };
        if (clash) throw error;
        return undefined;
      },
    );
  }

  private encodeUserData(text: string, command: string): string {
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    if (encoded.length > this.userDataLimit) {
      throw new CloudStackError({
        command,
        httpStatus: 0,
        errorcode: 431,
        errortext: `user data is ${encoded.length} bytes in base64, over the ${this.userDataLimit}-byte limit`,
      });
    }
    return encoded;
  }

  /**
   * Gives VMs the same tags, in one call for all of them. A try that failed
   * is made again for what is still missing, VMs missing the same keys
   * together; VMs that are gone are left out.
   */
  async tag(ids: readonly string[], tags: Readonly<Record<string, string>>, options: OperationOptions): Promise<void> {
    if (ids.length === 0) return;
    let groups: TagGroup[] = [{ ids: [...ids], tags: { ...tags } }];
    const write = async (): Promise<true> => {
      for (const group of groups) await this.tagOnce(group.ids, group.tags, options);
      return true;
    };
    await retryingWrite(this.client, options, true, write, async () => {
      groups = await this.untagged(ids, tags, options.signal);
      return groups.length === 0 ? true : undefined;
    });
  }

  /** The VMs still missing some of the tags, grouped by the tags they miss. */
  private async untagged(ids: readonly string[], tags: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<TagGroup[]> {
    const vms = await this.client.list<VirtualMachine>('listVirtualMachines', 'virtualmachine', { ids }, signal ? { signal } : {});
    const groups = new Map<string, TagGroup>();
    for (const vm of vms) {
      const present = tagsOf(vm);
      const missing = Object.entries(tags).filter(([key]) => present[key] === undefined);
      if (missing.length === 0) continue;
      const key = missing.map(([k]) => k).join('\n');
      const group = groups.get(key) ?? { ids: [], tags: Object.fromEntries(missing) };
      group.ids.push(vm.id);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  private async tagOnce(ids: readonly string[], tags: Readonly<Record<string, string>>, options: OperationOptions): Promise<void> {
    const { jobid } = await this.client.request<{ jobid: string }>('createTags', { resourcetype: 'UserVm', resourceids: ids, tags }, options);
    await this.client.waitForJob('createTags', jobid, {
      ...options,
      onLost: async () => ((await this.untagged(ids, tags, options.signal)).length === 0 ? {} : undefined),
    });
  }

  /**
   * Waits until a VM is in one of the given states, following its pending job
   * if it has one. Error, disappearance and the deadline are failures.
   */
  async waitForState(id: string, settled: readonly string[], options: OperationOptions): Promise<VirtualMachine> {
    const deadline = this.client.timers.now() + options.deadlineMs;
    for (;;) {
      const vm = await this.get(id, options.signal);
      if (!vm) throw deployProblem(id, 431, 'disappeared');
      if (settled.includes(vm.state)) return vm;
      if (vm.state === 'Error') throw deployProblem(id, 530, 'is in Error');
      const left = deadline - this.client.timers.now();
      if (left <= 0) throw deployProblem(id, 530, `stayed ${vm.state}`);
      if (vm.jobid) {
        await this.client.waitForJob('queryAsyncJobResult', vm.jobid, { ...options, deadlineMs: left }).catch((error: unknown) => {
          throw withResource(error, id);
        });
        continue;
      }
      await this.client.timers.sleep(Math.min(left, POLL_WHILE_ADOPTING_MS), options.signal);
    }
  }

  /**
   * Destroys a VM, expunging it when the account may. Already destroyed or
   * gone counts as done, so destroying twice is safe.
   */
  async destroy(id: string, options: OperationOptions): Promise<void> {
    const expunge = (await this.discovery.capabilities(options.signal)).allowuserexpungerecovervm === true;
    try {
      const once = async (): Promise<boolean> => {
        await this.destroyOnce(id, expunge, options);
        return true;
      };
      await retryingWrite(this.client, options, true, once, async (error) => {
        if (isGone(error)) return true;
        if (!transient(error, true)) return undefined;
        const vm = await this.get(id, options.signal);
        return vm === undefined || (vm.state === 'Destroyed' && !expunge) ? true : undefined;
      });
    } catch (error) {
      if (isGone(error)) return;
      if (expunge && error instanceof CloudStackError && error.jobid && error.errorcode === 530) {
        await this.destroyOnce(id, false, options).catch((again: unknown) => {
          if (!isGone(again)) throw again;
        });
        return;
      }
      throw error;
    }
  }

  private async destroyOnce(id: string, expunge: boolean, options: OperationOptions): Promise<void> {
    const { jobid } = await this.client.request<{ jobid: string }>('destroyVirtualMachine', { id, expunge: expunge || undefined }, options);
    await this.client.waitForJob('destroyVirtualMachine', jobid, {
      ...options,
      onLost: async () => {
        const vm = await this.get(id, options.signal);
        return vm === undefined || vm.state === 'Destroyed' ? {} : undefined;
      },
    });
  }

  /** Replaces a VM's user data (base64-encoded here); a guest reads it at its next boot. */
  async setUserData(id: string, userData: string, options: OperationOptions): Promise<VirtualMachine> {
    const userdata = this.encodeUserData(userData, 'updateVirtualMachine');
    const body = await retryingWrite(this.client, options, false, () =>
      this.client.request<{ virtualmachine: VirtualMachine }>('updateVirtualMachine', { id, userdata }, options),
    );
    return body.virtualmachine;
  }

  /** Starts a VM; when the answer was lost, a VM found starting is waited for rather than started again. */
  async start(id: string, options: OperationOptions): Promise<VirtualMachine> {
    return retryingWrite(
      this.client,
      options,
      false,
      () => this.vmJob('startVirtualMachine', id, options),
      (error) => this.reached(id, error, 'Running', options),
    );
  }

  async stop(id: string, options: OperationOptions): Promise<VirtualMachine> {
    return retryingWrite(
      this.client,
      options,
      false,
      () => this.vmJob('stopVirtualMachine', id, options),
      (error) => this.reached(id, error, 'Stopped', options),
    );
  }

  /** After a lost answer: the VM in the wanted state, or on its way there (waited for), or undefined to try again. */
  private async reached(id: string, error: unknown, wanted: string, options: OperationOptions): Promise<VirtualMachine | undefined> {
    if (!transient(error, false)) return undefined;
    const vm = await this.get(id, options.signal);
    if (vm?.state === wanted) return vm;
    if (vm?.jobid !== undefined) return this.waitForState(id, [wanted], options);
    return undefined;
  }

  async reboot(id: string, options: OperationOptions): Promise<VirtualMachine> {
    return this.vmJob('rebootVirtualMachine', id, options);
  }

  private async vmJob(command: string, id: string, options: OperationOptions): Promise<VirtualMachine> {
    const { jobid } = await this.client.request<{ jobid: string }>(command, { id }, options);
    const result = await this.client.waitForJob<{ virtualmachine: VirtualMachine }>(command, jobid, options);
    return result.virtualmachine;
  }

  /** VMs matching every given filter, across all pages. */
  async list(filter: VmFilter, signal?: AbortSignal): Promise<VirtualMachine[]> {
    const tags = Object.entries(filter.tags ?? {});
    const [first] = tags;
    const vms = await this.client.list<VirtualMachine>(
      'listVirtualMachines',
      'virtualmachine',
      {
        tags: first ? { [first[0]]: first[1] } : undefined,
        name: filter.name,
        zoneid: filter.zoneId,
        networkid: filter.networkId,
        state: filter.state,
      },
      signal ? { signal } : {},
    );
    return vms.filter((vm) => {
      const own = tagsOf(vm);
      return tags.every(([key, value]) => own[key] === value) && (filter.name === undefined || vm.name === filter.name);
    });
  }

  async get(id: string, signal?: AbortSignal): Promise<VirtualMachine | undefined> {
    try {
      const [vm] = await this.client.list<VirtualMachine>('listVirtualMachines', 'virtualmachine', { id }, signal ? { signal } : {});
      return vm;
    } catch (error) {
      if (error instanceof CloudStackError && error.errorcode === 431) return undefined;
      throw error;
    }
  }

  private async findByName(name: string, zoneId: string, signal?: AbortSignal): Promise<VirtualMachine | undefined> {
    const [vm] = await this.list({ name, zoneId }, signal);
    return vm;
  }
}

interface TagGroup {
  readonly ids: string[];
  readonly tags: Record<string, string>;
}

/** The deploy was refused because the address asked for (ipaddress) is another VM's. */
export function isAddressTaken(error: unknown): boolean {
  return (
    error instanceof CloudStackError &&
    error.errorcode === 431 &&
    /ip address/i.test(error.errortext) &&
    /already (used|in use|allocated)/i.test(error.errortext)
  );
}

function deployProblem(id: string, errorcode: number, what: string): CloudStackError {
  return new CloudStackError({ command: 'deployVirtualMachine', httpStatus: 0, errorcode, errortext: `VM ${id} ${what}`, resourceId: id });
}

function isGone(error: unknown): boolean {
  return error instanceof CloudStackError && error.errorcode === 431 && /entity does not exist|unable to find a virtual machine/i.test(error.errortext);
}

function withResource(error: unknown, id: string): unknown {
  if (!(error instanceof CloudStackError) || error.resourceId !== undefined) return error;
  return new CloudStackError({
    command: error.command,
    httpStatus: error.httpStatus,
    errorcode: error.errorcode,
    ...(error.cserrorcode !== undefined ? { cserrorcode: error.cserrorcode } : {}),
    errortext: error.errortext,
    ...(error.jobid !== undefined ? { jobid: error.jobid } : {}),
    resourceId: id,
  });
}
