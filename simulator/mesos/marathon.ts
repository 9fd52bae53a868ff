import { randomUUID } from 'node:crypto';
import { holdsResources, type Task } from './tasks.js';

/**
 * Marathon's own state (kept in ZooKeeper, so every Marathon of a group
 * shares it): app definitions, their versions and launch delays, running
 * deployments and the launch queue. Its scheduler (`offerCycle`) turns that
 * into task launches and kills on the Mesos cluster it is registered with.
 */

export type Constraint = readonly [field: string, operator: string, value?: string];

export interface AppDefinition {
  readonly id: string;
  readonly cmd: string;
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly instances: number;
  readonly constraints: readonly Constraint[];
  /** How many host ports each task asks for (its portDefinitions). */
  readonly ports: number;
  readonly backoffSeconds: number;
  readonly backoffFactor: number;
  readonly maxLaunchDelaySeconds: number;
  /** What the client sent, echoed back as Marathon does. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface TaskFailure {
  readonly appId: string;
  readonly host: string;
  readonly message: string;
  readonly state: string;
  readonly taskId: string;
  readonly timestamp: number;
  readonly version: string;
}

export interface App {
  definition: AppDefinition;
  /** Changes with every update, scaling included. */
  version: string;
  /** When the definition last changed other than by scaling: tasks of an older config are replaced. */
  configChangedAt: number;
  delayUntil: number;
  failures: number;
  lastTaskFailure?: TaskFailure;
  wake?: () => void;
}

export type DeploymentAction = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

export interface Deployment {
  readonly id: string;
  readonly version: string;
  readonly appId: string;
  readonly action: DeploymentAction;
}

/** Why the last offers did not fit an app's waiting instances, as Marathon's queue reports it. */
export interface QueueEntry {
  count: number;
  readonly since: number;
  processedOffers: number;
  unusedOffers: number;
  lastUnusedOfferAt?: number;
  readonly rejections: Map<string, number>;
}

export class MarathonState {
  readonly apps = new Map<string, App>();
  readonly deployments = new Map<string, Deployment>();
  readonly queue = new Map<string, QueueEntry>();

  /** Records a deployment for an app, replacing any the app had (as `?force=true` does). */
  deploy(appId: string, version: string, action: DeploymentAction): Deployment {
    for (const [id, d] of this.deployments) if (d.appId === appId) this.deployments.delete(id);
    const deployment: Deployment = { id: randomUUID(), version, appId, action };
    this.deployments.set(deployment.id, deployment);
    return deployment;
  }

  deploymentOf(appId: string): Deployment | undefined {
    return [...this.deployments.values()].find((d) => d.appId === appId);
  }

  /** A task of one of its apps ended by itself: the app's next launch waits, longer each time. */
  taskEnded(task: Task, now: number): void {
    const app = task.appId === undefined ? undefined : this.apps.get(task.appId);
    if (!app || task.version !== configVersion(app)) return;
    if (task.state !== 'TASK_FAILED' && task.state !== 'TASK_FINISHED') return;
    const { backoffSeconds, backoffFactor, maxLaunchDelaySeconds } = app.definition;
    const delayS = Math.min(maxLaunchDelaySeconds, backoffSeconds * backoffFactor ** app.failures);
    app.failures++;
    app.delayUntil = now + Math.round(delayS * 1000);
    const last = task.statuses.at(-1);
    app.lastTaskFailure = {
      appId: app.definition.id,
      host: task.hostname,
      message: last?.message ?? '',
      state: task.state,
      taskId: task.id,
      timestamp: last?.timestamp ?? now,
      version: task.version,
    };
  }
}

/** The version a task launched for the app now carries. */
export function configVersion(app: App): string {
  return new Date(app.configChangedAt).toISOString();
}

export class InvalidApp extends Error {
  constructor(readonly details: ReadonlyArray<{ path: string; errors: string[] }>) {
    super('Object is not valid');
  }
}

const OPERATORS = new Set(['UNIQUE', 'CLUSTER', 'LIKE', 'UNLIKE', 'MAX_PER', 'GROUP_BY', 'IS']);

/** An app definition from a POST or PUT body; a PUT's missing fields come from the app it updates. */
export function parseApp(body: unknown, id: string | undefined, base?: AppDefinition): AppDefinition {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidApp([{ path: '/', errors: ['error.expected.jsobject'] }]);
  const raw = { ...(base?.raw ?? {}), ...(body as Record<string, unknown>) };
  const details: Array<{ path: string; errors: string[] }> = [];
  const wrong = (path: string, error: string): void => void details.push({ path, errors: [error] });
  const key = normaliseId(id ?? raw['id']);
  if (key === undefined) wrong('/id', 'must be a valid path');
  const number = (name: string, fallback: number, min: number): number => {
    const value = raw[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      wrong(`/${name}`, 'error.expected.jsnumber');
      return fallback;
    }
    if (value < min) wrong(`/${name}`, `got ${value}, expected ${min} or more`);
    return value;
  };
  const cmd = raw['cmd'];
  if (cmd !== undefined && typeof cmd !== 'string') wrong('/cmd', 'error.expected.jsstring');
  if ((cmd === undefined || cmd === '') && raw['container'] === undefined && raw['args'] === undefined)
    wrong('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  const instances = number('instances', 1, 0);
  if (!Number.isInteger(instances)) wrong('/instances', 'error.expected.jsnumber');
  const definition: AppDefinition = {
    id: key ?? '/',
    cmd: typeof cmd === 'string' ? cmd : '',
    cpus: number('cpus', 1, 0.001),
    mem: number('mem', 128, 0),
    disk: number('disk', 0, 0),
    instances,
    constraints: parseConstraints(raw['constraints'], wrong),
    ports: portCount(raw['portDefinitions'], wrong),
    backoffSeconds: number('backoffSeconds', 1, 0),
    backoffFactor: number('backoffFactor', 1.15, 1),
    maxLaunchDelaySeconds: number('maxLaunchDelaySeconds', 300, 0),
    raw,
  };
  if (details.length > 0) throw new InvalidApp(details);
  return definition;
}

export function normaliseId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const path = id.startsWith('/') ? id : `/${id}`;
  return /^(\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)+$/.test(path) && !path.split('/').some((s) => s === '.' || s === '..') ? path : undefined;
}

function parseConstraints(value: unknown, wrong: (path: string, error: string) => void): Constraint[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    wrong('/constraints', 'error.expected.jsarray');
    return [];
  }
  return value.flatMap((c, i): Constraint[] => {
    if (!Array.isArray(c) || c.length < 2 || c.length > 3 || !c.every((part) => typeof part === 'string')) {
      wrong(`/constraints(${i})`, 'Each constraint must be [field, operator] or [field, operator, value]');
      return [];
    }
    const [field, operator, arg] = c as [string, string, string | undefined];
    if (!OPERATORS.has(operator)) {
      wrong(`/constraints(${i})`, `Constraint operator must be one of ${[...OPERATORS].join(', ')}`);
      return [];
    }
    if ((operator === 'CLUSTER' || operator === 'LIKE' || operator === 'UNLIKE' || operator === 'MAX_PER' || operator === 'IS') && arg === undefined) {
      wrong(`/constraints(${i})`, `Constraint ${operator} requires a value`);
      return [];
    }
    if (operator === 'MAX_PER' && !/^\d+$/.test(arg!)) wrong(`/constraints(${i})`, 'MAX_PER requires an integer value');
    return [arg === undefined ? [field, operator] : [field, operator, arg]];
  });
}

/** Without port definitions an app gets one port, as Marathon gives it. */
function portCount(value: unknown, wrong: (path: string, error: string) => void): number {
  if (value === undefined) return 1;
  if (!Array.isArray(value)) {
    wrong('/portDefinitions', 'error.expected.jsarray');
    return 0;
  }
  return value.length;
}

/** A placement candidate: one agent's free resources and what constraints look at. */
export interface Offer {
  readonly agentId: string;
  readonly hostname: string;
  readonly attributes: Readonly<Record<string, string | number>>;
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly freePorts: number;
  /** Under maintenance (draining or down): a Marathon with maintenance_mode declines it. */
  readonly maintenance: boolean;
}

/** The value a constraint's field has where one of the app's tasks runs. */
export type PeerValue = (task: Task, field: string) => string | undefined;

/** Why an offer does not fit one instance of the app, or undefined when it does; `peers` are the app's tasks that hold resources. */
export function misfit(app: AppDefinition, offer: Offer, peers: readonly Task[], peerValue: PeerValue, declineMaintenance: boolean): string | undefined {
  if (declineMaintenance && offer.maintenance) return 'AgentMaintenance';
  if (offer.cpus + 1e-9 < app.cpus) return 'InsufficientCpus';
  if (offer.mem + 1e-9 < app.mem) return 'InsufficientMemory';
  if (offer.disk + 1e-9 < app.disk) return 'InsufficientDisk';
  if (offer.freePorts < app.ports) return 'InsufficientPorts';
  return app.constraints.every((c) => satisfies(c, offer, peers, peerValue)) ? undefined : 'UnfulfilledConstraint';
}

export function fieldValue(field: string, hostname: string, attributes: Readonly<Record<string, string | number>>): string | undefined {
  if (field === 'hostname') return hostname;
  const value = attributes[field];
  return value === undefined ? undefined : String(value);
}

function satisfies([field, operator, arg]: Constraint, offer: Offer, peers: readonly Task[], peerValue: PeerValue): boolean {
  const value = fieldValue(field, offer.hostname, offer.attributes);
  const same = value === undefined ? 0 : peers.filter((t) => peerValue(t, field) === value).length;
  switch (operator) {
    case 'UNIQUE':
      return value !== undefined && same === 0;
    case 'CLUSTER':
    case 'IS':
      return value === arg;
    case 'LIKE':
      return value !== undefined && new RegExp(`^(?:${arg})$`).test(value);
    case 'UNLIKE':
      return value === undefined || !new RegExp(`^(?:${arg})$`).test(value);
    case 'MAX_PER':
      return value !== undefined && same < Number(arg);
    default:
      return true;
  }
}

/** What one offer cycle does for one app: tasks to kill and, separately, how many instances it wants launched. */
export interface AppPlan {
  readonly kill: readonly Task[];
  readonly launch: number;
}

/**
 * Scaling and restarts: too many instances of the current version → the
 * youngest go; a restart's old-version tasks go once enough new ones run.
 */
export function planApp(app: App, tasks: readonly Task[]): AppPlan {
  const live = tasks.filter((t) => holdsResources(t.state) && t.state !== 'TASK_KILLING');
  const current = live.filter((t) => t.version === configVersion(app));
  const old = live.filter((t) => t.version !== configVersion(app));
  const wanted = app.definition.instances;
  const surplus = [...current].sort((a, b) => b.stagedAt - a.stagedAt).slice(0, Math.max(0, current.length - wanted));
  const running = current.filter((t) => t.state === 'TASK_RUNNING').length;
  const retire = running >= wanted ? old : [];
  return { kill: [...surplus, ...retire], launch: Math.max(0, wanted - current.length) };
}

/** Whether the app's deployment is done: its instances of the current version all run and nothing older is left. */
export function settled(app: App | undefined, tasks: readonly Task[]): boolean {
  const live = tasks.filter((t) => holdsResources(t.state));
  if (!app) return live.length === 0;
  const running = live.filter((t) => t.version === configVersion(app) && t.state === 'TASK_RUNNING').length;
  return running === app.definition.instances && live.length === running;
}

export function taskIdFor(appId: string): string {
  return `${appId.slice(1).replaceAll('/', '_')}.${randomUUID()}`;
}
