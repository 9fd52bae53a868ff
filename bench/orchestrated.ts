/**
 * What the cluster benchmarks share: a simulator on a network of its own
 * (so two benchmarks or a test run at once never reach each other's guests)
 * and one orchestrator driving it, started in this process on one scaled
 * clock, and the hurtle calls that move the orchestrator through its
 * lifecycle.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SystemTimers } from '../lib/clock.js';
import { SO_SCHEME } from '../lib/hurtle/protocol.js';
import { createLogger } from '../lib/logger.js';
import { readSoConfig, type SoConfig } from '../service-orchestrator/config.js';
import { startOrchestrator } from '../service-orchestrator/start.js';
import { parseFixtures } from '../simulator/fixtures.js';
import { startSimulator } from '../simulator/simulator.js';
import { claimNetwork, onNetwork } from '../test/support/networks.js';

export const FIXTURES = fileURLToPath(new URL('../../etc/simulator.json', import.meta.url));
const HEADERS = { 'X-Auth-Token': 't', 'X-Tenant-Name': 'admin' };

export interface Orchestrated {
  readonly timers: SystemTimers;
  readonly config: SoConfig;
  readonly simUrl: string;
  readonly soUrl: string;
  close(): Promise<void>;
}

export async function startOrchestrated(id: string, masters: number, agents: number, scale: number): Promise<Orchestrated> {
  const timers = new SystemTimers(scale);
  const network = claimNetwork();
  const fixtures = parseFixtures(onNetwork(JSON.parse(readFileSync(FIXTURES, 'utf8')), network), FIXTURES);
  const sim = await startSimulator({ fixtures, timers, port: 0, control: true });
  const config = readSoConfig({
    SO_INSTANCE_ID: id,
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
  return {
    timers,
    config,
    simUrl: sim.url,
    soUrl: so.server.url,
    close: async () => {
      await so.close();
      await sim.close();
      network.release();
    },
  };
}

export type Attributes = Record<string, string | number>;

export async function stackAttributes(soUrl: string): Promise<Attributes> {
  const reply = await fetch(`${soUrl}/orchestrator/default`, { headers: { ...HEADERS, Accept: 'application/occi+json' } });
  return ((await reply.json()) as { attributes: Attributes }).attributes;
}

/** One hurtle call on the orchestrator's instance, e.g. `act(url, 'POST', '/orchestrator/default?action=deploy', 'deploy')`. */
export async function act(soUrl: string, method: string, path: string, category: string): Promise<void> {
  const reply = await fetch(`${soUrl}${path}`, {
    method,
    headers: { ...HEADERS, 'Content-Type': 'text/occi', Category: `${category}; scheme="${SO_SCHEME}"` },
  });
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${await reply.text()}`);
}
