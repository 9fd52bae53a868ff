/**
 * Autoscaling benchmark: the service manager with its embedded simulator
 * (50x faster than the wall clock) and the process runtime runs an
 * autoscaled cluster of 1 master and 1 agent (4 cpus). A burst of 1-cpu
 * tasks arrives; it prints how long until the autoscaler decided, until
 * every task ran, and how many resizes that took, each as a ratio to what
 * adding one agent physically takes in the simulator (a VM deploy, the
 * agent's start and, on average, its registration). Then the tasks go and
 * it prints how long the cluster took to shrink back to one agent, drained.
 * The autoscaler looks on the shipped schedule; the sustain time and the
 * cooldown are 0 so that one run takes seconds. Prints figures; asserts
 * nothing.
 *
 *   npm run bench:autoscale
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../lib/logger.js';
import { startServiceManager, type ServiceManager } from '../service-manager/start.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { marathonOf } from '../test/support/marathon.js';
import { FIXTURES } from './orchestrated.js';
import { shippedConfig } from './shipped-config.js';

const SCALE = 50;
const DEMO = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' };
const KIND = 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"; class="kind"';
const BURSTS = [6, 20];

type Attributes = Record<string, string | number | boolean>;

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function attributes(sm: ServiceManager, id: string): Promise<Attributes> {
  const reply = await fetch(`${sm.url}/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
  return ((await reply.json()) as { attributes: Attributes }).attributes;
}

async function until(sm: ServiceManager, id: string, done: (a: Attributes) => boolean): Promise<number> {
  for (;;) {
    const now = await attributes(sm, id);
    if (now['mcn.service.state'] === 'failed') throw new Error(`${id} failed: ${String(now['mcn.service.state.message'])}`);
    if (done(now)) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One agent added, in simulated ms: its VM's deploy, the agent's start and, on average, its registration. */
function agentAddMs(): number {
  const { timing, mesos } = loadFixtures(FIXTURES);
  return timing.deployMs + mesos.agentStartMs + mesos.registrationBackoffMs / 2;
}

const resizes = (sm: ServiceManager, uid: string, since: number): number =>
  sm.registry.events(uid).filter((e) => e.actor === 'autoscaler' && e.type === 'updated' && e.time >= since).length;

async function burst(sm: ServiceManager, tasks: number): Promise<void> {
  const id = `burst-${tasks}`;
  const created = await fetch(`${sm.url}/mesos/${id}`, {
    method: 'PUT',
    headers: {
      ...DEMO,
      Category: KIND,
      'Content-Type': 'text/occi',
      'X-OCCI-Attribute': 'mesos.agents=1, mesos.autoscale=true, mesos.autoscale.max=10, mesos.autoscale.cooldown_s=0',
    },
  });
  if (created.status !== 201) throw new Error(`create ${id}: ${created.status} ${await created.text()}`);
  await until(sm, id, (a) => a['mcn.service.state'] === 'ready');
  const uid = sm.registry.find('demo', id)!.uid;
  const marathon = marathonOf(await attributes(sm, id));
  const start = Date.now();
  await marathon('/v2/apps', { method: 'POST', body: { id: '/burst', cmd: 'sleep 100000', cpus: 1, mem: 64, instances: tasks } });
  const decided = await until(sm, id, (a) => a['mcn.service.state'] === 'update');
  const running = await until(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.tasks.running'] === tasks);
  const grown = await attributes(sm, id);
  const out = resizes(sm, uid, start);
  const drainStart = Date.now();
  await marathon('/v2/apps/burst', { method: 'DELETE' });
  const shrunk = await until(sm, id, (a) => a['mcn.service.state'] === 'ready' && a['mesos.agents.active'] === 1);
  const add = agentAddMs() / SCALE;
  console.log(
    `${String(tasks).padStart(3)} tasks: decided after ${s(decided - start)}, all running after ${s(running - start)} ` +
      `(${((running - decided) / add).toFixed(2)}x adding one agent from the decision) with ${String(grown['mesos.agents'])} agents in ${out} resize(s); ` +
      `back to 1 agent after ${s(shrunk - drainStart)} in ${resizes(sm, uid, drainStart)} resize(s)`,
  );
  await fetch(`${sm.url}/mesos/${id}`, { method: 'DELETE', headers: DEMO });
  await until(sm, id, () => sm.registry.find('demo', id) === undefined).catch(() => undefined);
}

const dir = mkdtempSync(join(tmpdir(), 'bench-autoscale-'));
const config = shippedConfig(dir, { SM_CLOUDSTACK_TIME_SCALE: String(SCALE), SM_RECONCILER_AUTOSCALE_SUSTAIN_S: '0' });
const logger = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
const sm = await startServiceManager(config, { logger });
try {
  console.log(
    `simulated time runs ${SCALE}x faster than the wall clock; the autoscaler looks on "${config.reconciler.schedules.autoscale}" (wall clock); ` +
      `adding one agent takes ${(agentAddMs() / 1000).toFixed(1)} s simulated, ${s(agentAddMs() / SCALE)} wall`,
  );
  for (const tasks of BURSTS) await burst(sm, tasks);
} finally {
  await sm.close();
  rmSync(dir, { recursive: true, force: true });
}
