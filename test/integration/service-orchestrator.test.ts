import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, dispose, SERVICE, startSoWorld, type SoWorld, type TestSo } from '../support/orchestrator.js';
import { signRequest, verifyResponse } from '../../lib/orchestrator-auth.js';
import { SoClient, SoUnproven } from '../../service-manager/so/client.js';
import { request as httpRequest } from 'node:http';
import { call } from '../support/http.js';
import { marathonOf } from '../support/marathon.js';
import { DEMO_KEYS, MEDIUM, OTHER_KEYS, PLAIN_TEMPLATE, ZONE_1 } from '../support/simulator.js';
import { until } from '../support/wait.js';
import { AddressPicker } from '../../service-orchestrator/cluster/addresses.js';
import { clusterPrefix } from '../../service-orchestrator/cluster/plan.js';
import { HURTLE_CLIENT, HURTLE_TEXT, hurtleEnvironment, playHurtle } from '../support/hurtle-sequence.js';

const STATE = 'occi.mcn.stack.state';
const MESSAGE = 'occi.mcn.stack.message';

interface AgentOutput {
  slot: string;
  vm: string;
  address: string;
  mesos_id?: string;
  active: boolean;
}

function agentsOf(attributes: Record<string, unknown>): AgentOutput[] {
  return JSON.parse(String(attributes['mesos.agents.nodes'])) as AgentOutput[];
}

describe('SO against the simulated cloud and Mesos', function () {
  this.timeout(60_000);
  let world: SoWorld;

  beforeEach(async () => {
    world = await startSoWorld();
  });

  afterEach(async () => {
    await world.close();
  });

  /** The address of each slot's VM (m1, a2, …), as the orchestrator chose them. */
  async function addresses(): Promise<(slot: string) => string> {
    const bySlot = new Map((await world.liveVms()).map((vm) => [String(vm.name).replace(/^mesos-[a-z2-7]+-/, ''), String(vm.address)]));
    return (slot) => bySlot.get(slot) ?? expect.fail(`no VM in slot ${slot}`);
  }

  /** Deletes the cluster and checks the simulator keeps no VM of it. */
  async function teardown(so: TestSo): Promise<void> {
    const deleted = await dispose(so);
    expect(deleted[STATE], String(deleted[MESSAGE])).to.equal('DELETE_COMPLETE');
    expect(await world.liveVms()).to.deep.equal([]);
  }

  describe('hurtle SO protocol', () => {
    it('answers 403 without the token or tenant headers, and to another tenant', async () => {
      const so = await world.start();
      expect((await so.call('GET', '/', { 'X-Auth-Token': '' })).status).to.equal(403);
      const noTenant = await so.call('GET', '/', { 'X-Tenant-Name': '' });
      expect([noTenant.status, noTenant.body]).to.deep.equal([403, 'X-Tenant-Name required...\n']);
      expect((await so.call('GET', '/', { 'X-Tenant-Name': 'other' })).status).to.equal(403);
      expect((await so.call('GET', '/')).status).to.equal(200);
    });

    it('serves only requests signed with the key it was given, read from a file as Docker and Swarm secrets are, and signs its answers', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'so-secret-'));
      try {
        writeFileSync(join(dir, 'key'), 'so-key\n');
        const so = await world.start({ SO_AUTH_KEY_FILE: join(dir, 'key') });
        const unsigned = await so.call('GET', '/');
        expect([unsigned.status, unsigned.body]).to.deep.equal([
          401,
          'This orchestrator serves only the service manager that started it: requests must be signed (SO-HMAC-SHA256).\n',
        ]);
        const signed = (key: string, host = new URL(so.url).host): Record<string, string> => {
          const headers: Record<string, string> = { host, 'x-tenant-name': 'demo' };
          return {
            ...headers,
            Authorization: signRequest(key, { method: 'GET', path: '/', header: (name) => headers[name], body: '' }, Date.now()).authorization,
          };
        };
        const elsewhere = await call('GET', `${so.url}/`, { headers: signed('so-key', '127.0.0.1:1') });
        expect([elsewhere.status, elsewhere.body]).to.deep.equal([
          401,
          'This orchestrator serves only the service manager that started it: the request was meant for another address.\n',
        ]);
        const forged = await call('GET', `${so.url}/`, { headers: signed('guessed-key') });
        expect([forged.status, forged.body]).to.deep.equal([
          401,
          "This orchestrator serves only the service manager that started it: the request's signature does not match.\n",
        ]);
        const headers = signed('so-key');
        const answered = await call('GET', `${so.url}/`, { headers });
        expect(answered.status).to.equal(200);
        const nonce = /nonce=([0-9a-f]+)/.exec(headers['Authorization'])![1];
        expect(verifyResponse('so-key', nonce, 200, answered.body, answered.header('x-orchestrator-signature')), 'the answer is signed').to.equal(true);
        const replayed = await call('GET', `${so.url}/`, { headers });
        expect([replayed.status, replayed.body]).to.deep.equal([
          401,
          'This orchestrator serves only the service manager that started it: the request was replayed.\n',
        ]);
        const client = new SoClient();
        const endpoint = { url: so.url, tenant: 'demo', key: 'so-key' };
        expect(await client.read(endpoint), 'not initialised yet').to.equal(undefined);
        await client.init(endpoint, { 'mesos.agents': 1, 'mesos.cluster.label': 'Zürich — 東京 — 🚀' });
        expect((await client.read(endpoint))!.attributes['mesos.cluster.label'], 'any Unicode arrives byte-exact').to.equal('Zürich — 東京 — 🚀');
        const impostor = await client.read({ ...endpoint, key: 'another-key' }).catch((error: Error) => error);
        expect(impostor).to.be.instanceOf(SoUnproven);
        const requests = (): number[] =>
          so
            .output()
            .split('\n')
            .filter((line) => line.includes('"message":"request"'))
            .map((line) => (JSON.parse(line) as { status: number }).status);
        await until(async () => requests().length === 7);
        expect(requests(), 'successful reads are logged at debug only').to.deep.equal([401, 401, 401, 401, 404, 201, 401]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('offers the orchestrator kind with deploy and provision, then gates the actions in turn', async () => {
      const so = await world.start();
      const qi = await so.call('GET', '/-/');
      expect(qi.body).to.contain(`orchestrator; scheme="${SERVICE}"; class="kind"`);
      expect(qi.body).to.contain('attributes="occi.mcn.stack.state{immutable} occi.mcn.stack.id{immutable}"');
      expect((await so.call('GET', '/orchestrator/default')).status).to.equal(404);
      const put = await so.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` });
      expect([put.status, put.header('location')]).to.deep.equal([201, `${so.url}/orchestrator/default`]);
      const init = await so.call('GET', '/orchestrator/default', { Accept: 'text/occi' });
      expect(init.header('link')).to.equal(`</orchestrator/default?action=deploy>; rel="${SERVICE}deploy"`);
      expect(init.header('x-occi-attribute')).to.contain('occi.mcn.stack.state="uninitialized", occi.mcn.stack.id="N/A"');
      const early = await so.call('POST', '/orchestrator/default?action=provision', { Category: `provision; scheme="${SERVICE}"` });
      expect([early.status, early.body]).to.deep.equal([400, 'Not applicable atm.\n']);
      expect((await so.call('POST', '/orchestrator/default?action=explode')).status).to.equal(400);
      expect((await so.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` })).status).to.equal(
        200,
      );
      await so.call('POST', '/orchestrator/default?action=deploy', { Category: `deploy; scheme="${SERVICE}"` });
      const deploying = await so.call('GET', '/orchestrator/default', { Accept: 'text/occi' });
      expect(deploying.header('link')).to.equal(`</orchestrator/default?action=provision>; rel="${SERVICE}provision"`);
      expect((await so.call('POST', '/orchestrator/default?action=deploy', { Category: `deploy; scheme="${SERVICE}"` })).status).to.equal(400);
      await so.settle();
      await teardown(so);
    });

    it('fails fast at PUT when the cloud has no such zone, naming what it has', async () => {
      const so = await world.start({}, { 'cloudstack.zone': 'moon-base' });
      const put = await so.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` });
      expect(put.status).to.equal(400);
      expect(put.body).to.equal('Cannot build the cluster: zone "moon-base" not found; available: sim-zone-1, sim-zone-2.\n');
    });

    it('takes the parameters from PUT attributes too, as the hurtle SM forwards them unquoted', async () => {
      const so = await world.start();
      const put = await so.call('PUT', '/orchestrator/default', {
        'Content-Type': 'text/occi',
        Category: `orchestrator; scheme="${SERVICE}"`,
        'X-OCCI-Attribute': 'mesos.agents=1, mesos.marathon=false, cloudstack.offering.agent=small',
      });
      expect(put.status).to.equal(201);
      const state = await so.state();
      expect(state).to.include({ 'mesos.agents': 1, 'mesos.marathon': false, 'cloudstack.offering.agent': 'small' });
    });
  });

  describe("driven by hurtle's service manager", () => {
    it("comes up with only the cloud controller's environment and answers hurtle's whole sequence, for the tenant that initialised it", async () => {
      await playHurtle(world, 'process');
    });

    it('lets any tenant look before it is initialised, and forgets a tenant whose PUT failed', async () => {
      const so = await world.startUnderHurtle(hurtleEnvironment(world, 'so-2'));
      expect((await so.call('GET', '/', { 'X-Tenant-Name': 'other' })).status).to.equal(200);
      const bad = await so.call('PUT', '/orchestrator/default', {
        ...HURTLE_TEXT,
        'X-Tenant-Name': 'other',
        Category: `orchestrator; scheme="${SERVICE}"`,
        'X-OCCI-Attribute': 'cloudstack.zone=moon-base',
      });
      expect(bad.status).to.equal(400);
      const put = await so.call('PUT', '/orchestrator/default', {
        ...HURTLE_TEXT,
        Category: `orchestrator; scheme="${SERVICE}"`,
        'X-OCCI-Attribute': HURTLE_CLIENT,
      });
      expect(put.status, put.body).to.equal(201);
      expect((await so.call('GET', '/', { 'X-Tenant-Name': 'other' })).status).to.equal(403);
      const taken = await so.call('PUT', '/orchestrator/default', { ...HURTLE_TEXT, 'X-Tenant-Name': 'other', Category: `orchestrator; scheme="${SERVICE}"` });
      expect([taken.status, taken.body]).to.deep.equal([403, 'This orchestrator serves another tenant.\n']);
    });
  });

  describe('building clusters', () => {
    it('makes 1 master and 3 agents ready, with the leader, Marathon, ZooKeeper and every agent in the outputs', async () => {
      const so = await world.start({}, { 'mesos.masters': 1, 'mesos.agents': 3 });
      const { deployed, provisioned } = await build(so);
      expect(deployed[STATE]).to.equal('CREATE_COMPLETE');
      expect(deployed[MESSAGE]).to.equal('deploy: all 4 VMs running');
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const ip = await addresses();
      const ranOn = String(provisioned[MESSAGE]).split('; a smoke task ran on ')[1];
      expect([ip('a1'), ip('a2'), ip('a3')], 'the smoke task ran on an agent').to.include(ranOn);
      expect(provisioned[MESSAGE]).to.equal(`ready: leader ${ip('m1')}, 3 of 3 agents active, Marathon registered; a smoke task ran on ${ranOn}`);
      expect(provisioned).to.include({
        'mesos.master.url': `http://${ip('m1')}:5050`,
        'mesos.marathon.url': `http://${ip('m1')}:8080`,
        'mesos.zk': `zk://${ip('m1')}:2181/mesos`,
        'mesos.agents.active': 3,
        'mesos.cpus.total': 12,
        'mesos.mem.total': 3 * (8192 - 1024),
      });
      const agents = agentsOf(provisioned);
      expect(agents.map((a) => [a.slot, a.address, a.active])).to.deep.equal([
        ['a1', ip('a1'), true],
        ['a2', ip('a2'), true],
        ['a3', ip('a3'), true],
      ]);
      for (const agent of agents) expect(agent.mesos_id).to.match(/^[0-9a-f-]{36}-S\d+$/);
      expect(so.output()).to.not.contain('demo-secret-key');
      const state = await fetch(`http://${ip('m1')}:5050/master/state`).then((r) => r.json() as Promise<Record<string, any>>);
      expect(state['slaves'].map((s: any) => s.id).sort()).to.deep.equal(agents.map((a) => a.mesos_id).sort());
      const smoke = state['frameworks'][0].completed_tasks.concat(state['frameworks'][0].tasks);
      expect(
        smoke.map((task: any) => task.name),
        'the smoke task ran, and nothing else',
      ).to.deep.equal(['mesos-so-smoke']);
      const apps = await marathonOf(provisioned)('/v2/apps').then((r) => r.json() as Promise<{ apps: unknown[] }>);
      expect(apps.apps, 'the smoke app is removed').to.deep.equal([]);
      await teardown(so);
    });

    it('counts the tasks that wait for room in the outputs, with the cpus and memory they ask for', async () => {
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      const marathon = marathonOf(provisioned);
      const app = { id: '/big', cmd: 'sleep 100000', cpus: 3, mem: 256, instances: 3 };
      expect((await marathon('/v2/apps', { method: 'POST', body: app })).status).to.equal(201);
      await until(async () => (await so.state())['mesos.tasks.waiting'] === 2 && (await so.state())['mesos.tasks.running'] === 1);
      expect(await so.state()).to.include({
        'mesos.tasks.waiting': 2,
        'mesos.tasks.waiting.cpus': 6,
        'mesos.tasks.waiting.mem': 512,
        'mesos.cpus.used': 3,
        'mesos.cpus.total': 4,
      });
      await teardown(so);
    });

    it('skips the smoke task when mesos.readiness.smoke is false', async () => {
      const so = await world.start({}, { 'mesos.agents': 1, 'mesos.readiness.smoke': false });
      const { provisioned } = await build(so);
      const ip = await addresses();
      expect(provisioned[MESSAGE]).to.equal(`ready: leader ${ip('m1')}, 1 of 1 agents active, Marathon registered`);
      await teardown(so);
    });

    it('makes 3 masters and 5 agents ready, the quorum and ZooKeeper ensemble spanning the masters', async () => {
      const so = await world.start({}, { 'mesos.masters': 3, 'mesos.agents': 5 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const ip = await addresses();
      expect(provisioned['mesos.zk']).to.equal(`zk://${ip('m1')}:2181,${ip('m2')}:2181,${ip('m3')}:2181/mesos`);
      expect(provisioned['mesos.agents.active']).to.equal(5);
      const flags = await fetch(String(provisioned['mesos.master.url']) + '/master/state').then((r) => r.json() as Promise<Record<string, any>>);
      expect(flags['flags']).to.include({ quorum: '2' });
      await teardown(so);
    });

    it('builds without Marathon when it is not wanted', async () => {
      const so = await world.start({}, { 'mesos.agents': 1, 'mesos.marathon': false });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(provisioned).to.not.have.property('mesos.marathon.url');
      await teardown(so);
    });
  });

  describe('failures and their messages', () => {
    it('replaces an agent that never starts and still becomes ready', async () => {
      await world.mesosFault({ kind: 'agent-never-starts', count: 1 });
      const so = await world.start({}, { 'mesos.agents': 2 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(agentsOf(provisioned).some((a) => a.vm.endsWith('-g2'))).to.equal(true);
      expect(so.output()).to.match(
        /agent \d of 2 \(127\.\d+\.\d+\.\d+\) not ready after \d+ s \(not registered; its agent's \/health: ECONNREFUSED\); replacing it/,
      );
      await teardown(so);
    });

    it('is ready with fewer agents when min_ready allows, naming the missing one', async () => {
      await world.mesosFault({ kind: 'agent-never-starts', count: 1 });
      const so = await world.start({ SO_MAX_REPLACEMENTS: '0' }, { 'mesos.agents': 3, 'mesos.agents.min_ready': 2 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(provisioned[MESSAGE], String(provisioned[MESSAGE])).to.match(
        /^ready with 2 of 3 agents \(min_ready 2\); missing: agent \d of 3 \(127\.\d+\.\d+\.\d+\): not registered; a smoke task ran on 127\.\d+\.\d+\.\d+$/,
      );
      await teardown(so);
    });

    it('fails when fewer than min_ready agents can be ready, listing the missing slots', async () => {
      await world.mesosFault({ kind: 'agent-never-starts', count: 2 });
      const so = await world.start({ SO_MAX_REPLACEMENTS: '0' }, { 'mesos.agents': 5, 'mesos.agents.min_ready': 4 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE]).to.equal('UPDATE_FAILED');
      expect(provisioned[MESSAGE]).to.match(
        /^provision failed: only 3 of 5 agents can still be ready \(min_ready 4\); missing: agent \d of 5 .*not registered; agent \d of 5 .*not registered$/,
      );
      await teardown(so);
    });

    it('fails at the masters deadline when only 1 of 3 masters comes up', async () => {
      await world.mesosFault({ kind: 'master-never-starts', count: 2 });
      const so = await world.start({}, { 'mesos.masters': 3, 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE]).to.equal('UPDATE_FAILED');
      expect(provisioned[MESSAGE]).to.match(
        /^provision failed: masters not ready after 1\d\d s: (no leader elected yet|leader master \d of 3 \(127\.\d+\.\d+\.\d+\) is still recovering its registry) \(1 of 3 masters healthy\); master \d of 3 \(127\.\d+\.\d+\.\d+\): ECONNREFUSED; master \d of 3 \(127\.\d+\.\d+\.\d+\): ECONNREFUSED$/,
      );
      await teardown(so);
    });

    it('follows a leader change during the agent wait without a false failure', async () => {
      await world.mesosFault({ kind: 'agent-late', count: 2, ms: 20_000 });
      const so = await world.start({}, { 'mesos.masters': 3, 'mesos.agents': 2 });
      const building = build(so);
      await until(async () => {
        const state = await so.state();
        return state[STATE] === 'UPDATE_IN_PROGRESS' && String(state[MESSAGE]).includes('leader');
      });
      await world.mesosFault({ kind: 'leader-change' });
      const { provisioned } = await building;
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(provisioned['mesos.agents.active']).to.equal(2);
      await teardown(so);
    });

    it('does not count a flapping agent, and replaces it', async () => {
      await world.mesosFault({ kind: 'agent-flaps', count: 1, periodMs: 2000 });
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(agentsOf(provisioned)[0].vm).to.match(/-a1-g2$/);
      await teardown(so);
    });

    it('does not count an agent that advertises a loopback pid, says so, and replaces it', async () => {
      await world.mesosFault({ kind: 'agent-loopback', count: 1 });
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(so.output()).to.contain('advertises slave(1)@127.0.1.1:5051 instead of its address');
      expect(agentsOf(provisioned)[0].vm).to.match(/-a1-g2$/);
      await teardown(so);
    });

    for (const fault of [
      { kind: 'no-leader', ms: 30_000 },
      { kind: 'recovery-503', ms: 30_000 },
      { kind: 'slow', ms: 20_000, count: 12 },
    ]) {
      it(`waits out ${fault.kind} and becomes ready`, async () => {
        await world.mesosFault(fault);
        const so = await world.start({}, { 'mesos.masters': 3, 'mesos.agents': 1 });
        const { provisioned } = await build(so);
        expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
        await teardown(so);
      });
    }

    it("reports a deploy that cannot get VMs as CREATE_FAILED with the cloud's reason", async () => {
      await world.sim.control('POST', '/faults', {
        kind: 'fail-call',
        command: 'deployVirtualMachine',
        errorcode: 535,
        errortext: "Maximum number of resources of type 'user_vm' has been exceeded.",
      });
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { deployed } = await build(so);
      expect(deployed[STATE]).to.equal('CREATE_FAILED');
      expect(deployed[MESSAGE]).to.match(
        /^deploy failed: creating (master|agent) 1 \(mesos-[a-z2-7]+-[am]1\): deployVirtualMachine 535 Maximum number of resources/,
      );
      await teardown(so);
    });

    it('chooses again an address another account holds, and makes anew the masters that named it', async () => {
      const so = await world.start({}, { 'mesos.masters': 3, 'mesos.agents': 1 });
      // The orchestrator's own choice, as it will make it; the second master's address is taken first by a VM it cannot see.
      const picker = new AddressPicker(world.sim.network.cidrs[0], world.sim.network.address(1, 1), [], clusterPrefix('inst-1'));
      const taken = [picker.next(), picker.next()][1];
      expect(
        (
          await world.sim.api(OTHER_KEYS, 'deployVirtualMachine', {
            zoneid: ZONE_1,
            templateid: PLAIN_TEMPLATE,
            serviceofferingid: MEDIUM,
            name: 'squatter',
            ipaddress: taken,
          })
        ).status,
      ).to.equal(200);
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const ip = await addresses();
      const masters = [ip('m1-g2'), ip('m2'), ip('m3-g2')];
      expect(masters).to.not.include(taken);
      expect(provisioned['mesos.zk']).to.equal(`zk://${masters.map((m) => `${m}:2181`).join(',')}/mesos`);
      const flags = await fetch(String(provisioned['mesos.master.url']) + '/master/state').then((r) => r.json() as Promise<Record<string, any>>);
      expect(flags['flags']).to.include({ quorum: '2', zk: `zk://${masters.map((m) => `${m}:2181`).join(',')}/mesos` });
      const names = (await world.liveVms()).map((vm) => String(vm.name).replace(/^mesos-[a-z2-7]+-/, '')).sort();
      expect(names, 'the masters launched naming the taken address were made anew at their addresses').to.deep.equal(['a1', 'm1-g2', 'm2', 'm3-g2']);
      await teardown(so);
    });

    it('replaces a VM whose start fails for lack of capacity', async () => {
      await world.sim.control('POST', '/faults', {
        kind: 'fail-job',
        command: 'deployVirtualMachine',
        count: 1,
        errorcode: 533,
        errortext: 'Unable to create a deployment for VM',
      });
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect((await world.liveVms()).some((vm) => /-g2$/.test(vm.name))).to.equal(true);
      await teardown(so);
    });
  });

  describe('isolation', () => {
    /** A request sent from a given source address, as a process on that VM would send it. */
    function from(source: string, url: string, method = 'GET', headers: Record<string, string> = {}): Promise<number | string> {
      return new Promise((resolve) => {
        const req = httpRequest(url, { method, headers, localAddress: source }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        req.end();
      });
    }

    it("builds the cluster in a security group of its own: another tenant's VM cannot reach it, Marathon wants credentials, and the group goes with the cluster", async () => {
      const so = await world.start({}, { 'mesos.agents': 1 });
      const { provisioned } = await build(so);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const name = String(provisioned['occi.mcn.stack.id']);
      const [group] = (await world.sim.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: name })).inner['securitygroup'];
      const rules = (group.ingressrule as Array<Record<string, unknown>>).map((r) =>
        r['cidr'] ? `${r['protocol']} ${r['startport']} from ${r['cidr']}` : `${r['protocol']} from group ${r['securitygroupname']}`,
      );
      expect(rules.sort()).to.deep.equal([
        `all from group ${name}`,
        'tcp 2181 from 127.0.0.1/32',
        'tcp 5050 from 127.0.0.1/32',
        'tcp 5051 from 127.0.0.1/32',
        'tcp 8080 from 127.0.0.1/32',
      ]);
      expect(group.virtualmachinecount).to.equal(2);
      const stranger = (
        await world.sim.api(OTHER_KEYS, 'deployVirtualMachine', { zoneid: ZONE_1, templateid: PLAIN_TEMPLATE, serviceofferingid: MEDIUM, name: 'stranger' })
      ).inner;
      await until(
        async () => (await world.sim.api(OTHER_KEYS, 'listVirtualMachines', { id: stranger['id'] })).inner['virtualmachine']?.[0]?.state === 'Running',
      );
      const address = (await world.sim.api(OTHER_KEYS, 'listVirtualMachines', { id: stranger['id'] })).inner['virtualmachine'][0].nic[0].ipaddress as string;
      const master = String(provisioned['mesos.master.url']);
      const marathon = String(provisioned['mesos.marathon.url']);
      expect(await from(address, `${master}/master/state`), "the master, from another tenant's VM").to.equal('ECONNRESET');
      expect(await from(address, `${marathon}/v2/apps`), "Marathon, from another tenant's VM").to.equal('ECONNRESET');
      expect(await from('127.0.0.1', `${master}/master/state`), "the master, from the orchestrator's address").to.equal(200);
      expect(await from('127.0.0.1', `${marathon}/v2/apps`, 'POST', { 'Content-Type': 'application/json' }), 'Marathon without its credentials').to.equal(401);
      expect(
        (await marathonOf(provisioned)('/v2/apps', { method: 'POST', body: { id: '/owned', cmd: 'sleep 10', cpus: 0.1, mem: 16 } })).status,
        'with them',
      ).to.equal(201);
      expect(so.output()).to.not.contain(String(provisioned['mesos.marathon.password']));
      await teardown(so);
      expect((await world.sim.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: name })).inner['securitygroup'] ?? []).to.deep.equal([]);
    });
  });

  describe('update, delete and restarts', () => {
    it('scales out and back in through attribute updates, refusing other changes', async () => {
      const so = await world.start({}, { 'mesos.agents': 1 });
      expect((await build(so)).provisioned[STATE]).to.equal('UPDATE_COMPLETE');
      const refused = await so.call('POST', '/orchestrator/default', { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.masters=3' });
      expect([refused.status, refused.body]).to.deep.equal([400, 'mesos.masters cannot change on a running cluster (1 → 3); create a new one.\n']);
      expect((await so.call('POST', '/orchestrator/default', { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=3' })).status).to.equal(200);
      const out = await so.settle();
      expect(out[STATE], String(out[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(out['mesos.agents.active']).to.equal(3);
      expect((await world.liveVms()).length).to.equal(4);
      await so.call('POST', '/orchestrator/default', { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=1' });
      const back = await so.settle();
      expect(back[STATE], String(back[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(back['mesos.agents.active']).to.equal(1);
      expect((await world.liveVms()).map((vm) => vm.name.replace(/^mesos-[a-z2-7]+-/, '')).sort()).to.deep.equal(['a1', 'm1']);
      await teardown(so);
    });

    it('drains agents before a scale-in removes them: their tasks move to the agents that stay, none is lost', async () => {
      const so = await world.start({}, { 'mesos.agents': 3 });
      const { provisioned } = await build(so);
      const marathon = marathonOf(provisioned);
      const master = String(provisioned['mesos.master.url']);
      const created = await marathon('/v2/apps', { method: 'POST', body: { id: '/work', cmd: 'sleep 100000', cpus: 1, mem: 64, instances: 3 } });
      expect(created.status).to.equal(201);
      const hosts = async (): Promise<string[]> =>
        ((await (await marathon('/v2/apps/work/tasks')).json()) as { tasks: Array<{ host: string; state: string }> }).tasks
          .filter((t) => t.state === 'TASK_RUNNING')
          .map((t) => t.host)
          .sort();
      await until(async () => (await hosts()).length === 3);
      const ip = await addresses();
      expect(await hosts(), 'one task per agent').to.deep.equal([ip('a1'), ip('a2'), ip('a3')].sort());
      expect((await so.call('POST', '/orchestrator/default', { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=2' })).status).to.equal(200);
      const out = await so.settle();
      expect(out[STATE], String(out[MESSAGE])).to.equal('UPDATE_COMPLETE');
      await until(async () => (await hosts()).length === 3);
      expect(
        (await hosts()).every((h) => h === ip('a1') || h === ip('a2')),
        'every task on the agents that stay',
      ).to.equal(true);
      const all = ((await (await fetch(`${master}/master/tasks?limit=1000`)).json()) as { tasks: Array<{ name: string; state: string }> }).tasks;
      const tasks = all.filter((t) => t.name === 'work').map((t) => t.state);
      expect(
        tasks.filter((state) => state === 'TASK_KILLED'),
        "the removed agent's task was moved",
      ).to.have.length(1);
      expect(tasks.filter((state) => ['TASK_LOST', 'TASK_UNREACHABLE', 'TASK_GONE_BY_OPERATOR', 'TASK_FAILED'].includes(state))).to.deep.equal([]);
      expect(so.output()).to.contain(`update: drained agent 3 of 3 (${ip('a3')}) in `);
      const schedule = (await (await fetch(`${master}/maintenance/schedule`)).json()) as { windows: unknown[] };
      expect(schedule.windows, 'the removed machine left the schedule').to.deep.equal([]);
      await teardown(so);
    });

    it('removes the agent with the least work on a scale-in, so that nothing has to move', async () => {
      const so = await world.start({}, { 'mesos.agents': 3 });
      const { provisioned } = await build(so);
      const marathon = marathonOf(provisioned);
      const master = String(provisioned['mesos.master.url']);
      const ip = await addresses();
      // Kept off the first agent, so that the least busy agent is not the one a count from the top would pick.
      const app = {
        id: '/pair',
        cmd: 'sleep 100000',
        cpus: 0.5,
        mem: 32,
        instances: 2,
        constraints: [
          ['hostname', 'UNIQUE'],
          ['hostname', 'UNLIKE', ip('a1').replaceAll('.', '\\.')],
        ],
      };
      expect((await marathon('/v2/apps', { method: 'POST', body: app })).status).to.equal(201);
      const hosts = async (): Promise<string[]> =>
        ((await (await marathon('/v2/apps/pair/tasks')).json()) as { tasks: Array<{ host: string; state: string }> }).tasks
          .filter((t) => t.state === 'TASK_RUNNING')
          .map((t) => t.host)
          .sort();
      await until(async () => (await hosts()).length === 2);
      const busy = await hosts();
      expect(busy).to.deep.equal([ip('a2'), ip('a3')].sort());
      const idle = ip('a1');
      expect((await so.call('POST', '/orchestrator/default', { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=2' })).status).to.equal(200);
      const out = await so.settle();
      expect(out[STATE], String(out[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const live = (await world.liveVms()).filter((vm) => vm.state === 'Running').map((vm) => String(vm.address));
      expect(live, 'the idle agent is gone').to.not.include(idle);
      expect(live, 'the busy agents stay').to.include.members(busy);
      expect(await hosts(), 'the tasks stayed where they ran').to.deep.equal(busy);
      const states = ((await (await fetch(`${master}/master/tasks?limit=1000`)).json()) as { tasks: Array<{ name: string; state: string }> }).tasks
        .filter((t) => t.name === 'pair')
        .map((t) => t.state);
      expect(states).to.deep.equal(['TASK_RUNNING', 'TASK_RUNNING']);
      expect(so.output()).to.match(new RegExp(`update: drained agent \\d of 3 \\(${idle.replaceAll('.', '\\.')}\\) in \\d+ s`));
      await teardown(so);
    });

    it('cancels provisioning when deleted and leaves no VM', async () => {
      await world.mesosFault({ kind: 'agent-late', count: 3, ms: 600_000 });
      const so = await world.start({}, { 'mesos.agents': 3 });
      void build(so).catch(() => undefined);
      await until(async () => (await so.state())[STATE] === 'UPDATE_IN_PROGRESS');
      await teardown(so);
    });

    it('finishes a deploy after being killed half-way, without a second VM for any slot', async () => {
      // Two deploys answer late: the first orchestrator dies with VMs made and none tagged yet.
      await world.sim.control('POST', '/faults', { kind: 'latency', command: 'deployVirtualMachine', count: 2, ms: 30_000 });
      const first = await world.start({}, { 'mesos.agents': 3 });
      await first.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` });
      await first.call('POST', '/orchestrator/default?action=deploy', { Category: `deploy; scheme="${SERVICE}"` });
      await until(async () => (await world.liveVms()).length >= 4);
      await first.stop();
      const second = await world.start({}, { 'mesos.agents': 3 });
      const { provisioned } = await build(second);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      const names = (await world.liveVms()).map((vm) => vm.name);
      expect(names).to.have.length(4);
      expect(new Set(names).size).to.equal(4);
      await teardown(second);
    });

    it('adopts the master an earlier run left untagged and builds the agents around it, without a second VM for any slot', async () => {
      // The master's deploy answers late: the first orchestrator dies waiting, and the cloud makes the master afterwards, untagged.
      await world.sim.control('POST', '/faults', { kind: 'latency', command: 'deployVirtualMachine', count: 1, ms: 20_000 });
      const first = await world.start({}, { 'mesos.agents': 2 });
      await first.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` });
      await first.call('POST', '/orchestrator/default?action=deploy', { Category: `deploy; scheme="${SERVICE}"` });
      await until(async () => (await world.sim.control('GET', '/faults')).json<unknown[]>().length === 0);
      await first.stop();
      const early = async () =>
        (await world.sim.control('GET', '/vms')).json<Array<Record<string, any>>>().find((vm) => String(vm.name).startsWith(clusterPrefix('inst-1')));
      await until(async () => (await early()) !== undefined);
      const master = String((await early())!['address']);
      const second = await world.start({}, { 'mesos.agents': 2 });
      const { provisioned } = await build(second);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(provisioned['mesos.master.url'], 'the adopted master leads').to.equal(`http://${master}:5050`);
      expect(provisioned['mesos.agents.active']).to.equal(2);
      expect((await world.liveVms()).map((vm) => vm.name.replace(/^mesos-[a-z2-7]+-/, '')).sort(), 'tagged now').to.deep.equal(['a1', 'a2', 'm1']);
      const made = (await world.sim.control('GET', '/vms'))
        .json<Array<Record<string, any>>>()
        .filter((vm) => String(vm.name).startsWith(clusterPrefix('inst-1')));
      expect(made, 'no VM made twice').to.have.length(3);
      await teardown(second);
    });

    it('removes on redeploy the agents a restart left beyond the count asked for', async () => {
      const first = await world.start({}, { 'mesos.agents': 3 });
      await build(first);
      await first.stop();
      const second = await world.start({}, { 'mesos.agents': 2 });
      const { provisioned } = await build(second);
      expect(provisioned[STATE], String(provisioned[MESSAGE])).to.equal('UPDATE_COMPLETE');
      expect(
        (await world.liveVms())
          .filter((vm) => vm.state !== 'Destroyed')
          .map((vm) => vm.name.replace(/^mesos-[a-z2-7]+-/, ''))
          .sort(),
      ).to.deep.equal(['a1', 'a2', 'm1']);
      await teardown(second);
    });

    it('tears down an instance it never built, as a fresh SO sent to clean up', async () => {
      const builder = await world.start({}, { 'mesos.agents': 1 });
      await build(builder);
      await builder.stop();
      const cleaner = await world.start();
      await teardown(cleaner);
    });
  });
});
