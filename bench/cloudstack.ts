/**
 * CloudStack client and simulator benchmark: signing cost, simulator API
 * throughput, and what deploying and destroying a batch of VMs costs in API
 * calls and time. Prints figures; asserts nothing.
 *
 *   npm run bench:cloudstack
 */
import { fileURLToPath } from 'node:url';
import { SystemTimers } from '../lib/clock.js';
import { connectCloudStack } from '../lib/cloudstack/index.js';
import { sign } from '../lib/cloudstack/sign.js';
import { AxiosTransport, type HttpRequest, type Transport } from '../lib/cloudstack/transport.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { startSimulator } from '../simulator/simulator.js';

const FIXTURES = fileURLToPath(new URL('../../etc/simulator.json', import.meta.url));
const SCALE = 200;
const VMS = 60;

class CountingTransport implements Transport {
  calls = 0;
  private readonly inner = new AxiosTransport();

  send(request: HttpRequest) {
    this.calls++;
    return this.inner.send(request);
  }
}

function signing(): void {
  const params = {
    command: 'deployVirtualMachine',
    response: 'json',
    apikey: 'demo-api-key',
    signatureversion: '3',
    expires: '2030-01-01T00:00:00+0000',
    name: 'mesos-agent-12',
    zoneid: 'f7f6fabe-b32a-4cb0-85d3-9cdac97788c1',
    templateid: '7d47e665-a945-44bc-8389-7c295a6e4db9',
    serviceofferingid: 'c1498643-24cb-42fa-b376-f2c59c584ad9',
    userdata: Buffer.alloc(6000, 'x').toString('base64'),
  };
  const rounds = 20_000;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) sign(params, 'demo-secret-key');
  const us = ((performance.now() - started) * 1000) / rounds;
  console.log(`signing a deploy with 8 KB of user data: ${us.toFixed(1)} µs per request`);
}

async function main(): Promise<void> {
  signing();
  const timers = new SystemTimers(SCALE);
  const sim = await startSimulator({ fixtures: loadFixtures(FIXTURES), timers, port: 0, seed: 1 });
  const transport = new CountingTransport();
  const cs = connectCloudStack({
    endpoint: sim.url,
    apiKey: 'admin-api-key',
    secretKey: 'admin-secret-key',
    timers,
    transport,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
  });
  try {
    const zone = await cs.discovery.zone('sim-zone-1');
    const template = await cs.discovery.template('ubuntu-22.04-mesos', zone.id);
    const offering = await cs.discovery.serviceOffering('small');
    const where = { zoneId: zone.id, templateId: template.id, serviceOfferingId: offering.id };
    const one = performance.now();
    const single = await cs.vms.deploy({ name: 'bench-single', ...where, tags: { owner: 'single' } }, { deadlineMs: 600_000 });
    const oneMs = performance.now() - one;
    await cs.vms.destroy(single.id, { deadlineMs: 600_000 });
    const before = transport.calls;
    const wall = performance.now();
    const vms = await Promise.all(
      Array.from({ length: VMS }, (_, i) =>
        cs.vms.deploy({ name: `bench-${i}`, ...where, userData: '#cloud-config\n', tags: { owner: 'bench', slot: String(i) } }, { deadlineMs: 600_000 }),
      ),
    );
    const batchMs = performance.now() - wall;
    console.log(
      `deploy 1 VM: ${oneMs.toFixed(0)} ms; ${VMS} VMs at once: ${batchMs.toFixed(0)} ms ` +
        `(${(batchMs / oneMs).toFixed(1)}x one VM, at ${SCALE}x simulated speed); ${((transport.calls - before) / VMS).toFixed(1)} API calls per VM`,
    );
    const listStart = performance.now();
    const rounds = 50;
    for (let i = 0; i < rounds; i++) await cs.vms.list({ tags: { owner: 'bench' } });
    console.log(`list ${VMS} VMs by tag: ${((performance.now() - listStart) / rounds).toFixed(2)} ms per listing`);
    const pollStart = performance.now();
    const polls = 1000;
    const { jobid } = await cs.client.request<{ jobid: string }>('stopVirtualMachine', { id: vms[0].id });
    for (let i = 0; i < polls; i++) await cs.client.request('queryAsyncJobResult', { jobid });
    const perPoll = (performance.now() - pollStart) / polls;
    console.log(`simulator: ${(1000 / perPoll).toFixed(0)} signed calls/s sequentially (queryAsyncJobResult, ${perPoll.toFixed(2)} ms each)`);
    const destroyStart = transport.calls;
    await Promise.all(vms.map((vm) => cs.vms.destroy(vm.id, { deadlineMs: 600_000 })));
    console.log(`destroy ${VMS} VMs with expunge: ${((transport.calls - destroyStart) / VMS).toFixed(1)} API calls per VM`);
  } finally {
    await sim.close();
  }
}

await main();
