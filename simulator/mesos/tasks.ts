/**
 * Tasks on the emulated agents. Nothing is executed: a task's run follows
 * its command so that tests know exactly what happens — `sleep N` runs N
 * simulated seconds and finishes, `exit K` (or `true`/`false`) ends at once
 * with code K, `sleep N; exit K` (or `&&`) does both, anything else runs
 * until it is killed.
 */

export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_LOST'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE_BY_OPERATOR';

const TERMINAL: ReadonlySet<TaskState> = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_GONE_BY_OPERATOR']);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/** Whether the task holds its agent's resources: launched and not yet ended or cut off. */
export function holdsResources(state: TaskState): boolean {
  return !isTerminal(state) && state !== 'TASK_UNREACHABLE';
}

export type Run =
  { readonly kind: 'sleep'; readonly ms: number; readonly code: number } | { readonly kind: 'exit'; readonly code: number } | { readonly kind: 'forever' };

export function runOf(command: string | undefined): Run {
  const cmd = (command ?? '').trim();
  if (cmd === 'true') return { kind: 'exit', code: 0 };
  if (cmd === 'false') return { kind: 'exit', code: 1 };
  const exit = /^exit\s+(\d{1,3})$/.exec(cmd);
  if (exit) return { kind: 'exit', code: Number(exit[1]) % 256 };
  const sleep = /^sleep\s+(\d+(?:\.\d+)?)(?:\s*(?:;|&&)\s*exit\s+(\d{1,3}))?$/.exec(cmd);
  if (sleep) return { kind: 'sleep', ms: Math.round(Number(sleep[1]) * 1000), code: sleep[2] === undefined ? 0 : Number(sleep[2]) % 256 };
  return { kind: 'forever' };
}

export interface TaskResources {
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly ports: readonly number[];
}

export interface TaskStatus {
  readonly state: TaskState;
  readonly timestamp: number;
  readonly reason?: string;
  readonly message?: string;
}

export interface Task {
  readonly id: string;
  readonly name: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly address: string;
  readonly resources: TaskResources;
  readonly command: string;
  readonly run: Run;
  /** The Marathon app and version it belongs to, if any. */
  readonly appId?: string;
  readonly version?: string;
  state: TaskState;
  readonly statuses: TaskStatus[];
  readonly stagedAt: number;
  startedAt?: number;
  exitCode?: number;
  /** Cancels what the task is due to do next. */
  next?: () => void;
}

/** Port ranges as Mesos writes them, `[31000-31005, 31010-31010]`. */
export function parseRanges(text: string): Array<[number, number]> {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  if (inner.trim() === '') return [];
  return inner.split(',').map((part) => {
    const [lo, hi] = part.trim().split('-').map(Number) as [number, number | undefined];
    return [lo, hi ?? lo];
  });
}

export function formatRanges(ports: readonly number[]): string {
  const sorted = [...ports].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const port of sorted) {
    const last = ranges.at(-1);
    if (last && port === last[1] + 1) last[1] = port;
    else ranges.push([port, port]);
  }
  return `[${ranges.map(([lo, hi]) => `${lo}-${hi}`).join(', ')}]`;
}

export interface Capacity {
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly ports: string;
}

/** What the tasks holding resources on an agent use. */
export function usedBy(tasks: Iterable<Task>): TaskResources {
  let cpus = 0;
  let mem = 0;
  let disk = 0;
  const ports: number[] = [];
  for (const task of tasks) {
    if (!holdsResources(task.state)) continue;
    cpus += task.resources.cpus;
    mem += task.resources.mem;
    disk += task.resources.disk;
    ports.push(...task.resources.ports);
  }
  return { cpus: round(cpus), mem: round(mem), disk: round(disk), ports };
}

/** The first `count` ports of the agent's ranges no task holds, or undefined when there are not enough. */
export function freePorts(capacity: Capacity, used: readonly number[], count: number): number[] | undefined {
  if (count === 0) return [];
  const taken = new Set(used);
  const chosen: number[] = [];
  for (const [lo, hi] of parseRanges(capacity.ports)) {
    for (let port = lo; port <= hi && chosen.length < count; port++) if (!taken.has(port)) chosen.push(port);
  }
  return chosen.length === count ? chosen : undefined;
}

/** Sums of fractional cpus stay exact enough to compare (0.1 + 0.2 ≠ 0.3 otherwise). */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
