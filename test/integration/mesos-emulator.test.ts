import { expect } from 'chai';
import { connect } from 'node:net';
import { ManualClock } from '../../lib/clock.js';
import { call, type Reply } from '../support/http.js';
import { clusterCredentials, marathonAuthorization } from '../../lib/cluster/credentials.js';
import { BOOT_MS, emulatedCluster, type ClusterOptions, type EmulatedCluster } from '../support/mesos-cluster.js';
import { DEMO_KEYS, startTestSimulator, type TestSimulator } from '../support/simulator.js';
import { passTime } from '../support/time.js';

function srvr(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(2181, address, () => socket.write('srvr'));
    let text = '';
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('Emulated Mesos guest', function () {
  this.timeout(30_000);
  let clock: ManualClock;
  let t: TestSimulator;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    t = await startTestSimulator({ timers: clock });
  });

  afterEach(() => t.close());

  const cluster = (masters: number, agents: number, options: ClusterOptions = {}): Promise<EmulatedCluster> =>
    emulatedCluster(t, clock, masters, agents, options);

  const get = (url: string): Promise<Reply> => call('GET', url);

  it('serves a single master that leads, with doubles in its JSON, and registers its agents', async () => {
    const { masters, agents } = await cluster(1, 2);
    await passTime(clock, BOOT_MS);
    const m = `http://${masters[0]}:5050`;
    expect((await get(`${m}/master/health`)).status).to.equal(200);
    const redirect = await get(`${m}/master/redirect`);
    expect([redirect.status, redirect.header('location')]).to.deep.equal([307, `//${masters[0]}:5050`]);
    const metrics = await get(`${m}/metrics/snapshot`);
    expect(metrics.body).to.contain('"master/elected":1.0');
    expect(metrics.json<any>()['registrar/log/recovered']).to.equal(1);
    const state = (await get(`${m}/master/state`)).json<any>();
    expect(state.leader).to.equal(state.pid);
    expect(state.pid).to.equal(`master@${masters[0]}:5050`);
    expect(state.flags).to.include({ quorum: '1', zk: `zk://${masters[0]}:2181/mesos` });
    expect(state).to.include.keys('elected_time', 'leader_info', 'activated_slaves', 'recovered_slaves', 'completed_frameworks', 'orphan_tasks');
    const slaves = await get(`${m}/master/slaves`);
    expect(slaves.body).to.match(/"cpus":2\.0,"gpus":0\.0,"mem":3072\.0/);
    const listed = slaves.json<any>().slaves;
    expect(listed.map((s: any) => [s.hostname, s.attributes.so_node, s.active, s.deactivated, s.pid]).sort()).to.deep.equal(
      agents.map((a, i) => [a, `a${i + 1}`, true, false, `slave(1)@${a}:5051`]).sort(),
    );
    for (const s of listed) expect(s.id).to.match(new RegExp(`^${state.id}-S\\d+$`));
    const agentState = (await get(`http://${agents[0]}:5051/slave(1)/state`)).json<any>();
    expect(agentState).to.include({ master_hostname: masters[0], hostname: agents[0] });
    expect(listed.map((s: any) => s.id)).to.include(agentState.id);
    expect(await srvr(masters[0])).to.contain('Mode: standalone');
  });

  it('answers the v1 API like the leader does, and refuses calls without a content type', async () => {
    const { masters } = await cluster(1, 1);
    await passTime(clock, BOOT_MS);
    const api = (body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
      call('POST', `http://${masters[0]}:5050/api/v1`, { headers, body });
    expect((await api('{"type":"GET_HEALTH"}')).json()).to.deep.equal({ type: 'GET_HEALTH', get_health: { healthy: true } });
    const agents = (await api('{"type":"GET_AGENTS"}')).json<any>().get_agents.agents;
    expect(agents[0]).to.deep.include({ active: true, deactivated: false });
    expect(agents[0].agent_info.resources.map((r: any) => r.name)).to.deep.equal(['cpus', 'mem', 'disk']);
    const noType = await api('{"type":"GET_HEALTH"}', {});
    expect([noType.status, noType.body]).to.deep.equal([400, "Expecting 'Content-Type' to be present"]);
    expect((await api('{"type":"LAUNCH_ROCKET"}')).status).to.equal(400);
  });

  it('shows an agent recovering (503), then unregistered (empty id), then registered', async () => {
    const { agents } = await cluster(1, 1, { marathon: false });
    const agent = `http://${agents[0]}:5051`;
    await passTime(clock, 4000);
    const recovering = await get(`${agent}/slave(1)/state`);
    expect([recovering.status, recovering.body]).to.deep.equal([503, 'Agent has not finished recovery']);
    expect((await get(`${agent}/health`)).status).to.equal(200);
    await passTime(clock, BOOT_MS);
    const registered = (await get(`${agent}/state`)).json<any>();
    expect(registered.id).to.match(/-S\d+$/);
    expect((await get(`${agent}/metrics/snapshot`)).body).to.contain('"slave/registered":1.0');
  });

  it('elects one of three masters; the others redirect every state request to it', async () => {
    const { masters } = await cluster(3, 1);
    await passTime(clock, BOOT_MS);
    const elected: string[] = [];
    for (const m of masters) if ((await get(`http://${m}:5050/metrics/snapshot`)).json<any>()['master/elected'] === 1) elected.push(m);
    expect(elected).to.have.length(1);
    const follower = masters.find((m) => m !== elected[0])!;
    const redirected = await get(`http://${follower}:5050/master/slaves?x=1`);
    expect([redirected.status, redirected.header('location')]).to.deep.equal([307, `//${elected[0]}:5050/master/slaves?x=1`]);
    const modes = await Promise.all(masters.map(srvr));
    expect(modes.filter((m) => m.includes('Mode: leader'))).to.have.length(1);
    expect(modes.filter((m) => m.includes('Mode: follower'))).to.have.length(2);
  });

  it('hands leadership to another master when told to, and agents re-register with it keeping their ids', async () => {
    const { masters, agents } = await cluster(3, 1, { marathon: false });
    await passTime(clock, BOOT_MS);
    const leaderOf = async () => (await get(`http://${masters[0]}:5050/master/redirect`)).header('location');
    const before = await leaderOf();
    const agentId = (await get(`http://${agents[0]}:5051/state`)).json<any>().id;
    expect((await t.control('POST', '/mesos/faults', { kind: 'leader-change' })).status).to.equal(201);
    await passTime(clock, BOOT_MS);
    const after = await leaderOf();
    expect(after).to.not.equal(before);
    const leader = after!.slice(2);
    const slaves = (await get(`http://${leader}/master/slaves`)).json<any>().slaves;
    expect(slaves.map((s: any) => s.id)).to.deep.equal([agentId]);
    expect(slaves[0].reregistered_time).to.be.a('number');
  });

  it('elects no leader while told not to, answering 503 "No leader elected"', async () => {
    await t.control('POST', '/mesos/faults', { kind: 'no-leader', ms: 120_000 });
    const { masters } = await cluster(1, 0, { marathon: false });
    await passTime(clock, BOOT_MS);
    const redirect = await get(`http://${masters[0]}:5050/master/redirect`);
    expect([redirect.status, redirect.body]).to.deep.equal([503, 'No leader elected']);
    expect((await get(`http://${masters[0]}:5050/master/state`)).status).to.equal(503);
    await passTime(clock, 120_000);
    expect((await get(`http://${masters[0]}:5050/master/redirect`)).status).to.equal(307);
  });

  it('keeps a new leader recovering (v1 503) for as long as told', async () => {
    await t.control('POST', '/mesos/faults', { kind: 'recovery-503', ms: 120_000 });
    const { masters } = await cluster(1, 0, { marathon: false });
    await passTime(clock, BOOT_MS);
    const v1 = await call('POST', `http://${masters[0]}:5050/api/v1`, { headers: { 'Content-Type': 'application/json' }, body: '{"type":"GET_HEALTH"}' });
    expect([v1.status, v1.body]).to.deep.equal([503, 'Master has not finished recovery']);
    expect((await get(`http://${masters[0]}:5050/metrics/snapshot`)).json<any>()['registrar/log/recovered']).to.equal(0);
  });

  it('lets a lone leader without its quorum give up after the registry fetch timeout and be restarted', async () => {
    await t.control('POST', '/mesos/faults', { kind: 'master-never-starts', count: 2 });
    const { masters } = await cluster(3, 0, { marathon: false });
    await passTime(clock, 20_000);
    const healthy: string[] = [];
    for (const m of masters) if ((await get(`http://${m}:5050/master/health`).catch(() => ({ status: 0 }) as Reply)).status === 200) healthy.push(m);
    expect(healthy).to.have.length(1);
    const firstId = (await get(`http://${healthy[0]}:5050/master/state`)).json<any>().id;
    await passTime(clock, 70_000);
    const nodes = (await t.control('GET', '/mesos/nodes')).json<any[]>();
    const node = nodes.find((n) => n.address === healthy[0]);
    expect(node.master.id).to.not.equal(firstId);
  });

  it('never registers an agent pointed at the wrong ZooKeeper', async () => {
    const { agents } = await cluster(1, 1, { marathon: false, agentZk: 'zk://127.99.0.1:2181/mesos' });
    await passTime(clock, BOOT_MS * 3);
    const state = (await get(`http://${agents[0]}:5051/state`)).json<any>();
    expect(state.id).to.equal('');
    expect(state).to.not.have.property('master_hostname');
    expect((await get(`http://${agents[0]}:5051/metrics/snapshot`)).body).to.contain('"slave/registered":0.0');
  });

  it('runs Marathon: pong, one elected instance registered as the marathon framework, apps kept', async () => {
    const { masters } = await cluster(3, 1);
    await passTime(clock, BOOT_MS);
    const ping = await get(`http://${masters[1]}:8080/ping`);
    expect([ping.status, ping.body]).to.deep.equal([200, 'pong']);
    const infos = await Promise.all(masters.map(async (m) => (await get(`http://${m}:8080/v2/info`)).json<any>()));
    const elected = infos.filter((i) => i.elected);
    expect(elected).to.have.length(1);
    expect(elected[0].frameworkId).to.match(/-0000$/);
    const leaderMaster = (await get(`http://${masters[0]}:5050/master/redirect`)).header('location')!.slice(2);
    const frameworks = (await get(`http://${leaderMaster}/master/frameworks`)).json<any>().frameworks;
    expect(frameworks).to.have.length(1);
    expect(frameworks[0]).to.include({ id: elected[0].frameworkId, name: 'marathon', active: true });
    expect((await get(`http://${masters[0]}:8080/v2/leader`)).json<any>().leader).to.equal(elected[0].leader);
    const created = await call('POST', `http://${masters[0]}:8080/v2/apps`, {
      headers: { 'Content-Type': 'application/json' },
      body: '{"id":"/smoke","cmd":"sleep 600"}',
    });
    expect(created.status).to.equal(201);
    expect((await call('POST', `http://${masters[0]}:8080/v2/apps`, { body: '{"id":"/smoke","cmd":"sleep 1"}' })).status).to.equal(409);
  });

  it("registers only the agents and the framework that authenticate with the masters' credentials, and serves Marathon only with its own", async () => {
    const credentials = clusterCredentials('cluster secret');
    const { masters, agents } = await cluster(1, 3, { credentials, agentCredentials: [credentials, clusterCredentials('another secret'), undefined] });
    await passTime(clock, BOOT_MS);
    const slaves = (await get(`http://${masters[0]}:5050/master/slaves`)).json<any>().slaves.map((s: any) => s.hostname);
    expect(slaves, "only the agent with the cluster's credential").to.deep.equal([agents[0]]);
    const nodes = (await t.control('GET', '/mesos/nodes')).json<any[]>();
    const problems = (address: string): string[] => nodes.find((n) => n.address === address).problems;
    expect(problems(agents[1])).to.include(`mesos-slave: the master ${masters[0]} refused its authentication`);
    expect(problems(agents[2])).to.include(`mesos-slave: the master ${masters[0]} refused its authentication (it has no --credential)`);
    const frameworks = (await get(`http://${masters[0]}:5050/master/frameworks`)).json<any>().frameworks;
    expect(frameworks.map((f: any) => [f.name, f.active])).to.deep.equal([['marathon', true]]);
    const unauthenticated = await get(`http://${masters[0]}:8080/v2/info`);
    expect([unauthenticated.status, unauthenticated.header('www-authenticate'), unauthenticated.body]).to.deep.equal([
      401,
      'Basic realm="Mesosphere Marathon"',
      '{"message":"Invalid username or password."}',
    ]);
    const wrong = await call('GET', `http://${masters[0]}:8080/v2/info`, { headers: { Authorization: marathonAuthorization(clusterCredentials('guess')) } });
    expect(wrong.status).to.equal(401);
    const right = await call('GET', `http://${masters[0]}:8080/v2/info`, { headers: { Authorization: marathonAuthorization(credentials) } });
    expect([right.status, right.json<any>().elected]).to.deep.equal([200, true]);
  });

  it('halts every daemon when the VM is destroyed', async () => {
    const { masters, masterVms } = await cluster(1, 0, { marathon: false });
    await passTime(clock, BOOT_MS);
    expect((await get(`http://${masters[0]}:5050/master/health`)).status).to.equal(200);
    await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id: masterVms[0].id, expunge: 'true' });
    await passTime(clock, 5000);
    const error = await get(`http://${masters[0]}:5050/master/health`).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(error).to.equal('ECONNREFUSED');
  });
});
