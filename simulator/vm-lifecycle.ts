import { ApiError, CS } from './api-error.js';
import type { Cloud, Vm } from './cloud.js';
import type { Faults } from './faults.js';
import type { Guests } from './guests.js';

/**
 * The VM state machine as jobs drive it: Stopped → Starting → Running,
 * Running → Stopping → Stopped, → Destroyed → Expunging → removed, and Error
 * when a start fails. Guests start and stop with the VM.
 */
export class VmLifecycle {
  constructor(
    private readonly cloud: Cloud,
    private readonly guests: Guests,
    private readonly faults: Faults,
  ) {}

  /**
   * Starts a VM. `command` names the job, for injected job failures. A
   * first start that fails leaves the VM in Error with its resources freed.
   */
  async start(vm: Vm, durationMs: number, command: string, firstStart: boolean): Promise<void> {
    vm.state = 'Starting';
    if (this.faults.take('stuck-starting')) await new Promise<never>(() => undefined);
    await this.cloud.timers.sleep(durationMs);
    const failure = this.faults.take('fail-job', command);
    if (failure) this.failStart(vm, new ApiError(failure.errorcode, failure.errortext, failure.cserrorcode), firstStart);
    if (!this.faults.takeCapacity()) {
      const error = new ApiError(533, `Unable to create a deployment for VM[User|i-${vm.account.number}-${vm.internalId}-VM]`, CS.insufficientServerCapacity);
      this.failStart(vm, error, firstStart);
    }
    vm.state = 'Running';
    this.guests.start(vm.template.guest, {
      id: vm.id,
      name: vm.name,
      template: vm.template.name,
      address: vm.ip,
      userData: vm.userData === undefined ? '' : Buffer.from(vm.userData, 'base64').toString('utf8'),
      cpus: vm.offering.cpunumber,
      memoryMb: vm.offering.memory,
      admits: (source, port) => this.cloud.admits(vm, source, port),
    });
  }

  private failStart(vm: Vm, error: ApiError, firstStart: boolean): never {
    vm.state = firstStart ? 'Error' : 'Stopped';
    if (firstStart) vm.counted = false;
    throw error;
  }

  async stop(vm: Vm, durationMs: number): Promise<void> {
    vm.state = 'Stopping';
    this.guests.stop(vm.id);
    await this.cloud.timers.sleep(durationMs);
    vm.state = 'Stopped';
  }

  /** Destroys a VM: stopped first, then Destroyed and no longer counted; expunged now or after expunge.delay. */
  async destroy(vm: Vm, expunge: boolean): Promise<void> {
    if (vm.state === 'Running' || vm.state === 'Starting') await this.stop(vm, this.cloud.timing.destroyMs);
    this.guests.stop(vm.id);
    vm.counted = false;
    if (expunge || vm.state === 'Error') {
      await this.expunge(vm);
      return;
    }
    vm.state = 'Destroyed';
    vm.cancelExpunge = this.cloud.timers.schedule(this.cloud.settings.expungeDelayMs, () => {
      if (vm.state === 'Destroyed') void this.expunge(vm);
    });
  }

  /** Expunging → removed: the address is freed, tags dropped, the uuid still resolves. */
  async expunge(vm: Vm): Promise<void> {
    vm.cancelExpunge?.();
    vm.state = 'Expunging';
    this.guests.stop(vm.id);
    await this.cloud.timers.sleep(this.cloud.timing.expungeMs);
    vm.removed = this.cloud.timers.now();
    vm.counted = false;
    this.cloud.releaseAddress(vm.network, vm.ip);
    vm.lastTags = Object.fromEntries(this.cloud.tagsOf(vm.id).map((t) => [t.key, t.value]));
    this.guests.forget(vm.id);
    this.cloud.tags = this.cloud.tags.filter((t) => t.resourceId !== vm.id);
  }

  recover(vm: Vm): void {
    vm.cancelExpunge?.();
    vm.state = 'Stopped';
    vm.counted = true;
  }
}
