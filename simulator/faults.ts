import { InvalidInput } from '../lib/errors.js';
import { isObject } from '../lib/objects.js';
import { FaultBook } from './fault-book.js';

/**
 * Faults a test can inject through the control API. Each applies to one
 * command (or `*` for any) and, unless it has no count, to the next `count`
 * occasions only.
 *
 * - fail-call: the call itself fails with the given code and text.
 * - fail-job: the command's async job fails with the given code and text.
 * - latency: the answer comes `ms` later.
 * - drop-response: the call takes effect but the connection closes without an answer.
 * - reset: the connection is reset before the call is read.
 * - proxy-error: a proxy answers instead, with a non-JSON page and `status`.
 * - stuck-starting: the next deployed VMs stay in Starting.
 * - capacity: only `vms` more VMs can start; then starts fail with 533.
 * - maintenance: every call is refused with 503 while it lasts.
 * - random: faults at a rate, for soak tests: each call (of `command`, or
 *   any) meets one of the call faults among `kinds` with probability
 *   `rate`; each job fails with that probability, and each VM start hangs
 *   with it, when their kinds are listed. Drawn from a seeded generator, so a
 *   run repeats. It lasts until removed.
 */
interface Failure {
  command: string;
  count?: number;
  errorcode: number;
  errortext: string;
  cserrorcode?: number;
}

export type Fault =
  | ({ kind: 'fail-call' } & Failure)
  | ({ kind: 'fail-job' } & Failure)
  | { kind: 'latency'; command: string; count?: number; ms: number }
  | { kind: 'drop-response'; command: string; count?: number }
  | { kind: 'reset'; command: string; count?: number }
  | { kind: 'proxy-error'; command: string; count?: number; status: number }
  | { kind: 'stuck-starting'; count?: number }
  | { kind: 'capacity'; vms: number }
  | { kind: 'maintenance'; count?: number }
  | { kind: 'random'; command: string; rate: number; kinds: readonly RandomKind[]; latencyMs: number; seed: number };

export type FaultKind = Fault['kind'];

/** The faults a random fault draws from. */
export type RandomKind = 'fail-call' | 'fail-job' | 'latency' | 'drop-response' | 'reset' | 'proxy-error' | 'stuck-starting';

const RANDOM_KINDS: readonly RandomKind[] = ['fail-call', 'fail-job', 'latency', 'drop-response', 'reset', 'proxy-error', 'stuck-starting'];
/** The faults a call can meet before its job runs, as opposed to those of jobs and starts. */
const CALL_KINDS: readonly RandomKind[] = ['fail-call', 'latency', 'drop-response', 'reset', 'proxy-error'];

/** What a random fault of each kind looks like: transient failures a real cloud shows now and then. */
function randomFault(kind: RandomKind, command: string, latencyMs: number): Fault {
  switch (kind) {
    case 'fail-call':
      return { kind, command, errorcode: 530, errortext: 'Internal error executing command, please contact your system administrator' };
    case 'fail-job':
      return /^(deploy|start|reboot)VirtualMachine$/.test(command)
        ? { kind, command, errorcode: 533, errortext: 'Unable to create a deployment for VM', cserrorcode: 4250 }
        : { kind, command, errorcode: 530, errortext: 'Job failed due to an internal error' };
    case 'latency':
      return { kind, command, ms: latencyMs };
    case 'proxy-error':
      return { kind, command, status: 502 };
    case 'drop-response':
    case 'reset':
      return { kind, command };
    case 'stuck-starting':
      return { kind };
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same faults. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The simulated management server's faults; those without a count last until removed. */
export class Faults extends FaultBook<Fault> {
  private readonly draws = new Map<number, () => number>();

  constructor() {
    super(() => true);
  }

  /**
   * Uses up one occasion of the first fault of this kind that matches the
   * command, if any; otherwise a random fault may produce one.
   */
  take<K extends Exclude<FaultKind, 'random'>>(kind: K, command?: string): Extract<Fault, { kind: K }> | undefined {
    const match = this.entries.find((e) => e.fault.kind === kind && matches(e.fault, command));
    if (match) return this.spend(match) as Extract<Fault, { kind: K }>;
    return this.draw(kind, command) as Extract<Fault, { kind: K }> | undefined;
  }

  private draw(kind: FaultKind, command: string | undefined): Fault | undefined {
    for (const entry of this.entries) {
      const rule = entry.fault;
      if (rule.kind !== 'random' || !rule.kinds.includes(kind as RandomKind) || !matches(rule, command)) continue;
      // A call meets one of its kinds with the rule's rate in all, so each kind gets a share.
      const calls = rule.kinds.filter((k) => CALL_KINDS.includes(k)).length;
      const chance = CALL_KINDS.includes(kind as RandomKind) ? rule.rate / calls : rule.rate;
      let next = this.draws.get(entry.id);
      if (!next) {
        next = generator(rule.seed);
        this.draws.set(entry.id, next);
      }
      if (next() < chance) return randomFault(kind as RandomKind, command ?? '*', rule.latencyMs);
    }
    return undefined;
  }

  /** Spends one unit of capacity; false when none is left. No capacity fault means unlimited. */
  takeCapacity(): boolean {
    const capacity = this.entries.find((e) => e.fault.kind === 'capacity');
    if (!capacity || capacity.fault.kind !== 'capacity') return true;
    if (capacity.fault.vms <= 0) return false;
    capacity.fault = { ...capacity.fault, vms: capacity.fault.vms - 1 };
    return true;
  }
}

function matches(fault: Fault, command: string | undefined): boolean {
  return command === undefined || !('command' in fault) || fault.command === '*' || fault.command === command;
}

const KINDS: readonly FaultKind[] = [
  'fail-call',
  'fail-job',
  'latency',
  'drop-response',
  'reset',
  'proxy-error',
  'stuck-starting',
  'capacity',
  'maintenance',
  'random',
];

/** Reads a fault from the control API's JSON, refusing anything malformed with a 400. */
export function parseFault(body: unknown): Fault {
  if (!isObject(body)) throw new InvalidInput('A fault is a JSON object with a "kind".');
  const kind = body['kind'] as FaultKind;
  if (!KINDS.includes(kind)) throw new InvalidInput(`Unknown fault kind ${JSON.stringify(body['kind'])}; known: ${KINDS.join(', ')}.`);
  const allowed: Record<FaultKind, readonly string[]> = {
    'fail-call': ['command', 'count', 'errorcode', 'errortext', 'cserrorcode'],
    'fail-job': ['command', 'count', 'errorcode', 'errortext', 'cserrorcode'],
    latency: ['command', 'count', 'ms'],
    'drop-response': ['command', 'count'],
    reset: ['command', 'count'],
    'proxy-error': ['command', 'count', 'status'],
    'stuck-starting': ['count'],
    capacity: ['vms'],
    maintenance: ['count'],
    random: ['command', 'rate', 'kinds', 'latencyMs', 'seed'],
  };
  for (const key of Object.keys(body)) {
    if (key !== 'kind' && !allowed[kind].includes(key)) throw new InvalidInput(`Fault ${kind} takes no "${key}".`);
  }
  const int = (key: string, min: number, fallback?: number): number => {
    const value = body[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min) throw new InvalidInput(`Fault ${kind}: ${key} must be a whole number ≥ ${min}.`);
    return value as number;
  };
  const command = (): string => {
    const value = body['command'];
    if (typeof value !== 'string' || value === '') throw new InvalidInput(`Fault ${kind} needs a "command" (or "*").`);
    return value;
  };
  const count = body['count'] === undefined ? {} : { count: int('count', 1) };
  switch (kind) {
    case 'fail-call':
    case 'fail-job': {
      const errortext = body['errortext'];
      if (typeof errortext !== 'string' || errortext === '') throw new InvalidInput(`Fault ${kind} needs an "errortext".`);
      const cs = body['cserrorcode'] === undefined ? {} : { cserrorcode: int('cserrorcode', 0) };
      return { kind, command: command(), ...count, errorcode: int('errorcode', 400), errortext, ...cs };
    }
    case 'latency':
      return { kind, command: command(), ...count, ms: int('ms', 0) };
    case 'drop-response':
    case 'reset':
      return { kind, command: command(), ...count };
    case 'proxy-error':
      return { kind, command: command(), ...count, status: int('status', 500, 502) };
    case 'stuck-starting':
    case 'maintenance':
      return { kind, ...count };
    case 'capacity':
      return { kind, vms: int('vms', 0) };
    case 'random': {
      const rate = body['rate'];
      if (typeof rate !== 'number' || !(rate > 0) || rate > 1) throw new InvalidInput('Fault random: rate must be a number above 0 and at most 1.');
      const kinds = body['kinds'] ?? RANDOM_KINDS;
      if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => RANDOM_KINDS.includes(k as RandomKind))) {
        throw new InvalidInput(`Fault random: kinds must be a list of ${RANDOM_KINDS.join(', ')}.`);
      }
      const commandOf = body['command'] === undefined ? '*' : command();
      return { kind, command: commandOf, rate, kinds: kinds as RandomKind[], latencyMs: int('latencyMs', 0, 5000), seed: int('seed', 0, 1) };
    }
  }
}
