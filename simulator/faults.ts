import { BadRequest } from '../lib/errors.js';
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
  | { kind: 'maintenance'; count?: number };

export type FaultKind = Fault['kind'];

/** The simulated management server's faults; those without a count last until removed. */
export class Faults extends FaultBook<Fault> {
  constructor() {
    super(() => true);
  }

  /** Uses up one occasion of the first fault of this kind that matches the command, if any. */
  take<K extends FaultKind>(kind: K, command?: string): Extract<Fault, { kind: K }> | undefined {
    const match = this.entries.find(
      (e) => e.fault.kind === kind && (command === undefined || !('command' in e.fault) || e.fault.command === '*' || e.fault.command === command),
    );
    return match ? (this.spend(match) as Extract<Fault, { kind: K }>) : undefined;
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

const KINDS: readonly FaultKind[] = ['fail-call', 'fail-job', 'latency', 'drop-response', 'reset', 'proxy-error', 'stuck-starting', 'capacity', 'maintenance'];

/** Reads a fault from the control API's JSON, refusing anything malformed with a 400. */
export function parseFault(body: unknown): Fault {
  if (!isObject(body)) throw new BadRequest('A fault is a JSON object with a "kind".');
  const kind = body['kind'] as FaultKind;
  if (!KINDS.includes(kind)) throw new BadRequest(`Unknown fault kind ${JSON.stringify(body['kind'])}; known: ${KINDS.join(', ')}.`);
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
  };
  for (const key of Object.keys(body)) {
    if (key !== 'kind' && !allowed[kind].includes(key)) throw new BadRequest(`Fault ${kind} takes no "${key}".`);
  }
  const int = (key: string, min: number, fallback?: number): number => {
    const value = body[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min) throw new BadRequest(`Fault ${kind}: ${key} must be a whole number ≥ ${min}.`);
    return value as number;
  };
  const command = (): string => {
    const value = body['command'];
    if (typeof value !== 'string' || value === '') throw new BadRequest(`Fault ${kind} needs a "command" (or "*").`);
    return value;
  };
  const count = body['count'] === undefined ? {} : { count: int('count', 1) };
  switch (kind) {
    case 'fail-call':
    case 'fail-job': {
      const errortext = body['errortext'];
      if (typeof errortext !== 'string' || errortext === '') throw new BadRequest(`Fault ${kind} needs an "errortext".`);
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
  }
}
