import { InvalidInput } from '../../lib/errors.js';
import { isObject } from '../../lib/objects.js';
import { FaultBook } from '../fault-book.js';

/**
 * Faults of the emulated cluster, injected through /sim/mesos/faults. Agent
 * faults apply to the next `count` agents that start (or to the VM named
 * `vm`); cluster faults apply from now on.
 *
 * - agent-never-starts: the agent daemon never comes up.
 * - master-never-starts: the master daemon of the next `count` masters (or of VM `vm`) never comes up.
 * - agent-late: the agent registers `ms` later than it would.
 * - agent-flaps: once registered, the agent turns inactive and active again every `periodMs`.
 * - agent-loopback: the agent advertises 127.0.1.1; it registers, the master cannot reach it, it turns inactive.
 * - no-leader: no master is elected for `ms`.
 * - leader-change: the leading masters step down now and a new election follows.
 * - recovery-503: a new leader takes `ms` longer to recover (v1 API answers 503 meanwhile).
 * - slow: every Mesos and Marathon HTTP answer comes `ms` later (for `count` answers, or until cleared).
 * - marathon-unregistered: Marathon gets elected but never registers with Mesos.
 * - agent-dies: the agent process on VM `vm` dies now and stays down (its VM runs on).
 * - agent-partitioned: the network between VM `vm`'s agent and the masters is cut, for `ms` or until
 *   removed; the agent keeps running, the masters mark it unreachable after the ping timeouts.
 */
interface AgentTarget {
  count?: number;
  vm?: string;
}

export type MesosFault =
  | ({ kind: 'agent-never-starts' } & AgentTarget)
  | ({ kind: 'master-never-starts' } & AgentTarget)
  | ({ kind: 'agent-loopback' } & AgentTarget)
  | ({ kind: 'agent-late'; ms: number } & AgentTarget)
  | ({ kind: 'agent-flaps'; periodMs: number } & AgentTarget)
  | { kind: 'no-leader'; ms: number }
  | { kind: 'recovery-503'; ms: number }
  | { kind: 'leader-change' }
  | { kind: 'slow'; ms: number; count?: number }
  | { kind: 'marathon-unregistered' }
  | { kind: 'agent-dies'; vm: string }
  | { kind: 'agent-partitioned'; vm: string; ms?: number };

type Kind = MesosFault['kind'];

const AGENT_KINDS: readonly Kind[] = ['agent-never-starts', 'agent-loopback', 'agent-late', 'agent-flaps'];
const NODE_KINDS: readonly Kind[] = [...AGENT_KINDS, 'master-never-starts'];

/** The emulated cluster's faults; without a count, `slow` lasts until removed and the others apply once. */
export class MesosFaults extends FaultBook<MesosFault> {
  constructor() {
    super((fault) => fault.kind === 'slow' || fault.kind === 'agent-partitioned');
  }

  /** Whether the agent of this VM is cut off from the masters now. */
  partitioned(vmName: string): boolean {
    return this.entries.some((e) => e.fault.kind === 'agent-partitioned' && e.fault.vm === vmName);
  }

  /** The faults of these kinds that hit a daemon starting on this VM, each used up once. */
  forNode(vmName: string, kinds: readonly Kind[] = AGENT_KINDS): MesosFault[] {
    const hits = this.entries.filter((e) => kinds.includes(e.fault.kind) && ('vm' in e.fault && e.fault.vm !== undefined ? e.fault.vm === vmName : true));
    return hits.map((hit) => this.spend(hit));
  }

  /** Uses up the first fault of a kind, if any. */
  take<K extends Kind>(kind: K): Extract<MesosFault, { kind: K }> | undefined {
    const hit = this.entries.find((e) => e.fault.kind === kind);
    return hit ? (this.spend(hit) as Extract<MesosFault, { kind: K }>) : undefined;
  }

  /** The delay of a `slow` fault, if one is active. */
  slowMs(): number {
    const slow = this.entries.find((e) => e.fault.kind === 'slow');
    if (!slow || slow.fault.kind !== 'slow') return 0;
    const ms = slow.fault.ms;
    this.spend(slow);
    return ms;
  }
}

const KINDS: readonly Kind[] = [
  ...NODE_KINDS,
  'no-leader',
  'leader-change',
  'recovery-503',
  'slow',
  'marathon-unregistered',
  'agent-dies',
  'agent-partitioned',
];

export function parseMesosFault(body: unknown): MesosFault {
  if (!isObject(body)) throw new InvalidInput('A fault is a JSON object with a "kind".');
  const kind = body['kind'] as Kind;
  if (!KINDS.includes(kind)) throw new InvalidInput(`Unknown fault kind ${JSON.stringify(body['kind'])}; known: ${KINDS.join(', ')}.`);
  const allowed: Record<Kind, readonly string[]> = {
    'agent-never-starts': ['count', 'vm'],
    'master-never-starts': ['count', 'vm'],
    'agent-loopback': ['count', 'vm'],
    'agent-late': ['count', 'vm', 'ms'],
    'agent-flaps': ['count', 'vm', 'periodMs'],
    'no-leader': ['ms'],
    'recovery-503': ['ms'],
    'leader-change': [],
    slow: ['ms', 'count'],
    'marathon-unregistered': [],
    'agent-dies': ['vm'],
    'agent-partitioned': ['vm', 'ms'],
  };
  for (const key of Object.keys(body)) {
    if (key !== 'kind' && !allowed[kind].includes(key)) throw new InvalidInput(`Fault ${kind} takes no "${key}".`);
  }
  const int = (key: string, min: number): number => {
    const value = body[key];
    if (!Number.isSafeInteger(value) || (value as number) < min) throw new InvalidInput(`Fault ${kind}: ${key} must be a whole number ≥ ${min}.`);
    return value as number;
  };
  const count = body['count'] === undefined ? {} : { count: int('count', 1) };
  if (body['vm'] !== undefined && typeof body['vm'] !== 'string') throw new InvalidInput(`Fault ${kind}: vm must be a VM name.`);
  const vm = typeof body['vm'] === 'string' ? { vm: body['vm'] } : {};
  switch (kind) {
    case 'agent-never-starts':
      return { kind, ...count, ...vm };
    case 'master-never-starts':
      return { kind, ...count, ...vm };
    case 'agent-loopback':
      return { kind, ...count, ...vm };
    case 'agent-late':
      return { kind, ...count, ...vm, ms: int('ms', 0) };
    case 'agent-flaps':
      return { kind, ...count, ...vm, periodMs: int('periodMs', 1) };
    case 'no-leader':
      return { kind, ms: int('ms', 0) };
    case 'recovery-503':
      return { kind, ms: int('ms', 0) };
    case 'slow':
      return { kind, ms: int('ms', 0), ...count };
    case 'leader-change':
      return { kind };
    case 'marathon-unregistered':
      return { kind };
    case 'agent-dies':
    case 'agent-partitioned': {
      if (typeof body['vm'] !== 'string' || body['vm'] === '') throw new InvalidInput(`Fault ${kind} needs the "vm" whose agent it hits.`);
      if (kind === 'agent-dies') return { kind, vm: body['vm'] };
      return { kind, vm: body['vm'], ...(body['ms'] === undefined ? {} : { ms: int('ms', 1) }) };
    }
  }
}
