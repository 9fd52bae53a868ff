/**
 * Cluster benchmark: the service manager with its embedded simulator and
 * emulated Mesos creates clusters of 1+3, 3+30 and 3+100 nodes through
 * OCCI, one at a time, and deletes them. It prints create-to-ready against
 * the physical limit the timing settings impose (a VM deployed and running,
 * then the slowest daemon chain and the smoke task) and the CloudStack calls
 * each create and delete cost, by command, against 2·VMs + 20. Prints
 * figures; asserts nothing.
 *
 *   npm run bench:cluster [-- --scale N] [--sizes 1+3,3+30,3+100]
 *
 * At scale 1 (the default) simulated and wall time agree, so the
 * orchestrator's own start counts as it would against a real cloud.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/logger.js';
import { startServiceManager } from '../service-manager/start.js';
import { DEFAULT_MESOS_TIMING, type MesosTiming } from '../simulator/mesos/timing.js';
import { DEFAULT_TIMING, type Timing } from '../simulator/fixtures.js';
import { claimNetwork, onNetwork } from '../test/support/networks.js';
import { ETC, shippedConfig } from './shipped-config.js';

const DEMO = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' };
const KIND = 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"; class="kind"';

type Calls = Record<string, number>;

/** The shortest create-to-ready the cloud and the daemons allow, whatever the orchestration. */
export function physicalLimitMs(cloud: Timing, mesos: MesosTiming): number {
  const masters = mesos.zookeeperStartMs + mesos.masterStartMs + mesos.electionMs;
  const agents = mesos.agentStartMs + mesos.agentRecoveryMs + mesos.registrationBackoffMs;
  const marathon = mesos.marathonStartMs + mesos.marathonElectionMs;
  return cloud.deployMs + Math.max(masters, agents, marathon) + mesos.taskStagingMs;
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const reply = await fetch(url, init);
  const text = await reply.text();
  const body: unknown = text && reply.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  return { status: reply.status, body };
}

async function state(base: string, id: string): Promise<string | undefined> {
  const reply = await json(`${base}/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
  if (reply.status === 404) return undefined;
  return String((reply.body as { attributes: Record<string, unknown> }).attributes['mcn.service.state']);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function calls(simUrl: string): Promise<Calls> {
  return ((await json(`${simUrl}/sim/calls`)).body as Record<string, Calls>)['demo'] ?? {};
}

function spent(before: Calls, after: Calls): Calls {
  const counts: Array<[string, number]> = Object.entries(after).map(([command, n]) => [command, n - (before[command] ?? 0)]);
  return Object.fromEntries(counts.filter(([, n]) => n > 0));
}

function total(counts: Calls): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

function byCommand(counts: Calls): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([command, n]) => `${command} ${n}`)
    .join(', ');
}

function fixturesFor(dir: string): { file: string; release: () => void } {
  const network = claimNetwork();
  const doc = onNetwork(JSON.parse(readFileSync(join(ETC, 'simulator.json'), 'utf8')), network);
  // The bench's own account limits: a 3+100 cluster of the shipped offerings is far above the demo account's.
  doc['accounts'] = (doc['accounts'] as Array<Record<string, unknown>>).map((a) =>
    a['name'] === 'demo' ? { ...a, limits: { user_vm: 500, cpu: 5000, memory: 10_000_000 } } : a,
  );
  const file = join(dir, 'simulator.json');
  writeFileSync(file, JSON.stringify(doc));
  return { file, release: () => network.release() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, sizes: { type: 'string', default: '1+3,3+30,3+100' } } });
  const scale = Number(values.scale);
  const sizes = values.sizes.split(',').map((s) => s.split('+').map(Number) as [number, number]);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const fixtures = fixturesFor(dir);
  const config = shippedConfig(dir, { SM_SIMULATOR_FIXTURES: fixtures.file, SM_CLOUDSTACK_TIME_SCALE: String(scale) });
  const logger = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
  const sm = await startServiceManager(config, { logger });
  const simUrl = sm.cloudstackUrl;
  const limit = physicalLimitMs(DEFAULT_TIMING, DEFAULT_MESOS_TIMING);
  console.log(`simulated time runs ${scale}x the wall clock; physical limit of create-to-ready ${(limit / 1000).toFixed(1)} s (deploy, daemons, smoke task)`);
  try {
    for (const [masters, agents] of sizes) {
      const id = `bench-${masters}-${agents}`;
      const vms = masters + agents;
      const before = await calls(simUrl);
      const started = performance.now();
      const reply = await json(`${sm.url}/mesos/${id}`, {
        method: 'PUT',
        headers: { ...DEMO, Category: KIND, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': `mesos.masters=${masters}, mesos.agents=${agents}` },
      });
      if (reply.status !== 201) throw new Error(`create ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
      await until(async () => {
        const now = await state(sm.url, id);
        if (now === 'failed') throw new Error(`${id} failed`);
        return now === 'ready';
      });
      const readyMs = (performance.now() - started) * scale;
      const created = spent(before, await calls(simUrl));
      const uid = sm.registry.find('demo', id)!.uid;
      const events = sm.registry.events(uid).filter((e) => e.type === 'created' || e.type === 'state_changed');
      // The registry keeps wall time: scaled like the rest, so the phases add up to the time to ready.
      const phases = events.slice(1).map((e, i) => `${events[i].state} ${(((e.time - events[i].time) * scale) / 1000).toFixed(1)} s`);
      const deleting = performance.now();
      await json(`${sm.url}/mesos/${id}`, { method: 'DELETE', headers: DEMO });
      await until(async () => (await state(sm.url, id)) === undefined);
      const deleteMs = (performance.now() - deleting) * scale;
      const deleted = spent(before, await calls(simUrl));
      for (const [command, n] of Object.entries(created)) deleted[command] = (deleted[command] ?? 0) - n;
      const goal = 2 * vms + 20;
      console.log(
        `\n${masters}+${agents}: ready in ${(readyMs / 1000).toFixed(1)} s = ${(readyMs / limit).toFixed(2)} x the limit (${phases.join(', ')}); deleted in ${(deleteMs / 1000).toFixed(1)} s` +
          `\n  create: ${total(created)} CloudStack calls = ${(total(created) / goal).toFixed(2)} x 2·VMs+20 (${goal}): ${byCommand(created)}` +
          `\n  delete: ${total(spent({}, deleted))} calls: ${byCommand(spent({}, deleted))}`,
      );
    }
  } finally {
    for (const so of (await sm.pipeline?.runtime.list()) ?? []) await sm.pipeline!.runtime.remove(so.uid);
    await sm.close();
    fixtures.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
