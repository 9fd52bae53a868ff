import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { RuntimeKind } from '../../service-manager/runtime/runtime.js';
import { activeAgents, uidOf, type Attributes, type HistoryEvent, type InProcessSm, type PipelineWorld, type SmOptions, type SpawnedSm } from './pipeline.js';
import { marathonOf, type MarathonCall } from './marathon.js';
import { clusterPrefix } from '../../service-orchestrator/cluster/plan.js';
import { DEMO_KEYS } from './simulator.js';
import { call } from './http.js';
import { DEMO, OTHER } from './sm.js';
import { until } from './wait.js';

/**
 * The end-to-end scenarios of the service manager, run on each runtime:
 * the same specification whatever the orchestrators run in.
 */

const OCCI = { 'Content-Type': 'text/occi' } as const;

/** Kills an instance's orchestrator the hard way, as a crash would. */
export async function killSo(runtime: RuntimeKind, dir: string, uid: string): Promise<void> {
  const name = `mesos-so-${uid}`;
  if (runtime === 'process') {
    process.kill(Number(readFileSync(join(dir, 'so', `${name}.pid`), 'utf8').trim()), 'SIGKILL');
    return;
  }
  const docker = new Docker();
  const filter: Record<string, string[]> = runtime === 'docker' ? { name: [`^/${name}$`] } : { label: [`com.docker.swarm.service.name=${name}`] };
  const containers = await docker.listContainers({ filters: filter });
  expect(containers, `a running container of ${name}`).to.have.length.greaterThan(0);
  for (const container of containers) await docker.getContainer(container.Id).kill();
}

/** Create with 3 agents, ready, scale to 4, ready, delete: nothing left. */
export async function lifecycle(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const id = await sm.create(DEMO, 'mesos.agents=3');
  const uid = uidOf(sm.sm, DEMO, id);
  const ready = await sm.untilState(DEMO, id, 'ready');
  expect(ready['mesos.agents.active']).to.equal(3);
  expect(ready['occi.mcn.stack.state']).to.equal('UPDATE_COMPLETE');
  expect(ready['mcn.service.state.message']).to.match(/3 of 3 agents active/);
  expect(await activeAgents(String(ready['mesos.master.url']))).to.equal(3);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([{ uid, running: true }]);

  const update = await sm.call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=4' } });
  expect(update.status).to.equal(200);
  expect(update.body).to.contain('mcn.service.state="update"');
  const scaled = await sm.untilState(DEMO, id, 'ready');
  expect(scaled['mesos.agents.active']).to.equal(4);
  expect(await activeAgents(String(scaled['mesos.master.url']))).to.equal(4);
  expect(await world.liveVms(uid)).to.have.length(5);

  const history = await sm.history(DEMO, id);
  const states = history.filter((e) => e.state !== undefined).map((e) => e.state);
  expect(states).to.deep.equal(['initialise', 'activate', 'deploy', 'provision', 'ready', 'update', 'ready']);

  expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
  expect((await sm.attributes(DEMO, id))?.['mcn.service.state']).to.be.oneOf(['destroy', undefined]);
  await sm.untilGone(DEMO, id);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
  expect(await world.liveVms(uid)).to.deep.equal([]);
  expect((await world.vms()).filter((vm) => vm.tags['mesos.instance'] === uid)).to.have.length(5);
}

/** The orchestrator dies while VMs are being created: it is restarted, adopts what exists and finishes. */
export async function soKilledMidDeploy(world: PipelineWorld, sm: InProcessSm, runtime: RuntimeKind): Promise<void> {
  await world.sim.control('POST', '/faults', { kind: 'latency', command: 'deployVirtualMachine', count: 3, ms: 60_000 });
  const id = await sm.create(DEMO, 'mesos.agents=2');
  const uid = uidOf(sm.sm, DEMO, id);
  await sm.untilState(DEMO, id, 'deploy');
  await killSo(runtime, sm.dir, uid);
  const ready = await sm.untilState(DEMO, id, 'ready');
  expect(ready['mesos.agents.active']).to.equal(2);
  expect(await world.liveVms(uid)).to.have.length(3);
  expect((await world.vms()).filter((vm) => vm.tags['mesos.instance'] === uid || vm.name.startsWith(String(ready['occi.mcn.stack.id'])))).to.have.length(3);
  const starts = sm.logLines.filter((line) => line.includes('service orchestrator started') && line.includes(uid));
  expect(starts).to.have.length(2);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([{ uid, running: true }]);
  await deleteAndConfirm(world, sm, id, uid);
}

/**
 * CloudStack runs out of capacity during the deploy: the instance fails with
 * the cause; its VMs go (delete) or stay (keep); a retry after the cause is
 * gone reaches ready.
 */
export async function cloudstackFailure(world: PipelineWorld, sm: InProcessSm, onFailure: 'delete' | 'keep'): Promise<void> {
  await world.sim.control('POST', '/faults', { kind: 'capacity', vms: 1 });
  const id = await sm.create(DEMO, `mesos.agents=2, mcn.service.on_failure="${onFailure}"`);
  const uid = uidOf(sm.sm, DEMO, id);
  const failed = await sm.untilState(DEMO, id, 'failed');
  expect(failed['mcn.service.state.message']).to.match(/^deploy failed: .*(capacity|533)/i);
  if (onFailure === 'delete') {
    const cleaned = await sm.until(DEMO, id, (a) => /Its VMs were removed/.test(String(a['mcn.service.state.message'])));
    expect(cleaned['mcn.service.state']).to.equal('failed');
    expect(await world.liveVms(uid)).to.deep.equal([]);
    expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
  } else {
    expect(failed['mcn.service.state.message']).to.match(/kept for debugging \(on_failure=keep\)/);
    expect(await world.liveVms(uid)).to.have.length.greaterThan(0);
    expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([{ uid, running: true }]);
  }
  await world.sim.control('DELETE', '/faults');
  const retry = await sm.call('POST', `/mesos/${id}?action=retry`, { headers: DEMO });
  expect(retry.status).to.equal(200);
  await sm.untilState(DEMO, id, 'ready');
  expect(await world.liveVms(uid)).to.have.length(3);
  await deleteAndConfirm(world, sm, id, uid);
}

/**
 * The service manager is killed while a cluster is being provisioned and
 * started again on the same registry: it adopts the orchestrator, which
 * finishes; there is never a second orchestrator or an extra VM.
 */
export async function smKilledMidProvisioning(world: PipelineWorld, runtime: RuntimeKind, running: (dir: string) => Promise<number>): Promise<void> {
  const first: SpawnedSm = await world.spawnSm(runtime);
  const id = await first.create(DEMO, 'mesos.agents=2', 'survivor');
  await first.untilState(DEMO, id, 'provision');
  await first.kill();
  expect(await running(first.dir)).to.equal(1);
  const second = await world.spawnSm(runtime, { dir: first.dir });
  const repeated = await second.create(DEMO, 'mesos.agents=2', 'survivor');
  expect(repeated).to.equal('survivor');
  const ready = await second.untilState(DEMO, id, 'ready');
  expect(ready['mesos.agents.active']).to.equal(2);
  expect(await running(first.dir)).to.equal(1);
  expect(second.output()).to.not.match(/"message":"service orchestrator started"/);
  const vms = await world.vms();
  expect(vms.filter((vm) => vm.name.startsWith(String(ready['occi.mcn.stack.id'])))).to.have.length(3);
  expect((await second.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
  await second.untilGone(DEMO, id);
  expect(await running(first.dir)).to.equal(0);
  expect((await world.vms()).filter((vm) => vm.name.startsWith(String(ready['occi.mcn.stack.id'])) && vm.state !== 'Expunged')).to.deep.equal([]);
}

/**
 * For many orchestrators at once on a small machine: starting twenty of them
 * may take half a minute of CPU, and each simulated second is 20 ms of real
 * time, so every deadline is far beyond what CPU starvation could use up; the
 * outcome cannot depend on the machine's speed.
 */
export const CROWD: SmOptions = {
  extra: '[so_runtime]\nstart_timeout_s = 600',
  soEnvironment: { SO_DEADLINE_MASTERS_S: '36000', SO_DEADLINE_AGENT_S: '36000', SO_DEADLINE_PROVISION_S: '72000', SO_PROBE_TIMEOUT_MS: '60000' },
};

/** Two tenants create twenty instances at once: all reach ready, each tenant sees its own, all delete cleanly. */
export async function twentyAtOnce(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const tenants = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? DEMO : OTHER));
  const ids = await Promise.all(tenants.map((tenant) => sm.create(tenant, 'mesos.agents=1')));
  await Promise.all(ids.map((id, i) => sm.untilState(tenants[i], id, 'ready', 120_000)));
  const listing = await sm.call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'text/uri-list' } });
  expect(
    listing.body
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#')),
  ).to.have.length(10);
  const uids = new Set(ids.map((id, i) => uidOf(sm.sm, tenants[i], id)));
  const ours = async (): Promise<number> => (await world.liveVms()).filter((vm) => uids.has(vm.tags['mesos.instance'])).length;
  expect(await sm.sm.pipeline!.runtime.list()).to.have.length(20);
  expect(await ours()).to.equal(40);
  await Promise.all(ids.map((id, i) => sm.call('DELETE', `/mesos/${id}`, { headers: tenants[i] })));
  await Promise.all(ids.map((id, i) => sm.untilGone(tenants[i], id, 120_000)));
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
  expect(await ours()).to.equal(0);
}

/** A ready instance's orchestrator dies: the resync starts a new one, which adopts the cluster; the instance stays ready. */
export async function soKilledWhenReady(world: PipelineWorld, sm: InProcessSm, runtime: RuntimeKind): Promise<void> {
  const id = await sm.create(DEMO, 'mesos.agents=1');
  const ready = await sm.untilState(DEMO, id, 'ready');
  const uid = uidOf(sm.sm, DEMO, id);
  await until(() => !sm.sm.pipeline!.driver.active(uid));
  await killSo(runtime, sm.dir, uid);
  expect(sm.sm.pipeline!.reconciler.resync()).to.equal(1);
  const seen: string[] = [];
  const again = await sm.until(DEMO, id, (a) => {
    seen.push(String(a['mcn.service.state']));
    return a['occi.mcn.stack.state'] === 'UPDATE_COMPLETE' && !sm.sm.pipeline!.driver.active(uid);
  });
  expect(new Set(seen)).to.deep.equal(new Set(['ready']));
  expect(again['mesos.master.url']).to.equal(ready['mesos.master.url']);
  expect(await world.liveVms(uid)).to.have.length(2);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([{ uid, running: true }]);
  expect(sm.logLines.filter((line) => line.includes('service orchestrator started') && line.includes(uid))).to.have.length(2);
  await deleteAndConfirm(world, sm, id, uid);
}

/** An orchestrator that belongs to no instance (left by a crash between two steps) is removed. */
export async function orphans(sm: InProcessSm): Promise<void> {
  const runtime = sm.sm.pipeline!.runtime;
  await runtime.start({ uid: 'no-such-instance', instanceId: 'ghost', tenant: 'demo', port: 1, env: { SO_TENANT: 'demo' }, secrets: {} });
  expect((await runtime.list()).map((so) => so.uid)).to.deep.equal(['no-such-instance']);
  expect(await sm.sm.pipeline!.reconciler.orphans()).to.equal(1);
  expect(await runtime.list()).to.deep.equal([]);
}

async function deleteAndConfirm(world: PipelineWorld, sm: InProcessSm, id: string, uid: string): Promise<void> {
  expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
  await sm.untilGone(DEMO, id);
  expect(await world.liveVms(uid)).to.deep.equal([]);
  const groups = (await world.sim.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: clusterPrefix(uid) })).inner['securitygroup'] ?? [];
  expect(groups, 'its security group is gone too').to.deep.equal([]);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
}

/**
 * For the day-2 faults: the SM looks at the orchestrator at least every 100
 * ms while a client polls, and nodes are replaced only after 200 simulated
 * seconds unhealthy (4 s of real time), so every state a fault goes through
 * is seen however slow the machine is.
 */
export const DAY2: SmOptions = {
  extra: '[pipeline]\nrefresh_ms = 100',
  soEnvironment: { SO_AGENT_UNHEALTHY_S: '200', SO_MASTER_UNHEALTHY_S: '200' },
};

interface AgentNode {
  readonly slot: string;
  readonly vm: string;
  readonly address: string;
  readonly active: boolean;
}

function agentNodes(attributes: Attributes): AgentNode[] {
  return JSON.parse(String(attributes['mesos.agents.nodes'])) as AgentNode[];
}

/** The address of the master that the cluster's own /master/state names as leader (following redirects). */
export async function reportedLeader(masterUrl: string): Promise<string> {
  const reply = await fetch(`${masterUrl}/master/state`);
  const state = (await reply.json()) as { leader_info?: { hostname?: string } };
  return String(state.leader_info?.hostname);
}

function hostOf(url: unknown): string {
  return new URL(String(url)).hostname;
}

async function readyCluster(sm: InProcessSm, masters: number, agents: number): Promise<{ id: string; uid: string; prefix: string; ready: Attributes }> {
  const id = await sm.create(DEMO, `mesos.masters=${masters}, mesos.agents=${agents}`);
  const ready = await sm.untilState(DEMO, id, 'ready');
  return { id, uid: uidOf(sm.sm, DEMO, id), prefix: String(ready['occi.mcn.stack.id']), ready };
}

/** Polls until `wanted`, failing at once if the instance fails; returns every message seen on the way. */
async function watchUntil(sm: InProcessSm, id: string, wanted: (a: Attributes) => boolean, seen: string[]): Promise<Attributes> {
  return sm.until(
    DEMO,
    id,
    (a) => {
      seen.push(`${a['mcn.service.state']}: ${a['mcn.service.state.message']}`);
      if (a['mcn.service.state'] === 'failed') throw new Error(`instance ${id} failed: ${a['mcn.service.state.message']}`);
      return wanted(a);
    },
    120_000,
  );
}

function history(sm: InProcessSm, id: string): Promise<HistoryEvent[]> {
  return sm.history(DEMO, id);
}

export type AgentLoss = 'process dies' | 'VM stopped' | 'VM destroyed';

/**
 * A ready cluster loses agent 2 (its process, or its VM): the instance turns
 * degraded naming the agent, the orchestrator replaces it in its slot, and
 * the instance is ready again with every agent active.
 */
export async function agentLost(world: PipelineWorld, sm: InProcessSm, how: AgentLoss): Promise<void> {
  const { id, uid, prefix } = await readyCluster(sm, 1, 3);
  const vm = `${prefix}-a2`;
  if (how === 'process dies') await world.sim.control('POST', '/mesos/faults', { kind: 'agent-dies', vm });
  else expect((await world.sim.control('POST', `/vms/${vm}/${how === 'VM stopped' ? 'stop' : 'destroy'}`)).status).to.equal(202);
  const seen: string[] = [];
  const degraded = await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'degraded', seen);
  expect(degraded['mcn.service.state.message']).to.match(/^degraded: agent 2 of 3 \(127\.\d+\.\d+\.\d+\) not active for \d+ s \(/);
  expect(degraded['mesos.cluster.health']).to.equal('degraded');
  const healed = await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.agents.active'] === 3, seen);
  expect(agentNodes(healed).map((n) => [n.slot, n.vm.slice(prefix.length), n.active])).to.deep.equal([
    ['a1', '-a1', true],
    ['a2', '-a2-g2', true],
    ['a3', '-a3', true],
  ]);
  expect(await activeAgents(String(healed['mesos.master.url']))).to.equal(3);
  expect(await reportedLeader(String(healed['mesos.master.url']))).to.equal(hostOf(healed['mesos.master.url']));
  const events = await history(sm, id);
  expect(
    events
      .filter((e) => e.type === 'state_changed')
      .map((e) => e.state)
      .slice(-3),
  ).to.deep.equal(['ready', 'degraded', 'ready']);
  const health = events.filter((e) => e.type === 'health').map((e) => e.message);
  expect(
    health.some((m) => /agent 2 of 3 .* not active for \d+ s .*; replacing it \(replacement 1\)$/.test(String(m))),
    health.join('\n'),
  ).to.equal(true);
  expect(
    health.some((m) => /^agent 2 of 3 \(.*\) replaced: it runs again on a new VM, .*-a2-g2$/.test(String(m))),
    health.join('\n'),
  ).to.equal(true);
  const metrics = (await call('GET', `${sm.sm.url}/metrics`)).body;
  for (const kind of ['degraded', 'replacing', 'replaced', 'healed']) {
    expect(metrics, kind).to.match(new RegExp(`^sm_cluster_health_events_total\\{kind="${kind}"\\} [1-9]`, 'm'));
  }
  await deleteAndConfirm(world, sm, id, uid);
}

/** The leader steps down: the outputs follow the new leader, which /master/state confirms; the change is in the history. */
export async function leaderChanges(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const { id, uid, ready } = await readyCluster(sm, 3, 2);
  const before = hostOf(ready['mesos.master.url']);
  expect(await reportedLeader(String(ready['mesos.master.url']))).to.equal(before);
  await world.sim.control('POST', '/mesos/faults', { kind: 'leader-change' });
  const seen: string[] = [];
  const after = await watchUntil(
    sm,
    id,
    (a) => a['mcn.service.state'] === 'ready' && hostOf(a['mesos.master.url']) !== before && a['mesos.agents.active'] === 2,
    seen,
  );
  expect(await reportedLeader(String(after['mesos.master.url']))).to.equal(hostOf(after['mesos.master.url']));
  const health = (await history(sm, id)).filter((e) => e.type === 'health').map((e) => String(e.message));
  expect(health).to.include(`the leading master is now ${hostOf(after['mesos.master.url'])} (was ${before})`);
  await deleteAndConfirm(world, sm, id, uid);
}

/** The leading master's VM is destroyed: another master leads, the lost one is replaced at its address, every agent stays active. */
export async function masterLost(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const { id, uid, prefix, ready } = await readyCluster(sm, 3, 1);
  const leader = hostOf(ready['mesos.master.url']);
  const slot = String(ready['mesos.masters.addresses']).split(',').indexOf(leader) + 1;
  expect((await world.sim.control('POST', `/vms/${prefix}-m${slot}/destroy`)).status).to.equal(202);
  const seen: string[] = [];
  const replaced = async (): Promise<boolean> => (await world.liveVms(uid)).some((vm) => vm.name === `${prefix}-m${slot}-g2` && vm.state === 'Running');
  let healed: Attributes = ready;
  await until(
    async () => {
      healed = await watchUntil(sm, id, () => true, seen);
      return healed['mcn.service.state'] === 'ready' && /^ready: /.test(String(healed['mcn.service.state.message'])) && (await replaced());
    },
    120_000,
    () => `the master was not replaced; last seen: ${seen.slice(-3).join(' | ')}`,
  );
  expect(
    seen.some((m) => m.includes(`master ${slot} of 3 (${leader}) not healthy for`)),
    seen.join('\n'),
  ).to.equal(true);
  expect(await reportedLeader(String(healed['mesos.master.url']))).to.equal(hostOf(healed['mesos.master.url']));
  expect(await activeAgents(String(healed['mesos.master.url']))).to.equal(1);
  const replacement = (await world.liveVms(uid)).find((vm) => vm.name === `${prefix}-m${slot}-g2`);
  expect((await world.vms()).find((vm) => vm.id === replacement!.id)).to.include({ address: leader });
  await deleteAndConfirm(world, sm, id, uid);
}

/**
 * Two of three agents are partitioned from the masters: the cluster is
 * degraded, but with half of its nodes unhealthy nothing is replaced (no
 * replacement storm); when the partition ends, the same agents come back
 * and it is ready again.
 */
export async function partitionShortCircuit(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const { id, uid, prefix } = await readyCluster(sm, 1, 3);
  const faults: number[] = [];
  for (const slot of ['a2', 'a3']) {
    faults.push((await world.sim.control('POST', '/mesos/faults', { kind: 'agent-partitioned', vm: `${prefix}-${slot}` })).json<{ id: number }>().id);
  }
  const seen: string[] = [];
  await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'degraded', seen);
  const stoppedEvent = async (): Promise<boolean> => {
    await sm.attributes(DEMO, id);
    return (await history(sm, id)).some(
      (e) => e.type === 'health' && /^remediation stopped: 2 of 4 nodes unhealthy \(more than 40 %\)$/.test(String(e.message)),
    );
  };
  await until(stoppedEvent, 120_000, () => 'remediation never stopped');
  const stopped = await sm.attributes(DEMO, id);
  expect(stopped!['mcn.service.state.message']).to.match(/remediation stopped: 2 of 4 nodes unhealthy/);
  for (const fault of faults) await world.sim.control('DELETE', `/mesos/faults/${fault}`);
  const healed = await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.agents.active'] === 3, seen);
  expect(agentNodes(healed).map((n) => n.vm.slice(prefix.length))).to.deep.equal(['-a1', '-a2', '-a3']);
  expect(
    (await world.vms()).filter((vm) => vm.tags['mesos.instance'] === uid),
    'no VM was ever made to replace one',
  ).to.have.length(4);
  await deleteAndConfirm(world, sm, id, uid);
}

/**
 * For the soak under cloud faults: a start the cloud never finishes is
 * failed by it after 10 simulated minutes (job.cancel.threshold.minutes),
 * failed teardowns are retried after a second, and the masters' and agents'
 * deadlines leave room for ten orchestrators starting on a small machine.
 */
export const FAULTY_CLOUD = {
  adjust: (fixtures: Record<string, any>): void => {
    fixtures['settings'] = { ...fixtures['settings'], jobCancelThresholdMinutes: 10 };
  },
  sm: {
    extra: '[reconciler]\nretry_after_s = 1\n[so_runtime]\nstart_timeout_s = 300',
    soEnvironment: { SO_DEADLINE_MASTERS_S: '1200', SO_DEADLINE_AGENT_S: '600' },
  } satisfies SmOptions,
};

const COMMAND =
  /\b(deploy|start|stop|destroy|update|list)VirtualMachines?\b|\bcreateTags\b|\bqueryAsyncJobResult\b|\blistAsyncJobs\b|\b(authorize|revoke)SecurityGroupIngress\b|\b(create|delete|list)SecurityGroups?\b/;

/**
 * Ten lifecycles while about one CloudStack call in ten fails in one of the
 * ways the simulator knows (errors, failed jobs, lost answers, resets, proxy
 * pages, slow answers, VMs that hang in Starting): each instance ends ready,
 * or failed with a cause that names the CloudStack command; deleting them
 * all leaves no VM and no orchestrator.
 */
export async function underCloudFaults(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  await world.sim.control('POST', '/faults', { kind: 'random', rate: 0.1, seed: 8 });
  const outcomes: Attributes[] = [];
  const ids: string[] = [];
  for (const wave of [0, 1]) {
    const batch = await Promise.all(Array.from({ length: 5 }, (_, i) => sm.create(DEMO, 'mesos.agents=2', `soak-${wave}-${i}`)));
    ids.push(...batch);
    outcomes.push(
      ...(await Promise.all(batch.map((id) => sm.until(DEMO, id, (a) => a['mcn.service.state'] === 'ready' || a['mcn.service.state'] === 'failed', 180_000)))),
    );
  }
  for (const outcome of outcomes) {
    if (outcome['mcn.service.state'] === 'failed') expect(String(outcome['mcn.service.state.message'])).to.match(COMMAND);
  }
  const ready = outcomes.filter((o) => o['mcn.service.state'] === 'ready').length;
  const failures = outcomes.filter((o) => o['mcn.service.state'] === 'failed').map((o) => o['mcn.service.state.message']);
  expect(ready, `most clusters get through; failed: ${failures.join(' | ')}`).to.be.at.least(5);
  const uids = new Set(ids.map((id) => uidOf(sm.sm, DEMO, id)));
  for (const id of ids) expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
  await until(
    async () => {
      sm.sm.pipeline!.reconciler.retries();
      return (await Promise.all(ids.map((id) => sm.attributes(DEMO, id)))).every((a) => a === undefined);
    },
    180_000,
    async () =>
      `still there: ${(await Promise.all(ids.map((id) => sm.attributes(DEMO, id))))
        .filter(Boolean)
        .map((a) => `${a!['occi.core.id']}: ${a!['mcn.service.state.message']}`)
        .join('; ')}`,
  );
  expect((await world.liveVms()).filter((vm) => uids.has(vm.tags['mesos.instance']))).to.deep.equal([]);
  expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
}

interface MarathonTask {
  readonly host: string;
  readonly state: string;
}

async function runningTasks(marathon: MarathonCall, app: string): Promise<MarathonTask[]> {
  const reply = (await (await marathon(`/v2/apps${app}/tasks`)).json()) as { tasks: MarathonTask[] };
  return reply.tasks.filter((t) => t.state === 'TASK_RUNNING');
}

/**
 * Work through the SM: a ready cluster runs an app (its outputs count the
 * tasks and the cpus they hold); a tenant's scale-in drains the leaving
 * agent, so its task is moved to an agent that stays, not lost.
 */
export async function workMovesOnScaleIn(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const { id, uid, ready } = await readyCluster(sm, 1, 3);
  expect(ready['mcn.service.state.message']).to.match(/; a smoke task ran on 127\.\d+\.\d+\.\d+$/);
  const password = String(ready['mesos.marathon.password']);
  expect(password, 'the owner sees the Marathon password').to.match(/^[\w-]{32}$/);
  expect(sm.sm.registry.find('demo', id)!.outputs, 'never stored').to.not.have.property('mesos.marathon.password');
  const onDisk = ['registry.db', 'registry.db-wal'].map((file) => readFileSync(join(sm.dir, file)).toString('latin1')).join('');
  expect(onDisk, 'not on disk either').to.not.contain(password);
  expect(JSON.stringify(await history(sm, id)), 'nor in the history').to.not.contain(password);
  expect(sm.logLines.join('\n'), 'nor in a log line').to.not.contain(password);
  const marathon = marathonOf(ready);
  const created = await marathon('/v2/apps', { method: 'POST', body: { id: '/work', cmd: 'sleep 100000', cpus: 0.5, mem: 64, instances: 3 } });
  expect(created.status).to.equal(201);
  const seen: string[] = [];
  const busy = await watchUntil(sm, id, (a) => a['mesos.tasks.running'] === 3, seen);
  expect(busy['mesos.cpus.used']).to.equal(1.5);
  const before = await runningTasks(marathon, '/work');
  const leaving = agentNodes(busy).find((n) => n.slot === 'a3')!.address;
  expect(
    before.map((t) => t.host),
    'a task runs on the agent that will leave',
  ).to.include(leaving);
  const update = await sm.call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=2' } });
  expect(update.status).to.equal(200);
  const scaled = await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.agents.active'] === 2 && a['mesos.tasks.running'] === 3, seen);
  const after = await runningTasks(marathon, '/work');
  expect(after).to.have.length(3);
  expect(
    after.map((t) => t.host),
    'no task on the removed agent',
  ).to.not.include(leaving);
  const master = String(scaled['mesos.master.url']);
  const states = ((await (await fetch(`${master}/master/tasks?limit=1000`)).json()) as { tasks: Array<{ name: string; state: string }> }).tasks
    .filter((t) => t.name === 'work')
    .map((t) => t.state);
  expect(
    states.filter((s) => s === 'TASK_KILLED'),
    'moved, not lost',
  ).to.have.length(1);
  expect(states.filter((s) => s === 'TASK_LOST' || s === 'TASK_UNREACHABLE')).to.deep.equal([]);
  await deleteAndConfirm(world, sm, id, uid);
}

/** DAY2's pacing, with utilisation counting at once so the autoscaler acts at its first look. */
export const AUTOSCALING: SmOptions = { ...DAY2, extra: `${DAY2.extra}\n[reconciler]\nautoscale_sustain_s = 0` };

/**
 * An autoscaled cluster of one agent (4 cpus) gets an app of ten 1-cpu
 * tasks: the autoscaler adds just the agents the six waiting tasks need, and
 * all ten run; once the app is gone it removes agents one at a time, drained,
 * back to its minimum. Each resize is an update with the autoscaler's reason.
 */
export async function autoscalesWithDemand(world: PipelineWorld, sm: InProcessSm): Promise<void> {
  const id = await sm.create(DEMO, 'mesos.agents=1, mesos.autoscale=true, mesos.autoscale.max=4, mesos.autoscale.cpu_high=1, mesos.autoscale.cooldown_s=0');
  const uid = uidOf(sm.sm, DEMO, id);
  const ready = await sm.untilState(DEMO, id, 'ready');
  const autoscaler = sm.sm.pipeline!.autoscaler;
  expect(await autoscaler.run(), 'an idle cluster at its minimum').to.equal(0);
  const marathon = marathonOf(ready);
  const app = { id: '/load', cmd: 'sleep 100000', cpus: 1, mem: 64, instances: 10 };
  expect((await marathon('/v2/apps', { method: 'POST', body: app })).status).to.equal(201);
  const seen: string[] = [];
  await watchUntil(sm, id, (a) => a['mesos.tasks.waiting'] === 6, seen);
  expect(await autoscaler.run()).to.equal(1);
  const busy = await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.tasks.running'] === 10, seen);
  expect(busy).to.include({ 'mesos.agents': 3, 'mesos.agents.active': 3, 'mesos.tasks.waiting': 0 });
  expect(await autoscaler.run(), '10 of 12 cpus is within the thresholds').to.equal(0);
  expect((await marathon('/v2/apps/load', { method: 'DELETE' })).status).to.equal(200);
  await watchUntil(sm, id, (a) => a['mesos.tasks.running'] === 0 && a['mesos.cpus.used'] === 0, seen);
  for (const agents of [2, 1]) {
    await until(
      async () => (await autoscaler.run()) === 1,
      60_000,
      () => `never scaled in to ${agents}; seen: ${seen.slice(-3).join(' | ')}`,
    );
    await watchUntil(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.agents.active'] === agents, seen);
  }
  expect(await autoscaler.run(), 'at the minimum').to.equal(0);
  const resizes = (await history(sm, id)).filter((e) => e.type === 'updated').map((e) => e.message);
  expect(resizes).to.deep.equal([
    'autoscale: 6 tasks waiting for 6 cpus and 384 MB, adding 2 agents',
    'autoscale: cpu utilisation 0 % below 30 % for 0 s and 2 agents hold what runs, removing 1 agent',
    'autoscale: cpu utilisation 0 % below 30 % for 0 s and 1 agent holds what runs, removing 1 agent',
  ]);
  expect(await world.liveVms(uid)).to.have.length(2);
  await deleteAndConfirm(world, sm, id, uid);
}
