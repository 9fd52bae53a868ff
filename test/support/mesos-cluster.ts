import type { ManualClock } from '../../lib/clock.js';
import { renderUserData } from '../../service-orchestrator/cluster/user-data.js';
import { DEMO_KEYS, MEDIUM, MESOS_TEMPLATE, ZONE_1, type TestSimulator } from './simulator.js';
import { passTime } from './time.js';

/** Generous simulated time for every daemon to start, elect, recover and register. */
export const BOOT_MS = 60_000;

export interface EmulatedCluster {
  readonly masters: string[];
  readonly agents: string[];
  readonly masterVms: Array<{ id: string; address: string }>;
  readonly agentVms: Array<{ id: string; address: string }>;
}

async function vm(t: TestSimulator, clock: ManualClock, name: string): Promise<{ id: string; address: string }> {
  const reply = await t.api(DEMO_KEYS, 'deployVirtualMachine', { zoneid: ZONE_1, templateid: MESOS_TEMPLATE, serviceofferingid: MEDIUM, name, startvm: 'false' });
  await passTime(clock, 1000);
  const listed = (await t.api(DEMO_KEYS, 'listVirtualMachines', { id: reply.inner['id'] })).inner['virtualmachine'][0];
  return { id: listed.id, address: listed.nic[0].ipaddress };
}

async function boot(t: TestSimulator, clock: ManualClock, id: string, userData: string): Promise<void> {
  await t.api(DEMO_KEYS, 'updateVirtualMachine', { id, userdata: Buffer.from(userData).toString('base64') });
  await t.api(DEMO_KEYS, 'startVirtualMachine', { id });
  await passTime(clock, 1500);
}

/** Builds masters and agents (medium VMs: 2 cpus, 3 GB for tasks) through the simulated cloud, with the orchestrator's own user data. */
export async function emulatedCluster(t: TestSimulator, clock: ManualClock, masters: number, agents: number, options: { marathon?: boolean; agentZk?: string } = {}): Promise<EmulatedCluster> {
  const masterVms = await Promise.all(Array.from({ length: masters }, (_, i) => vm(t, clock, `m${i + 1}`)));
  const agentVms = await Promise.all(Array.from({ length: agents }, (_, i) => vm(t, clock, `a${i + 1}`)));
  const addresses = masterVms.map((m) => m.address);
  for (const [i, m] of masterVms.entries()) {
    await boot(t, clock, m.id, renderUserData({ slot: { role: 'master', index: i + 1 }, address: m.address, masterAddresses: addresses, cluster: 'test', marathon: options.marathon ?? true, nodeName: `m${i + 1}` }));
  }
  for (const [i, a] of agentVms.entries()) {
    let text = renderUserData({ slot: { role: 'agent', index: i + 1 }, address: a.address, masterAddresses: addresses, cluster: 'test', marathon: true, nodeName: `a${i + 1}` });
    if (options.agentZk) text = text.replace(/zk:\/\/[^\n]+\/mesos/, options.agentZk);
    await boot(t, clock, a.id, text);
  }
  return { masters: addresses, agents: agentVms.map((a) => a.address), masterVms, agentVms };
}
