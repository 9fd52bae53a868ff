/**
 * Healing benchmark: builds a cluster with an orchestrator (its default
 * health settings) against the simulator, breaks it, and prints how long
 * the orchestrator took to notice and to make it whole again, in simulated
 * time, each as a ratio to the health interval and to what a replacement
 * physically takes in the simulator (deploying a stopped VM, starting it,
 * the agent starting and registering). Prints figures; asserts nothing.
 *
 *   npm run bench:heal
 */
import type { SystemTimers } from '../lib/clock.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { act, type Attributes, FIXTURES, stackAttributes, startOrchestrated } from './orchestrated.js';

const SCALE = 20;

interface Cluster {
  readonly timers: SystemTimers;
  readonly simUrl: string;
  readonly soUrl: string;
  readonly healthIntervalMs: number;
  readonly agentUnhealthyMs: number;
  close(): Promise<void>;
}

/** Polls the orchestrator until `done` holds; returns when, on the simulated clock, and what it said. */
async function until(cluster: Cluster, done: (a: Attributes) => boolean): Promise<{ at: number; attributes: Attributes }> {
  for (;;) {
    const attributes = await stackAttributes(cluster.soUrl);
    if (done(attributes)) return { at: cluster.timers.now(), attributes };
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function readyCluster(masters: number, agents: number): Promise<Cluster> {
  const orchestrated = await startOrchestrated(`heal-${masters}-${agents}`, masters, agents, SCALE);
  const { timers, simUrl, soUrl, config } = orchestrated;
  const cluster: Cluster = {
    timers,
    simUrl,
    soUrl,
    healthIntervalMs: config.settings.healthIntervalMs,
    agentUnhealthyMs: config.settings.agentUnhealthyMs,
    close: async () => {
      await act(soUrl, 'DELETE', '/orchestrator/default', 'orchestrator');
      await until(cluster, (a) => a['occi.mcn.stack.state'] === 'DELETE_COMPLETE');
      await orchestrated.close();
    },
  };
  await act(soUrl, 'PUT', '/orchestrator/default', 'orchestrator');
  await act(soUrl, 'POST', '/orchestrator/default?action=deploy', 'deploy');
  await until(cluster, (a) => a['occi.mcn.stack.state'] === 'CREATE_COMPLETE');
  await act(soUrl, 'POST', '/orchestrator/default?action=provision', 'provision');
  await until(cluster, (a) => a['occi.mcn.stack.state'] === 'UPDATE_COMPLETE');
  return cluster;
}

/** What one agent replacement takes in the simulator: a stopped VM's deploy, its start, the agent's start, recovery and (on average) registration. */
function replacementMs(): number {
  const { timing, mesos } = loadFixtures(FIXTURES);
  return timing.stopMs + timing.startMs + mesos.agentStartMs + mesos.agentRecoveryMs + mesos.registrationBackoffMs / 2;
}

function report(what: string, detectMs: number, healMs: number, cluster: Cluster, extra = ''): void {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const ratio = (ms: number, of: number): string => `${(ms / of).toFixed(2)}x`;
  const replace = replacementMs();
  console.log(
    `${what}: detected after ${s(detectMs)} (${ratio(detectMs, cluster.healthIntervalMs)} the health interval, ${ratio(detectMs, replace)} a replacement), ` +
      `whole again after ${s(healMs)} (${ratio(healMs, cluster.healthIntervalMs)} the health interval, ${ratio(healMs, replace)} a replacement)${extra}`,
  );
}

async function agentLoss(): Promise<void> {
  const cluster = await readyCluster(1, 3);
  const prefix = String((await stackAttributes(cluster.soUrl))['occi.mcn.stack.id']);
  const start = cluster.timers.now();
  await fetch(`${cluster.simUrl}/sim/mesos/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'agent-dies', vm: `${prefix}-a2` }),
  });
  const detected = await until(cluster, (a) => a['mesos.cluster.health'] === 'degraded');
  const healed = await until(cluster, (a) => a['mesos.cluster.health'] === 'healthy' && a['mesos.agents.active'] === 3);
  const beyond = healed.at - start - cluster.agentUnhealthyMs;
  report(
    'agent process dies (1 master, 3 agents)',
    detected.at - start,
    healed.at - start,
    cluster,
    `; beyond the ${cluster.agentUnhealthyMs / 1000} s an agent may be unhealthy: ${(beyond / 1000).toFixed(1)} s (${(beyond / replacementMs()).toFixed(2)}x a replacement)`,
  );
  for (const event of JSON.parse(String(healed.attributes['mesos.cluster.events'])) as Array<{ time: number; kind: string }>) {
    if (event.time >= start) console.log(`  ${((event.time - start) / 1000).toFixed(1).padStart(6)} s  ${event.kind}`);
  }
  await cluster.close();
}

async function leaderChange(): Promise<void> {
  const cluster = await readyCluster(3, 2);
  const before = String((await stackAttributes(cluster.soUrl))['mesos.master.url']);
  const start = cluster.timers.now();
  await fetch(`${cluster.simUrl}/sim/mesos/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'leader-change' }),
  });
  const detected = await until(cluster, (a) => String(a['mesos.master.url']) !== before);
  const healed = await until(
    cluster,
    (a) => a['mesos.cluster.health'] === 'healthy' && a['mesos.agents.active'] === 2 && /^ready: /.test(String(a['occi.mcn.stack.message'])),
  );
  report('leader change (3 masters, 2 agents)', detected.at - start, Math.max(detected.at, healed.at) - start, cluster);
  await cluster.close();
}

console.log(`simulated time runs ${SCALE}x faster than the wall clock; a replacement takes ${(replacementMs() / 1000).toFixed(1)} s in the simulator`);
await agentLoss();
await leaderChange();
