import type { Timers } from '../lib/clock.js';
import type { Fixtures, Limits, SimSettings, Timing } from './fixtures.js';

/** The simulated cloud's state: what the management server's database would hold. */

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly apikey: string;
  readonly secretkey: string;
  readonly admin: boolean;
  readonly limits: Limits;
  readonly number: number;
  readonly userId: string;
  readonly domainId: string;
}

export interface Zone {
  readonly id: string;
  readonly name: string;
  readonly securitygroupsenabled: boolean;
}

export interface Network {
  readonly id: string;
  readonly name: string;
  readonly zone: Zone;
  readonly cidr: string;
  readonly gateway: string;
  readonly netmask: string;
  readonly isDefault: boolean;
  /** First and last usable host numbers (offsets from the network address). */
  readonly first: number;
  readonly last: number;
  readonly base: number;
  readonly allocated: Set<number>;
  /** The host number handed out last; allocation goes on after it. */
  cursor: number;
}

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly displaytext: string;
  readonly ostypename: string;
  readonly zones: readonly Zone[];
  readonly guest: string;
  readonly created: number;
}

export interface Offering {
  readonly id: string;
  readonly name: string;
  readonly cpunumber: number;
  readonly cpuspeed: number;
  readonly memory: number;
  readonly created: number;
}

export type VmState = 'Stopped' | 'Starting' | 'Running' | 'Stopping' | 'Destroyed' | 'Expunging' | 'Error';

export interface Vm {
  readonly id: string;
  readonly internalId: number;
  readonly name: string;
  displayname: string;
  readonly account: Account;
  readonly zone: Zone;
  readonly template: Template;
  readonly offering: Offering;
  readonly network: Network;
  readonly ip: string;
  readonly mac: string;
  readonly nicId: string;
  readonly created: number;
  userData?: string;
  readonly keypairs?: string;
  readonly securityGroupIds: readonly string[];
  readonly group?: string;
  state: VmState;
  /** When the row was removed (expunged); the uuid still resolves afterwards. */
  removed?: number;
  /** Whether the VM counts against the account's limits. */
  counted: boolean;
  /** The tags it carried when it was removed, kept for the control API's leak checks. */
  lastTags?: Readonly<Record<string, string>>;
  cancelExpunge?: () => void;
}

export interface Tag {
  readonly key: string;
  readonly value: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly account: Account;
  readonly customer?: string;
}

export interface Job {
  readonly id: string;
  readonly account: Account;
  readonly command: string;
  readonly cmdClass: string;
  readonly instanceType?: string;
  readonly instanceId?: string;
  readonly created: number;
  status: 0 | 1 | 2 | 3;
  resultCode: number;
  result?: Record<string, unknown>;
  completed?: number;
}

export interface KeyPair {
  readonly id: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly account: Account;
}

export interface Rule {
  readonly ruleid: string;
  readonly protocol: string;
  readonly startport?: number;
  readonly endport?: number;
  readonly icmptype?: number;
  readonly icmpcode?: number;
  /** Traffic from these addresses; or, instead, from the VMs in another group: */
  readonly cidr?: string;
  readonly securitygroupname?: string;
  readonly account?: string;
}

export interface SecurityGroup {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly account: Account;
  readonly ingress: Rule[];
}

export const DOMAIN = { id: '9b1e8f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', name: 'ROOT', path: 'ROOT' } as const;

export class Cloud {
  readonly accounts: readonly Account[];
  readonly zones: readonly Zone[];
  readonly networks: readonly Network[];
  readonly templates: readonly Template[];
  readonly offerings: readonly Offering[];
  readonly vms = new Map<string, Vm>();
  readonly jobs = new Map<string, Job>();
  /** API calls received, by account name, then command: what a client's work costs the cloud. */
  readonly calls = new Map<string, Map<string, number>>();
  readonly keypairs: KeyPair[] = [];
  readonly securityGroups: SecurityGroup[] = [];
  tags: Tag[] = [];
  settings: SimSettings;
  readonly timing: Timing;
  private nextVmNumber = 1;

  countCall(account: string, command: string): void {
    let byCommand = this.calls.get(account);
    if (!byCommand) this.calls.set(account, (byCommand = new Map<string, number>()));
    byCommand.set(command, (byCommand.get(command) ?? 0) + 1);
  }

  constructor(
    fixtures: Fixtures,
    readonly newId: () => string,
    readonly timers: Timers,
  ) {
    const now = timers.now();
    this.settings = fixtures.settings;
    this.timing = fixtures.timing;
    this.accounts = fixtures.accounts.map((a, i) => ({ ...a, id: newId(), number: i + 2, userId: newId(), domainId: DOMAIN.id }));
    this.zones = fixtures.zones.map((z) => ({ ...z }));
    const zone = (name: string): Zone => this.zones.find((z) => z.name === name)!;
    this.networks = fixtures.networks.map((n) => ({
      ...addressPlan(n.cidr),
      id: n.id,
      name: n.name,
      zone: zone(n.zone),
      cidr: n.cidr,
      isDefault: n.default,
      allocated: new Set<number>(),
      cursor: 0,
    }));
    this.templates = fixtures.templates.map((t) => ({ ...t, zones: t.zones.map(zone), created: now }));
    this.offerings = fixtures.serviceofferings.map((o) => ({ ...o, created: now }));
    for (const account of this.accounts) {
      this.securityGroups.push({ id: newId(), name: 'default', description: 'Default Security Group', account, ingress: [] });
    }
  }

  /**
   * Whether a VM's security groups let TCP traffic from `source` in on
   * `port`. VMs in zones without security groups take anything; in a zone
   * with them, only what a rule of one of the VM's groups allows (a new
   * group, the default one included, allows nothing in).
   */
  admits(vm: Vm, source: string, port: number): boolean {
    if (!vm.zone.securitygroupsenabled) return true;
    const groups = this.securityGroups.filter((g) => vm.securityGroupIds.includes(g.id));
    return groups.some((group) => group.ingress.some((rule) => this.allows(rule, group.account, source, port)));
  }

  private allows(rule: Rule, owner: Account, source: string, port: number): boolean {
    if (rule.protocol !== 'all' && rule.protocol !== 'tcp') return false;
    if (rule.protocol === 'tcp' && !(port >= (rule.startport ?? 0) && port <= (rule.endport ?? 65535))) return false;
    if (rule.cidr !== undefined) return inCidr(source, rule.cidr);
    const from = this.securityGroups.find((g) => g.name === rule.securitygroupname && g.account.name === (rule.account ?? owner.name));
    if (!from) return false;
    return [...this.vms.values()].some((other) => other.removed === undefined && other.ip === source && other.securityGroupIds.includes(from.id));
  }

  accountByKey(apikey: string): Account | undefined {
    const wanted = apikey.toLowerCase();
    return this.accounts.find((a) => a.apikey.toLowerCase() === wanted);
  }

  nextInternalId(): number {
    return this.nextVmNumber++;
  }

  /** What an account's counted VMs use, for limit checks. */
  usage(account: Account): { user_vm: number; cpu: number; memory: number } {
    const used = { user_vm: 0, cpu: 0, memory: 0 };
    for (const vm of this.vms.values()) {
      if (vm.account !== account || !vm.counted) continue;
      used.user_vm += 1;
      used.cpu += vm.offering.cpunumber;
      used.memory += vm.offering.memory;
    }
    return used;
  }

  /**
   * The next free address after the last one handed out, wrapping around, or
   * undefined when the network is full. Like CloudStack's own (random) choice,
   * it does not hand a just-released address to the next VM, which may be
   * about to be claimed again by the replacement of the VM that held it.
   */
  allocateAddress(network: Network): string | undefined {
    const size = network.last - network.first + 1;
    for (let step = 1; step <= size; step++) {
      const host = network.first + ((Math.max(network.cursor, network.first - 1) - network.first + step) % size);
      if (network.allocated.has(host)) continue;
      network.allocated.add(host);
      network.cursor = host;
      return ipv4(network.base + host);
    }
    return undefined;
  }

  /** Takes a chosen address of the network: 'free', 'taken' or 'outside' the network's range. */
  claimAddress(network: Network, address: string): 'free' | 'taken' | 'outside' {
    const host = parseIpv4(address) - network.base;
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(address) || host < network.first || host > network.last) return 'outside';
    if (network.allocated.has(host)) return 'taken';
    network.allocated.add(host);
    return 'free';
  }

  releaseAddress(network: Network, address: string): void {
    network.allocated.delete(parseIpv4(address) - network.base);
  }

  tagsOf(resourceId: string): Tag[] {
    return this.tags.filter((t) => t.resourceId === resourceId);
  }
}

function addressPlan(cidr: string): Pick<Network, 'gateway' | 'netmask' | 'first' | 'last' | 'base'> {
  const [address, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const base = (parseIpv4(address) & ~(size - 1)) >>> 0;
  const mask = (0xffffffff << (32 - Number(bits))) >>> 0;
  return { base, gateway: ipv4(base + 1), netmask: ipv4(mask), first: 2, last: size - 2 };
}

export function parseIpv4(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function ipv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** An IPv4 CIDR block as CloudStack accepts it in a rule (a.b.c.d/n). */
export function isCidr(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  return extra === undefined && address !== undefined && IPV4.test(address) && bits !== undefined && /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}

/** Whether an IPv4 address lies in a CIDR block. */
export function inCidr(address: string, cidr: string): boolean {
  if (!IPV4.test(address) || !isCidr(cidr)) return false;
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(parseIpv4(address) / size) === Math.floor(parseIpv4(base) / size);
}
