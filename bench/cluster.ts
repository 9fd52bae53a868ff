/**
 * Cluster benchmark: builds clusters of several sizes with a service
 * orchestrator against the simulator and its emulated Mesos, and prints how
 * long each phase took in simulated time (the simulator's default timing:
 * deploy 3 s, daemons starting in seconds, Marathon in 20 s), how many
 * CloudStack calls each cluster cost, and the wall time at the simulator's
 * speed-up. Prints figures; asserts nothing.
 *
 *   npm run bench:cluster
 */
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SystemTimers } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { readSoConfig } from '../service-orchestrator/config.js';
import { startOrchestrator } from '../service-orchestrator/start.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { startSimulator } from '../simulator/simulator.js';

const FIXTURES = fileURLToPath(new URL('../../etc/simulator.json', import.meta.url));
const SCALE = 10;
const SIZES: ReadonlyArray<[number, number]> = [
  [1, 3],
  [3, 5],
  [5, 20],
];

async function settle(url: string, timers: SystemTimers): Promise<{ state: string; message: string; at: number }> {
  for (;;) {
    const reply = await fetch(`${url}/orchestrator/default`, { headers: { 'X-Auth-Token': 't', 'X-Tenant-Name': 'admin', Accept: 'application/occi+json' } });
    const attributes = ((await reply.json()) as { attributes: Record<string, string> }).attributes;
    const state = attributes['occi.mcn.stack.state']!;
    if (!state.endsWith('_IN_PROGRESS')) return { state, message: attributes['occi.mcn.stack.message']!, at: timers.now() };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function act(url: string, method: string, path: string, category: string): Promise<void> {
  const reply = await fetch(`${url}${path}`, {
    method,
    headers: {
      'X-Auth-Token': 't',
      'X-Tenant-Name': 'admin',
      'Content-Type': 'text/occi',
      Category: `${category}; scheme="http://schemas.mobile-cloud-networking.eu/occi/service#"`,
    },
  });
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${await reply.text()}`);
}

async function main(): Promise<void> {
  console.log(`simulated time runs ${SCALE}x faster than the wall clock`);
  for (const [masters, agents] of SIZES) {
    const timers = new SystemTimers(SCALE);
    const sim = await startSimulator({ fixtures: loadFixtures(FIXTURES), timers, port: 0 });
    const config = readSoConfig({
      SO_INSTANCE_ID: `bench-${masters}-${agents}`,
      SO_TENANT: 'admin',
      SO_LISTEN: '127.0.0.1:0',
      SO_CLOUDSTACK_ENDPOINT: sim.url,
      SO_CLOUDSTACK_API_KEY: 'admin-api-key',
      SO_CLOUDSTACK_SECRET_KEY: 'admin-secret-key',
      SO_PARAMETERS: JSON.stringify({
        'mesos.masters': masters,
        'mesos.agents': agents,
        'cloudstack.zone': 'sim-zone-1',
        'cloudstack.template': 'ubuntu-22.04-mesos',
        'cloudstack.offering.master': 'medium',
        'cloudstack.offering.agent': 'small',
      }),
    });
    const silent = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
    const so = await startOrchestrator(config, silent, timers);
    const url = so.server.url;
    const wall = performance.now();
    const start = timers.now();
    await act(url, 'PUT', '/orchestrator/default', 'orchestrator');
    await act(url, 'POST', '/orchestrator/default?action=deploy', 'deploy');
    const deployed = await settle(url, timers);
    await act(url, 'POST', '/orchestrator/default?action=provision', 'provision');
    const provisioned = await settle(url, timers);
    const wallMs = performance.now() - wall;
    const calls = ((await (await fetch(`${sim.url}/sim/jobs`)).json()) as unknown[]).length;
    await act(url, 'DELETE', '/orchestrator/default', 'orchestrator');
    const deleted = await settle(url, timers);
    console.log(
      `${masters} masters + ${String(agents).padStart(2)} agents: deploy ${((deployed.at - start) / 1000).toFixed(1)} s, ` +
        `ready after ${((provisioned.at - start) / 1000).toFixed(1)} s (${provisioned.state}), ` +
        `delete ${((deleted.at - provisioned.at) / 1000).toFixed(1)} s simulated; ` +
        `${(calls / (masters + agents)).toFixed(1)} CloudStack jobs per VM; ${wallMs.toFixed(0)} ms wall`,
    );
    await so.close();
    await sim.close();
  }
}

await main();
