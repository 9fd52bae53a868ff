import type { ClusterHealth } from '../../lib/cluster/health.js';
import { describeSlot } from '../cluster/plan.js';
import { seconds, type NodeHealth } from './tracking.js';

/**
 * The cluster's next step as a pure decision, from one observation of it:
 * while it is built (provision, update) whether it is ready, still coming,
 * or failed; once ready whether it is whole or degraded; and, always, which
 * nodes to replace now. Like Cluster API's MachineHealthCheck: a node is
 * unhealthy when it did not come up in time or stopped working for long
 * enough; unhealthy nodes are replaced one slot at a time with back-off,
 * masters one at a time and only while the others keep their quorum, and
 * nothing is replaced while too many nodes are unhealthy at once (a
 * partition or an outage is not cured by new VMs).
 */

export type WatchMode = 'provision' | 'update' | 'ready';

/** What the orchestrator did about a slot so far. */
export interface SlotRecord {
  readonly replacements: number;
  /** When its last replacement ended. */
  readonly lastReplacedAt?: number;
  readonly replacing: boolean;
}

/** The health reported last, and a different verdict waiting to be confirmed. */
export interface HealthTrend {
  readonly reported: ClusterHealth;
  readonly pending?: { readonly health: ClusterHealth; readonly since: number };
}

/** Where the proof that work runs stands, while a new cluster is provisioned. */
export type SmokeState =
  | { readonly phase: 'pending' }
  | { readonly phase: 'launched'; readonly since: number; readonly runningOn?: string; readonly waiting?: string }
  | { readonly phase: 'passed'; readonly ranOn: string };

export interface ClusterObservation {
  readonly mode: WatchMode;
  /** When provisioning or the update began. */
  readonly since: number;
  /** When provisioning or the update must be done; ignored once ready. */
  readonly deadline: number;
  readonly masters: readonly NodeHealth[];
  readonly agents: readonly NodeHealth[];
  readonly slots: ReadonlyMap<string, SlotRecord>;
  readonly leader?: string;
  /** Why the masters are not in order, as the assessment says it. */
  readonly masterProblem?: string;
  readonly marathon: { readonly wanted: boolean; readonly ready: boolean; readonly problem?: string };
  /** How long the current leader has led without a change; 0 without one. */
  readonly leaderHeldMs: number;
  readonly minReady: number;
  readonly quorum: number;
  readonly health: HealthTrend;
  /** Set when a smoke task must run before the cluster is ready. */
  readonly smoke?: SmokeState;
}

export interface HealthPolicy {
  /** From the start of provisioning, for a leader and healthy masters; also a master VM's time to come up. */
  readonly mastersDeadlineMs: number;
  /** From an agent's VM running, for the agent to be registered and active. */
  readonly agentDeadlineMs: number;
  /** An agent that was active and is not for this long is unhealthy. */
  readonly agentUnhealthyMs: number;
  /** The same for a master that was healthy. */
  readonly masterUnhealthyMs: number;
  /** The fraction of nodes that may be unhealthy at once and still be replaced. */
  readonly maxUnhealthy: number;
  /** Replacements per slot while the cluster is being built. */
  readonly maxReplacements: number;
  /** Wait after a slot's first replacement before its next; it doubles each time, up to an hour. */
  readonly replaceBackoffMs: number;
  /**
   * How long what a verdict rests on must hold before it counts: while
   * building, every node healthy and the leader unchanged; once ready, a
   * change between healthy and degraded.
   */
  readonly stableMs: number;
  /** From launching the smoke task, for it to run. */
  readonly smokeTimeoutMs: number;
}

export type Outcome =
  | { readonly kind: 'progress'; readonly message: string }
  | { readonly kind: 'ready'; readonly health: ClusterHealth; readonly message: string }
  | { readonly kind: 'failed'; readonly cause: string };

export interface Replacement {
  readonly key: string;
  /** The VM judged: the slot is replaced only while it still holds this one. */
  readonly vm: string;
  /** Why, for the event and the log: "agent 2 of 3 (…) not active for 62 s (not registered)". */
  readonly reason: string;
}

export interface ClusterDecision {
  readonly outcome: Outcome;
  readonly replace: readonly Replacement[];
  /** Set while too many nodes are unhealthy for any to be replaced. */
  readonly stopped?: string;
  readonly health: HealthTrend;
  /** What to do about the smoke task: launch it, or remove it because it ran. */
  readonly smoke?: 'launch' | 'remove';
  /** Look again no later than this from now: a stability window closes then. */
  readonly recheckInMs?: number;
}

const MAX_BACKOFF_MS = 3_600_000;

/** What is wrong with one node, when the decisions hold it against it. */
interface Judged {
  readonly node: NodeHealth;
  readonly what: string;
  /** Unhealthy long enough to be replaced. */
  readonly overdue: boolean;
  readonly text: string;
}

export function decide(o: ClusterObservation, now: number, policy: HealthPolicy): ClusterDecision {
  const judged = [...o.masters, ...o.agents].map((node) => judge(node, o, policy)).filter((j): j is Judged => j !== undefined);
  const unhealthy = judged.filter((j) => j.overdue || o.slots.get(j.node.key)?.replacing === true);
  const total = o.masters.length + o.agents.length;
  const stopped =
    unhealthy.length > 1 && unhealthy.length > policy.maxUnhealthy * total
      ? `remediation stopped: ${unhealthy.length} of ${total} nodes unhealthy (more than ${Math.round(policy.maxUnhealthy * 100)} %)`
      : undefined;
  const replace = stopped ? [] : replacements(judged, o, now, policy);
  const context: Context = { o, now, policy, judged, replace, ...(stopped ? { stopped } : {}) };
  const result = o.mode === 'ready' ? watch(context) : build(context);
  return { ...result, replace: result.outcome.kind === 'failed' ? [] : replace, ...(stopped ? { stopped } : {}) };
}

interface Context {
  readonly o: ClusterObservation;
  readonly now: number;
  readonly policy: HealthPolicy;
  readonly judged: readonly Judged[];
  readonly replace: readonly Replacement[];
  readonly stopped?: string;
}

function judge(node: NodeHealth, o: ClusterObservation, policy: HealthPolicy): Judged | undefined {
  if (node.status !== 'unhealthy') return undefined;
  const of = node.role === 'master' ? o.masters.length : o.agents.length;
  const what = `${describeSlot(node.slot, of)} (${node.address})`;
  if (node.everHealthy) {
    const limit = node.role === 'master' ? policy.masterUnhealthyMs : policy.agentUnhealthyMs;
    const verb = node.role === 'master' ? 'not healthy' : 'not active';
    return { node, what, overdue: node.unhealthyMs >= limit, text: `${what} ${verb} for ${seconds(node.unhealthyMs)} s (${node.reason})` };
  }
  const limit = node.role === 'master' ? policy.mastersDeadlineMs : policy.agentDeadlineMs;
  return { node, what, overdue: node.watchedMs >= limit, text: `${what} not ready after ${seconds(node.watchedMs)} s (${node.reason})` };
}

/** The overdue nodes that may be replaced now. */
function replacements(judged: readonly Judged[], o: ClusterObservation, now: number, policy: HealthPolicy): Replacement[] {
  const healthyMasters = o.masters.filter((m) => m.status === 'healthy').length;
  const masterBusy = o.masters.some((m) => o.slots.get(m.key)?.replacing === true);
  const chosen: Replacement[] = [];
  for (const j of judged) {
    if (!j.overdue || !mayReplace(j.node.key, o, now, policy)) continue;
    if (j.node.role === 'master') {
      // Masters are replaced only once ready: while building, a master that never comes up fails the cluster at its deadline.
      if (o.mode !== 'ready' || masterBusy || chosen.some((c) => c.key.startsWith('m'))) continue;
      if (o.masters.length > 1 && healthyMasters < o.quorum) continue;
    }
    chosen.push({ key: j.node.key, vm: j.node.name, reason: j.text });
  }
  return chosen;
}

function mayReplace(key: string, o: ClusterObservation, now: number, policy: HealthPolicy): boolean {
  const slot = o.slots.get(key);
  const replacements = slot?.replacements ?? 0;
  if (slot?.replacing) return false;
  if (o.mode !== 'ready') return replacements < policy.maxReplacements;
  return now >= (slot?.lastReplacedAt ?? 0) + backoff(replacements, policy);
}

function backoff(replacements: number, policy: HealthPolicy): number {
  return replacements === 0 ? 0 : Math.min(MAX_BACKOFF_MS, policy.replaceBackoffMs * 2 ** (replacements - 1));
}

/** Provisioning or an update: ready, still coming, or failed. */
function build(c: Context): Omit<ClusterDecision, 'replace' | 'stopped'> {
  const { o, now, policy } = c;
  const phase = o.mode;
  const health = { reported: 'healthy' as const };
  const mastersOk = o.leader !== undefined && o.masterProblem === undefined;
  const total = o.agents.length;
  const active = o.agents.filter((a) => a.status === 'healthy');
  const working = mastersOk && o.marathon.ready;
  if (working && active.length === total) return { ...proven(c, readyText(o), steadyMs(o, active)), health };
  if (!mastersOk && now - o.since >= policy.mastersDeadlineMs) {
    return {
      outcome: { kind: 'failed', cause: `${phase} failed: masters not ready after ${seconds(now - o.since)} s: ${o.masterProblem ?? 'no leader'}` },
      health,
    };
  }
  const missing = o.agents.filter((a) => a.status !== 'healthy');
  const exhausted = missing.filter((a) => isExhausted(a, c));
  if (total - exhausted.length < o.minReady) {
    return {
      outcome: {
        kind: 'failed',
        cause: `${phase} failed: only ${total - exhausted.length} of ${total} agents can still be ready (min_ready ${o.minReady}); missing: ${listMissing(missing, c)}`,
      },
      health,
    };
  }
  // Agents that missed their time are being replaced or given up on: with min_ready met, the cluster is ready without them.
  const judgedOut = missing.every((a) => c.judged.some((j) => j.node.key === a.key && j.overdue));
  if (working && judgedOut && active.length >= o.minReady) {
    return {
      ...proven(c, `ready with ${active.length} of ${total} agents (min_ready ${o.minReady}); missing: ${listMissing(missing, c)}`, steadyMs(o, active)),
      health,
    };
  }
  if (now >= o.deadline) {
    const why = !mastersOk
      ? (o.masterProblem ?? 'no leader')
      : !o.marathon.ready
        ? o.marathon.problem!
        : `${active.length} of ${total} agents ready (min_ready ${o.minReady}); missing: ${listMissing(missing, c)}`;
    return { outcome: { kind: 'failed', cause: `${phase} failed at its deadline: ${why}` }, health };
  }
  return { outcome: { kind: 'progress', message: `${phase}: ${progressText(c, mastersOk)}` }, health };
}

/** How long the leader and every node counted have held without a break. */
function steadyMs(o: ClusterObservation, activeAgents: readonly NodeHealth[]): number {
  return Math.min(o.leaderHeldMs, ...o.masters.map((m) => m.healthyMs), ...activeAgents.map((a) => a.healthyMs));
}

/**
 * A cluster that works is ready once it held for the stability window and
 * a smoke task ran on it (when one must). The smoke task is launched at
 * once, so it runs while the window closes.
 */
function proven(c: Context, message: string, steady: number): Pick<ClusterDecision, 'outcome' | 'smoke' | 'recheckInMs'> {
  const { o, now, policy } = c;
  const smoke = o.smoke;
  const held = steady >= policy.stableMs;
  const window = held ? {} : { recheckInMs: policy.stableMs - steady };
  const ready = (text: string): Outcome => ({ kind: 'ready', health: 'healthy', message: text });
  const settling: Outcome = { kind: 'progress', message: `${o.mode}: ${progressText(c, true)}` };
  if (!smoke || smoke.phase === 'passed') {
    if (!held) return { outcome: settling, ...window };
    return { outcome: ready(smoke ? `${message}; a smoke task ran on ${smoke.ranOn}` : message) };
  }
  const checking = `${o.mode}: checking that work runs`;
  if (smoke.phase === 'pending')
    return { outcome: { kind: 'progress', message: `${checking}: launching a one-task Marathon app` }, smoke: 'launch', ...window };
  if (smoke.runningOn) {
    if (!held) return { outcome: settling, ...window };
    return { outcome: ready(`${message}; a smoke task ran on ${smoke.runningOn}`), smoke: 'remove' };
  }
  const waited = now - smoke.since;
  const why = smoke.waiting ?? 'its task is not running yet';
  if (waited >= policy.smokeTimeoutMs)
    return { outcome: { kind: 'failed', cause: `${o.mode} failed: a smoke task did not run within ${seconds(waited)} s: ${why}` } };
  return { outcome: { kind: 'progress', message: `${checking}: ${why} (${seconds(waited)} s)` }, ...window };
}

function isExhausted(agent: NodeHealth, c: Context): boolean {
  const slot = c.o.slots.get(agent.key);
  const overdue = c.judged.some((j) => j.node.key === agent.key && j.overdue);
  return overdue && !(slot?.replacing ?? false) && (slot?.replacements ?? 0) >= c.policy.maxReplacements;
}

function progressText(c: Context, mastersOk: boolean): string {
  const { o } = c;
  if (!o.leader) return o.masterProblem ?? 'waiting for a leader';
  const total = o.agents.length;
  const activeText = `${o.agents.filter((a) => a.status === 'healthy').length} of ${total} agents active`;
  const replacing = c.judged.find((j) => c.o.slots.get(j.node.key)?.replacing || c.replace.some((r) => r.key === j.node.key));
  if (replacing) return `${replacing.text}; replacing it`;
  const gaveUp = c.judged.find((j) => j.overdue && j.node.role === 'agent' && isExhausted(j.node, c));
  if (gaveUp) return `${gaveUp.text}; no replacements left`;
  const waiting = o.agents.find((a) => a.status !== 'healthy');
  if (waiting) return `leader ${o.leader}; ${activeText}; waiting for ${describeSlot(waiting.slot, total)} (${waiting.address}): ${waiting.reason}`;
  if (!mastersOk) return `leader ${o.leader}; ${o.masterProblem}`;
  if (!o.marathon.ready) return `leader ${o.leader}; ${activeText}; ${o.marathon.problem}`;
  return `leader ${o.leader}; ${activeText}; checking that it stays so`;
}

/** A ready cluster: whole, missing agents min_ready allows, or degraded; a change of verdict counts once it holds. */
function watch(c: Context): Omit<ClusterDecision, 'replace' | 'stopped'> {
  const { o, policy } = c;
  const problem = belowPromise(c);
  const verdict: ClusterHealth = problem ? 'degraded' : 'healthy';
  const health = trend(o.health, verdict, c.now, policy.stableMs);
  const window = health.pending ? { recheckInMs: health.pending.since + policy.stableMs - c.now } : {};
  if (health.reported === 'degraded')
    return { outcome: { kind: 'ready', health: 'degraded', message: `degraded: ${problem ?? 'recovering'}` }, health, ...window };
  return { outcome: { kind: 'ready', health: 'healthy', message: wholeText(c) }, health, ...window };
}

function trend(previous: HealthTrend, verdict: ClusterHealth, now: number, stableMs: number): HealthTrend {
  if (verdict === previous.reported) return { reported: verdict };
  const since = previous.pending?.health === verdict ? previous.pending.since : now;
  return now - since >= stableMs ? { reported: verdict } : { reported: previous.reported, pending: { health: verdict, since } };
}

/** What keeps the cluster from what was promised, if anything: a leader, quorum, Marathon, min_ready agents. */
function belowPromise(c: Context): string | undefined {
  const { o } = c;
  const healthyMasters = o.masters.filter((m) => m.status === 'healthy').length;
  if (!o.leader) return withRemedy(`no leader: ${o.masterProblem ?? 'no master leads'}`, c, 'master');
  if (healthyMasters < o.quorum) return withRemedy(`lost quorum: ${healthyMasters} of ${o.masters.length} masters healthy (quorum ${o.quorum})`, c, 'master');
  if (o.marathon.wanted && !o.marathon.ready) return `Marathon: ${o.marathon.problem}`;
  const active = o.agents.filter((a) => a.status === 'healthy').length;
  if (active < o.minReady) {
    const first = c.judged.find((j) => j.node.role === 'agent');
    const lead = `${active} of ${o.agents.length} agents active (min_ready ${o.minReady})`;
    return first ? `${first.text}; ${remedy(first, c)}; ${lead}` : lead;
  }
  return undefined;
}

function withRemedy(text: string, c: Context, role: 'master'): string {
  const first = c.judged.find((j) => j.node.role === role);
  return first ? `${text}; ${first.text}; ${remedy(first, c)}` : text;
}

/** What is being done about an unhealthy node, in words. */
function remedy(j: Judged, c: Context): string {
  const slot = c.o.slots.get(j.node.key);
  if (slot?.replacing || c.replace.some((r) => r.key === j.node.key)) return `replacing it (replacement ${(slot?.replacements ?? 0) + 1})`;
  if (c.stopped) return c.stopped;
  if (!j.overdue) {
    const limit = j.node.everHealthy
      ? j.node.role === 'master'
        ? c.policy.masterUnhealthyMs
        : c.policy.agentUnhealthyMs
      : j.node.role === 'master'
        ? c.policy.mastersDeadlineMs
        : c.policy.agentDeadlineMs;
    const elapsed = j.node.everHealthy ? j.node.unhealthyMs : j.node.watchedMs;
    return `replaced if it stays so for ${seconds(Math.max(0, limit - elapsed))} s more`;
  }
  if (j.node.role === 'master' && c.o.masters.length > 1) return 'replaced once the other masters keep a quorum without it';
  const due = (slot?.lastReplacedAt ?? 0) + backoff(slot?.replacements ?? 0, c.policy);
  return `replaced again in ${seconds(Math.max(0, due - c.now))} s (after ${slot?.replacements ?? 0} replacements)`;
}

function wholeText(c: Context): string {
  const { o } = c;
  const missing = o.agents.filter((a) => a.status !== 'healthy');
  const troubled = c.judged.find((j) => j.node.role === 'master');
  const masters = troubled ? `; ${troubled.text}; ${remedy(troubled, c)}` : '';
  if (missing.length === 0) return `${readyText(o)}${masters}`;
  const active = o.agents.length - missing.length;
  return `ready with ${active} of ${o.agents.length} agents (min_ready ${o.minReady}); missing: ${listMissing(missing, c)}${masters}`;
}

function readyText(o: ClusterObservation): string {
  const total = o.agents.length;
  return `ready: leader ${o.leader}, ${total} of ${total} agents active${o.marathon.wanted ? ', Marathon registered' : ''}`;
}

function listMissing(missing: readonly NodeHealth[], c: Context): string {
  if (missing.length === 0) return 'none';
  return missing
    .map((a) => {
      const j = c.judged.find((x) => x.node.key === a.key);
      const what = `${describeSlot(a.slot, c.o.agents.length)} (${a.address}): ${a.reason}`;
      if (!j || c.o.mode !== 'ready') return c.o.slots.get(a.key)?.replacing ? `${what}; being replaced` : what;
      return `${what}; ${remedy(j, c)}`;
    })
    .join('; ');
}
