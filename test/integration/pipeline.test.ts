import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessRuntime } from '../../service-manager/runtime/process.js';
import { SLOW_PROVISIONING, uidOf, useWorld } from '../support/pipeline.js';
import {
  agentLost,
  AUTOSCALING,
  autoscalesWithDemand,
  cloudstackFailure,
  CROWD,
  DAY2,
  FAULTY_CLOUD,
  leaderChanges,
  lifecycle,
  masterLost,
  orphans,
  partitionShortCircuit,
  smKilledMidProvisioning,
  soKilledMidDeploy,
  soKilledWhenReady,
  twentyAtOnce,
  underCloudFaults,
  workMovesOnScaleIn,
} from '../support/scenarios.js';
import { DEMO_KEYS, MEDIUM, MESOS_TEMPLATE, ZONE_1 } from '../support/simulator.js';
import { DEMO, ETC } from '../support/sm.js';
import { until } from '../support/wait.js';

/** createTags parameters putting tags on one resource. */
function tagging(resourcetype: string, id: string, tags: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = { resourcetype, resourceids: id };
  Object.entries(tags).forEach(([key, value], i) => {
    params[`tags[${i}].key`] = key;
    params[`tags[${i}].value`] = value;
  });
  return params;
}

describe('SM pipeline on the process runtime', function () {
  this.timeout(180_000);
  const world = useWorld();

  it('takes a cluster of 3 agents to ready, scales it to 4, and deletes it leaving no orchestrator and no VM', async () => {
    await lifecycle(world(), await world().startSm('process'));
  });

  it('restarts an orchestrator killed mid-deploy; the new one adopts the VMs and finishes', async () => {
    await soKilledMidDeploy(world(), await world().startSm('process'), 'process');
  });

  it('fails with the cause of a CloudStack failure and removes the VMs (on_failure=delete); a retry reaches ready', async () => {
    await cloudstackFailure(world(), await world().startSm('process'), 'delete');
  });

  it('keeps the VMs and the orchestrator of a failed instance for debugging (on_failure=keep)', async () => {
    await cloudstackFailure(world(), await world().startSm('process'), 'keep');
  });

  it('takes twenty instances of two tenants, created at once, to ready and deletes them all', async () => {
    await twentyAtOnce(world(), await world().startSm('process', CROWD));
  });
});

describe('A ready cluster stays true, on the process runtime', function () {
  this.timeout(180_000);
  const world = useWorld();

  for (const how of ['process dies', 'VM stopped', 'VM destroyed'] as const) {
    it(`turns degraded naming the agent when its ${how === 'process dies' ? 'process dies' : how.replace('VM ', 'VM is ')}, replaces it, and is ready again`, async () => {
      await agentLost(world(), await world().startSm('process', DAY2), how);
    });
  }

  it('follows a leader change: the master URL names the leader /master/state reports', async () => {
    await leaderChanges(world(), await world().startSm('process', DAY2));
  });

  it("replaces the leading master's destroyed VM at its address while another master leads", async () => {
    await masterLost(world(), await world().startSm('process', DAY2));
  });

  it('stops remediation when half the nodes are partitioned away, and is whole again when the partition ends', async () => {
    await partitionShortCircuit(world(), await world().startSm('process', DAY2));
  });
});

describe('Work on a cluster through the SM, on the process runtime', function () {
  this.timeout(180_000);
  const world = useWorld();

  it('runs an app, counts its tasks in the outputs, and moves the task of an agent a scale-in removes', async () => {
    await workMovesOnScaleIn(world(), await world().startSm('process', DAY2));
  });

  it('grows an autoscaled cluster for the tasks that wait for room and shrinks it, drained, once they are gone', async () => {
    await autoscalesWithDemand(world(), await world().startSm('process', AUTOSCALING));
  });
});

describe('SM pipeline under cloud faults, on the process runtime', function () {
  this.timeout(600_000);
  const world = useWorld({ adjust: FAULTY_CLOUD.adjust });

  it('ends ten lifecycles ready or failed naming the command while one CloudStack call in ten fails, and deletes them all leaving nothing', async () => {
    await underCloudFaults(world(), await world().startSm('process', FAULTY_CLOUD.sm));
  });
});

describe('SM killed mid-provisioning, on the process runtime', function () {
  this.timeout(180_000);
  const world = useWorld({ adjust: SLOW_PROVISIONING });

  it('finishes after a restart on the same registry, with no second orchestrator and no extra VM', async () => {
    const running = async (dir: string): Promise<number> => (await new ProcessRuntime(join(dir, 'so')).list()).filter((so) => so.running).length;
    await smKilledMidProvisioning(world(), 'process', running);
  });
});

describe('SM killed right after answering creates, on the process runtime', function () {
  this.timeout(180_000);
  const world = useWorld();

  it('keeps every instance it answered 201 for, and removes them after the restart leaving no VM', async () => {
    const first = await world().spawnSm('process');
    const ids = await Promise.all(['kept-1', 'kept-2', 'kept-3'].map((id) => first.create(DEMO, 'mesos.agents=1, mesos.marathon=false', id)));
    await first.kill();
    const second = await world().spawnSm('process', { dir: first.dir });
    for (const id of ids) expect(await second.attributes(DEMO, id), id).to.not.equal(undefined);
    for (const id of ids) expect((await second.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    for (const id of ids) await second.untilGone(DEMO, id);
    expect(await world().liveVms()).to.deep.equal([]);
  });
});

describe('SM pipeline details, on the process runtime', function () {
  this.timeout(120_000);
  const world = useWorld();

  it('starts a single orchestrator however often the same PUT is repeated', async () => {
    const sm = await world().startSm('process');
    const ids = await Promise.all(Array.from({ length: 5 }, () => sm.create(DEMO, 'mesos.agents=1', 'once')));
    expect(new Set(ids)).to.deep.equal(new Set(['once']));
    await sm.untilState(DEMO, 'once', 'ready');
    expect(await sm.sm.pipeline!.runtime.list()).to.have.length(1);
    expect(sm.logLines.filter((l) => l.includes('service orchestrator started'))).to.have.length(1);
  });

  it('answers many clients polling one instance with fresh state, asking its orchestrator once', async () => {
    const sm = await world().startSm('process');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const uid = uidOf(sm.sm, DEMO, id);
    const log = join(sm.dir, 'so', `mesos-so-${uid}.log`);
    const reads = (): number =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"path":"/orchestrator/default"') && l.includes('"method":"GET"')).length;
    const driver = sm.sm.pipeline!.driver;
    await until(() => !driver.active(uid) && Date.now() - (driver.lastObserved(uid) ?? 0) > 1000);
    const before = reads();
    const replies = await Promise.all(Array.from({ length: 50 }, () => sm.attributes(DEMO, id)));
    expect(replies.every((a) => a?.['mcn.service.state'] === 'ready')).to.equal(true);
    expect(reads() - before).to.be.within(1, 2);
  });

  it("fails a phase that outlives the SM deadline with the orchestrator's last words, and removes the VMs", async () => {
    const sm = await world().startSm('process', { extra: '[pipeline]\ndeadline_deploy_s = 1' });
    // The cloud's answers about jobs come late: the deploy's work is done there, but the orchestrator cannot see it finish.
    for (const command of ['listAsyncJobs', 'queryAsyncJobResult'])
      await world().sim.control('POST', '/faults', { kind: 'latency', command, count: 10, ms: 150_000 });
    const id = await sm.create(DEMO, 'mesos.agents=1');
    const failed = await sm.untilState(DEMO, id, 'failed');
    expect(failed['mcn.service.state.message']).to.match(/^deploy did not finish within 1 s; the orchestrator last reported: deploy: /);
    await world().sim.control('DELETE', '/faults');
    await sm.until(DEMO, id, (a) => /Its VMs were removed \(on_failure=delete\)\.$/.test(String(a['mcn.service.state.message'])));
    expect(await world().liveVms(uidOf(sm.sm, DEMO, id))).to.deep.equal([]);
  });

  it('keeps a failed teardown visible as failed and finishes it when the reconciler retries', async () => {
    const sm = await world().startSm('process', { extra: '[reconciler]\nretry_after_s = 1' });
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const uid = uidOf(sm.sm, DEMO, id);
    await world().sim.control('POST', '/faults', {
      kind: 'fail-call',
      command: 'destroyVirtualMachine',
      count: 1000,
      errorcode: 530,
      errortext: 'Internal error executing command',
    });
    await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO });
    const failed = await sm.untilState(DEMO, id, 'failed', 60_000);
    expect(failed['mcn.service.state.message']).to.match(/^Teardown failed: .*530.*It is retried automatically\.$/);
    await world().sim.control('DELETE', '/faults');
    await until(async () => {
      sm.sm.pipeline!.reconciler.retries();
      return (await sm.attributes(DEMO, id)) === undefined;
    });
    expect(await world().liveVms(uid)).to.deep.equal([]);
  });

  it('destroys VMs tagged with this SM whose instance is gone, and nothing else', async () => {
    const sm = await world().startSm('process');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const live = uidOf(sm.sm, DEMO, id);
    const deploy = async (tags: Record<string, string>): Promise<string> => {
      const reply = await world().sim.api(DEMO_KEYS, 'deployVirtualMachine', { zoneid: ZONE_1, templateid: MESOS_TEMPLATE, serviceofferingid: MEDIUM });
      const vmId = String(reply.inner['id']);
      await world().sim.api(DEMO_KEYS, 'createTags', tagging('UserVm', vmId, tags));
      return vmId;
    };
    const leftover = await deploy({ 'mesos.instance': 'gone-instance', 'mesos.manager': sm.sm.managerId });
    const foreign = await deploy({ 'mesos.instance': 'gone-instance', 'mesos.manager': 'another-sm' });
    await until(async () => {
      const vms = (await world().vms()).filter((vm) => vm.id === leftover || vm.id === foreign);
      return vms.length === 2 && vms.every((vm) => vm.state === 'Running' && vm.tags['mesos.manager'] !== undefined);
    });
    expect(await sm.sm.pipeline!.reconciler.sweepVms()).to.equal(1);
    const states = new Map((await world().vms()).map((vm) => [vm.id, vm.state]));
    expect(states.get(leftover)).to.be.oneOf(['Expunging', 'Expunged', 'Destroyed']);
    expect(states.get(foreign)).to.equal('Running');
    expect(await world().liveVms(live)).to.have.length(2);
  });

  it('removes security groups tagged with this SM whose instance is gone, once no VM holds them, and nothing else', async () => {
    const sm = await world().startSm('process');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    const ready = await sm.untilState(DEMO, id, 'ready');
    const group = async (name: string, tags: Record<string, string>): Promise<void> => {
      const made = (await world().sim.api(DEMO_KEYS, 'createSecurityGroup', { name })).inner['securitygroup'];
      await world().sim.api(DEMO_KEYS, 'createTags', tagging('SecurityGroup', made.id, tags));
    };
    await group('left-behind', { 'mesos.instance': 'gone-instance', 'mesos.manager': sm.sm.managerId });
    await group('someone-elses', { 'mesos.instance': 'gone-instance', 'mesos.manager': 'another-sm' });
    const names = async (): Promise<string[]> =>
      ((await world().sim.api(DEMO_KEYS, 'listSecurityGroups')).inner['securitygroup'] as Array<{ name: string }>).map((g) => g.name).sort();
    await until(
      async () =>
        (await world().sim.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: 'left-behind' })).inner['securitygroup']?.[0]?.tags?.length === 2,
    );
    const before = await names();
    expect(before).to.include.members(['left-behind', 'someone-elses', String(ready['occi.mcn.stack.id'])]);
    expect(await sm.sm.pipeline!.reconciler.sweepVms()).to.equal(1);
    // Other service managers' groups (this world's other tests) stay too.
    expect(await names()).to.deep.equal(before.filter((name) => name !== 'left-behind'));
  });

  it('removes orchestrators that belong to no instance', async () => {
    await orphans(await world().startSm('process'));
  });

  it('restarts the stopped orchestrator of a ready instance on the resync; the instance stays ready', async () => {
    await soKilledWhenReady(world(), await world().startSm('process'), 'process');
  });

  it('tears an instance down with a fresh orchestrator when its own is gone', async () => {
    const sm = await world().startSm('process');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const uid = uidOf(sm.sm, DEMO, id);
    await until(() => !sm.sm.pipeline!.driver.active(uid));
    await sm.sm.pipeline!.runtime.remove(uid);
    expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    await sm.untilGone(DEMO, id);
    expect(await world().liveVms(uid)).to.deep.equal([]);
    expect(sm.logLines.filter((line) => line.includes('service orchestrator started') && line.includes(uid))).to.have.length(2);
    expect(await sm.sm.pipeline!.runtime.list()).to.deep.equal([]);
  });

  it('fails at once, saying why, an instance whose tenant has no CloudStack account', async () => {
    const tenants = JSON.parse(readFileSync(join(ETC, 'tenants.json'), 'utf8'));
    delete tenants.tenants.demo.cloudstack;
    const file = join(world().newDir(), 'tenants.json');
    writeFileSync(file, JSON.stringify(tenants));
    const sm = await world().startSm('process', { extra: `[authentication]\ntenants_file = ${file}` });
    const id = await sm.create(DEMO, 'mesos.agents=1');
    const failed = await sm.untilState(DEMO, id, 'failed');
    expect(failed['mcn.service.state.message']).to.equal(
      "cannot start the service orchestrator: tenant demo has no CloudStack account in the service manager's tenants file. No VM was made.",
    );
    expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    await sm.untilGone(DEMO, id);
  });
});
