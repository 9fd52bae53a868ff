import { expect } from 'chai';
import Docker from 'dockerode';
import { SLOW_PROVISIONING, uidOf, useWorld } from '../support/pipeline.js';
import {
  agentLost,
  cloudstackFailure,
  CROWD,
  DAY2,
  leaderChanges,
  lifecycle,
  masterLost,
  orphans,
  partitionShortCircuit,
  smKilledMidProvisioning,
  soKilledMidDeploy,
  soKilledWhenReady,
  twentyAtOnce,
} from '../support/scenarios.js';
import { DEMO } from '../support/sm.js';
import { playHurtle } from '../support/hurtle-sequence.js';
import { SO_IMAGE, startSoWorld, type SoWorld } from '../support/orchestrator.js';

const docker = new Docker();

/** Runs a command in a running container, as the engine runs its HEALTHCHECK, and gives its exit code. */
async function exitCodeIn(container: Docker.Container, command: string[]): Promise<number | null> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const output = await exec.start({});
  output.resume();
  await new Promise((ended) => output.once('end', ended));
  return (await exec.inspect()).ExitCode;
}

describe('SM on the Docker engine, end to end', function () {
  this.timeout(240_000);
  const world = useWorld({ docker: 'engine' });

  it('takes a cluster of 3 agents to ready, scales it to 4, and deletes it leaving no container and no VM', async () => {
    await lifecycle(world(), await world().startSm('docker'));
  });

  it('runs each orchestrator in its own labelled, limited, read-only container on the host network, with readable logs and no secret in the SM log', async () => {
    const sm = await world().startSm('docker');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const uid = uidOf(sm.sm, DEMO, id);
    const info = await docker.getContainer(`mesos-so-${uid}`).inspect();
    expect(info.Config.Labels).to.include({ 'mesos-sm.instance': id, 'mesos-sm.tenant': 'demo', 'mesos-sm.uid': uid, 'mesos-sm.manager': sm.sm.managerId });
    expect(info.HostConfig).to.include({ NetworkMode: 'host', Memory: 256 * 1024 * 1024, NanoCpus: 500_000_000, ReadonlyRootfs: true });
    expect(info.Config.Image).to.equal(SO_IMAGE);
    expect(info.Config.User).to.equal('65534:65534');
    const check = info.Config.Healthcheck?.Test ?? [];
    expect(check[0], 'the image has a HEALTHCHECK').to.equal('CMD');
    expect(await exitCodeIn(docker.getContainer(`mesos-so-${uid}`), check.slice(1)), 'the HEALTHCHECK passes in the running container').to.equal(0);
    const logs = await sm.sm.pipeline!.runtime.logs(uid, 1000);
    expect(logs).to.contain('service orchestrator listening');
    expect(logs).to.not.contain('demo-secret-key');
    const smLog = sm.logLines.join('\n');
    expect(smLog).to.not.contain('demo-secret-key');
    const key = info.Config.Env.find((e) => e.startsWith('SO_AUTH_KEY='))!.slice('SO_AUTH_KEY='.length);
    expect(key).to.have.length(43);
    expect(smLog).to.not.contain(key);
    expect(logs).to.not.contain(key);
    expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    await sm.untilGone(DEMO, id);
  });

  it('restarts an orchestrator container killed mid-deploy; the new one adopts the VMs and finishes', async () => {
    await soKilledMidDeploy(world(), await world().startSm('docker'), 'docker');
  });

  it('fails with the cause of a CloudStack failure and removes the VMs (on_failure=delete); a retry reaches ready', async () => {
    await cloudstackFailure(world(), await world().startSm('docker'), 'delete');
  });

  it('keeps the VMs and the orchestrator of a failed instance for debugging (on_failure=keep)', async () => {
    await cloudstackFailure(world(), await world().startSm('docker'), 'keep');
  });

  it('takes twenty instances of two tenants, created at once, to ready and deletes them all', async () => {
    await twentyAtOnce(world(), await world().startSm('docker', CROWD));
  });

  it('restarts the stopped orchestrator of a ready instance on the resync; the instance stays ready', async () => {
    await soKilledWhenReady(world(), await world().startSm('docker'), 'docker');
  });

  it('removes orchestrator containers that belong to no instance', async () => {
    await orphans(await world().startSm('docker'));
  });
});

describe('A ready cluster stays true, on the Docker engine', function () {
  this.timeout(240_000);
  const world = useWorld({ docker: 'engine' });

  it('turns degraded naming the agent whose VM is stopped, replaces it, and is ready again', async () => {
    await agentLost(world(), await world().startSm('docker', DAY2), 'VM stopped');
  });

  it("follows a leader change and replaces the leading master's destroyed VM", async () => {
    const sm = await world().startSm('docker', DAY2);
    await leaderChanges(world(), sm);
    await masterLost(world(), sm);
  });

  it('stops remediation when half the nodes are partitioned away, and is whole again when the partition ends', async () => {
    await partitionShortCircuit(world(), await world().startSm('docker', DAY2));
  });
});

describe('SM killed mid-provisioning, on the Docker engine', function () {
  this.timeout(240_000);
  const world = useWorld({ docker: 'engine', adjust: SLOW_PROVISIONING });

  it('finishes after a restart on the same registry, with no second container and no extra VM', async () => {
    const count = async (): Promise<number> => (await docker.listContainers({ filters: { label: ['mesos-sm.instance=survivor'] } })).length;
    await smKilledMidProvisioning(world(), 'docker', count);
  });
});

describe('SM on Docker Swarm, end to end', function () {
  this.timeout(240_000);
  const world = useWorld({ docker: 'swarm' });

  it('takes a cluster of 3 agents to ready, scales it to 4, and deletes it leaving no service and no VM', async () => {
    await lifecycle(world(), await world().startSm('swarm'));
  });

  it('passes secrets as Swarm secrets, never in the service definition', async () => {
    const sm = await world().startSm('swarm');
    const id = await sm.create(DEMO, 'mesos.agents=1');
    await sm.untilState(DEMO, id, 'ready');
    const uid = uidOf(sm.sm, DEMO, id);
    const service = await docker.getService(`mesos-so-${uid}`).inspect();
    const env: string[] = service.Spec.TaskTemplate.ContainerSpec.Env;
    expect(env.join('\n')).to.not.contain('demo-secret-key');
    expect(env).to.include(`SO_CLOUDSTACK_SECRET_KEY_FILE=/run/secrets/mesos-so-${uid}-cs-key`);
    expect(env).to.include(`SO_AUTH_KEY_FILE=/run/secrets/mesos-so-${uid}-key`);
    expect(env).to.include(`SO_CLUSTER_SECRET_FILE=/run/secrets/mesos-so-${uid}-cluster`);
    expect(service.Spec.TaskTemplate.ContainerSpec.Secrets).to.have.length(3);
    expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    await sm.untilGone(DEMO, id);
    expect(await docker.listSecrets({ filters: { label: [`mesos-sm.uid=${uid}`] } })).to.deep.equal([]);
  });
});

describe("The orchestrator image under hurtle's cloud controller", function () {
  this.timeout(120_000);
  let world: SoWorld;

  beforeEach(async () => {
    world = await startSoWorld();
  });

  afterEach(async () => {
    await world.close();
  });

  it("comes up on the container's environment alone and answers hurtle's whole sequence", async () => {
    await playHurtle(world, 'docker');
  });
});
