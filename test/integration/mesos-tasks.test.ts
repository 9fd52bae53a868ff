import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { call, type Reply } from '../support/http.js';
import { BOOT_MS, emulatedCluster, type EmulatedCluster } from '../support/mesos-cluster.js';
import { startTestSimulator, type TestSimulator } from '../support/simulator.js';
import { passTime } from '../support/time.js';

/** Staging (2 s) and a little more: a launched task runs by then. */
const LAUNCH_MS = 3000;
const PING_WINDOW_MS = 75_000;

describe('Work on the emulated Mesos cluster', function () {
  this.timeout(30_000);
  let clock: ManualClock;
  let t: TestSimulator;
  let c: EmulatedCluster;
  let marathon: string;
  let master: string;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    t = await startTestSimulator({ timers: clock });
    c = await emulatedCluster(t, clock, 1, 2);
    await passTime(clock, BOOT_MS);
    marathon = `http://${c.masters[0]}:8080`;
    master = `http://${c.masters[0]}:5050`;
  });

  afterEach(() => t.close());

  const get = async <T = any>(url: string): Promise<T> => {
    const reply = await call('GET', url);
    expect(reply.status, `${url}: ${reply.body}`).to.equal(200);
    return reply.json<T>();
  };
  const send = (method: string, url: string, body: unknown): Promise<Reply> =>
    call(method, url, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const app = async (definition: Record<string, unknown>): Promise<void> => {
    const reply = await send('POST', `${marathon}/v2/apps`, definition);
    expect(reply.status, reply.body).to.equal(201);
  };
  const tasks = async (): Promise<any[]> => (await get(`${master}/master/tasks`)).tasks;
  const slaves = async (): Promise<any[]> => (await get(`${master}/master/slaves`)).slaves;

  it('runs an app of 4 tasks: running in /master/tasks, resources used on the agents, counted by Marathon', async () => {
    await app({ id: '/web', cmd: 'python3 -m http.server $PORT0', cpus: 0.5, mem: 128, instances: 4 });
    const staged = (await get(`${marathon}/v2/apps/web`)).app;
    expect(staged).to.include({ tasksStaged: 4, tasksRunning: 0 });
    expect(staged.deployments).to.have.length(1);
    await passTime(clock, LAUNCH_MS);
    const running = await tasks();
    expect(running.map((task) => task.state)).to.deep.equal(['TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING', 'TASK_RUNNING']);
    expect(running[0].resources).to.include({ cpus: 0.5, mem: 128 });
    expect(running[0].resources.ports).to.match(/^\[310\d\d-310\d\d\]$/);
    const used = (await slaves()).map((s) => s.used_resources.cpus);
    expect(used.reduce((a: number, b: number) => a + b, 0)).to.equal(2);
    expect(used, 'spread over both agents').to.deep.equal([1, 1]);
    const metrics = await get(`${master}/metrics/snapshot`);
    expect(metrics).to.include({
      'master/cpus_used': 2,
      'master/cpus_total': 4,
      'master/tasks_running': 4,
      'master/mem_used': 512,
      'master/cpus_percent': 0.5,
    });
    const web = (await get(`${marathon}/v2/apps/web`)).app;
    expect(web).to.include({ tasksRunning: 4, tasksStaged: 0, instances: 4 });
    expect(web.tasks).to.have.length(4);
    expect(web.deployments, 'the deployment is done').to.deep.equal([]);
    expect(await get(`${marathon}/v2/deployments`)).to.deep.equal([]);
    expect((await get(`${marathon}/v2/tasks`)).tasks).to.have.length(4);
    const v1 = await send('POST', `${master}/api/v1`, { type: 'GET_TASKS' });
    expect(v1.json<any>().get_tasks.tasks.map((task: any) => task.state)).to.have.length(4);
    const agentState = await get(`http://${c.agents[0]}:5051/state`);
    expect(agentState.frameworks[0].executors).to.have.length(2);
  });

  it("finishes a task that sleeps 5 s, fails one that exits 3, and delays the failing app's next launch", async () => {
    await app({ id: '/nap', cmd: 'sleep 5', cpus: 0.1, mem: 32, instances: 1 });
    await app({ id: '/broken', cmd: 'exit 3', cpus: 0.1, mem: 32, instances: 1, backoffSeconds: 30 });
    await passTime(clock, LAUNCH_MS);
    const first = await tasks();
    expect(first.find((task) => task.name === 'broken')?.state).to.equal('TASK_FAILED');
    expect(first.find((task) => task.name === 'nap')?.state).to.equal('TASK_RUNNING');
    await passTime(clock, 5000);
    const napped = (await tasks()).filter((task) => task.name === 'nap').map((task) => task.state);
    expect(napped).to.include('TASK_FINISHED');
    const broken = (await get(`${marathon}/v2/apps/broken`)).app;
    expect(broken.lastTaskFailure).to.include({ state: 'TASK_FAILED', message: 'Command exited with status 3' });
    const queued = (await get(`${marathon}/v2/queue`)).queue.find((q: any) => q.app.id === '/broken');
    expect(queued.count).to.equal(1);
    expect(queued.delay.overdue).to.equal(false);
    expect((await get(`${master}/metrics/snapshot`))['master/tasks_failed']).to.equal(1);
  });

  it('queues what no offer fits and says why: too many cpus, or hostname UNIQUE with more instances than agents', async () => {
    await app({ id: '/big', cmd: 'sleep 1000', cpus: 3, mem: 32 });
    await app({ id: '/spread', cmd: 'sleep 1000', cpus: 0.1, mem: 32, instances: 3, constraints: [['hostname', 'UNIQUE']] });
    await passTime(clock, LAUNCH_MS);
    const queue = (await get(`${marathon}/v2/queue`)).queue;
    const big = queue.find((q: any) => q.app.id === '/big');
    expect(big.count).to.equal(1);
    expect(big.processedOffersSummary.rejectSummaryLastOffers.map((r: any) => r.reason)).to.include('InsufficientCpus');
    const spread = queue.find((q: any) => q.app.id === '/spread');
    expect(spread.count).to.equal(1);
    expect(spread.processedOffersSummary.rejectSummaryLastOffers.map((r: any) => r.reason)).to.include('UnfulfilledConstraint');
    const hosts = (await get(`${marathon}/v2/apps/spread/tasks`)).tasks.map((task: any) => task.host);
    expect(new Set(hosts).size).to.equal(2);
    const bad = await send('POST', `${marathon}/v2/apps`, { id: '/bad', cmd: 'x', constraints: [['hostname', 'SOMETIMES']] });
    expect(bad.status).to.equal(422);
  });

  it('scales an app down and up by its instances, and kills every task when it is removed', async () => {
    await app({ id: '/web', cmd: 'sleep 1000', cpus: 0.5, mem: 64, instances: 3 });
    await passTime(clock, LAUNCH_MS);
    const scaled = await send('PUT', `${marathon}/v2/apps/web`, { instances: 1 });
    expect(scaled.status, scaled.body).to.equal(200);
    expect(scaled.json<any>()).to.have.keys('version', 'deploymentId');
    await passTime(clock, 2000);
    expect((await get(`${marathon}/v2/apps/web`)).app).to.include({ tasksRunning: 1, instances: 1 });
    expect((await tasks()).filter((task) => task.state === 'TASK_KILLED')).to.have.length(2);
    expect((await send('PUT', `${marathon}/v2/apps/web`, { instances: 2 })).status).to.equal(200);
    await passTime(clock, LAUNCH_MS);
    expect((await get(`${marathon}/v2/apps/web`)).app).to.include({ tasksRunning: 2, instances: 2 });
    const locked = await send('PUT', `${marathon}/v2/apps/web`, { cmd: 'sleep 2000' });
    expect(locked.status, 'a config change restarts the tasks').to.equal(200);
    const again = await send('PUT', `${marathon}/v2/apps/web`, { instances: 3 });
    expect([again.status, again.json<any>().message]).to.deep.equal([
      409,
      "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
    ]);
    await passTime(clock, LAUNCH_MS + 2000);
    const restarted = (await get(`${marathon}/v2/apps/web/tasks`)).tasks;
    expect(restarted.map((task: any) => task.state)).to.deep.equal(['TASK_RUNNING', 'TASK_RUNNING']);
    expect(await get(`${marathon}/v2/deployments`)).to.deep.equal([]);
    const removed = await call('DELETE', `${marathon}/v2/apps/web`);
    expect(removed.status).to.equal(200);
    await passTime(clock, 2000);
    expect((await get(`${marathon}/v2/apps`)).apps).to.deep.equal([]);
    expect((await tasks()).every((task) => task.state === 'TASK_KILLED')).to.equal(true);
    expect((await call('GET', `${marathon}/v2/apps/web`)).status).to.equal(404);
  });

  it('loses the task of an agent whose process dies, and Marathon relaunches it on the other agent', async () => {
    await app({ id: '/job', cmd: 'sleep 100000', cpus: 0.5, mem: 64, instances: 1 });
    await passTime(clock, LAUNCH_MS);
    const [before] = (await get(`${marathon}/v2/apps/job/tasks`)).tasks;
    const victim = c.agentVms.findIndex((vm) => vm.address === before.host);
    await send('POST', `${t.url}/sim/mesos/faults`, { kind: 'agent-dies', vm: `a${victim + 1}` });
    await passTime(clock, PING_WINDOW_MS + LAUNCH_MS);
    const state = await get(`${master}/master/state`);
    const framework = state.frameworks[0];
    expect(framework.unreachable_tasks.map((task: any) => [task.id, task.state])).to.deep.equal([[before.id, 'TASK_UNREACHABLE']]);
    const [after] = (await get(`${marathon}/v2/apps/job/tasks`)).tasks;
    expect(after.state).to.equal('TASK_RUNNING');
    expect(after.host).to.not.equal(before.host);
    expect(after.id).to.not.equal(before.id);
  });

  it('never finishes the task of a dead agent, and starts a task staged while the masters change leader', async () => {
    await app({ id: '/nap', cmd: 'sleep 10', cpus: 0.1, mem: 32, instances: 1 });
    await passTime(clock, LAUNCH_MS);
    const [nap] = (await get(`${marathon}/v2/apps/nap/tasks`)).tasks;
    const victim = c.agentVms.findIndex((vm) => vm.address === nap.host);
    await send('POST', `${t.url}/sim/mesos/faults`, { kind: 'agent-dies', vm: `a${victim + 1}` });
    await passTime(clock, 15_000);
    expect((await tasks()).find((task) => task.id === nap.id)?.state, 'its agent is dead: it cannot finish').to.equal('TASK_RUNNING');
    await passTime(clock, PING_WINDOW_MS);
    expect((await get(`${master}/master/state`)).frameworks[0].unreachable_tasks.map((task: any) => task.id)).to.deep.equal([nap.id]);
    await app({ id: '/during', cmd: 'sleep 100000', cpus: 0.1, mem: 32, instances: 1 });
    await send('POST', `${t.url}/sim/mesos/faults`, { kind: 'leader-change' });
    await passTime(clock, 30_000);
    const during = (await get(`${marathon}/v2/apps/during/tasks`)).tasks.map((task: any) => task.state);
    expect(during).to.deep.equal(['TASK_RUNNING']);
  });

  it('drains an agent under maintenance: no new task lands there, killed tasks move, then it goes down and comes back up', async () => {
    await app({ id: '/web', cmd: 'sleep 100000', cpus: 0.5, mem: 64, instances: 2 });
    await passTime(clock, LAUNCH_MS);
    const drained = c.agents[0];
    const machine = { hostname: drained, ip: drained };
    const refused = await send('POST', `${master}/machine/down`, [machine]);
    expect([refused.status, refused.body]).to.deep.equal([400, `Machine '{"hostname":"${drained}","ip":"${drained}"}' is not part of a maintenance schedule`]);
    const window = { windows: [{ machine_ids: [machine], unavailability: { start: { nanoseconds: clock.now() * 1e6 } } }] };
    expect((await send('POST', `${master}/maintenance/schedule`, window)).status).to.equal(200);
    expect((await get(`${master}/maintenance/status`)).draining_machines).to.deep.equal([{ id: machine }]);
    const there = (await get(`${marathon}/v2/tasks`)).tasks.filter((task: any) => task.host === drained).map((task: any) => task.id);
    expect(there).to.have.length(1);
    expect((await send('POST', `${marathon}/v2/tasks/delete?scale=false`, { ids: there })).status).to.equal(200);
    await passTime(clock, LAUNCH_MS);
    const hosts = (await get(`${marathon}/v2/tasks`)).tasks.map((task: any) => [task.host, task.state]);
    expect(hosts).to.deep.equal([
      [c.agents[1], 'TASK_RUNNING'],
      [c.agents[1], 'TASK_RUNNING'],
    ]);
    expect((await send('POST', `${master}/machine/down`, [machine])).status).to.equal(200);
    await passTime(clock, 1000);
    expect((await slaves()).map((s) => s.hostname)).to.deep.equal([c.agents[1]]);
    expect((await get(`${master}/maintenance/status`)).down_machines).to.deep.equal([machine]);
    expect((await send('POST', `${master}/machine/up`, [machine])).status).to.equal(200);
    await passTime(clock, 5000);
    expect((await slaves()).map((s) => s.hostname).sort()).to.deep.equal([...c.agents].sort());
    expect((await get(`${master}/maintenance/schedule`)).windows).to.deep.equal([]);
  });
});
