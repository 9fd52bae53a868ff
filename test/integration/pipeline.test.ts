import { expect } from 'chai';
import { ProcessRuntime } from '../../service-manager/runtime/process.js';
import { join } from 'node:path';
import { startPipelineWorld, type PipelineWorld } from '../support/pipeline.js';
import { cloudstackFailure, lifecycle, smKilledMidProvisioning, soKilledMidDeploy, twentyAtOnce } from '../support/scenarios.js';

describe('SM pipeline on the process runtime', function () {
  this.timeout(180_000);
  let world: PipelineWorld;

  before(async () => {
    world = await startPipelineWorld();
  });

  after(async () => {
    await world.close();
  });

  afterEach(async () => {
    await world.sim.control('DELETE', '/faults');
  });

  it('takes a cluster of 3 agents to ready, scales it to 4, and deletes it leaving no orchestrator and no VM', async () => {
    await lifecycle(world, await world.startSm('process'));
  });

  it('restarts an orchestrator killed mid-deploy; the new one adopts the VMs and finishes', async () => {
    await soKilledMidDeploy(world, await world.startSm('process'), 'process');
  });

  it('fails with the cause of a CloudStack failure and removes the VMs (on_failure=delete); a retry reaches ready', async () => {
    await cloudstackFailure(world, await world.startSm('process'), 'delete');
  });

  it('keeps the VMs and the orchestrator of a failed instance for debugging (on_failure=keep)', async () => {
    await cloudstackFailure(world, await world.startSm('process'), 'keep');
  });

  it('takes twenty instances of two tenants, created at once, to ready and deletes them all', async () => {
    await twentyAtOnce(world, await world.startSm('process'));
  });
});

describe('SM killed mid-provisioning, on the process runtime', function () {
  this.timeout(180_000);
  let world: PipelineWorld;

  before(async () => {
    // Marathon takes 200 simulated seconds to start, so provisioning lasts long enough to be interrupted.
    world = await startPipelineWorld((fixtures) => {
      fixtures['mesos'] = { marathonStartMs: 200_000 };
    });
  });

  after(async () => {
    await world.close();
  });

  it('finishes after a restart on the same registry, with no second orchestrator and no extra VM', async () => {
    let dir = '';
    const count = async (): Promise<number> => (await new ProcessRuntime(join(dir, 'so')).list()).filter((so) => so.running).length;
    const spawn = world.spawnSm.bind(world);
    world.spawnSm = async (runtime, options) => {
      const sm = await spawn(runtime, options);
      dir = sm.dir;
      return sm;
    };
    await smKilledMidProvisioning(world, 'process', count);
    expect(dir).to.not.equal('');
  });
});
