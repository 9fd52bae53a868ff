import { createHash } from 'node:crypto';
import { VM_TAGS } from '../../lib/cluster/tags.js';

/**
 * The cluster's shape: which node slots exist, what their VMs are called
 * and how they are tagged. Names and tags are derived from the instance id
 * alone, so a restarted orchestrator finds its VMs again instead of
 * creating more.
 */

export type Role = 'master' | 'agent';

export interface Slot {
  readonly role: Role;
  /** 1-based within the role. */
  readonly index: number;
}

export const TAGS = VM_TAGS;

export const ZK_PORT = 2181;
export const MASTER_PORT = 5050;
export const AGENT_PORT = 5051;
export const MARATHON_PORT = 8080;

/**
 * The cluster's slots: masters 1 to `masters`, and the agents `agentSlots`
 * keeps of the ones there are (`existing`, their indices).
 */
export function slotsFor(masters: number, agents: number, existing: readonly number[] = [], work?: (index: number) => number): Slot[] {
  return [...Array.from({ length: masters }, (_, i) => ({ role: 'master' as const, index: i + 1 })), ...agentSlots(existing, agents, work)];
}

/**
 * The agent slots of a cluster of `wanted` agents that has the agents
 * `existing`: growing keeps them all and takes the lowest free indices;
 * shrinking removes the agents with the least work (the highest index of
 * equals), so that as little as possible has to move.
 */
function agentSlots(existing: readonly number[], wanted: number, work: (index: number) => number = () => 0): Slot[] {
  const have = [...new Set(existing)];
  const keep = new Set(have);
  if (have.length > wanted) {
    const leaving = [...have].sort((a, b) => work(a) - work(b) || b - a).slice(0, have.length - wanted);
    for (const index of leaving) keep.delete(index);
  }
  for (let index = 1; keep.size < wanted; index++) keep.add(index);
  return [...keep].sort((a, b) => a - b).map((index) => ({ role: 'agent' as const, index }));
}

export function slotKey(slot: Slot): string {
  return `${slot.role === 'master' ? 'm' : 'a'}${slot.index}`;
}

export function describeSlot(slot: Slot, of?: number): string {
  return `${slot.role} ${slot.index}${of === undefined ? '' : ` of ${of}`}`;
}

/**
 * A short host-name prefix unique to the instance: `mesos-` and ten base32
 * characters of its hash (host names allow letters, digits and '-', at most 63).
 */
export function clusterPrefix(instanceId: string): string {
  const digest = createHash('sha256').update(instanceId).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 10) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 10) break;
  }
  return `mesos-${out}`;
}

/** The VM host name of a slot's generation: the first VM of agent 3 is `<prefix>-a3`, its replacement `<prefix>-a3-g2`. */
export function vmName(prefix: string, slot: Slot, generation: number): string {
  return `${prefix}-${slotKey(slot)}${generation > 1 ? `-g${generation}` : ''}`;
}

/** Who a cluster's VMs belong to: the instance, and the service manager when one drives it. */
export interface Owner {
  readonly instanceId: string;
  readonly managerId?: string;
}

/** The tags naming the owner, on every VM and on the cluster's security group. */
export function ownerTags(owner: Owner): Record<string, string> {
  return { [TAGS.instance]: owner.instanceId, ...(owner.managerId === undefined ? {} : { [TAGS.manager]: owner.managerId }) };
}

/** A VM's tags: its owner and its role, the same for every VM of a role, so one call tags them all; the slot and generation are in its name. */
export function tagsFor(owner: Owner, role: Role): Record<string, string> {
  return { ...ownerTags(owner), [TAGS.role]: role };
}

/** Where the cluster's daemons listen: ZooKeeper, the masters, the agents, Marathon. */
export const DAEMON_PORTS = [ZK_PORT, MASTER_PORT, AGENT_PORT, MARATHON_PORT] as const;

/** The slot and generation a VM's name says (see vmName), when it is one of the cluster's. */
export function slotFromName(prefix: string, name: string): { slot: Slot; generation: number } | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const parts = /^([ma])([1-9]\d{0,5})(?:-g([2-9]|[1-9]\d{1,5}))?$/.exec(name.slice(prefix.length + 1));
  if (!parts) return undefined;
  return { slot: { role: parts[1] === 'm' ? 'master' : 'agent', index: Number(parts[2]) }, generation: Number(parts[3] ?? '1') };
}

/** A majority of the masters, as ZooKeeper and the Mesos replicated log need. */
export function quorum(masters: number): number {
  return Math.floor(masters / 2) + 1;
}

export function zkUrl(masterAddresses: readonly string[], path: 'mesos' | 'marathon'): string {
  return `zk://${masterAddresses.map((ip) => `${ip}:${ZK_PORT}`).join(',')}/${path}`;
}
