import { InvalidInput } from '../../lib/errors.js';

/** What the tenant asked for, as the SO builds it. */
export interface ClusterParameters {
  readonly masters: 1 | 3 | 5;
  readonly agents: number;
  /** Agents that must be ready for the cluster to be ready. */
  readonly minReady: number;
  readonly marathon: boolean;
  /** Prove that work runs (a one-task Marathon app) before the cluster is ready. */
  readonly smoke: boolean;
  readonly zone: string;
  readonly template: string;
  readonly masterOffering: string;
  readonly agentOffering: string;
  /** A network by name or id; the zone's default when absent. */
  readonly network?: string;
}

export type RawValue = string | number | boolean;

export const MAX_AGENTS = 100;

/**
 * Reads the instance's attributes (the names of the service manifest).
 * hurtle service managers forward values unquoted, so numbers and booleans
 * may arrive as text.
 */
export function parseParameters(raw: ReadonlyMap<string, RawValue>): ClusterParameters {
  const masters = integer(raw, 'mesos.masters', 1);
  if (masters !== 1 && masters !== 3 && masters !== 5) throw new InvalidInput(`mesos.masters must be 1, 3 or 5; got ${masters}.`);
  const agents = integer(raw, 'mesos.agents', 2);
  if (agents < 1 || agents > MAX_AGENTS) throw new InvalidInput(`mesos.agents must be between 1 and ${MAX_AGENTS}; got ${agents}.`);
  const minReady = integer(raw, 'mesos.agents.min_ready', agents);
  if (minReady < 1 || minReady > agents) {
    throw new InvalidInput(`mesos.agents.min_ready must be between 1 and mesos.agents (${agents}); got ${minReady}.`);
  }
  const network = text(raw, 'cloudstack.network', false);
  return {
    masters,
    agents,
    minReady,
    marathon: boolean(raw, 'mesos.marathon', true),
    smoke: boolean(raw, 'mesos.readiness.smoke', true),
    zone: text(raw, 'cloudstack.zone', true)!,
    template: text(raw, 'cloudstack.template', true)!,
    masterOffering: text(raw, 'cloudstack.offering.master', true)!,
    agentOffering: text(raw, 'cloudstack.offering.agent', true)!,
    ...(network === undefined ? {} : { network }),
  };
}

function integer(raw: ReadonlyMap<string, RawValue>, name: string, fallback: number): number {
  const value = raw.get(name);
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidInput(`${name} must be a whole number; got ${JSON.stringify(value)}.`);
  return n;
}

function boolean(raw: ReadonlyMap<string, RawValue>, name: string, fallback: boolean): boolean {
  const value = raw.get(name);
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new InvalidInput(`${name} must be true or false; got ${JSON.stringify(value)}.`);
}

function text(raw: ReadonlyMap<string, RawValue>, name: string, required: boolean): string | undefined {
  const value = raw.get(name);
  if (value === undefined || value === '') {
    if (required) throw new InvalidInput(`${name} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw new InvalidInput(`${name} must be text; got ${JSON.stringify(value)}.`);
  return value;
}

/** Which attributes a change may touch after creation: only the agent count and how many must be ready. */
export function checkChange(before: ClusterParameters, after: ClusterParameters): void {
  const fixed: Array<[keyof ClusterParameters, string]> = [
    ['masters', 'mesos.masters'],
    ['marathon', 'mesos.marathon'],
    ['zone', 'cloudstack.zone'],
    ['template', 'cloudstack.template'],
    ['masterOffering', 'cloudstack.offering.master'],
    ['agentOffering', 'cloudstack.offering.agent'],
    ['network', 'cloudstack.network'],
  ];
  for (const [key, name] of fixed) {
    if (before[key] !== after[key]) {
      throw new InvalidInput(`${name} cannot change on a running cluster (${String(before[key])} → ${String(after[key])}); create a new one.`);
    }
  }
}
