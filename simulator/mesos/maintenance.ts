/**
 * Mesos maintenance as the emulated master keeps it: the scheduled windows
 * and the machines taken down, and what mode that puts a machine in.
 */

/** A machine as the maintenance primitives name it: by host name, address, or both. */
export interface MachineId {
  readonly hostname?: string;
  readonly ip?: string;
}

export interface MaintenanceWindow {
  readonly machines: readonly MachineId[];
  /** Unavailability, in nanoseconds since the epoch and in nanoseconds. */
  readonly startNs: number;
  readonly durationNs?: number;
}

export interface Maintenance {
  windows: MaintenanceWindow[];
  readonly down: Map<string, MachineId>;
}

export function machineKey(m: MachineId): string {
  return `${m.hostname ?? ''}|${m.ip ?? ''}`;
}

/** Whether a machine id names this agent's machine (an id without an address matches by name alone). */
export function names(id: MachineId, machine: Required<MachineId>): boolean {
  return (id.hostname === undefined || id.hostname === machine.hostname) && (id.ip === undefined || id.ip === machine.ip);
}

export type MachineMode = 'UP' | 'DRAINING' | 'DOWN';

export function modeOf(maintenance: Maintenance, machine: Required<MachineId>): MachineMode {
  if ([...maintenance.down.values()].some((m) => names(m, machine))) return 'DOWN';
  return maintenance.windows.some((w) => w.machines.some((m) => names(m, machine))) ? 'DRAINING' : 'UP';
}
