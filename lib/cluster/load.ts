/**
 * The work on a cluster, as its orchestrator reports it in the outputs and
 * the service manager (and a tenant) reads it back: the contract both sides
 * import. Figures come from the leading master's metrics at the last look,
 * and what waits from Marathon's launch queue.
 */

export interface ClusterLoad {
  readonly tasksRunning: number;
  readonly tasksStaging: number;
  readonly cpusUsed: number;
  readonly cpusTotal: number;
  /** In MB, as Mesos counts memory. */
  readonly memUsed: number;
  readonly memTotal: number;
  /** Marathon's instances waiting because no offer had room for them, and what they ask for in all. */
  readonly waiting: { readonly tasks: number; readonly cpus: number; readonly mem: number };
}

export const LOAD_OUTPUTS = {
  tasksRunning: 'mesos.tasks.running',
  cpusUsed: 'mesos.cpus.used',
  cpusTotal: 'mesos.cpus.total',
  memUsed: 'mesos.mem.used',
  memTotal: 'mesos.mem.total',
} as const satisfies Partial<Record<keyof ClusterLoad, string>>;

export const WAITING_OUTPUTS = {
  tasks: 'mesos.tasks.waiting',
  cpus: 'mesos.tasks.waiting.cpus',
  mem: 'mesos.tasks.waiting.mem',
} as const;

export function loadOutputs(load: ClusterLoad): Record<string, number> {
  return {
    ...Object.fromEntries(Object.entries(LOAD_OUTPUTS).map(([key, name]) => [name, load[key as keyof typeof LOAD_OUTPUTS]])),
    ...Object.fromEntries(Object.entries(WAITING_OUTPUTS).map(([key, name]) => [name, load.waiting[key as keyof typeof WAITING_OUTPUTS]])),
  };
}
