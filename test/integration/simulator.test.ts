import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { parseFixtures } from '../../simulator/fixtures.js';
import { Simulator } from '../../simulator/simulator.js';
import type { Guest, GuestVm } from '../../simulator/guests.js';
import { call } from '../support/http.js';
import {
  ADMIN_KEYS,
  DEMO_KEYS,
  MEDIUM,
  MESOS_TEMPLATE,
  NET_1,
  OTHER_KEYS,
  PLAIN_TEMPLATE,
  shippedFixtures,
  startTestSimulator,
  ZONE_1,
  ZONE_2,
  type TestSimulator,
  type TestSimulatorOptions,
} from '../support/simulator.js';
import { passTime, untilScheduled } from '../support/time.js';

const DEPLOY = { zoneid: ZONE_1, templateid: MESOS_TEMPLATE, serviceofferingid: MEDIUM };
const TIMING = { deployMs: 3000, destroyMs: 1000, expungeMs: 500, tagMs: 100, securityGroupMs: 200 };

describe('CloudStack simulator', () => {
  let clock: ManualClock;
  let t: TestSimulator;

  async function start(options: TestSimulatorOptions = {}): Promise<void> {
    await t?.close();
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    t = await startTestSimulator({ timers: clock, ...options });
  }

  beforeEach(() => start());
  afterEach(() => t.close());

  async function deploy(params: Record<string, string> = {}, keys = DEMO_KEYS): Promise<{ id: string; jobid: string }> {
    const reply = await t.api(keys, 'deployVirtualMachine', { ...DEPLOY, ...params });
    expect(reply.status, reply.body).to.equal(200);
    return reply.inner as { id: string; jobid: string };
  }

  async function job(jobid: string, keys = DEMO_KEYS): Promise<Record<string, any>> {
    return (await t.api(keys, 'queryAsyncJobResult', { jobid })).inner;
  }

  async function vm(id: string, keys = DEMO_KEYS): Promise<Record<string, any> | undefined> {
    return (await t.api(keys, 'listVirtualMachines', { id })).inner['virtualmachine']?.[0];
  }

  async function running(params: Record<string, string> = {}): Promise<string> {
    const { id } = await deploy(params);
    await passTime(clock, TIMING.deployMs);
    return id;
  }

  describe('authentication', () => {
    it('accepts requests signed by an independent signer, by GET and by form POST', async () => {
      const get = await t.api(DEMO_KEYS, 'listZones', { available: 'true' }, { method: 'GET' });
      const post = await t.api(DEMO_KEYS, 'listZones', { available: 'true' }, { method: 'POST' });
      expect([get.status, post.status]).to.deep.equal([200, 200]);
      expect(get.key).to.equal('listzonesresponse');
      expect(get.inner['count']).to.equal(2);
      expect(post.body).to.equal(get.body);
    });

    it('checks the signature over names as sent, sorted case-sensitively', async () => {
      const reply = await t.api(DEMO_KEYS, 'listTemplates', { templateFilter: 'executable', zoneId: ZONE_1 });
      expect(reply.status).to.equal(200);
      expect(reply.inner['count']).to.equal(2);
    });

    it('answers 401 with no cserrorcode or X-Description to a wrong secret, unknown key or missing signature', async () => {
      const wrong = await t.api(DEMO_KEYS, 'listZones', {}, { secret: 'not-the-secret' });
      const unknown = await t.api({ apikey: 'nobody', secret: 'x' }, 'listZones');
      for (const reply of [wrong, unknown]) {
        expect(reply.status).to.equal(401);
        expect(reply.inner).to.deep.equal({
          uuidList: [],
          errorcode: 401,
          errortext: 'unable to verify user credentials and/or request signature',
        });
        expect(reply.header('x-description')).to.equal(undefined);
      }
      const unsigned = await call('GET', `${t.url}/client/api?command=listZones&response=json&apikey=demo-api-key`);
      expect(unsigned.status).to.equal(401);
    });

    it('refuses a version 3 signature whose expires is past or unreadable', async () => {
      expect((await t.api(DEMO_KEYS, 'listZones', {}, { expiresInMs: -1000 })).status).to.equal(401);
      expect((await t.api(DEMO_KEYS, 'listZones', { expires: 'tomorrow' }, { expiresInMs: null, json: true })).status).to.equal(200);
      const bad = await t.api(DEMO_KEYS, 'listZones', { signatureversion: '3', expires: 'tomorrow' }, { expiresInMs: null });
      expect(bad.status).to.equal(401);
    });

    it('answers an unknown command with 401 under errorresponse', async () => {
      const reply = await t.api(DEMO_KEYS, 'launchRocket');
      expect(reply.status).to.equal(401);
      expect(reply.key).to.equal('errorresponse');
      expect(reply.inner['errortext']).to.equal("The given command 'launchRocket' either does not exist, is not available for user.");
    });

    it('answers XML, not JSON, when response=json is missing', async () => {
      const reply = await t.api(DEMO_KEYS, 'listZones', {}, { json: false });
      expect(reply.header('content-type')).to.match(/^text\/xml/);
      expect(reply.body).to.match(/^<\?xml/);
    });

    it('throttles per account before checking the signature, sparing admins', async () => {
      await t.control('PUT', '/settings', { throttling: { enabled: true, intervalMs: 1000, max: 2 } });
      await t.api(DEMO_KEYS, 'listZones');
      await t.api(DEMO_KEYS, 'listZones');
      const third = await t.api(DEMO_KEYS, 'listZones', {}, { secret: 'wrong' });
      expect(third.status).to.equal(429);
      expect(third.inner['errortext']).to.equal('The given user has reached his/her account api limit, please retry after [1000] ms.');
      expect((await t.api(OTHER_KEYS, 'listZones')).status).to.equal(200);
      for (let i = 0; i < 5; i++) expect((await t.api(ADMIN_KEYS, 'listZones')).status).to.equal(200);
      await passTime(clock, 1000);
      expect((await t.api(DEMO_KEYS, 'listZones')).status).to.equal(200);
      const caps = (await t.api(DEMO_KEYS, 'listCapabilities')).inner['capability'];
      expect(caps).to.include({ apilimitinterval: 1, apilimitmax: 2 });
    });
  });

  describe('parameter checks', () => {
    it('names the missing parameter (431, cserrorcode 9999, X-Description)', async () => {
      const reply = await t.api(DEMO_KEYS, 'deployVirtualMachine', { serviceofferingid: MEDIUM, templateid: MESOS_TEMPLATE });
      expect(reply.status).to.equal(431);
      expect(reply.inner).to.deep.equal({
        uuidList: [],
        errorcode: 431,
        cserrorcode: 9999,
        errortext: 'Unable to execute API command deployvirtualmachine due to missing parameter zoneid',
      });
      expect(reply.header('x-description')).to.equal(reply.inner['errortext']);
    });

    it("refuses unknown uuids with the server's text", async () => {
      const reply = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, zoneid: '00000000-0000-4000-8000-000000000000' });
      expect(reply.status).to.equal(431);
      expect(reply.inner['errortext']).to.equal(
        'Unable to execute API command deployvirtualmachine due to invalid value. Invalid parameter zoneid ' +
          'value=00000000-0000-4000-8000-000000000000 due to incorrect long value format, or entity does not exist ' +
          'or due to incorrect parameter annotation for the field in api cmd class.',
      );
    });

    it('refuses control characters (431) and malformed map keys (430)', async () => {
      expect((await t.api(DEMO_KEYS, 'listVirtualMachines', { name: 'a\u0001b' })).status).to.equal(431);
      const map = await t.api(DEMO_KEYS, 'listVirtualMachines', { 'tags[0][1].key': 'x' });
      expect(map.status).to.equal(430);
      expect(map.inner['errortext']).to.match(/^Unable to decode parameter tags\[0\]\[1\]\.key/);
    });

    it('applies the paging rules', async () => {
      const check = async (params: Record<string, string>) => (await t.api(DEMO_KEYS, 'listZones', params)).inner['errortext'];
      expect(await check({ page: '1' })).to.equal('"pagesize" parameter is required when "page" is specified');
      expect(await check({ pagesize: '5' })).to.equal('"page" parameter is required when "pagesize" is specified');
      expect(await check({ page: '1', pagesize: '501' })).to.equal("Page size can't exceed max allowed page size value: 500");
      expect(await check({ page: '1', pagesize: '-1' })).to.equal("Can't specify page parameter when pagesize is -1 (Unlimited)");
      const page2 = await t.api(DEMO_KEYS, 'listZones', { page: '2', pagesize: '1' });
      expect(page2.inner['count']).to.equal(2);
      expect(page2.inner['zone'].map((z: any) => z.name)).to.deep.equal(['sim-zone-2']);
      expect((await t.api(DEMO_KEYS, 'listZones', { page: '3', pagesize: '1' })).inner).to.deep.equal({ count: 2 });
    });
  });

  describe('deploy', () => {
    it('answers with id and jobid, and shows the VM Stopped with its pending job, then Running', async () => {
      const { id, jobid } = await deploy({ name: 'node-1' });
      const early = await vm(id);
      expect(early).to.include({ id, name: 'node-1', displayname: 'node-1', jobid, jobstatus: 0 });
      expect(['Stopped', 'Starting']).to.include(early!['state']);
      expect(early!['created']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
      expect((await job(jobid))['jobstatus']).to.equal(0);
      await passTime(clock, TIMING.deployMs);
      const done = await job(jobid);
      expect(done).to.include({
        jobstatus: 1,
        jobresultcode: 0,
        jobresulttype: 'object',
        jobinstancetype: 'VirtualMachine',
        jobinstanceid: id,
        cmd: 'org.apache.cloudstack.api.command.user.vm.DeployVMCmd',
      });
      expect(done['jobresult'].virtualmachine.state).to.equal('Running');
      const after = await vm(id);
      expect(after).to.not.have.property('jobid');
      expect(after).to.include({ state: 'Running', cpunumber: 2, memory: 4096, zonename: 'sim-zone-1', templatename: 'ubuntu-22.04-mesos' });
      expect(after!['nic'][0]).to.include({ networkid: NET_1, ipaddress: t.network.address(1, 2), isdefault: true, gateway: t.network.address(1, 1) });
      expect(after!['tags']).to.deep.equal([]);
      expect(after).to.not.have.property('instancename');
    });

    it('gives each VM the next free loopback address of its network', async () => {
      const first = await deploy({ name: 'a' });
      const second = await deploy({ name: 'b' });
      expect((await vm(first.id))!['nic'][0].ipaddress).to.equal(t.network.address(1, 2));
      expect((await vm(second.id))!['nic'][0].ipaddress).to.equal(t.network.address(1, 3));
    });

    it("refuses a taken or invalid host name with the server's texts", async () => {
      await deploy({ name: 'twin' });
      const clash = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: 'twin' });
      expect([clash.status, clash.inner['cserrorcode']]).to.deep.equal([431, 4350]);
      expect(clash.inner['errortext']).to.match(/^The vm with hostName twin already exists in the network domain/);
      const invalid = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: '9lives' });
      expect(invalid.inner['errortext']).to.match(/^Invalid name\. Vm name can contain ASCII letters/);
    });

    it('refuses a template that is not in the zone', async () => {
      const reply = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, zoneid: ZONE_2, templateid: PLAIN_TEMPLATE });
      expect(reply.status).to.equal(431);
    });

    it('checks user data as the server does: base64, size by method and setting', async () => {
      const text = async (userdata: string, method: 'GET' | 'POST' = 'POST') =>
        (await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, userdata }, { method })).inner['errortext'];
      expect(await text('not base64!')).to.equal('User data is not base64 encoded');
      expect(await text(Buffer.alloc(3500).toString('base64'), 'GET')).to.equal('User data is too long for an http GET request');
      expect(await text(Buffer.alloc(30_000).toString('base64'))).to.equal('User data has exceeded configurable max length : 32768');
      const ok = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, userdata: Buffer.from('#cloud-config\n').toString('base64') });
      expect(ok.status).to.equal(200);
    });

    it("enforces the account's VM, CPU and memory limits at deploy (535)", async () => {
      const fixtures = shippedFixtures();
      fixtures['accounts'][0].limits = { user_vm: 1 };
      await start({ fixtures: parseFixtures(fixtures) });
      await deploy({ name: 'only' });
      const over = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: 'second' });
      expect([over.status, over.inner['cserrorcode']]).to.deep.equal([535, 9999]);
      expect(over.inner['errortext']).to.match(/^Maximum number of resources of type 'user_vm' for account name=demo in domain id=.* has been exceeded\.$/);
      const account = (await t.api(DEMO_KEYS, 'listAccounts')).inner['account'][0];
      expect(account).to.include({ vmtotal: 1, vmlimit: '1', vmavailable: '0', cpulimit: 'Unlimited' });
    });

    it('leaves the VM created when a reused customjobid is refused, as the real server does', async () => {
      const jobid = '3d3d3d3d-3d3d-4d3d-8d3d-3d3d3d3d3d3d';
      const first = await deploy({ name: 'a', customjobid: jobid });
      expect(first.jobid).to.equal(jobid);
      const again = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: 'b', customjobid: jobid });
      expect(again.inner['errortext']).to.equal(`UUID: ${jobid} already exists so can't create/update with custom id`);
      const listed = (await t.api(DEMO_KEYS, 'listVirtualMachines', { name: 'b' })).inner['virtualmachine'];
      expect(listed[0].state).to.equal('Stopped');
    });
  });

  describe('VM lifecycle', () => {
    it('stops, starts and reboots a VM through jobs', async () => {
      const id = await running();
      const stop = (await t.api(DEMO_KEYS, 'stopVirtualMachine', { id })).inner;
      await passTime(clock, 1000);
      expect((await job(stop['jobid']))['jobresult'].virtualmachine.state).to.equal('Stopped');
      const startJob = (await t.api(DEMO_KEYS, 'startVirtualMachine', { id })).inner;
      await passTime(clock, 1500);
      expect((await vm(id))!['state']).to.equal('Running');
      expect((await job(startJob['jobid']))['jobstatus']).to.equal(1);
      const reboot = (await t.api(DEMO_KEYS, 'rebootVirtualMachine', { id })).inner;
      await passTime(clock, 1500);
      expect((await job(reboot['jobid']))['jobstatus']).to.equal(1);
    });

    it('destroys to Destroyed, hides it from users, and expunges it after expunge.delay', async () => {
      const id = await running();
      const { jobid } = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id })).inner;
      await passTime(clock, TIMING.destroyMs);
      expect((await job(jobid))['jobresult'].virtualmachine.state).to.equal('Destroyed');
      expect(await vm(id)).to.equal(undefined);
      expect((await vm(id, ADMIN_KEYS))!['state']).to.equal('Destroyed');
      const again = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id })).inner;
      await passTime(clock, 0);
      expect((await job(again['jobid']))['jobstatus']).to.equal(1);
      await passTime(clock, 86_400_000 + TIMING.expungeMs);
      const vms = (await t.control('GET', '/vms')).json<any[]>();
      expect(vms.find((v) => v.id === id).state).to.equal('Expunged');
    });

    it('expunges at once when asked and allowed, then treats the uuid as removed', async () => {
      const id = await running({ name: 'gone' });
      const { jobid } = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id, expunge: 'true' })).inner;
      await passTime(clock, TIMING.destroyMs + TIMING.expungeMs);
      expect((await job(jobid))['jobstatus']).to.equal(1);
      expect((await t.api(DEMO_KEYS, 'listVirtualMachines', { id })).inner).to.deep.equal({});
      const late = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id })).inner;
      await passTime(clock, 0);
      const failed = await job(late['jobid']);
      expect(failed).to.include({ jobstatus: 2, jobresultcode: 431 });
      expect(failed['jobresult'].errortext).to.match(/^unable to find a virtual machine with id \d+$/);
      const reused = await deploy({ name: 'gone' });
      expect((await vm(reused.id))!['nic'][0].ipaddress, 'the released address is not the next one handed out').to.equal(t.network.address(1, 3));
      const claimed = await deploy({ name: 'again', ipaddress: t.network.address(1, 2) });
      expect((await vm(claimed.id))!['nic'][0].ipaddress, 'but it can be claimed again').to.equal(t.network.address(1, 2));
    });

    it('refuses expunge to users when allow.user.expunge.recover.vm is off (job 530)', async () => {
      await t.control('PUT', '/settings', { allowUserExpungeRecoverVm: false });
      const id = await running();
      const { jobid } = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id, expunge: 'true' })).inner;
      await passTime(clock, 0);
      expect(await job(jobid)).to.include({ jobstatus: 2, jobresultcode: 530 });
      expect((await t.api(DEMO_KEYS, 'listCapabilities')).inner['capability'].allowuserexpungerecovervm).to.equal(false);
    });

    it('answers 431 to a list by a uuid that never existed', async () => {
      const reply = await t.api(DEMO_KEYS, 'listVirtualMachines', { id: '11111111-1111-4111-8111-111111111111' });
      expect(reply.status).to.equal(431);
    });

    it('runs one job at a time per VM: a destroy sent during the deploy waits for it', async () => {
      const { id, jobid } = await deploy();
      const destroy = (await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id, expunge: 'true' })).inner;
      await passTime(clock, 1000);
      expect((await job(destroy['jobid']))['jobstatus']).to.equal(0);
      await passTime(clock, TIMING.deployMs);
      expect((await job(jobid))['jobresult'].virtualmachine.state).to.equal('Running');
      await passTime(clock, TIMING.destroyMs + TIMING.expungeMs);
      expect((await job(destroy['jobid']))['jobstatus']).to.equal(1);
    });

    it('keeps other accounts out: their VMs are invisible, actions 531, their jobs 531', async () => {
      const { id, jobid } = await deploy();
      expect((await t.api(OTHER_KEYS, 'listVirtualMachines', { id })).inner).to.deep.equal({});
      expect((await t.api(OTHER_KEYS, 'listVirtualMachines')).inner).to.deep.equal({});
      const destroy = await t.api(OTHER_KEYS, 'destroyVirtualMachine', { id });
      expect([destroy.status, destroy.inner['cserrorcode']]).to.deep.equal([531, 4365]);
      expect((await t.api(OTHER_KEYS, 'queryAsyncJobResult', { jobid })).status).to.equal(531);
      expect((await t.api(ADMIN_KEYS, 'listVirtualMachines', { listall: 'true' })).inner['count']).to.equal(1);
    });

    it('forgets finished jobs after job.expire.minutes', async () => {
      const { jobid } = await deploy();
      await passTime(clock, TIMING.deployMs);
      await passTime(clock, 1440 * 60_000 + 1);
      expect((await t.api(DEMO_KEYS, 'queryAsyncJobResult', { jobid })).status).to.equal(431);
    });
  });

  describe('tags', () => {
    it('creates tags in a job, shows them on the VM and filters by any pair', async () => {
      const a = await running({ name: 'a' });
      const b = await running({ name: 'b' });
      const tag = async (id: string, key: string, value: string) => {
        const { jobid } = (await t.api(DEMO_KEYS, 'createTags', { resourcetype: 'UserVM', resourceids: id, 'tags[0].key': key, 'tags[0].value': value })).inner;
        await passTime(clock, TIMING.tagMs);
        return job(jobid);
      };
      expect((await tag(a, 'owner', 'svc-1'))['jobresult']).to.deep.equal({ success: true });
      await tag(b, 'role', 'agent');
      expect((await vm(a))!['tags'][0]).to.include({ key: 'owner', value: 'svc-1', resourcetype: 'UserVm', resourceid: a });
      const either = await t.api(DEMO_KEYS, 'listVirtualMachines', {
        'tags[0].key': 'owner',
        'tags[0].value': 'svc-1',
        'tags[1].key': 'role',
        'tags[1].value': 'agent',
      });
      expect(either.inner['virtualmachine'].map((v: any) => v.name)).to.deep.equal(['a', 'b']);
      expect((await t.api(DEMO_KEYS, 'listTags', { key: 'role' })).inner['tag']).to.have.length(1);
      const { jobid } = (await t.api(DEMO_KEYS, 'deleteTags', { resourcetype: 'UserVm', resourceids: a })).inner;
      await passTime(clock, TIMING.tagMs);
      expect((await job(jobid))['jobstatus']).to.equal(1);
      expect((await vm(a))!['tags']).to.deep.equal([]);
    });

    it("fails the job on an empty value, with the server's text", async () => {
      const id = await running();
      const { jobid } = (await t.api(DEMO_KEYS, 'createTags', { resourcetype: 'UserVm', resourceids: id, 'tags[0].key': 'k', 'tags[0].value': '' })).inner;
      await passTime(clock, TIMING.tagMs);
      expect((await job(jobid))['jobresult']).to.deep.equal({ errorcode: 431, errortext: 'Value for the key k is either null or empty' });
    });
  });

  describe('discovery', () => {
    it('lists templates once per zone and requires a template filter', async () => {
      const all = (await t.api(DEMO_KEYS, 'listTemplates', { templatefilter: 'executable' })).inner;
      expect(all['template'].map((x: any) => `${x.name}@${x.zonename}`)).to.deep.equal([
        'ubuntu-22.04-mesos@sim-zone-1',
        'ubuntu-22.04-mesos@sim-zone-2',
        'ubuntu-22.04@sim-zone-1',
      ]);
      expect((await t.api(DEMO_KEYS, 'listTemplates')).status).to.equal(431);
    });

    it('describes offerings, networks, limits and every API with isasync', async () => {
      const offerings = (await t.api(DEMO_KEYS, 'listServiceOfferings')).inner['serviceoffering'];
      expect(offerings.map((o: any) => [o.name, o.cpunumber, o.memory])).to.deep.equal([
        ['small', 1, 1024],
        ['medium', 2, 4096],
        ['large', 4, 8192],
      ]);
      const networks = (await t.api(DEMO_KEYS, 'listNetworks', { zoneid: ZONE_1, canusefordeploy: 'true' })).inner['network'];
      expect(networks[0]).to.include({ name: 'sim-net-1', cidr: t.network.cidrs[0], isdefault: true, canusefordeploy: true });
      const limits = (await t.api(DEMO_KEYS, 'listResourceLimits', { resourcetype: '0' })).inner['resourcelimit'];
      expect(limits).to.deep.equal([
        { account: 'demo', domainid: limits[0].domainid, domain: 'ROOT', resourcetype: '0', resourcetypename: 'user_vm', max: 40 },
      ]);
      const apis = (await t.api(DEMO_KEYS, 'listApis')).inner['api'] as any[];
      const byName = new Map(apis.map((a) => [a.name, a]));
      expect(byName.get('deployVirtualMachine').isasync).to.equal(true);
      expect(byName.get('listVirtualMachines').isasync).to.equal(false);
      expect(byName.get('createTags').params.find((p: any) => p.name === 'tags')).to.include({ type: 'map', required: true });
      expect(byName.size).to.be.at.least(30);
    });
  });

  describe('SSH key pairs and security groups', () => {
    it('creates a key pair once, returning the private key only then', async () => {
      const created = (await t.api(DEMO_KEYS, 'createSSHKeyPair', { name: 'ops' })).inner['keypair'];
      expect(created.privatekey).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(created.fingerprint).to.match(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
      expect((await t.api(DEMO_KEYS, 'createSSHKeyPair', { name: 'ops' })).inner['errortext']).to.equal("A key pair with name 'ops' already exists.");
      const listed = (await t.api(DEMO_KEYS, 'listSSHKeyPairs')).inner['sshkeypair'];
      expect(listed[0]).to.not.have.property('privatekey');
      const id = await running({ keypair: 'ops' });
      expect((await vm(id))!['keypairs']).to.equal('ops');
      expect((await t.api(DEMO_KEYS, 'deleteSSHKeyPair', { name: 'ops' })).inner).to.deep.equal({ success: true });
      expect((await t.api(DEMO_KEYS, 'deleteSSHKeyPair', { name: 'ops' })).inner['errortext']).to.match(/^A key pair with name 'ops' does not exist/);
      expect((await t.api(DEMO_KEYS, 'registerSSHKeyPair', { name: 'x', publickey: 'not a key' })).status).to.equal(431);
    });

    it('creates a group and authorizes ingress in a job', async () => {
      const group = (await t.api(DEMO_KEYS, 'createSecurityGroup', { name: 'mesos' })).inner['securitygroup'];
      expect((await t.api(DEMO_KEYS, 'createSecurityGroup', { name: 'mesos' })).status).to.equal(431);
      const { jobid } = (
        await t.api(DEMO_KEYS, 'authorizeSecurityGroupIngress', {
          securitygroupid: group.id,
          protocol: 'tcp',
          startport: '5050',
          endport: '5051',
          cidrlist: '127.0.0.0/8',
        })
      ).inner;
      await passTime(clock, 200);
      const rules = (await job(jobid))['jobresult'].securitygroup.ingressrule;
      expect(rules[0]).to.include({ protocol: 'tcp', startport: 5050, endport: 5051, cidr: '127.0.0.0/8' });
    });

    it('takes rules from the VMs of a group, skips duplicates, fails when all are, and refuses bad ones', async () => {
      const group = (await t.api(DEMO_KEYS, 'createSecurityGroup', { name: 'mesos' })).inner['securitygroup'];
      const self = { securitygroupid: group.id, 'usersecuritygrouplist[0].account': 'demo', 'usersecuritygrouplist[0].group': 'mesos' };
      const authorize = async (params: Record<string, string>): Promise<Record<string, any>> => {
        const { jobid } = (await t.api(DEMO_KEYS, 'authorizeSecurityGroupIngress', params)).inner;
        await passTime(clock, TIMING.securityGroupMs);
        return job(jobid);
      };
      const first = await authorize(self);
      expect(first['jobresult'].securitygroup.ingressrule).to.have.length(1);
      expect(first['jobresult'].securitygroup.ingressrule[0]).to.include({ protocol: 'all', securitygroupname: 'mesos', account: 'demo' });
      const again = await authorize(self);
      expect([again['jobstatus'], again['jobresult'].errortext]).to.deep.equal([2, 'Failed to authorize security group ingress rule(s)']);
      const refusals = [
        [{ securitygroupid: group.id }, 'At least one cidr or at least one security group needs to be specified'],
        [{ securitygroupid: group.id, cidrlist: '10.1.1.0/33' }, 'Invalid cidr 10.1.1.0/33'],
        [{ securitygroupid: group.id, protocol: 'tcp', cidrlist: '10.0.0.0/8' }, 'Invalid port range specified, startPort = null, endPort = null'],
        [{ securitygroupid: group.id, protocol: 'tcp', startport: '9', endport: '2', cidrlist: '10.0.0.0/8' }, 'Invalid port range 9:2'],
        [
          { securitygroupid: group.id, 'usersecuritygrouplist[0].account': 'demo', 'usersecuritygrouplist[0].group': 'nope' },
          /^Nonexistent group nope for account demo/,
        ],
      ] as const;
      for (const [params, text] of refusals) {
        const reply = await t.api(DEMO_KEYS, 'authorizeSecurityGroupIngress', params);
        expect(reply.status, JSON.stringify(params)).to.equal(431);
        expect(reply.inner['errortext']).to.match(typeof text === 'string' ? new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : text);
      }
    });

    it('keeps a group while a VM, destroyed but not expunged, still holds it', async () => {
      const group = (await t.api(DEMO_KEYS, 'createSecurityGroup', { name: 'held' })).inner['securitygroup'];
      const id = await running({ name: 'holder', securitygroupids: group.id });
      await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id });
      await passTime(clock, TIMING.destroyMs);
      const held = await t.api(DEMO_KEYS, 'deleteSecurityGroup', { id: group.id });
      expect([held.status, held.inner['errortext']]).to.deep.equal([536, "Cannot delete group when it's in use by virtual machines"]);
      expect((await t.api(DEMO_KEYS, 'deleteSecurityGroup', { name: 'default' })).inner['errortext']).to.equal('The network group default is reserved');
      await t.api(DEMO_KEYS, 'expungeVirtualMachine', { id });
      await passTime(clock, TIMING.expungeMs);
      expect((await t.api(DEMO_KEYS, 'deleteSecurityGroup', { id: group.id })).inner).to.deep.equal({ success: true });
    });
  });

  describe('fault injection', () => {
    it('fails the next call of a command with the given code and text', async () => {
      await t.control('POST', '/faults', { kind: 'fail-call', command: 'deployVirtualMachine', count: 1, errorcode: 533, errortext: 'no room' });
      const failed = await t.api(DEMO_KEYS, 'deployVirtualMachine', DEPLOY);
      expect([failed.status, failed.inner['errortext']]).to.deep.equal([533, 'no room']);
      expect((await t.api(DEMO_KEYS, 'deployVirtualMachine', DEPLOY)).status).to.equal(200);
    });

    it('fails a deploy job: the VM ends in Error and stops counting against limits', async () => {
      await t.control('POST', '/faults', { kind: 'fail-job', command: 'deployVirtualMachine', count: 1, errorcode: 534, errortext: 'host down' });
      const { id, jobid } = await deploy();
      await passTime(clock, TIMING.deployMs);
      expect(await job(jobid)).to.include({ jobstatus: 2, jobresultcode: 534 });
      expect((await vm(id))!['state']).to.equal('Error');
      expect((await t.api(DEMO_KEYS, 'listAccounts')).inner['account'][0].vmtotal).to.equal(0);
    });

    it('runs out of capacity: starts fail with 533 once the capacity is used', async () => {
      await t.control('POST', '/faults', { kind: 'capacity', vms: 1 });
      const first = await deploy({ name: 'a' });
      const second = await deploy({ name: 'b' });
      await passTime(clock, TIMING.deployMs);
      expect((await job(first.jobid))['jobstatus']).to.equal(1);
      const failed = await job(second.jobid);
      expect(failed['jobresultcode']).to.equal(533);
      expect(failed['jobresult'].errortext).to.match(/^Unable to create a deployment for VM\[User\|i-\d+-\d+-VM\]$/);
    });

    it('answers late when latency is injected', async () => {
      await t.control('POST', '/faults', { kind: 'latency', command: 'listZones', ms: 5000 });
      let answered = false;
      const pending = t.api(DEMO_KEYS, 'listZones').then((r) => {
        answered = true;
        return r;
      });
      await untilScheduled(clock);
      await passTime(clock, 4000);
      expect(answered).to.equal(false);
      await passTime(clock, 1000);
      expect((await pending).status).to.equal(200);
    });

    it('drops the answer after the deploy took effect', async () => {
      await t.control('POST', '/faults', { kind: 'drop-response', command: 'deployVirtualMachine', count: 1 });
      const error = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: 'ghost' }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).to.be.instanceOf(Error);
      expect((await t.api(DEMO_KEYS, 'listVirtualMachines', { name: 'ghost' })).inner['count']).to.equal(1);
    });

    it('resets the connection before the call is read, so nothing happens', async () => {
      await t.control('POST', '/faults', { kind: 'reset', command: 'deployVirtualMachine', count: 1 });
      const error = await t.api(DEMO_KEYS, 'deployVirtualMachine', { ...DEPLOY, name: 'never' }).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(error?.code).to.equal('ECONNRESET');
      expect((await t.api(DEMO_KEYS, 'listVirtualMachines')).inner).to.deep.equal({});
    });

    it('answers as a failing proxy would, and as a server in maintenance', async () => {
      await t.control('POST', '/faults', { kind: 'proxy-error', command: '*', count: 1, status: 502 });
      const proxied = await call('GET', `${t.url}/client/api?command=listZones`);
      expect([proxied.status, proxied.header('content-type')]).to.deep.equal([502, 'text/html']);
      await t.control('POST', '/faults', { kind: 'maintenance', count: 1 });
      const maintenance = await t.api(DEMO_KEYS, 'listZones');
      expect(maintenance.status).to.equal(503);
      expect(maintenance.inner['errortext']).to.match(/^Maintenance or Shutdown has been initiated/);
    });

    it('keeps a VM in Starting until the job is cancelled after the threshold', async () => {
      await t.control('POST', '/faults', { kind: 'stuck-starting', count: 1 });
      const { id, jobid } = await deploy();
      await passTime(clock, 30 * 60_000);
      expect((await vm(id))!['state']).to.equal('Starting');
      await passTime(clock, 30 * 60_000);
      expect(await job(jobid)).to.include({ jobstatus: 2, jobresultcode: 530 });
    });

    it('refuses malformed faults and lists and clears active ones', async () => {
      expect((await t.control('POST', '/faults', { kind: 'gremlins' })).status).to.equal(400);
      expect((await t.control('POST', '/faults', { kind: 'fail-call', command: 'x', errorcode: 533 })).status).to.equal(400);
      await t.control('POST', '/faults', { kind: 'latency', command: 'listZones', ms: 10 });
      expect((await t.control('GET', '/faults')).json<any[]>()).to.have.length(1);
      expect((await t.control('DELETE', '/faults')).status).to.equal(204);
      expect((await t.control('GET', '/faults')).json<any[]>()).to.deep.equal([]);
    });
  });

  describe('control API and determinism', () => {
    it("serves the control API only when asked to, since it can stop and destroy any account's VMs", async () => {
      const plain = await new Simulator({ fixtures: parseFixtures(shippedFixtures()), timers: new ManualClock() }).listen('127.0.0.1', 0);
      try {
        expect((await call('GET', `${plain.url}/sim/vms`)).status).to.equal(404);
        expect((await call('POST', `${plain.url}/sim/faults`, { headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).to.equal(404);
      } finally {
        await plain.close();
      }
      expect((await t.control('GET', '/vms')).status).to.equal(200);
    });

    it('lists every VM ever created with account, state, address and the tags it had', async () => {
      const id = await running({ name: 'kept' });
      const { jobid } = (await t.api(DEMO_KEYS, 'createTags', { resourcetype: 'UserVm', resourceids: id, 'tags[0].key': 'owner', 'tags[0].value': 'x' })).inner;
      await passTime(clock, TIMING.tagMs);
      expect((await job(jobid))['jobstatus']).to.equal(1);
      await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id, expunge: 'true' });
      await passTime(clock, TIMING.destroyMs + TIMING.expungeMs);
      const [listed] = (await t.control('GET', '/vms')).json<any[]>();
      expect(listed).to.include({ id, name: 'kept', account: 'demo', state: 'Expunged', address: t.network.address(1, 2) });
      expect(listed.tags).to.deep.equal({ owner: 'x' });
    });

    it('refuses bad settings and advances the manual clock on request', async () => {
      expect((await t.control('PUT', '/settings', { pageSize: 'big' })).status).to.equal(400);
      expect((await t.control('PUT', '/settings', { colour: 1 })).status).to.equal(400);
      const before = clock.now();
      const advanced = await t.control('POST', '/clock/advance', { ms: 60_000 });
      expect(advanced.json<any>().epochMs).to.equal(before + 60_000);
    });

    it('gives the same ids for the same calls under the same seed', async () => {
      const first = await deploy({ name: 'same' });
      await start();
      const second = await deploy({ name: 'same' });
      expect(second).to.deep.equal(first);
    });
  });

  describe('guests', () => {
    it("hands a Running VM's template, address and decoded user data to its guest, and halts it on destroy", async () => {
      const events: Array<[string, GuestVm | string]> = [];
      const guest: Guest = { start: (v) => void events.push(['start', v]), stop: (id) => void events.push(['stop', id]) };
      const fixtures = shippedFixtures();
      fixtures['templates'][0].guest = 'recorder';
      await start({ fixtures: parseFixtures(fixtures), guests: new Map([['recorder', guest]]) });
      const id = await running({ name: 'g1', userdata: Buffer.from('#cloud-config\nwrite_files: []\n').toString('base64') });
      await passTime(clock, 0);
      const [[what, started]] = events as Array<[string, GuestVm]>;
      const { admits, ...vm } = started;
      expect([what, vm]).to.deep.equal([
        'start',
        {
          id,
          name: 'g1',
          template: 'ubuntu-22.04-mesos',
          address: t.network.address(1, 2),
          userData: '#cloud-config\nwrite_files: []\n',
          cpus: 2,
          memoryMb: 4096,
        },
      ]);
      expect(admits('127.0.0.1', 22), 'zone 1 has security groups: the default group lets nothing in').to.equal(false);
      const group = (await t.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: 'default' })).inner['securitygroup'][0];
      await t.api(DEMO_KEYS, 'authorizeSecurityGroupIngress', {
        securitygroupid: group.id,
        protocol: 'tcp',
        startport: '22',
        endport: '22',
        cidrlist: '127.0.0.1/32',
      });
      await passTime(clock, TIMING.securityGroupMs);
      expect([admits('127.0.0.1', 22), admits('127.0.0.1', 23), admits('127.0.0.2', 22)], 'as its rules stand now').to.deep.equal([true, false, false]);
      await t.api(DEMO_KEYS, 'destroyVirtualMachine', { id });
      await passTime(clock, TIMING.destroyMs);
      expect(events[1]).to.deep.equal(['stop', id]);
    });

    it('boots the guest with user data set by updateVirtualMachine while the VM was stopped', async () => {
      const events: GuestVm[] = [];
      const fixtures = shippedFixtures();
      fixtures['templates'][0].guest = 'recorder';
      await start({
        fixtures: parseFixtures(fixtures),
        guests: new Map([['recorder', { start: (v: GuestVm) => void events.push(v), stop: () => undefined }]]),
      });
      const { id } = await deploy({ name: 'late', startvm: 'false' });
      await passTime(clock, 1000);
      expect((await vm(id))!['state']).to.equal('Stopped');
      const updated = await t.api(DEMO_KEYS, 'updateVirtualMachine', { id, userdata: Buffer.from('#cloud-config\n').toString('base64') });
      expect(updated.inner['virtualmachine'].id).to.equal(id);
      expect((await t.api(DEMO_KEYS, 'updateVirtualMachine', { id, userdata: '***' })).inner['errortext']).to.equal('User data is not base64 encoded');
      await t.api(DEMO_KEYS, 'startVirtualMachine', { id });
      await passTime(clock, 1500);
      expect(events.map((e) => e.userData)).to.deep.equal(['#cloud-config\n']);
    });

    it('refuses fixtures naming a guest nobody registered', async () => {
      const fixtures = shippedFixtures();
      fixtures['templates'][0].guest = 'unknown-guest';
      let message = '';
      try {
        await start({ fixtures: parseFixtures(fixtures) });
      } catch (error) {
        message = (error as Error).message;
        await start();
      }
      expect(message).to.match(/wants guest "unknown-guest"/);
    });
  });
});
