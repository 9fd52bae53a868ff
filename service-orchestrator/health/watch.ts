import type { Timers } from '../../lib/clock.js';
import { AGENT_NODES_ATTRIBUTE, EVENTS_KEPT, type ClusterHealth, type HealthEvent, type HealthEventKind } from '../../lib/cluster/health.js';
import { loadOutputs } from '../../lib/cluster/load.js';
import type { Logger } from '../../lib/logger.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { reason, type ClusterBuilder, type NodeVm, type PhaseOptions, type UserDataFor } from '../cluster/builder.js';
import { describeSlot, quorum, slotKey, zkUrl } from '../cluster/plan.js';
import { assess, type Assessment, type Expected, type ExpectedNode } from '../readiness/assess.js';
import { describeAnswer } from '../readiness/observation.js';
import type { Probe } from '../readiness/probe.js';
import type { SmokeTest } from '../readiness/smoke.js';
import {
  decide,
  type ClusterDecision,
  type HealthPolicy,
  type HealthTrend,
  type Replacement,
  type SlotRecord,
  type SmokeState,
  type WatchMode,
} from './decide.js';
import { track, type NodeRecord, type Sighting } from './tracking.js';

/** The cluster being watched; replacements put their new VM into `nodes`. */
export interface WatchedCluster {
  readonly nodes: Map<string, NodeVm>;
  readonly masters: readonly string[];
  readonly marathon: boolean;
  /** A smoke task must run before a new cluster is ready. */
  readonly smoke: boolean;
  /** Read at every poll: min_ready may change while the cluster runs. */
  readonly minReady: () => number;
  readonly userData: UserDataFor;
}

export interface WatchSettings extends HealthPolicy {
  /** Between two looks at a ready cluster. */
  readonly healthIntervalMs: number;
  /** First and longest wait between two looks while it is built. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly flapQuarantineMs: number;
  /** How long one replacement may take, from destroying the old VM to the new one running. */
  readonly replacementDeadlineMs: number;
}

export type WatchReport =
  | { readonly kind: 'progress'; readonly message: string }
  | { readonly kind: 'ready'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

export interface WatchDeps {
  readonly probe: Probe;
  readonly smoke: SmokeTest;
  readonly builder: () => ClusterBuilder;
  readonly timers: Timers;
  readonly settings: WatchSettings;
  readonly logger: Logger;
  /** The stack state and message follow every report. */
  readonly report: (report: WatchReport, outputs: Record<string, AttributeValue>) => void;
}

/**
 * The actor around decide(): looks at the cluster, keeps each node's
 * record, asks what to do, and does it. It builds the cluster's readiness
 * (provision, update) and then keeps watching it for as long as the
 * instance lives: a ready cluster's message and outputs always describe it
 * as it is now, and unhealthy nodes are replaced in the background while
 * the watch goes on. One instance per orchestrator, so records,
 * replacement counts and the event log outlive each run.
 */
export class ClusterWatch {
  private records = new Map<string, NodeRecord>();
  private readonly slots = new Map<string, SlotRecord>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private health: HealthTrend = { reported: 'healthy' };
  private stopped?: string;
  private leader?: string;
  /** Since when the current leader leads, by this watch's looks. */
  private leaderSince?: number;
  private marathonUrl?: string;
  private readonly log: HealthEvent[] = [];
  private seq = 0;

  constructor(private readonly deps: WatchDeps) {}

  /** The health reported last, and the recent events, as outputs. */
  events(): readonly HealthEvent[] {
    return this.log;
  }

  get reportedHealth(): ClusterHealth {
    return this.health.reported;
  }

  /**
   * Runs until the cluster fails to become ready (provision, update) or the
   * signal aborts; replacements still under way are awaited (they share the
   * signal) before it returns, so nothing acts on the cloud afterwards.
   */
  async run(cluster: WatchedCluster, mode: WatchMode, deadlineMs: number, signal: AbortSignal): Promise<void> {
    try {
      await this.loop(cluster, mode, deadlineMs, signal);
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  private async loop(cluster: WatchedCluster, initial: WatchMode, deadlineMs: number, signal: AbortSignal): Promise<void> {
    const { timers, settings } = this.deps;
    const since = timers.now();
    let mode = initial;
    let previous = '';
    let closer = 0;
    if (mode !== 'ready') this.health = { reported: 'healthy' };
    let smoke: SmokeState | undefined = mode === 'provision' && cluster.smoke ? { phase: 'pending' } : undefined;
    // Polls while building start often and grow apart; a smoke task just launched restarts them, since it runs within seconds.
    for (let pace = 0; !signal.aborted; pace++) {
      const expected = expectedOf(cluster);
      const assessment = assess(await this.deps.probe.observe(expected), expected);
      const smokeSeen = smoke?.phase === 'launched' ? await this.lookAtSmoke(assessment) : undefined;
      if (signal.aborted) return;
      // A replacement that ended while the cluster was looked at made the look stale: judged, it would condemn the new VM for the old one's faults.
      if (!sameNodes(expected, expectedOf(cluster))) continue;
      if (smoke?.phase === 'launched') smoke = { ...smoke, ...smokeSeen };
      const now = timers.now();
      const leaderChanged = assessment.leader !== undefined && this.leader !== undefined && assessment.leader !== this.leader;
      const tracked = track(this.records, sightings(assessment), {
        now,
        leaderChanged,
        quarantineMs: settings.flapQuarantineMs,
        dropsToFlap: mode === 'ready' ? 2 : 1,
      });
      this.records = tracked.records;
      const signature = JSON.stringify([assessment.signature, tracked.nodes.map((n) => [n.key, n.status])]);
      const changed = signature !== previous;
      previous = signature;
      const decision = decide(
        {
          mode,
          since,
          deadline: since + deadlineMs,
          masters: tracked.nodes.filter((n) => n.role === 'master'),
          agents: tracked.nodes.filter((n) => n.role === 'agent'),
          slots: this.slots,
          ...(assessment.leader ? { leader: assessment.leader } : {}),
          ...(assessment.masterProblem ? { masterProblem: assessment.masterProblem } : {}),
          marathon: {
            wanted: cluster.marathon,
            ready: assessment.marathon.ready,
            ...(assessment.marathon.problem ? { problem: assessment.marathon.problem } : {}),
          },
          leaderHeldMs: this.leaderHeld(assessment.leader, now),
          minReady: Math.min(cluster.minReady(), expected.agents.length),
          quorum: quorum(expected.masters.length),
          health: this.health,
          ...(smoke ? { smoke } : {}),
        },
        now,
        settings,
      );
      const launching = smoke?.phase === 'pending';
      smoke = await this.actOnSmoke(decision, smoke, assessment, now);
      if (launching && smoke?.phase === 'launched') pace = 0;
      this.noteLeader(assessment, leaderChanged);
      this.noteStopped(decision);
      for (const replacement of decision.replace) this.startReplacement(cluster, replacement, mode, signal);
      const outcome = decision.outcome;
      const outputs = this.outputs(assessment, cluster);
      if (outcome.kind === 'failed') {
        this.deps.report({ kind: 'failed', message: outcome.cause }, outputs);
        return;
      }
      if (outcome.kind === 'progress') {
        this.deps.report({ kind: 'progress', message: outcome.message }, outputs);
      } else {
        if (mode === 'ready') this.noteHealth(decision.health, outcome.message);
        this.health = decision.health;
        mode = 'ready';
        this.deps.report({ kind: 'ready', message: outcome.message }, outputs);
      }
      // A ready cluster with a node in trouble, or a verdict still to confirm, is looked at sooner: a replacement shows as soon as it works.
      const troubled = tracked.nodes.some((n) => n.status !== 'healthy') || this.inFlight.size > 0 || decision.health.pending !== undefined;
      closer = !troubled || changed ? 0 : closer + 1;
      const paced =
        mode !== 'ready'
          ? Math.min(settings.pollMaxMs, settings.pollMinMs * 1.5 ** pace, Math.max(0, since + deadlineMs - now))
          : troubled
            ? Math.min(settings.healthIntervalMs, settings.pollMinMs * 1.5 ** closer)
            : settings.healthIntervalMs;
      await timers.sleep(Math.max(0, Math.min(paced, decision.recheckInMs ?? paced)), signal);
    }
  }

  private leaderHeld(leader: string | undefined, now: number): number {
    if (leader === undefined) {
      this.leaderSince = undefined;
      return 0;
    }
    if (leader !== this.leader || this.leaderSince === undefined) this.leaderSince = now;
    return now - this.leaderSince;
  }

  private async lookAtSmoke(assessment: Assessment): Promise<{ runningOn?: string; waiting?: string }> {
    const url = assessment.marathon.url;
    if (!url) return { waiting: 'Marathon is not ready' };
    try {
      return await this.deps.smoke.look(url);
    } catch (error) {
      return { waiting: reason(error) };
    }
  }

  /** Launches the smoke task, or removes it once it ran; the state that follows. */
  private async actOnSmoke(decision: ClusterDecision, smoke: SmokeState | undefined, assessment: Assessment, now: number): Promise<SmokeState | undefined> {
    const url = assessment.marathon.url;
    if (!smoke || !decision.smoke || !url) return smoke;
    if (decision.smoke === 'launch') {
      try {
        await this.deps.smoke.launch(url);
        return { phase: 'launched', since: now };
      } catch (error) {
        return { phase: 'launched', since: now, waiting: reason(error) };
      }
    }
    const ranOn = smoke.phase === 'launched' ? (smoke.runningOn ?? '') : '';
    await this.deps.smoke.remove(url).catch((error: unknown) => this.deps.logger.warn('the smoke app could not be removed', { error: reason(error) }));
    return { phase: 'passed', ranOn };
  }

  private startReplacement(cluster: WatchedCluster, replacement: Replacement, mode: WatchMode, signal: AbortSignal): void {
    const { key } = replacement;
    const node = cluster.nodes.get(key);
    if (node?.name !== replacement.vm || this.inFlight.has(key)) return;
    const record = this.slots.get(key) ?? { replacements: 0, replacing: false };
    this.slots.set(key, { ...record, replacing: true });
    const work = this.replace(cluster, node, replacement.reason, mode, record.replacements + 1, signal).finally(() => {
      this.slots.set(key, { replacements: record.replacements + 1, lastReplacedAt: this.deps.timers.now(), replacing: false });
      this.inFlight.delete(key);
    });
    this.inFlight.set(key, work);
  }

  private async replace(cluster: WatchedCluster, node: NodeVm, why: string, mode: WatchMode, count: number, signal: AbortSignal): Promise<void> {
    const { timers, settings, logger } = this.deps;
    const detail = / \(not registered\)$/.test(why)
      ? why.replace(/ \(not registered\)$/, ` (not registered; its agent's /health: ${describeAnswer(await this.deps.probe.agentHealth(node.address))})`)
      : why;
    const phase = mode === 'ready' ? 'health' : mode;
    this.event('replacing', `${detail}; replacing it (replacement ${count})`);
    logger.warn(`${phase}: ${detail}; replacing it`, { vm: node.name, replacement: count });
    const of = [...cluster.nodes.values()].filter((n) => n.slot.role === node.slot.role).length;
    const options: PhaseOptions = { deadline: timers.now() + settings.replacementDeadlineMs, signal, progress: () => undefined };
    try {
      const builder = this.deps.builder();
      const fresh = await builder.replace(node, options);
      const started = await builder.startNode(fresh, cluster.userData, cluster.masters, of, options);
      cluster.nodes.set(slotKey(node.slot), started);
      this.event('replaced', `${describeSlot(node.slot, of)} (${started.address}) replaced: it runs again on a new VM, ${started.name}`);
    } catch (error) {
      if (signal.aborted) return;
      this.event('replacement-failed', `replacing ${describeSlot(node.slot, of)} (${node.address}) failed: ${reason(error)}`);
    }
  }

  private noteLeader(assessment: Assessment, changed: boolean): void {
    if (changed) this.event('leader-changed', `the leading master is now ${assessment.leader} (was ${this.leader})`);
    if (assessment.leader) this.leader = assessment.leader;
    if (assessment.marathon.url) this.marathonUrl = assessment.marathon.url;
  }

  private noteStopped(decision: ClusterDecision): void {
    if (decision.stopped && !this.stopped) this.event('remediation-stopped', decision.stopped);
    if (!decision.stopped && this.stopped) this.event('remediation-resumed', 'few enough nodes are unhealthy: unhealthy nodes are replaced again');
    this.stopped = decision.stopped;
  }

  private noteHealth(next: HealthTrend, message: string): void {
    if (next.reported === this.health.reported) return;
    this.event(next.reported === 'degraded' ? 'degraded' : 'healed', message);
  }

  private event(kind: HealthEventKind, message: string): void {
    this.log.push({ seq: ++this.seq, time: this.deps.timers.now(), kind, message });
    if (this.log.length > EVENTS_KEPT) this.log.shift();
    this.deps.logger.info('cluster health', { event: kind, message });
  }

  private outputs(assessment: Assessment, cluster: WatchedCluster): Record<string, AttributeValue> {
    const agents = assessment.agents.map((a) => ({
      slot: slotKey(a.node.slot),
      vm: a.node.name,
      address: a.node.address,
      ...(a.mesosId ? { mesos_id: a.mesosId } : {}),
      active: a.ready,
      replacements: this.slots.get(slotKey(a.node.slot))?.replacements ?? 0,
    }));
    return {
      ...(this.leader ? { 'mesos.master.url': `http://${this.leader}:5050` } : {}),
      ...(this.marathonUrl ? { 'mesos.marathon.url': this.marathonUrl } : {}),
      'mesos.zk': zkUrl(cluster.masters, 'mesos'),
      'mesos.masters.addresses': cluster.masters.join(','),
      'mesos.agents.active': assessment.readyAgents,
      [AGENT_NODES_ATTRIBUTE]: JSON.stringify(agents),
      ...(assessment.load ? loadOutputs(assessment.load) : {}),
    };
  }
}

function expectedOf(cluster: WatchedCluster): Expected {
  const nodes = [...cluster.nodes.values()];
  const toExpected = (node: NodeVm): ExpectedNode => ({ slot: node.slot, address: node.address, name: node.name });
  return {
    masters: nodes
      .filter((n) => n.slot.role === 'master')
      .sort((a, b) => a.slot.index - b.slot.index)
      .map(toExpected),
    agents: nodes
      .filter((n) => n.slot.role === 'agent')
      .sort((a, b) => a.slot.index - b.slot.index)
      .map(toExpected),
    marathon: cluster.marathon,
  };
}

function sightings(assessment: Assessment): Sighting[] {
  const masters = assessment.masters.map((m) => ({
    key: slotKey(m.node.slot),
    slot: m.node.slot,
    name: m.node.name,
    address: m.node.address,
    status: m.healthy ? ('healthy' as const) : ('unhealthy' as const),
    reason: m.reason,
  }));
  const agents = assessment.agents.map((a) => ({
    key: slotKey(a.node.slot),
    slot: a.node.slot,
    name: a.node.name,
    address: a.node.address,
    status: !a.known ? ('unknown' as const) : a.ready ? ('healthy' as const) : ('unhealthy' as const),
    reason: a.reason,
    ...(a.mesosId ? { mesosId: a.mesosId } : {}),
  }));
  return [...masters, ...agents];
}

function sameNodes(a: Expected, b: Expected): boolean {
  const names = (e: Expected): string => [...e.masters, ...e.agents].map((n) => n.name).join(' ');
  return names(a) === names(b);
}
