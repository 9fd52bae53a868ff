import type { Detector } from './flags.js';
import { json, redirect, text, type Handler, type Reply, type Request } from './http.js';
import { double, type Double } from './json.js';
import type { Agent, AgentRecord, Framework, Group, Marathon, Master, MesosWorld } from './world.js';

/**
 * The HTTP surfaces of the emulated daemons, with the real paths, status
 * codes and JSON fields: the master on 5050, the agent on 5051, Marathon on
 * 8080.
 */

const MESOS_VERSION = '1.11.0';
const MARATHON_VERSION = '1.11.24';

export function detectorText(detector: Detector): string {
  if (detector.kind === 'direct') return `${detector.at.host}:${detector.at.port}`;
  return `zk://${detector.hosts.map((h) => `${h.host}:${h.port}`).join(',')}${detector.path}`;
}

const seconds = (ms: number): Double => double(ms / 1000);

/** Delays answers while a `slow` fault is active. */
function slowed(world: MesosWorld, handler: Handler): Handler {
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

function agentJson(record: AgentRecord): Record<string, unknown> {
  return {
    id: record.id,
    hostname: record.hostname,
    port: record.port,
    attributes: Object.fromEntries(Object.entries(record.attributes).map(([k, v]) => [k, typeof v === 'number' ? double(v) : v])),
    pid: record.pid,
    registered_time: seconds(record.registeredTime),
    ...(record.reregisteredTime === undefined ? {} : { reregistered_time: seconds(record.reregisteredTime) }),
    resources: resourcesJson(record.resources),
    used_resources: resourcesJson(ZERO),
    offered_resources: resourcesJson(ZERO),
    reserved_resources: {},
    unreserved_resources: resourcesJson(record.resources),
    active: record.active,
    deactivated: false,
    version: MESOS_VERSION,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT', 'RESOURCE_PROVIDER', 'RESIZE_VOLUME', 'AGENT_OPERATION_FEEDBACK', 'AGENT_DRAINING', 'TASK_RESOURCE_LIMITS'],
  };
}

function frameworkJson(framework: Framework): Record<string, unknown> {
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
    used_resources: resourcesJson(ZERO),
    offered_resources: resourcesJson(ZERO),
    capabilities: ['PARTITION_AWARE'],
    tasks: [],
    unreachable_tasks: [],
    completed_tasks: [],
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
    slaves: agents.map(agentJson),
    recovered_slaves: [...group.agents.values()].filter((r) => r.recovered).map((r) => ({ id: r.id, hostname: r.hostname, port: r.port })),
    frameworks: [...group.frameworks.values()].map(frameworkJson),
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
    'master/slaves_unreachable': double(leading ? group!.unreachableCount : 0),
    'master/slave_registrations': double(leading ? group!.registrations : 0),
    'master/frameworks_active': double(leading ? [...group!.frameworks.values()].filter((f) => f.active).length : 0),
    'master/cpus_total': double(agents.reduce((sum, a) => sum + a.resources.cpus, 0)),
    'master/mem_total': double(agents.reduce((sum, a) => sum + a.resources.mem, 0)),
    'registrar/log/recovered': double(leading && group!.phase === 'leading' ? 1 : 0),
    'registrar/log/ensemble_size': double(group ? group.members.size : 0),
    'system/cpus_total': double(master.node.cpus),
    'system/mem_total_bytes': double(master.node.memoryMb * 1024 * 1024),
  };
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
    const leader = world.groupOfAgent(agent)?.leader;
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
          flags: { master: detectorText(agent.flags.detector), work_dir: '/var/lib/mesos/agent', port: String(agent.flags.port), ip: agent.flags.ip, hostname: agent.flags.hostname },
          frameworks: [],
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
        });
      default:
        return text(404, '');
    }
  });
}

// --- Marathon ----------------------------------------------------------------

export function marathonHandler(world: MesosWorld, marathon: Marathon, apps: Map<string, Record<string, unknown>>): Handler {
  return slowed(world, (request) => {
    const group = marathon.group;
    const leader = group?.leader;
    if (request.method === 'GET' && request.path === '/ping') return text(200, 'pong', 'text/plain');
    if (request.method === 'GET' && request.path === '/v2/leader') {
      return leader ? json(200, { leader: `${leader.flags.hostname}:8080` }) : json(404, { message: 'There is no leader' });
    }
    if (request.method === 'GET' && request.path === '/v2/info') {
      const registeredId = frameworkIdOf(world, group);
      return json(200, {
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
        },
        zookeeper_config: {
          ...(marathon.flags.zk ? { zk: detectorText(marathon.flags.zk) } : {}),
          zk_timeout: 10000,
          zk_session_timeout: 10000,
          zk_max_versions: 50,
        },
        http_config: { http_port: 8080, https_port: 8443 },
      });
    }
    if (request.path === '/v2/apps') return appsApi(request, apps, world.now());
    return json(404, { message: `Not found: ${request.path}` });
  });
}

function frameworkIdOf(world: MesosWorld, group: Marathon['group']): string | undefined {
  if (!group?.frameworkId) return undefined;
  for (const mesos of world.groups.values()) if (mesos.frameworks.get(group.frameworkId)?.active) return group.frameworkId;
  return undefined;
}

function appsApi(request: Request, apps: Map<string, Record<string, unknown>>, now: number): Reply {
  if (request.method === 'GET') return json(200, { apps: [...apps.values()] });
  if (request.method !== 'POST') return json(405, { message: 'Method not allowed' });
  let app: unknown;
  try {
    app = JSON.parse(request.body);
  } catch {
    return json(400, { message: 'Invalid JSON' });
  }
  const id = (app as { id?: unknown })?.id;
  if (typeof id !== 'string' || !/^\/?[a-z0-9][a-z0-9.-]*$/.test(id)) {
    return json(422, { message: 'Object is not valid', details: [{ path: '/id', errors: ['must be a valid path'] }] });
  }
  const key = id.startsWith('/') ? id : `/${id}`;
  if (apps.has(key)) return json(409, { message: `An app with id [${key}] already exists.` });
  const stored = { ...(app as Record<string, unknown>), id: key, tasksRunning: 0, tasksStaged: 0, version: new Date(now).toISOString() };
  apps.set(key, stored);
  return json(201, stored);
}
