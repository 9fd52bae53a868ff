import { expect } from 'chai';
import { SystemTimers } from '../../lib/clock.js';
import { CloudResourceNotFound, CloudStackError, CloudStackTimeout, connectCloudStack, type CloudStack, type SubmittedVm } from '../../lib/cloudstack/index.js';
import { AxiosTransport, type HttpRequest, type Transport } from '../../lib/cloudstack/transport.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseFixtures } from '../../simulator/fixtures.js';
import { shippedFixtures, startTestSimulator, type TestSimulator } from '../support/simulator.js';

/** Simulated time runs 50 times faster than the wall clock, for client and simulator alike. */
const SCALE = 50;
const DEADLINE = 10 * 60_000;

/** Counts what the client really sends. */
class CountingTransport implements Transport {
  readonly commands: string[] = [];
  private readonly inner = new AxiosTransport();

  send(request: HttpRequest) {
    const query = request.method === 'GET' ? (request.url.split('?')[1] ?? '') : (request.body ?? '');
    this.commands.push(new URLSearchParams(query).get('command') ?? '');
    return this.inner.send(request);
  }
}

describe('CloudStack client against the simulator', () => {
  let t: TestSimulator;
  let cs: CloudStack;
  let transport: CountingTransport;
  let timers: SystemTimers;
  let log: ReturnType<typeof createMemoryLogger>;

  async function start(settings: Record<string, unknown> = {}, clientOptions: Record<string, unknown> = {}): Promise<void> {
    await t?.close();
    timers = new SystemTimers(SCALE);
    const fixtures = shippedFixtures();
    fixtures['settings'] = { ...fixtures['settings'], ...settings };
    t = await startTestSimulator({ timers, fixtures: parseFixtures(fixtures) });
    transport = new CountingTransport();
    log = createMemoryLogger();
    cs = connectCloudStack({
      endpoint: t.url,
      apiKey: 'demo-api-key',
      secretKey: 'demo-secret-key',
      timers,
      transport,
      logger: log.logger,
      ...clientOptions,
    });
  }

  beforeEach(() => start());
  afterEach(() => t.close());

  it("signs on the cloud's clock: a simulator 24 minutes ahead refuses a real-time signer and serves one on its clock", async () => {
    await t.close();
    timers = new SystemTimers(SCALE, Date.now() - 30_000);
    t = await startTestSimulator({ timers, fixtures: parseFixtures(shippedFixtures()) });
    const account = { endpoint: t.url, apiKey: 'demo-api-key', secretKey: 'demo-secret-key' };
    const refused = await connectCloudStack({ ...account, timers: new SystemTimers() })
      .discovery.zone('sim-zone-1')
      .catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(CloudStackError);
    expect((refused as CloudStackError).errorcode).to.equal(401);
    expect((await connectCloudStack({ ...account, timers }).discovery.zone('sim-zone-1')).name).to.equal('sim-zone-1');
  });

  async function placement() {
    const zone = await cs.discovery.zone('sim-zone-1');
    const template = await cs.discovery.template('ubuntu-22.04-mesos', zone.id);
    const offering = await cs.discovery.serviceOffering('medium');
    const network = await cs.discovery.network(undefined, zone.id);
    return { zoneId: zone.id, templateId: template.id, serviceOfferingId: offering.id, networkIds: [network.id] };
  }

  async function simVms(): Promise<any[]> {
    return (await t.control('GET', '/vms')).json<any[]>();
  }

  async function fault(body: Record<string, unknown>): Promise<void> {
    expect((await t.control('POST', '/faults', body)).status).to.equal(201);
  }

  describe('VMs', () => {
    it('deploys, journals the ids before waiting, tags, lists by tag and destroys without a trace', async () => {
      const journal: SubmittedVm[] = [];
      const vm = await cs.vms.deploy(
        { name: 'm-1', ...(await placement()), userData: '#cloud-config\n', tags: { 'mesos.instance': 'i-1', 'mesos.role': 'master' } },
        { deadlineMs: DEADLINE, onSubmitted: (submitted) => void journal.push(submitted) },
      );
      expect(vm.state).to.equal('Running');
      expect(journal).to.deep.equal([{ id: vm.id, jobid: journal[0].jobid }]);
      const listed = await cs.vms.list({ tags: { 'mesos.instance': 'i-1', 'mesos.role': 'master' } });
      expect(listed.map((v) => v.id)).to.deep.equal([vm.id]);
      expect(await cs.vms.list({ tags: { 'mesos.instance': 'i-1', 'mesos.role': 'agent' } })).to.deep.equal([]);
      await cs.vms.destroy(vm.id, { deadlineMs: DEADLINE });
      await cs.vms.destroy(vm.id, { deadlineMs: DEADLINE });
      const [record] = await simVms();
      expect(record).to.include({ name: 'm-1', state: 'Expunged' });
      expect(record.tags).to.deep.equal({ 'mesos.instance': 'i-1', 'mesos.role': 'master' });
      expect(transport.commands.filter((c) => c === 'deployVirtualMachine')).to.have.length(1);
      expect(transport.commands).to.include('createTags');
    });

    it('falls back to a plain destroy when the account may not expunge', async () => {
      await start({ allowUserExpungeRecoverVm: false });
      const vm = await cs.vms.deploy({ name: 'm-2', ...(await placement()), tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
      await cs.vms.destroy(vm.id, { deadlineMs: DEADLINE });
      expect((await simVms())[0].state).to.equal('Destroyed');
      expect(await cs.vms.get(vm.id)).to.equal(undefined);
    });

    it('creates a VM stopped, sets its user data once its address is known, then starts it', async () => {
      const created = await cs.vms.deploy({ name: 'late', ...(await placement()), startVm: false, tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
      expect(created.state).to.equal('Stopped');
      expect(created.nic![0].ipaddress).to.equal(t.network.address(1, 2));
      await cs.vms.setUserData(created.id, `#cloud-config\n# my address is ${created.nic![0].ipaddress}\n`, { deadlineMs: DEADLINE });
      expect((await cs.vms.start(created.id, { deadlineMs: DEADLINE })).state).to.equal('Running');
    });

    it('starts, stops and reboots', async () => {
      const vm = await cs.vms.deploy({ name: 'm-3', ...(await placement()), tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
      expect((await cs.vms.stop(vm.id, { deadlineMs: DEADLINE })).state).to.equal('Stopped');
      expect((await cs.vms.start(vm.id, { deadlineMs: DEADLINE })).state).to.equal('Running');
      expect((await cs.vms.reboot(vm.id, { deadlineMs: DEADLINE })).state).to.equal('Running');
    });

    it('pages through lists longer than a page', async () => {
      await start({ pageSize: 2 });
      const where = await placement();
      await Promise.all([1, 2, 3, 4, 5].map((n) => cs.vms.deploy({ name: `p-${n}`, ...where, tags: { group: 'g' } }, { deadlineMs: DEADLINE })));
      expect((await cs.vms.list({ tags: { group: 'g' } })).map((v) => v.name).sort()).to.deep.equal(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    });

    it('refuses user data over the limit before sending anything', async () => {
      const where = await placement();
      const sent = transport.commands.length;
      const error = await cs.vms.deploy({ name: 'big', ...where, userData: 'x'.repeat(30_000), tags: {} }, { deadlineMs: DEADLINE }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CloudStackError);
      expect((error as CloudStackError).errortext).to.match(/over the 32768-byte limit/);
      expect(transport.commands.length).to.equal(sent);
    });

    it('works when the server enforces POST and version 3 timestamps', async () => {
      await start({ enforcePostAndTimestamps: true });
      const vm = await cs.vms.deploy({ name: 'strict', ...(await placement()), tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
      expect(vm.state).to.equal('Running');
    });
  });

  describe('discovery', () => {
    it('finds by name or id and remembers answers for a while', async () => {
      const zone = await cs.discovery.zone('sim-zone-1');
      expect((await cs.discovery.zone(zone.id)).name).to.equal('sim-zone-1');
      expect(transport.commands.filter((c) => c === 'listZones')).to.have.length(1);
      const error = await cs.discovery.template('centos', zone.id).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CloudResourceNotFound);
      expect((error as Error).message).to.equal('template "centos" not found; available: ubuntu-22.04-mesos, ubuntu-22.04');
      expect((await cs.discovery.capabilities()).cloudstackversion).to.match(/^4\./);
    });
  });

  describe('faults', () => {
    it('reports a refused deploy with its class and leaves no VM', async () => {
      await fault({
        kind: 'fail-call',
        command: 'deployVirtualMachine',
        count: 1,
        errorcode: 535,
        errortext: "Maximum number of resources of type 'user_vm' has been exceeded.",
      });
      const error = await cs.vms.deploy({ name: 'q', ...(await placement()), tags: {} }, { deadlineMs: DEADLINE }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CloudStackError);
      expect((error as CloudStackError).classification).to.equal('quota');
      expect(await simVms()).to.deep.equal([]);
    });

    it('names the VM a failed deploy job left in Error, so the caller can destroy it', async () => {
      await fault({
        kind: 'fail-job',
        command: 'deployVirtualMachine',
        count: 1,
        errorcode: 533,
        errortext: 'Unable to create a deployment for VM[User|i-2-1-VM]',
      });
      const error = (await cs.vms
        .deploy({ name: 'e', ...(await placement()), tags: { owner: 'x' } }, { deadlineMs: DEADLINE })
        .catch((e: unknown) => e)) as CloudStackError;
      expect(error).to.include({ errorcode: 533, classification: 'capacity' });
      expect((await cs.vms.get(error.resourceId!))!.state).to.equal('Error');
      await cs.vms.destroy(error.resourceId!, { deadlineMs: DEADLINE });
      expect((await simVms())[0].state).to.equal('Expunged');
    });

    it('reports exhausted capacity as a capacity error, retryable later', async () => {
      await fault({ kind: 'capacity', vms: 0 });
      const error = (await cs.vms
        .deploy({ name: 'full', ...(await placement()), tags: {} }, { deadlineMs: DEADLINE })
        .catch((e: unknown) => e)) as CloudStackError;
      expect(error).to.include({ errorcode: 533, classification: 'capacity' });
      expect((await simVms())[0].state).to.equal('Error');
    });

    for (const kind of ['drop-response', 'reset', 'proxy-error']) {
      it(`reconciles a deploy whose answer was lost (${kind}) without a second VM`, async () => {
        const where = await placement();
        await fault({ kind, command: 'deployVirtualMachine', count: 1 });
        const vm = await cs.vms.deploy({ name: 'lost', ...where, tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
        expect(vm.state).to.equal('Running');
        const all = await simVms();
        expect(all.filter((v) => v.name === 'lost')).to.have.length(1);
        expect(all[0].tags).to.deep.equal({ owner: 'x' });
      });
    }

    it('retries reads through resets, proxy errors, maintenance and slow answers', async () => {
      await fault({ kind: 'reset', command: 'listZones', count: 1 });
      await fault({ kind: 'proxy-error', command: 'listTemplates', count: 1, status: 502 });
      await fault({ kind: 'maintenance', count: 1 });
      expect((await placement()).zoneId).to.be.a('string');
      await start({}, { requestTimeoutMs: 200 });
      await fault({ kind: 'latency', command: 'listServiceOfferings', count: 1, ms: 60_000 });
      expect((await cs.discovery.serviceOffering('small')).cpunumber).to.equal(1);
      expect(log.lines.join('')).to.contain('cloudstack call will be retried');
    });

    it('gives up on a VM that never leaves Starting at the deadline', async () => {
      await fault({ kind: 'stuck-starting', count: 1 });
      const error = await cs.vms.deploy({ name: 'stuck', ...(await placement()), tags: {} }, { deadlineMs: 60_000 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CloudStackTimeout);
      expect((await simVms())[0].state).to.equal('Starting');
    });

    it('finds the outcome of a job CloudStack already forgot by looking at the VM', async () => {
      await start({ jobExpireMinutes: 0 });
      const vm = await cs.vms.deploy({ name: 'forgotten', ...(await placement()), tags: { owner: 'x' } }, { deadlineMs: DEADLINE });
      expect(vm.state).to.equal('Running');
    });
  });

  describe('rate limits', () => {
    it("rides out the server's throttling by honouring its 429s", async () => {
      await start({ throttling: { enabled: true, intervalMs: 1000, max: 5 } }, { rateLimit: { perSecond: 1000, burst: 1000 } });
      const answers = await Promise.all(Array.from({ length: 20 }, () => cs.client.request('listZones')));
      expect(answers).to.have.length(20);
      expect(log.lines.some((line) => line.includes('will be retried') && line.includes('429 The given user has reached'))).to.equal(true);
    });

    it("stays under the server's limit with its own token bucket", async () => {
      await start({ throttling: { enabled: true, intervalMs: 1000, max: 5 } }, { rateLimit: { perSecond: 2, burst: 1 } });
      await Promise.all(Array.from({ length: 12 }, () => cs.client.request('listZones')));
      expect(log.lines.join('')).to.not.contain('will be retried');
    });
  });
});
