import type { Logger } from '../lib/logger.js';

/** What a guest learns about the VM it runs in. */
export interface GuestVm {
  readonly id: string;
  readonly name: string;
  readonly template: string;
  /** The VM's address, a loopback address the guest's services bind to. */
  readonly address: string;
  /** The decoded user data (e.g. #cloud-config), empty when none was given. */
  readonly userData: string;
  /** What the VM's service offering gives it. */
  readonly cpus: number;
  readonly memoryMb: number;
  /** Whether the VM's security groups let TCP traffic from `source` in on `port`, as they stand now. */
  readonly admits: (source: string, port: number) => boolean;
}

/**
 * Software that runs "inside" simulated VMs of a template: started when a VM
 * reaches Running, halted when it stops, fails or is destroyed.
 */
export interface Guest {
  start(vm: GuestVm): void | Promise<void>;
  stop(vmId: string): void | Promise<void>;
  /** The VM is expunged: whatever the guest kept for its next boot can go. */
  forget?(vmId: string): void;
}

/** The guest of templates whose VMs need to do nothing. */
export const NO_GUEST: Guest = { start: () => undefined, stop: () => undefined };

/** The guests by kind, as templates name them in the fixtures. */
export class Guests {
  private readonly running = new Map<string, Guest>();

  constructor(
    private readonly kinds: ReadonlyMap<string, Guest>,
    private readonly logger?: Logger,
  ) {}

  has(kind: string): boolean {
    return this.kinds.has(kind);
  }

  kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /** Starts the template's guest for a VM; a guest that fails does not change the VM. */
  start(kind: string, vm: GuestVm): void {
    const guest = this.kinds.get(kind) ?? NO_GUEST;
    this.running.set(vm.id, guest);
    this.settle(vm.id, 'start', () => guest.start(vm));
  }

  stop(vmId: string): void {
    const guest = this.running.get(vmId);
    if (!guest) return;
    this.running.delete(vmId);
    this.settle(vmId, 'stop', () => guest.stop(vmId));
  }

  /** Tells every guest kind that a VM is gone for good. */
  forget(vmId: string): void {
    for (const guest of this.kinds.values()) guest.forget?.(vmId);
  }

  /** Halts every guest, as when the simulator shuts down. */
  stopAll(): void {
    for (const vmId of [...this.running.keys()]) this.stop(vmId);
  }

  private settle(vmId: string, what: string, action: () => void | Promise<void>): void {
    Promise.resolve()
      .then(action)
      .catch((error: unknown) => this.logger?.warn(`guest ${what} failed`, { vm: vmId, error: String(error) }));
  }
}
