import type { ClusterLoad } from '../../lib/cluster/load.js';
import { isObject } from '../../lib/objects.js';
import { describeSlot, type Slot } from '../cluster/plan.js';
import { describeAnswer, isAnswer, jsonOf, type Observation } from './observation.js';

/** The nodes the cluster should have, with their VMs' addresses and names. */
export interface ExpectedNode {
  readonly slot: Slot;
  readonly address: string;
  readonly name: string;
}

export interface Expected {
  readonly masters: readonly ExpectedNode[];
  readonly agents: readonly ExpectedNode[];
  readonly marathon: boolean;
}

export interface AgentStatus {
  readonly node: ExpectedNode;
  readonly ready: boolean;
  /** False when nobody could say (no leader, or its agent list unreadable): neither healthy nor not. */
  readonly known: boolean;
  /** Why it is not ready, or 'active'. */
  readonly reason: string;
  readonly mesosId?: string;
}

/** One master as its own /master/health answered. */
export interface MasterStatus {
  readonly node: ExpectedNode;
  readonly healthy: boolean;
  /** Why it is not healthy, or 'healthy'. */
  readonly reason: string;
}

export interface Assessment {
  readonly mastersHealthy: number;
  readonly masters: readonly MasterStatus[];
  /** The leading master's address, when exactly one leads and has recovered. */
  readonly leader?: string;
  /** Why the masters are not in order yet. */
  readonly masterProblem?: string;
  readonly agents: readonly AgentStatus[];
  readonly readyAgents: number;
  readonly marathon: { readonly ready: boolean; readonly url?: string; readonly problem?: string };
  /** The work on the cluster, from the leader's metrics, when it answered them. */
  readonly load?: ClusterLoad;
  /** Equal on two polls when nothing that matters changed (leader, ready agents and their ids, Marathon). */
  readonly signature: string;
}

const LOOPBACK_PID = /@127\.0\.[01]\.1:/;

/**
 * Judges one observation (disco-mesos §3.6): every master healthy, exactly
 * one of them elected and recovered, each agent registered with the leader,
 * matched to its VM by the so_node attribute or its address, active, not
 * deactivated and offering resources; Marathon answering, elected and
 * registered as an active framework.
 */
export function assess(observation: Observation, expected: Expected): Assessment {
  const masters = judgeMasters(observation, expected);
  const marathon = expected.marathon ? judgeMarathon(observation, masters.leader) : { ready: true };
  const statuses = expected.masters.map((node) => masterStatus(observation, node));
  const load = masters.leader ? loadOf(observation, masters.leader) : undefined;
  return withAgents(
    { ...masters, masters: statuses, marathon, ...(load ? { load } : {}), agents: [], readyAgents: 0, signature: '' },
    judgeAgents(observation, expected, masters.leader),
  );
}

function loadOf(observation: Observation, leader: string): ClusterLoad | undefined {
  const metrics = jsonOf(observation.masters.find((m) => m.address === leader)?.metrics);
  const read = (name: string): number | undefined => metric(metrics, name);
  const figures = ['master/tasks_running', 'master/tasks_staging', 'master/cpus_used', 'master/cpus_total', 'master/mem_used', 'master/mem_total'].map(read);
  if (figures.some((f) => f === undefined)) return undefined;
  const [tasksRunning, tasksStaging, cpusUsed, cpusTotal, memUsed, memTotal] = figures as number[];
  return {
    tasksRunning: tasksRunning,
    tasksStaging: tasksStaging,
    cpusUsed: cpusUsed,
    cpusTotal: cpusTotal,
    memUsed: memUsed,
    memTotal: memTotal,
    waiting: waitingOf(observation),
  };
}

const NO_ROOM = new Set(['InsufficientCpus', 'InsufficientMemory', 'InsufficientDisk', 'InsufficientPorts']);

interface QueueEntry {
  readonly count?: unknown;
  readonly delay?: { readonly overdue?: unknown };
  readonly app?: { readonly cpus?: unknown; readonly mem?: unknown };
  readonly processedOffersSummary?: { readonly rejectSummaryLastOffers?: ReadonlyArray<{ readonly reason?: unknown; readonly declined?: unknown }> };
}

/** Instances in Marathon's queue that wait for room (offers too small), not for their launch delay or a constraint. */
function waitingOf(observation: Observation): ClusterLoad['waiting'] {
  const body = jsonOf(observation.queue);
  const queue = isObject(body) && Array.isArray(body['queue']) ? (body['queue'] as QueueEntry[]) : [];
  let tasks = 0;
  let cpus = 0;
  let mem = 0;
  for (const entry of queue) {
    const count = typeof entry.count === 'number' ? entry.count : 0;
    const rejected = entry.processedOffersSummary?.rejectSummaryLastOffers ?? [];
    const noRoom = rejected.some((r) => typeof r.reason === 'string' && NO_ROOM.has(r.reason) && typeof r.declined === 'number' && r.declined > 0);
    if (count === 0 || entry.delay?.overdue === false || !noRoom) continue;
    tasks += count;
    cpus += count * (typeof entry.app?.cpus === 'number' ? entry.app.cpus : 0);
    mem += count * (typeof entry.app?.mem === 'number' ? entry.app.mem : 0);
  }
  return { tasks, cpus: Math.round(cpus * 1000) / 1000, mem: Math.round(mem * 1000) / 1000 };
}

function masterStatus(observation: Observation, node: ExpectedNode): MasterStatus {
  const seen = observation.masters.find((m) => m.address === node.address);
  if (!seen) return { node, healthy: false, reason: 'not asked' };
  const healthy = isAnswer(seen.health) && seen.health.status === 200;
  return { node, healthy, reason: healthy ? 'healthy' : `its /master/health: ${describeAnswer(seen.health)}` };
}

/** The assessment with another verdict on the agents, its counts and signature recomputed. */
export function withAgents(assessment: Assessment, agents: readonly AgentStatus[]): Assessment {
  const ready = agents.filter((a) => a.ready);
  const { leader, marathon } = assessment;
  return {
    ...assessment,
    agents,
    readyAgents: ready.length,
    signature: JSON.stringify([leader, ready.map((a) => [a.node.name, a.mesosId]), marathon.ready, marathon.url]),
  };
}

function metric(body: unknown, name: string): number | undefined {
  const value = isObject(body) ? body[name] : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** Maps a redirect's protocol-relative Location (//host:port) to the known master it names. */
export function masterAt(location: string | undefined, masters: readonly ExpectedNode[]): string | undefined {
  const host = /^(?:https?:)?\/\/([^/:]+)/.exec(location ?? '')?.[1];
  return masters.find((m) => m.address === host)?.address;
}

/**
 * The master that says it leads (master/elected is 1), or else the one the
 * healthy masters redirect to. Undefined when none, or more than one, leads.
 */
export function findLeader(observation: Observation, expected: Expected): string | undefined {
  const healthy = observation.masters.filter((m) => isAnswer(m.health) && m.health.status === 200);
  const elected = healthy.filter((m) => metric(jsonOf(m.metrics), 'master/elected') === 1);
  if (elected.length > 1) return undefined;
  if (elected[0]) return elected[0].address;
  const redirects = healthy
    .map((m) => m.redirect)
    .filter(isAnswer)
    .filter((a) => a.status === 307);
  return redirects.map((a) => masterAt(a.location, expected.masters)).find((a) => a !== undefined);
}

function judgeMasters(observation: Observation, expected: Expected): Pick<Assessment, 'mastersHealthy' | 'leader' | 'masterProblem'> {
  const healthy = observation.masters.filter((m) => isAnswer(m.health) && m.health.status === 200);
  const sick = observation.masters.filter((m) => !healthy.includes(m));
  const describe = (address: string): string => {
    const node = expected.masters.find((m) => m.address === address);
    return node ? `${describeSlot(node.slot, expected.masters.length)} (${address})` : address;
  };
  const sickText = sick.map((m) => `${describe(m.address)}: ${describeAnswer(m.health)}`).join('; ');
  const elected = healthy.filter((m) => metric(jsonOf(m.metrics), 'master/elected') === 1);
  if (elected.length > 1) {
    return { mastersHealthy: healthy.length, masterProblem: `${elected.length} masters claim to lead (${elected.map((m) => m.address).join(', ')})` };
  }
  const leader = findLeader(observation, expected);
  if (!leader) {
    const why = healthy.length === 0 ? 'no master answers' : `no leader elected yet (${healthy.length} of ${expected.masters.length} masters healthy)`;
    return { mastersHealthy: healthy.length, masterProblem: sickText ? `${why}; ${sickText}` : why };
  }
  const leaderView = observation.masters.find((m) => m.address === leader);
  if (leaderView && metric(jsonOf(leaderView.metrics), 'registrar/log/recovered') === 0) {
    const why = `leader ${describe(leader)} is still recovering its registry (${healthy.length} of ${expected.masters.length} masters healthy)`;
    return { mastersHealthy: healthy.length, masterProblem: sickText ? `${why}; ${sickText}` : why };
  }
  if (sick.length > 0) return { mastersHealthy: healthy.length, leader, masterProblem: sickText };
  return { mastersHealthy: healthy.length, leader };
}

interface SlaveEntry {
  readonly id?: unknown;
  readonly hostname?: unknown;
  readonly pid?: unknown;
  readonly active?: unknown;
  readonly deactivated?: unknown;
  readonly attributes?: unknown;
  readonly resources?: unknown;
}

function judgeAgents(observation: Observation, expected: Expected, leader: string | undefined): AgentStatus[] {
  const doc = jsonOf(observation.slaves?.answer);
  const slaves: SlaveEntry[] = isObject(doc) && Array.isArray(doc['slaves']) ? (doc['slaves'] as SlaveEntry[]) : [];
  const unknown = !leader
    ? 'no leader to ask'
    : doc === undefined
      ? `the leader's agent list is unavailable (${observation.slaves ? describeAnswer(observation.slaves.answer) : 'not asked'})`
      : undefined;
  return expected.agents.map((node) => {
    if (unknown) return { node, ready: false, known: false, reason: unknown };
    const entry = slaves.find((s) => isObject(s.attributes) && s.attributes['so_node'] === node.name) ?? slaves.find((s) => s.hostname === node.address);
    if (!entry) return { node, ready: false, known: true, reason: 'not registered' };
    const mesosId = typeof entry.id === 'string' ? { mesosId: entry.id } : {};
    const pid = typeof entry.pid === 'string' ? entry.pid : '';
    const resources = isObject(entry.resources) ? entry.resources : {};
    const cpus = typeof resources['cpus'] === 'number' ? resources['cpus'] : 0;
    const mem = typeof resources['mem'] === 'number' ? resources['mem'] : 0;
    const advertised = /@([^:]+):/.exec(pid)?.[1];
    if (entry.active !== true) {
      const loopback = LOOPBACK_PID.test(pid) ? `; it advertises the loopback pid ${pid}, so the master cannot reach it` : '';
      return { node, ready: false, known: true, reason: `registered but inactive${loopback}`, ...mesosId };
    }
    if (advertised !== undefined && advertised !== node.address) {
      return { node, ready: false, known: true, reason: `advertises ${pid} instead of its address ${node.address}, so the master cannot reach it`, ...mesosId };
    }
    if (entry.deactivated === true) return { node, ready: false, known: true, reason: 'deactivated (draining)', ...mesosId };
    if (!(cpus > 0) || !(mem > 0)) return { node, ready: false, known: true, reason: `offers no resources (cpus ${cpus}, mem ${mem})`, ...mesosId };
    return { node, ready: true, known: true, reason: 'active', ...mesosId };
  });
}

function judgeMarathon(observation: Observation, leader: string | undefined): Assessment['marathon'] {
  const answering = observation.marathons.filter((m) => isAnswer(m.ping) && m.ping.status === 200 && m.ping.body.trim() === 'pong');
  if (answering.length === 0) {
    const why = observation.marathons.map((m) => `${m.address}: ${describeAnswer(m.ping)}`).join('; ');
    return { ready: false, problem: `Marathon does not answer (${why || 'no master'})` };
  }
  const infos = answering.map((m) => ({ address: m.address, info: jsonOf(m.info) })).filter((m) => isObject(m.info));
  const electedOne = infos.find((m) => (m.info as Record<string, unknown>)['elected'] === true);
  if (!electedOne) return { ready: false, problem: 'no Marathon instance is elected yet' };
  const info = electedOne.info as Record<string, unknown>;
  const frameworkId = typeof info['frameworkId'] === 'string' ? info['frameworkId'] : '';
  const url = `http://${electedOne.address}:8080`;
  if (frameworkId === '') return { ready: false, url, problem: 'Marathon is elected but not registered with Mesos' };
  const frameworks = jsonOf(observation.frameworks?.answer);
  const list = isObject(frameworks) && Array.isArray(frameworks['frameworks']) ? (frameworks['frameworks'] as Array<Record<string, unknown>>) : [];
  const registered = list.find((f) => f['id'] === frameworkId);
  if (!leader || !registered) return { ready: false, url, problem: `the Mesos leader does not list Marathon's framework ${frameworkId}` };
  if (registered['active'] !== true) return { ready: false, url, problem: `Marathon's framework ${frameworkId} is not active` };
  return { ready: true, url };
}
