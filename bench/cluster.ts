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
import type { SystemTimers } from '../lib/clock.js';
import { act, stackAttributes, startOrchestrated } from './orchestrated.js';

const SCALE = 10;
const SIZES: ReadonlyArray<[number, number]> = [
  [1, 3],
  [3, 5],
  [5, 20],
];

async function settle(url: string, timers: SystemTimers): Promise<{ state: string; message: string; at: number }> {
  for (;;) {
    const attributes = await stackAttributes(url);
    const state = String(attributes['occi.mcn.stack.state']);
    if (!state.endsWith('_IN_PROGRESS')) return { state, message: String(attributes['occi.mcn.stack.message']), at: timers.now() };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main(): Promise<void> {
  console.log(`simulated time runs ${SCALE}x faster than the wall clock`);
  for (const [masters, agents] of SIZES) {
    const cluster = await startOrchestrated(`bench-${masters}-${agents}`, masters, agents, SCALE);
    const { timers, soUrl: url } = cluster;
    const wall = performance.now();
    const start = timers.now();
    await act(url, 'PUT', '/orchestrator/default', 'orchestrator');
    await act(url, 'POST', '/orchestrator/default?action=deploy', 'deploy');
    const deployed = await settle(url, timers);
    await act(url, 'POST', '/orchestrator/default?action=provision', 'provision');
    const provisioned = await settle(url, timers);
    const wallMs = performance.now() - wall;
    const calls = ((await (await fetch(`${cluster.simUrl}/sim/jobs`)).json()) as unknown[]).length;
    await act(url, 'DELETE', '/orchestrator/default', 'orchestrator');
    const deleted = await settle(url, timers);
    console.log(
      `${masters} masters + ${String(agents).padStart(2)} agents: deploy ${((deployed.at - start) / 1000).toFixed(1)} s, ` +
        `ready after ${((provisioned.at - start) / 1000).toFixed(1)} s (${provisioned.state}), ` +
        `delete ${((deleted.at - provisioned.at) / 1000).toFixed(1)} s simulated; ` +
        `${(calls / (masters + agents)).toFixed(1)} CloudStack jobs per VM; ${wallMs.toFixed(0)} ms wall`,
    );
    await cluster.close();
  }
}

await main();
