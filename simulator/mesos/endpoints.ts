import type { Detector } from './flags.js';
import { json, redirect, text, type Handler, type Reply, type Request } from './http.js';
import { double, type Double } from './json.js';
import { formatRanges, holdsResources, type Task, type TaskResources } from './tasks.js';
import { isMaintenancePath, maintenanceApi, maintenanceStatus } from './maintenance-api.js';
import type { Agent, AgentRecord, Framework, Group, Master } from './records.js';
import type { MesosWorld } from './world.js';

/**
 * The HTTP surfaces of the emulated daemons, with the real paths, status
 * codes and JSON fields: the master on 5050 and the agent on 5051 (Marathon's
 * are in marathon-api.ts).
 */

const MESOS_VERSION = '1.11.0';

export function detectorText(detector: Detector): string {
  if (detector.kind === 'direct') return `${detector.at.host}:${detector.at.port}`;
  return `zk://${detector.hosts.map((h) => `${h.host}:${h.port}`).join(',')}${detector.path}`;
}

const seconds = (ms: number): Double => double(ms / 1000);

/** Delays answers while a `slow` fault is active. */
export function slowed(world: MesosWorld, handler: Handler): Handler {
  return async (request) => {
    const delay = world.faults.slowMs();
    if (delay > 0) await world.timers.sleep(delay);
    return handler(request);
  };
}

// --- master ------------------------------------------------------------------

function masterPid(master: Master): string {
  return `master@${master.flags.ip}:${master.flags.port}`;
}

function resourcesJson(r: AgentRecord['resources']): Record<string, unknown> {
  return { cpus: double(r.cpus), gpus: double(r.gpus), mem: double(r.mem), disk: double(r.disk), ports: r.ports };
}

const ZERO = { cpus: 0, gpus: 0, mem: 0, disk: 0, ports: '[]' };

function usedJson(used: TaskResources): Record<string, unknown> {
  return resourcesJson({ cpus: used.cpus, gpus: 0, mem: used.mem, disk: used.disk, ports: used.ports.length === 0 ? '[]' : formatRanges(used.ports) });
}

function taskJson(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    name: task.name,
    framework_id: task.frameworkId,
    executor_id: '',
    slave_id: task.agentId,
    state: task.state,
    resources: usedJson({ ...task.resources }),
    role: '*',
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: seconds(s.timestamp),
      ...(s.state === 'TASK_RUNNING' ? { container_status: { network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: task.address }] }] } } : {}),
    })),
  };
}

function agentJson(world: MesosWorld, group: Group, record: AgentRecord): Record<string, unknown> {
  return {
    id: record.id,
    hostname: record.hostname,
    port: record.port,
    attributes: Object.fromEntries(Object.entries(record.attributes).map(([k, v]) => [k, typeof v === 'number' ? double(v) : v])),
    pid: record.pid,
    registered_time: seconds(record.registeredTime),
    ...(record.reregisteredTime === undefined ? {} : { reregistered_time: seconds(record.reregisteredTime) }),
    resources: resourcesJson(record.resources),
    used_resources: usedJson(world.work.used(group, record.id)),
    offered_resources: resourcesJson(ZERO),
    reserved_resources: {},
    unreserved_resources: resourcesJson(record.resources),
    active: record.active,
    deactivated: false,
    version: MESOS_VERSION,
    capabilities: [
      'MULTI_ROLE',
      'HIERARCHICAL_ROLE',
      'RESERVATION_REFINEMENT',
      'RESOURCE_PROVIDER',
      'RESIZE_VOLUME',
      'AGENT_OPERATION_FEEDBACK',
      'AGENT_DRAINING',
      'TASK_RESOURCE_LIMITS',
    ],
  };
}

function frameworkJson(group: Group, framework: Framework): Record<string, unknown> {
  const mine = (tasks: Iterable<Task>): Task[] => [...tasks].filter((t) => t.frameworkId === framework.id);
  const active = mine(group.tasks.values());
  const holding = active.filter((t) => holdsResources(t.state));
  return {
    id: framework.id,
    name: framework.name,
    pid: `scheduler-${framework.id.slice(0, 8)}@${framework.hostname}:37001`,
    hostname: framework.hostname,
    webui_url: framework.webuiUrl,
    active: framework.active,
    connected: framework.active,
    recovered: false,
    role: '*',
    registered_time: seconds(framework.registeredTime),
    unregistered_time: double(0),
    used_resources: usedJson(usedTotal(holding)),
    offered_resources: resourcesJson(ZERO),
    capabilities: ['PARTITION_AWARE'],
    tasks: holding.map(taskJson),
    unreachable_tasks: active.filter((t) => t.state === 'TASK_UNREACHABLE').map(taskJson),
    completed_tasks: mine(group.completedTasks).map(taskJson),
    offers: [],
    executors: [],
  };
}

function leaderInfo(leader: Master): Record<string, unknown> {
  return {
    id: leader.id,
    pid: masterPid(leader),
    port: leader.flags.port,
    hostname: leader.flags.hostname,
    address: { hostname: leader.flags.hostname, ip: leader.flags.ip, port: leader.flags.port },
    version: MESOS_VERSION,
  };
}

function usedTotal(tasks: readonly Task[]): TaskResources {
  return {
    cpus: tasks.reduce((n, t) => n + t.resources.cpus, 0),
    mem: tasks.reduce((n, t) => n + t.resources.mem, 0),
    disk: tasks.reduce((n, t) => n + t.resources.disk, 0),
    ports: tasks.flatMap((t) => t.resources.ports),
  };
}

function registered(group: Group | undefined): AgentRecord[] {
  return group ? [...group.agents.values()].filter((r) => !r.recovered) : [];
}

function masterState(world: MesosWorld, master: Master, group: Group): Record<string, unknown> {
  const leader = group.leader!;
  const agents = registered(group);
  return {
    version: MESOS_VERSION,
    git_sha: 'emulated',
    build_date: '2020-11-16 00:00:00',
    build_time: double(1_605_484_800),
    start_time: seconds(master.startedAt),
    ...(leader === master && group.electedAt !== undefined ? { elected_time: seconds(group.electedAt) } : {}),
    id: master.id,
    pid: masterPid(master),
    hostname: master.flags.hostname,
    capabilities: ['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2'],
    activated_slaves: double(agents.filter((a) => a.active).length),
    deactivated_slaves: double(0),
    unreachable_slaves: double(group.unreachableCount),
    ...(master.flags.cluster ? { cluster: master.flags.cluster } : {}),
    leader: masterPid(leader),
    leader_info: leaderInfo(leader),
    log_dir: '/var/log/mesos',
    flags: {
      ...(master.flags.detector ? { zk: detectorText(master.flags.detector) } : {}),
      ...(master.flags.quorum === undefined ? {} : { quorum: String(master.flags.quorum) }),
      work_dir: '/var/lib/mesos/master',
      port: String(master.flags.port),
      ip: master.flags.ip,
      hostname: master.flags.hostname,
      registry_fetch_timeout: `${world.timing.registryFetchTimeoutMs / 1000}secs`,
      agent_ping_timeout: `${world.timing.agentPingTimeoutMs / 1000}secs`,
      max_agent_ping_timeouts: String(world.timing.maxAgentPingTimeouts),
    },
    slaves: agents.map((r) => agentJson(world, group, r)),
    recovered_slaves: [...group.agents.values()].filter((r) => r.recovered).map((r) => ({ id: r.id, hostname: r.hostname, port: r.port })),
    frameworks: [...group.frameworks.values()].map((f) => frameworkJson(group, f)),
    completed_frameworks: [],
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

function masterMetrics(world: MesosWorld, master: Master): Record<string, unknown> {
  const group = master.group;
  const leading = group?.leader === master;
  const agents = leading ? registered(group) : [];
  const active = agents.filter((a) => a.active).length;
  return {
    'master/elected': double(leading ? 1 : 0),
    'master/uptime_secs': double((world.now() - master.startedAt) / 1000),
    'master/slaves_active': double(active),
    'master/slaves_inactive': double(agents.length - active),
    'master/slaves_connected': double(agents.filter((a) => a.agent.state !== 'down').length),
    'master/slaves_disconnected': double(agents.filter((a) => a.agent.state === 'down').length),
    'master/slaves_unreachable': double(leading ? group.unreachableCount : 0),
    'master/slave_registrations': double(leading ? group.registrations : 0),
    'master/frameworks_active': double(leading ? [...group.frameworks.values()].filter((f) => f.active).length : 0),
    ...resourceMetrics(world, leading ? group : undefined, agents),
    ...taskMetrics(leading ? group : undefined),
    'registrar/log/recovered': double(leading && group.phase === 'leading' ? 1 : 0),
    'registrar/log/ensemble_size': double(group ? group.members.size : 0),
    'system/cpus_total': double(master.node.cpus),
    'system/mem_total_bytes': double(master.node.memoryMb * 1024 * 1024),
  };
}

function resourceMetrics(world: MesosWorld, group: Group | undefined, agents: readonly AgentRecord[]): Record<string, unknown> {
  const total = { cpus: 0, mem: 0, disk: 0 };
  const used = { cpus: 0, mem: 0, disk: 0 };
  for (const a of agents) {
    const u = group ? world.work.used(group, a.id) : { cpus: 0, mem: 0, disk: 0 };
    for (const k of ['cpus', 'mem', 'disk'] as const) {
      total[k] += a.resources[k];
      used[k] += u[k];
    }
  }
  const metrics: Record<string, unknown> = {};
  for (const k of ['cpus', 'mem', 'disk'] as const) {
    metrics[`master/${k}_total`] = double(total[k]);
    metrics[`master/${k}_used`] = double(Math.round(used[k] * 1000) / 1000);
    metrics[`master/${k}_percent`] = double(total[k] === 0 ? 0 : used[k] / total[k]);
  }
  return metrics;
}

const TASK_STATES = ['staging', 'starting', 'running', 'killing', 'finished', 'failed', 'killed', 'lost', 'unreachable', 'gone_by_operator'] as const;

function taskMetrics(group: Group | undefined): Record<string, unknown> {
  const metrics: Record<string, unknown> = {};
  for (const state of TASK_STATES) {
    const name = `TASK_${state.toUpperCase()}`;
    const now = group ? [...group.tasks.values()].filter((t) => t.state === name).length : 0;
    metrics[`master/tasks_${state}`] = double(now + (group?.ended.get(name) ?? 0));
  }
  return metrics;
}

/** Non-leaders send clients on to the leader; with no leader there is nothing to say yet. */
function toLeader(master: Master, request: Request): Reply | undefined {
  const leader = master.group?.leader;
  if (leader === master) return undefined;
  if (!leader) return text(503, 'No leader elected');
  return redirect(`//${leader.flags.hostname}:${leader.flags.port}${request.path}${request.query ? `?${request.query}` : ''}`);
}

export function masterHandler(world: MesosWorld, master: Master): Handler {
  return slowed(world, (request) => {
    const path = request.path.replace(/^\/master(?=\/)/, '');
    if (request.method === 'POST' && path === '/api/v1') return masterApi(master, request);
    if (isMaintenancePath(path)) {
      const elsewhere = toLeader(master, request);
      if (elsewhere) return elsewhere;
      const reply = maintenanceApi(world, master.group!, request.method, path, request.body);
      if (request.method === 'POST') world.reconcile();
      return reply;
    }
    if (request.method !== 'GET') return text(405, 'Method not allowed');
    switch (path) {
      case '/health':
        return text(200, '');
      case '/redirect': {
        const leader = master.group?.leader;
        return leader ? redirect(`//${leader.flags.hostname}:${leader.flags.port}`) : text(503, 'No leader elected');
      }
      case '/metrics/snapshot':
        return json(200, masterMetrics(world, master));
      case '/tasks':
        return toLeader(master, request) ?? tasksReply(master.group!, new URLSearchParams(request.query));
      case '/state':
      case '/slaves':
      case '/state-summary':
      case '/frameworks': {
        const elsewhere = toLeader(master, request);
        if (elsewhere) return elsewhere;
        const state = masterState(world, master, master.group!);
        if (path === '/state') return json(200, state);
        if (path === '/slaves') return json(200, { slaves: state['slaves'], recovered_slaves: state['recovered_slaves'] });
        if (path === '/frameworks') return json(200, { frameworks: state['frameworks'], completed_frameworks: [], unregistered_frameworks: [] });
        return json(200, { hostname: state['hostname'], cluster: state['cluster'], slaves: state['slaves'], frameworks: state['frameworks'] });
      }
      default:
        return text(404, '');
    }
  });
}

/** Every task the master knows, newest first unless `order=asc`, paged by `limit` (100) and `offset`. */
function tasksReply(group: Group, query: URLSearchParams): Reply {
  const limit = Number(query.get('limit') ?? 100);
  const offset = Number(query.get('offset') ?? 0);
  if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(offset) || offset < 0)
    return text(400, 'Failed to parse query parameters: limit and offset must be non-negative integers');
  const order = query.get('order') ?? 'des';
  const all = [...group.tasks.values(), ...group.completedTasks].sort((a, b) => (order === 'asc' ? a.stagedAt - b.stagedAt : b.stagedAt - a.stagedAt));
  return json(200, { tasks: all.slice(offset, offset + limit).map(taskJson) });
}

function v1Task(task: Task): Record<string, unknown> {
  const scalar = (name: string, value: number): Record<string, unknown> => ({ name, type: 'SCALAR', scalar: { value: double(value) }, role: '*' });
  const ports = task.resources.ports;
  return {
    name: task.name,
    task_id: { value: task.id },
    framework_id: { value: task.frameworkId },
    agent_id: { value: task.agentId },
    state: task.state,
    resources: [
      scalar('cpus', task.resources.cpus),
      scalar('mem', task.resources.mem),
      ...(task.resources.disk > 0 ? [scalar('disk', task.resources.disk)] : []),
      ...(ports.length > 0 ? [{ name: 'ports', type: 'RANGES', ranges: { range: ports.map((p) => ({ begin: p, end: p })) }, role: '*' }] : []),
    ],
    statuses: task.statuses.map((s) => ({
      task_id: { value: task.id },
      state: s.state,
      timestamp: seconds(s.timestamp),
      source: 'SOURCE_EXECUTOR',
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.message ? { message: s.message } : {}),
    })),
  };
}

function masterApi(master: Master, request: Request): Reply {
  const contentType = request.headers['content-type'];
  if (!contentType) return text(400, "Expecting 'Content-Type' to be present");
  if (!/^application\/(json|x-protobuf)/.test(contentType)) return text(415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
  const accept = request.headers['accept'];
  if (accept && !/application\/json|\*\/\*/.test(accept)) return text(406, `Expecting 'Accept' to allow application/json`);
  const elsewhere = toLeader(master, request);
  if (elsewhere) return elsewhere;
  if (master.group!.phase !== 'leading') return text(503, 'Master has not finished recovery');
  let call: { type?: unknown };
  try {
    call = JSON.parse(request.body) as { type?: unknown };
  } catch (error) {
    return text(400, `Failed to parse body into Call protobuf: ${(error as Error).message}`);
  }
  const group = master.group!;
  switch (call.type) {
    case 'GET_TASKS': {
      const active = [...group.tasks.values()];
      return json(200, {
        type: 'GET_TASKS',
        get_tasks: {
          tasks: active.filter((t) => holdsResources(t.state)).map(v1Task),
          unreachable_tasks: active.filter((t) => t.state === 'TASK_UNREACHABLE').map(v1Task),
          completed_tasks: group.completedTasks.map(v1Task),
        },
      });
    }
    case 'GET_MAINTENANCE_STATUS':
      return json(200, { type: 'GET_MAINTENANCE_STATUS', get_maintenance_status: { status: maintenanceStatus(group) } });
    case 'GET_HEALTH':
      return json(200, { type: 'GET_HEALTH', get_health: { healthy: true } });
    case 'GET_MASTER':
      return json(200, { type: 'GET_MASTER', get_master: { master_info: leaderInfo(master), start_time: seconds(master.startedAt) } });
    case 'GET_AGENTS':
      return json(200, {
        type: 'GET_AGENTS',
        get_agents: {
          agents: registered(group).map((r) => ({
            agent_info: {
              hostname: r.hostname,
              id: { value: r.id },
              port: r.port,
              resources: Object.entries({ cpus: r.resources.cpus, mem: r.resources.mem, disk: r.resources.disk }).map(([name, value]) => ({
                name,
                type: 'SCALAR',
                scalar: { value: double(value) },
                role: '*',
              })),
              attributes: Object.entries(r.attributes).map(([name, value]) =>
                typeof value === 'number' ? { name, type: 'SCALAR', scalar: { value: double(value) } } : { name, type: 'TEXT', text: { value } },
              ),
            },
            active: r.active,
            deactivated: false,
            pid: r.pid,
            registered_time: { nanoseconds: Math.round(r.registeredTime * 1e6) },
            version: MESOS_VERSION,
          })),
          recovered_agents: [...group.agents.values()].filter((r) => r.recovered).map((r) => ({ hostname: r.hostname, id: { value: r.id }, port: r.port })),
        },
      });
    default:
      return text(400, `Failed to validate master::Call: unsupported call type ${JSON.stringify(call.type)}`);
  }
}

// --- agent -------------------------------------------------------------------

export function agentHandler(world: MesosWorld, agent: Agent): Handler {
  return slowed(world, (request) => {
    const path = request.path.replace(/^\/slave\(1\)(?=\/)/, '');
    if (request.method !== 'GET') return text(405, 'Method not allowed');
    const group = world.groupOfAgent(agent);
    const leader = group?.leader;
    const tasks = group && agent.id !== undefined ? world.work.tasksOn(group, agent.id).filter((t) => holdsResources(t.state)) : [];
    const used = usedTotal(tasks);
    switch (path) {
      case '/health':
        return text(200, '');
      case '/state':
        if (agent.state === 'recovering' || agent.state === 'starting') return text(503, 'Agent has not finished recovery');
        return json(200, {
          version: MESOS_VERSION,
          start_time: seconds(agent.startedAt),
          id: agent.id ?? '',
          pid: `slave(1)@${agent.loopback ? '127.0.1.1' : agent.flags.ip}:${agent.flags.port}`,
          hostname: agent.flags.hostname,
          resources: resourcesJson({ cpus: agent.node.cpus, gpus: 0, mem: Math.max(agent.node.memoryMb - 1024, 0), disk: 14_948, ports: '[31000-32000]' }),
          attributes: agent.flags.attributes,
          ...(leader ? { master_hostname: leader.flags.hostname } : {}),
          flags: {
            master: detectorText(agent.flags.detector),
            work_dir: '/var/lib/mesos/agent',
            port: String(agent.flags.port),
            ip: agent.flags.ip,
            hostname: agent.flags.hostname,
          },
          frameworks: agentFrameworks(tasks),
          completed_frameworks: [],
          capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE'],
        });
      case '/metrics/snapshot':
        return json(200, {
          'slave/registered': double(leader ? 1 : 0),
          'slave/uptime_secs': double((world.now() - agent.startedAt) / 1000),
          'slave/cpus_total': double(agent.node.cpus),
          'slave/mem_total': double(Math.max(agent.node.memoryMb - 1024, 0)),
          'slave/recovery_errors': double(0),
          'slave/cpus_used': double(used.cpus),
          'slave/mem_used': double(used.mem),
          'slave/tasks_staging': double(tasks.filter((t) => t.state === 'TASK_STAGING').length),
          'slave/tasks_running': double(tasks.filter((t) => t.state === 'TASK_RUNNING').length),
        });
      default:
        return text(404, '');
    }
  });
}

/** The agent's view: each task under its framework, run by its own command executor. */
function agentFrameworks(tasks: readonly Task[]): Array<Record<string, unknown>> {
  const byFramework = new Map<string, Task[]>();
  for (const task of tasks) byFramework.set(task.frameworkId, [...(byFramework.get(task.frameworkId) ?? []), task]);
  return [...byFramework].map(([id, mine]) => ({
    id,
    executors: mine.map((t) => ({
      id: t.id,
      name: `Command Executor (Task: ${t.id}) (Command: sh -c '${t.command}')`,
      source: t.id,
      tasks: [taskJson(t)],
      queued_tasks: [],
      completed_tasks: [],
    })),
    completed_executors: [],
  }));
}
