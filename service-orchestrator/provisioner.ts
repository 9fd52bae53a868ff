import type { Timers } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { AttributeValue } from '../lib/occi/model.js';
import type { ClusterBuilder, NodeVm, PhaseOptions, UserDataFor } from './cluster/builder.js';
import { reason } from './cluster/builder.js';
import { describeSlot, slotKey, zkUrl } from './cluster/plan.js';
import { assess, withAgents, type AgentStatus, type Assessment, type Expected } from './readiness/assess.js';
import { describeAnswer } from './readiness/observation.js';
import type { Probe } from './readiness/probe.js';

export interface ProvisionSettings {
  /** From the start of provisioning, for a leader and healthy masters. */
  readonly mastersDeadlineMs: number;
  /** From an agent's VM running, for the agent to be registered and active. */
  readonly agentDeadlineMs: number;
  readonly maxReplacements: number;
  /** Consecutive polls with the same verdict before it counts. */
  readonly stablePolls: number;
  /** How long an agent seen dropping out must then stay active without a break to count again. */
  readonly flapQuarantineMs: number;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
}

export interface Cluster {
  readonly nodes: Map<string, NodeVm>;
  readonly masters: readonly string[];
  readonly marathon: boolean;
  readonly minReady: number;
  readonly userData: UserDataFor;
}

export interface ProvisionOutcome {
  readonly ok: boolean;
  readonly message: string;
  readonly outputs: Record<string, AttributeValue>;
}

/**
 * Decides, from what the daemons themselves answer, when the cluster is
 * ready: masters healthy with one recovered leader, every agent registered,
 * active and stable across polls, Marathon registered. Agents that miss
 * their deadline are replaced; with fewer than min_ready possible, it fails
 * naming the missing slots.
 */
export class Provisioner {
  constructor(
    private readonly probe: Probe,
    private readonly builder: ClusterBuilder,
    private readonly timers: Timers,
    private readonly settings: ProvisionSettings,
    private readonly logger?: Logger,
  ) {}

  async run(cluster: Cluster, options: PhaseOptions): Promise<ProvisionOutcome> {
    const started = this.timers.now();
    const agentSince = new Map<string, number>();
    const replacements = new Map<string, number>();
    const exhausted = new Set<string>();
    const history = new AgentHistory(this.settings.flapQuarantineMs);
    let previous = '';
    let stable = 0;
    for (let attempt = 0; ; attempt++) {
      const expected = this.expected(cluster);
      const observed = assess(await this.probe.observe(expected), expected);
      const now = this.timers.now();
      const verdict = withAgents(observed, history.judge(observed.agents, now));
      stable = verdict.signature === previous ? stable + 1 : 1;
      previous = verdict.signature;
      const mastersOk = verdict.leader !== undefined && verdict.masterProblem === undefined;
      const agentsTotal = expected.agents.length;
      if (mastersOk && verdict.marathon.ready && verdict.readyAgents === agentsTotal && stable >= this.settings.stablePolls) {
        return this.outcome(true, `ready: leader ${verdict.leader}, ${agentsTotal} of ${agentsTotal} agents active${cluster.marathon ? ', Marathon registered' : ''}`, verdict, cluster);
      }
      if (!mastersOk && now - started >= this.settings.mastersDeadlineMs) {
        return this.outcome(false, `provision failed: masters not ready after ${seconds(now - started)} s: ${verdict.masterProblem ?? 'no leader'}`, verdict, cluster);
      }
      if (mastersOk) {
        for (const agent of verdict.agents) {
          const key = slotKey(agent.node.slot);
          const since = agentSince.get(key) ?? started;
          if (agent.ready || exhausted.has(key) || now - since < this.settings.agentDeadlineMs) continue;
          const what = `${describeSlot(agent.node.slot, agentsTotal)} (${agent.node.address})`;
          const detail = agent.reason === 'not registered' ? await this.agentDiagnosis(agent.node.address) : agent.reason;
          if ((replacements.get(key) ?? 0) >= this.settings.maxReplacements) {
            exhausted.add(key);
            options.progress(`provision: ${what} not ready after ${seconds(now - since)} s (${detail}); no replacements left`);
            continue;
          }
          options.progress(`provision: ${what} not ready after ${seconds(now - since)} s (${detail}); replacing it`);
          await this.replace(cluster, key, options);
          replacements.set(key, (replacements.get(key) ?? 0) + 1);
          agentSince.set(key, this.timers.now());
        }
      }
      const missing = verdict.agents.filter((a) => !a.ready);
      const settled = mastersOk && verdict.marathon.ready && stable >= this.settings.stablePolls;
      if (settled && missing.every((a) => exhausted.has(slotKey(a.node.slot))) && verdict.readyAgents >= cluster.minReady) {
        return this.outcome(true, `ready with ${verdict.readyAgents} of ${agentsTotal} agents (min_ready ${cluster.minReady}); missing: ${listMissing(missing, agentsTotal)}`, verdict, cluster);
      }
      if (agentsTotal - exhausted.size < cluster.minReady) {
        return this.outcome(false, `provision failed: only ${agentsTotal - exhausted.size} of ${agentsTotal} agents can still be ready (min_ready ${cluster.minReady}); missing: ${listMissing(missing, agentsTotal)}`, verdict, cluster);
      }
      if (now >= options.deadline) {
        const why = !mastersOk ? (verdict.masterProblem ?? 'no leader') : !verdict.marathon.ready ? verdict.marathon.problem! : `${verdict.readyAgents} of ${agentsTotal} agents ready (min_ready ${cluster.minReady}); missing: ${listMissing(missing, agentsTotal)}`;
        return this.outcome(false, `provision failed at its deadline: ${why}`, verdict, cluster);
      }
      options.progress(`provision: ${this.progressText(verdict, agentsTotal)}`);
      const wait = Math.min(this.settings.pollMaxMs, this.settings.pollMinMs * 1.5 ** attempt, Math.max(0, options.deadline - now));
      await this.timers.sleep(wait, options.signal);
    }
  }

  private expected(cluster: Cluster): Expected {
    const nodes = [...cluster.nodes.values()];
    return {
      masters: nodes.filter((n) => n.slot.role === 'master').sort((a, b) => a.slot.index - b.slot.index).map(toExpected),
      agents: nodes.filter((n) => n.slot.role === 'agent').sort((a, b) => a.slot.index - b.slot.index).map(toExpected),
      marathon: cluster.marathon,
    };
  }

  private async replace(cluster: Cluster, key: string, options: PhaseOptions): Promise<void> {
    const node = cluster.nodes.get(key)!;
    const of = [...cluster.nodes.values()].filter((n) => n.slot.role === node.slot.role).length;
    try {
      const fresh = await this.builder.replace(node, options);
      cluster.nodes.set(key, await this.builder.startNode(fresh, cluster.userData, cluster.masters, of, options));
    } catch (error) {
      if (options.signal.aborted) throw error;
      this.logger?.warn('agent replacement failed', { slot: key, error: reason(error) });
      options.progress(`provision: replacing ${describeSlot(node.slot, of)} failed: ${reason(error)}`);
    }
  }

  private async agentDiagnosis(address: string): Promise<string> {
    const health = await this.probe.agentHealth(address);
    return `not registered; its agent's /health: ${describeAnswer(health)}`;
  }

  private progressText(verdict: Assessment, agents: number): string {
    if (!verdict.leader) return verdict.masterProblem ?? 'waiting for a leader';
    const waiting = verdict.agents.find((a) => !a.ready);
    const agentText = `${verdict.readyAgents} of ${agents} agents active`;
    if (waiting) return `leader ${verdict.leader}; ${agentText}; waiting for ${describeSlot(waiting.node.slot, agents)} (${waiting.node.address}): ${waiting.reason}`;
    if (!verdict.marathon.ready) return `leader ${verdict.leader}; ${agentText}; ${verdict.marathon.problem}`;
    return `leader ${verdict.leader}; ${agentText}; checking that it stays so`;
  }

  private outcome(ok: boolean, message: string, verdict: Assessment, cluster: Cluster): ProvisionOutcome {
    const agents = verdict.agents.map((a) => ({
      slot: slotKey(a.node.slot),
      vm: a.node.name,
      address: a.node.address,
      ...(a.mesosId ? { mesos_id: a.mesosId } : {}),
      active: a.ready,
    }));
    return {
      ok,
      message,
      outputs: {
        ...(verdict.leader ? { 'mesos.master.url': `http://${verdict.leader}:5050` } : {}),
        ...(verdict.marathon.url ? { 'mesos.marathon.url': verdict.marathon.url } : {}),
        'mesos.zk': zkUrl(cluster.masters, 'mesos'),
        'mesos.masters.addresses': cluster.masters.join(','),
        'mesos.agents.active': verdict.readyAgents,
        'mesos.agents.nodes': JSON.stringify(agents),
      },
    };
  }
}

/**
 * Agents seen dropping out (ready, then not) are flapping: they count again
 * only after staying active for the quarantine without a break. Each VM has
 * its own history, so a replacement starts clean.
 */
class AgentHistory {
  private readonly wasReady = new Map<string, boolean>();
  private readonly flapped = new Set<string>();
  private readonly activeSince = new Map<string, number>();

  constructor(private readonly quarantineMs: number) {}

  judge(agents: readonly AgentStatus[], now: number): AgentStatus[] {
    return agents.map((agent) => {
      const key = agent.node.name;
      const before = this.wasReady.get(key);
      this.wasReady.set(key, agent.ready);
      if (!agent.ready) {
        if (before === true) this.flapped.add(key);
        this.activeSince.delete(key);
        return agent;
      }
      const since = this.activeSince.get(key) ?? now;
      this.activeSince.set(key, since);
      if (!this.flapped.has(key) || now - since >= this.quarantineMs) return agent;
      return { ...agent, ready: false, reason: `flapping: active again for ${seconds(now - since)} s of the ${seconds(this.quarantineMs)} s it must hold` };
    });
  }
}

function toExpected(node: NodeVm): Expected['masters'][number] {
  return { slot: node.slot, address: node.address, name: node.name };
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

function listMissing(missing: Assessment['agents'], total: number): string {
  return missing.length === 0 ? 'none' : missing.map((a) => `${describeSlot(a.node.slot, total)} (${a.node.address}): ${a.reason}`).join('; ');
}
