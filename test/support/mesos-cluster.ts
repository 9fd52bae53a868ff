import type { ManualClock } from '../../lib/clock.js';
import type { ClusterCredentials } from '../../lib/cluster/credentials.js';
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

/**
 * A security group that lets anything on loopback in: these clusters are
 * built by hand, and zone 1's default group (like CloudStack's) lets
 * nothing in.
 */
async function openGroup(t: TestSimulator, clock: ManualClock): Promise<string> {
  const existing = (await t.api(DEMO_KEYS, 'listSecurityGroups', { securitygroupname: 'open' })).inner['securitygroup'];
  if (existing?.[0]) return existing[0].id;
  const group = (await t.api(DEMO_KEYS, 'createSecurityGroup', { name: 'open' })).inner['securitygroup'];
  await t.api(DEMO_KEYS, 'authorizeSecurityGroupIngress', { securitygroupid: group.id, protocol: 'all', cidrlist: '127.0.0.0/8' });
  await passTime(clock, 1000);
  return group.id;
}

async function vm(t: TestSimulator, clock: ManualClock, name: string, group: string): Promise<{ id: string; address: string }> {
  const reply = await t.api(DEMO_KEYS, 'deployVirtualMachine', {
    zoneid: ZONE_1,
    templateid: MESOS_TEMPLATE,
    serviceofferingid: MEDIUM,
    name,
    startvm: 'false',
    securitygroupids: group,
  });
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
export interface ClusterOptions {
  readonly marathon?: boolean;
  readonly agentZk?: string;
  /** The cluster's credentials, which its masters then demand. */
  readonly credentials?: ClusterCredentials;
  /** What each agent authenticates with, when not the cluster's. */
  readonly agentCredentials?: ReadonlyArray<ClusterCredentials | undefined>;
}

export async function emulatedCluster(
  t: TestSimulator,
  clock: ManualClock,
  masters: number,
  agents: number,
  options: ClusterOptions = {},
): Promise<EmulatedCluster> {
  const group = await openGroup(t, clock);
  const masterVms = await Promise.all(Array.from({ length: masters }, (_, i) => vm(t, clock, `m${i + 1}`, group)));
  const agentVms = await Promise.all(Array.from({ length: agents }, (_, i) => vm(t, clock, `a${i + 1}`, group)));
  const addresses = masterVms.map((m) => m.address);
  for (const [i, m] of masterVms.entries()) {
    const credentials = options.credentials ? { credentials: options.credentials } : {};
    await boot(
      t,
      clock,
      m.id,
      renderUserData({
        slot: { role: 'master', index: i + 1 },
        address: m.address,
        masterAddresses: addresses,
        cluster: 'test',
        marathon: options.marathon ?? true,
        nodeName: `m${i + 1}`,
        ...credentials,
      }),
    );
  }
  for (const [i, a] of agentVms.entries()) {
    const own = options.agentCredentials && i < options.agentCredentials.length ? options.agentCredentials[i] : options.credentials;
    let text = renderUserData({
      slot: { role: 'agent', index: i + 1 },
      address: a.address,
      masterAddresses: addresses,
      cluster: 'test',
      marathon: true,
      nodeName: `a${i + 1}`,
      ...(own ? { credentials: own } : {}),
    });
    if (options.agentZk) text = text.replace(/zk:\/\/[^\n]+\/mesos/, options.agentZk);
    await boot(t, clock, a.id, text);
  }
  return { masters: addresses, agents: agentVms.map((a) => a.address), masterVms, agentVms };
}
