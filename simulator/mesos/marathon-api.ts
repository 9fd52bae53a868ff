import { detectorText, slowed } from './endpoints.js';
import { json, text, type Handler, type Reply, type Request } from './http.js';
import { InvalidApp, normaliseId, parseApp, type App, type AppDefinition, type DeploymentAction, type MarathonState } from './marathon.js';
import type { Task } from './tasks.js';
import type { Marathon } from './records.js';
import type { MesosWorld } from './world.js';

/**
 * Marathon's REST API on 8080 (the 1.11 paths, fields and messages): ping,
 * info and leader, apps with their tasks, tasks, deployments and the launch
 * queue. Every Marathon of a group answers from the state they share.
 */

const MARATHON_VERSION = '1.11.24';

const iso = (ms: number): string => new Date(ms).toISOString();

export function marathonHandler(world: MesosWorld, marathon: Marathon): Handler {
  return slowed(world, (request) => {
    const refused = unauthorized(marathon, request.headers.authorization);
    if (refused) return refused;
    const group = marathon.group;
    const leader = group?.leader;
    const { method, path } = request;
    if (method === 'GET' && path === '/ping') return text(200, 'pong', 'text/plain');
    if (method === 'GET' && path === '/v2/leader')
      return leader ? json(200, { leader: `${leader.flags.hostname}:8080` }) : json(404, { message: 'There is no leader' });
    if (method === 'GET' && path === '/v2/info') return json(200, info(world, marathon));
    if (!group || !leader) return json(503, { message: 'Could not determine the current leader' });
    const reply = route(world, group.state, request);
    if (method !== 'GET') world.reconcile();
    return reply;
  });
}

/** With --http_credentials every request needs them as HTTP basic authentication, as Marathon's own check does. */
function unauthorized(marathon: Marathon, authorization: string | undefined): Reply | undefined {
  const wanted = marathon.flags.httpCredentials;
  if (!wanted) return undefined;
  const given = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '')?.[1];
  if (given !== undefined && Buffer.from(given, 'base64').toString('utf8') === `${wanted.user}:${wanted.password}`) return undefined;
  return {
    status: 401,
    headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="Mesosphere Marathon"' },
    body: '{"message":"Invalid username or password."}',
  };
}

function info(world: MesosWorld, marathon: Marathon): Record<string, unknown> {
  const group = marathon.group;
  const leader = group?.leader;
  const registeredId =
    group?.frameworkId && [...world.groups.values()].some((m) => m.frameworks.get(group.frameworkId!)?.active) ? group.frameworkId : undefined;
  return {
    name: 'marathon',
    version: MARATHON_VERSION,
    buildref: 'emulated',
    elected: leader === marathon,
    leader: leader ? `${leader.flags.hostname}:8080` : null,
    ...(registeredId ? { frameworkId: registeredId } : {}),
    marathon_config: {
      master: detectorText(marathon.flags.master),
      framework_name: 'marathon',
      ha: marathon.flags.ha,
      checkpoint: true,
      hostname: marathon.flags.hostname,
      failover_timeout: 604800,
      task_launch_timeout: 300000,
      features: marathon.flags.maintenanceMode ? ['maintenance_mode'] : [],
    },
    zookeeper_config: {
      ...(marathon.flags.zk ? { zk: detectorText(marathon.flags.zk) } : {}),
      zk_timeout: 10000,
      zk_session_timeout: 10000,
      zk_max_versions: 50,
    },
    http_config: { http_port: 8080, https_port: 8443 },
  };
}

function route(world: MesosWorld, state: MarathonState, request: Request): Reply {
  const { method, path } = request;
  const query = new URLSearchParams(request.query);
  const force = query.get('force') === 'true';
  const ctx: Ctx = { world, state, request, force };
  if (path === '/v2/apps') {
    if (method === 'GET') return json(200, { apps: [...state.apps.values()].map((a) => appJson(ctx, a, false)) });
    if (method === 'POST') return createApp(ctx);
    return methodNotAllowed();
  }
  if (path === '/v2/tasks') return method === 'GET' ? json(200, { tasks: tasksOf(ctx, undefined, query.get('status')).map(taskJson) }) : methodNotAllowed();
  if (path === '/v2/tasks/delete') return method === 'POST' ? deleteTasks(ctx, query.get('scale') === 'true') : methodNotAllowed();
  if (path === '/v2/deployments') return method === 'GET' ? json(200, [...state.deployments.values()].map(deploymentJson)) : methodNotAllowed();
  const deployment = /^\/v2\/deployments\/([^/]+)$/.exec(path);
  if (deployment) return method === 'DELETE' ? cancelDeployment(ctx, deployment[1]) : methodNotAllowed();
  if (path === '/v2/queue') return method === 'GET' ? json(200, { queue: queueJson(ctx) }) : methodNotAllowed();
  const appTask = /^\/v2\/apps(\/.+)\/tasks\/([^/]+)$/.exec(path);
  if (appTask) return method === 'DELETE' ? killAppTask(ctx, appTask[1], decodeURIComponent(appTask[2]), query.get('scale') === 'true') : methodNotAllowed();
  const appTasks = /^\/v2\/apps(\/.+)\/tasks$/.exec(path);
  if (appTasks) return method === 'GET' ? appTasksJson(ctx, appTasks[1]) : methodNotAllowed();
  const app = /^\/v2\/apps(\/.+)$/.exec(path);
  if (app) {
    if (method === 'GET') return getApp(ctx, app[1]);
    if (method === 'PUT') return putApp(ctx, app[1]);
    if (method === 'DELETE') return deleteApp(ctx, app[1]);
    return methodNotAllowed();
  }
  return json(404, { message: `Not found: ${path}` });
}

interface Ctx {
  readonly world: MesosWorld;
  readonly state: MarathonState;
  readonly request: Request;
  readonly force: boolean;
}

function methodNotAllowed(): Reply {
  return json(405, { message: 'HTTP 405 Method Not Allowed' });
}

function notFound(id: string): Reply {
  return json(404, { message: `App '${id}' does not exist` });
}

function body(request: Request): unknown {
  try {
    return JSON.parse(request.body);
  } catch {
    return Symbol.for('invalid');
  }
}

function invalid(error: unknown): Reply {
  if (error instanceof InvalidApp) return json(422, { message: error.message, details: error.details });
  throw error;
}

/** An app with a running deployment is locked unless the client forces it. */
function locked(ctx: Ctx, id: string): Reply | undefined {
  const deployment = ctx.state.deploymentOf(id);
  if (!deployment || ctx.force) return undefined;
  return json(409, {
    message: `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
    deployments: [{ id: deployment.id }],
  });
}

function parsed(ctx: Ctx, id: string | undefined, base?: AppDefinition): AppDefinition | Reply {
  const value = body(ctx.request);
  if (typeof value === 'symbol') return json(400, { message: 'Invalid JSON', details: [{ path: '/', errors: ['Invalid JSON'] }] });
  try {
    return parseApp(value, id, base);
  } catch (error) {
    return invalid(error);
  }
}

function isReply(value: AppDefinition | Reply): value is Reply {
  return 'status' in value;
}

function createApp(ctx: Ctx): Reply {
  const definition = parsed(ctx, undefined);
  if (isReply(definition)) return definition;
  if (ctx.state.apps.has(definition.id)) return json(409, { message: `An app with id [${definition.id}] already exists.` });
  const app = store(ctx, definition, 'StartApplication');
  return json(201, appJson(ctx, app, false));
}

function store(ctx: Ctx, definition: AppDefinition, action: DeploymentAction, previous?: App): App {
  const now = ctx.world.now();
  const version = iso(now);
  const app: App = previous ?? { definition, version, configChangedAt: now, delayUntil: 0, failures: 0 };
  if (previous && action === 'RestartApplication') {
    previous.configChangedAt = now;
    previous.delayUntil = 0;
    previous.failures = 0;
  }
  app.version = version;
  app.definition = definition;
  ctx.state.apps.set(definition.id, app);
  ctx.state.deploy(definition.id, version, action);
  return app;
}

function putApp(ctx: Ctx, rawId: string): Reply {
  const id = normaliseId(rawId);
  if (!id) return json(422, { message: 'Object is not valid', details: [{ path: '/id', errors: ['must be a valid path'] }] });
  const existing = ctx.state.apps.get(id);
  const lock = existing ? locked(ctx, id) : undefined;
  if (lock) return lock;
  const definition = parsed(ctx, id, existing?.definition);
  if (isReply(definition)) return definition;
  const scaleOnly = existing !== undefined && sameExceptInstances(existing.definition, definition);
  const app = store(ctx, definition, existing ? (scaleOnly ? 'ScaleApplication' : 'RestartApplication') : 'StartApplication', existing);
  const deployment = ctx.state.deploymentOf(id)!;
  return json(existing ? 200 : 201, { version: app.version, deploymentId: deployment.id });
}

function sameExceptInstances(a: AppDefinition, b: AppDefinition): boolean {
  const strip = (d: AppDefinition): string => JSON.stringify({ ...d.raw, instances: 0 });
  return strip(a) === strip(b);
}

function deleteApp(ctx: Ctx, rawId: string): Reply {
  const id = normaliseId(rawId);
  const app = id ? ctx.state.apps.get(id) : undefined;
  if (!id || !app) return notFound(rawId);
  const lock = locked(ctx, id);
  if (lock) return lock;
  ctx.state.apps.delete(id);
  ctx.state.queue.delete(id);
  app.wake?.();
  const deployment = ctx.state.deploy(id, iso(ctx.world.now()), 'StopApplication');
  return json(200, { version: deployment.version, deploymentId: deployment.id });
}

function getApp(ctx: Ctx, rawId: string): Reply {
  const id = normaliseId(rawId);
  const app = id ? ctx.state.apps.get(id) : undefined;
  return app ? json(200, { app: appJson(ctx, app, true) }) : notFound(rawId);
}

function appTasksJson(ctx: Ctx, rawId: string): Reply {
  const id = normaliseId(rawId);
  if (!id || !ctx.state.apps.has(id)) return notFound(rawId);
  return json(200, { tasks: tasksOf(ctx, id).map(taskJson) });
}

/** The tasks Marathon tracks: launched and not ended, unreachable ones expunged at once (its default unreachable strategy). */
function tasksOf(ctx: Ctx, appId: string | undefined, status?: string | null): Task[] {
  const frameworks = new Set([...ctx.world.marathonGroups.values()].filter((g) => g.state === ctx.state).map((g) => g.frameworkId));
  const tasks: Task[] = [];
  for (const mesos of ctx.world.groups.values()) {
    for (const task of mesos.tasks.values()) {
      if (!frameworks.has(task.frameworkId) || task.appId === undefined || task.state === 'TASK_UNREACHABLE') continue;
      if (appId !== undefined && task.appId !== appId) continue;
      if (status && task.state !== `TASK_${status.toUpperCase()}`) continue;
      tasks.push(task);
    }
  }
  return tasks;
}

function killAppTask(ctx: Ctx, rawId: string, taskId: string, scale: boolean): Reply {
  const id = normaliseId(rawId);
  const app = id ? ctx.state.apps.get(id) : undefined;
  if (!id || !app) return notFound(rawId);
  const task = tasksOf(ctx, id).find((t) => t.id === taskId);
  if (!task) return json(404, { message: `Task '${taskId}' does not exist` });
  kill(ctx, [task], scale);
  return json(200, { task: taskJson(task) });
}

function deleteTasks(ctx: Ctx, scale: boolean): Reply {
  const value = body(ctx.request) as { ids?: unknown };
  if (typeof value === 'symbol' || !Array.isArray(value?.ids) || !value.ids.every((i) => typeof i === 'string')) {
    return json(422, { message: 'Object is not valid', details: [{ path: '/ids', errors: ['error.expected.jsarray'] }] });
  }
  const ids = new Set(value.ids);
  const tasks = tasksOf(ctx, undefined).filter((t) => ids.has(t.id));
  kill(ctx, tasks, scale);
  if (!scale) return json(200, { tasks: tasks.map(taskJson) });
  const deployment = [...new Set(tasks.map((t) => t.appId!))].map((id) => ctx.state.deploymentOf(id)).find((d) => d !== undefined);
  return json(200, deployment ? { version: deployment.version, deploymentId: deployment.id } : {});
}

/** Kills tasks; with `scale` the apps' instances go down by as many, so they are not relaunched. */
function kill(ctx: Ctx, tasks: readonly Task[], scale: boolean): void {
  for (const task of tasks) {
    const mesos = [...ctx.world.groups.values()].find((g) => g.tasks.get(task.id) === task);
    if (mesos) ctx.world.work.kill(mesos, task);
  }
  if (!scale) return;
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.appId!, (counts.get(task.appId!) ?? 0) + 1);
  for (const [id, n] of counts) {
    const app = ctx.state.apps.get(id);
    if (!app) continue;
    const instances = Math.max(0, app.definition.instances - n);
    app.definition = { ...app.definition, instances, raw: { ...app.definition.raw, instances } };
    app.version = iso(ctx.world.now());
    ctx.state.deploy(id, app.version, 'ScaleApplication');
  }
}

/** With force the deployment is only forgotten; without, Marathon rolls it back, which this emulation does not do. */
function cancelDeployment(ctx: Ctx, id: string): Reply {
  const deployment = ctx.state.deployments.get(id);
  if (!deployment) return json(404, { message: `DeploymentPlan ${id} does not exist` });
  if (!ctx.force) return json(409, { message: 'Rolling back a deployment is not supported by this emulation; use ?force=true' });
  ctx.state.deployments.delete(id);
  return json(202, {});
}

function appJson(ctx: Ctx, app: App, embedTasks: boolean): Record<string, unknown> {
  const d = app.definition;
  const tasks = tasksOf(ctx, d.id);
  const deployment = ctx.state.deploymentOf(d.id);
  return {
    backoffFactor: d.backoffFactor,
    backoffSeconds: d.backoffSeconds,
    maxLaunchDelaySeconds: d.maxLaunchDelaySeconds,
    constraints: d.constraints,
    disk: d.disk,
    env: {},
    executor: '',
    labels: {},
    portDefinitions: Array.from({ length: d.ports }, (_, i) => ({ port: 10000 + i, protocol: 'tcp' })),
    requirePorts: false,
    killSelection: 'YOUNGEST_FIRST',
    unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    upgradeStrategy: { maximumOverCapacity: 1, minimumHealthCapacity: 1 },
    healthChecks: [],
    ...d.raw,
    id: d.id,
    cmd: d.cmd,
    cpus: d.cpus,
    mem: d.mem,
    instances: d.instances,
    version: app.version,
    versionInfo: { lastScalingAt: app.version, lastConfigChangeAt: iso(app.configChangedAt) },
    tasksRunning: tasks.filter((t) => t.state === 'TASK_RUNNING').length,
    tasksStaged: tasks.filter((t) => t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING').length,
    tasksHealthy: 0,
    tasksUnhealthy: 0,
    deployments: deployment ? [{ id: deployment.id }] : [],
    ...(embedTasks ? { tasks: tasks.map(taskJson) } : {}),
    ...(embedTasks && app.lastTaskFailure ? { lastTaskFailure: { ...app.lastTaskFailure, timestamp: iso(app.lastTaskFailure.timestamp) } } : {}),
  };
}

function taskJson(task: Task): Record<string, unknown> {
  return {
    appId: task.appId,
    id: task.id,
    host: task.hostname,
    ipAddresses: [{ ipAddress: task.address, protocol: 'IPv4' }],
    ports: task.resources.ports,
    servicePorts: [],
    slaveId: task.agentId,
    state: task.state,
    stagedAt: iso(task.stagedAt),
    ...(task.startedAt === undefined ? {} : { startedAt: iso(task.startedAt) }),
    version: task.version,
    healthCheckResults: [],
    localVolumes: [],
  };
}

function deploymentJson(d: { id: string; version: string; appId: string; action: DeploymentAction }): Record<string, unknown> {
  const action = { action: d.action, app: d.appId };
  return {
    id: d.id,
    version: d.version,
    affectedApps: [d.appId],
    affectedPods: [],
    steps: [{ actions: [action] }],
    currentActions: [{ ...action, readinessCheckResults: [] }],
    currentStep: 1,
    totalSteps: 1,
  };
}

function queueJson(ctx: Ctx): Array<Record<string, unknown>> {
  const now = ctx.world.now();
  return [...ctx.state.queue.entries()].flatMap(([id, entry]) => {
    const app = ctx.state.apps.get(id);
    if (!app) return [];
    const left = Math.max(0, app.delayUntil - now);
    return [
      {
        count: entry.count,
        delay: { timeLeftSeconds: Math.ceil(left / 1000), overdue: left === 0 },
        since: iso(entry.since),
        processedOffersSummary: {
          processedOffersCount: entry.processedOffers,
          unusedOffersCount: entry.unusedOffers,
          ...(entry.lastUnusedOfferAt === undefined ? {} : { lastUnusedOfferAt: iso(entry.lastUnusedOfferAt) }),
          rejectSummaryLastOffers: [...entry.rejections].map(([reason, declined]) => ({ reason, declined, processed: declined })),
        },
        app: appJson(ctx, app, false),
      },
    ];
  });
}
