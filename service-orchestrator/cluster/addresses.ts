import { createHash } from 'node:crypto';

/**
 * Chooses free addresses in the cluster's network before its VMs exist, so
 * every VM can be deployed already started with complete user data (each
 * node names itself and every master). Each cluster scans from a place of
 * its own in the network (from a hash of its name), so clusters built at
 * once rarely reach for the same address and a cluster's VMs sit together;
 * the network, broadcast and gateway addresses and every address known to
 * be in use are left out. Another account's VM the listing could not show
 * makes the deploy fail, and the picker is told.
 */
export class AddressPicker {
  private readonly base: number;
  private readonly size: number;
  private readonly taken: Set<number>;
  private cursor: number;

  constructor(cidr: string, gateway: string | undefined, used: Iterable<string>, seed: string) {
    const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
    const bits = Number(match?.[2]);
    if (!match || bits < 8 || bits > 30) throw new RangeError(`cannot choose addresses in network ${cidr}`);
    this.size = 2 ** (32 - bits);
    this.base = Math.floor(toNumber(match[1]) / this.size) * this.size;
    this.taken = new Set([this.base, this.base + this.size - 1, gateway === undefined ? this.base + 1 : toNumber(gateway)]);
    for (const address of used) this.taken.add(toNumber(address));
    this.cursor = createHash('sha256').update(seed).digest().readUInt32BE(0) % this.size;
  }

  /** A free address, now taken; throws when the network has none left. */
  next(): string {
    for (let step = 0; step < this.size; step++) {
      const candidate = this.base + ((this.cursor + step) % this.size);
      if (this.taken.has(candidate)) continue;
      this.cursor = (candidate - this.base + 1) % this.size;
      return this.take(candidate);
    }
    throw new RangeError('the network has no free address left');
  }

  /** Marks an address as in use: the cloud said another VM has it. */
  exclude(address: string): void {
    this.taken.add(toNumber(address));
  }

  private take(n: number): string {
    this.taken.add(n);
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
  }
}

function toNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}
