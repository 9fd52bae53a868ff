import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseConfig } from '../../service-manager/config/load.js';
import { startServiceManager, type ServiceManager } from '../../service-manager/start.js';
import { claimNetwork, onNetwork } from './networks.js';
import { shippedFixtures } from './simulator.js';
import { baseConfig, removeDir } from './sm.js';

/** A whole service manager as `npm start` runs one, on this run's own network, 50 times faster, orchestrators as processes. */
export interface EmbeddedSm {
  /** The service manager running now (a restart makes a new one). */
  readonly sm: ServiceManager;
  readonly dir: string;
  /** Stops it and starts another on the same registry, as after a crash or an upgrade. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The sm.cfg of such a service manager keeping everything in `dir`, where `simulator.json` must be. */
export function embeddedConfig(dir: string): string {
  return [
    ...baseConfig(join(dir, 'registry.db')),
    'time_scale = 50',
    '[so_runtime]',
    'type = process',
    `process_dir = ${join(dir, 'so')}`,
    '[pipeline]',
    'poll_min_ms = 20',
    'poll_max_ms = 250',
    '[simulator]',
    `fixtures = ${join(dir, 'simulator.json')}`,
    'listen = 127.0.0.1:0',
  ].join('\n');
}

export async function startEmbeddedSm(): Promise<EmbeddedSm> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-embedded-'));
  const network = claimNetwork();
  writeFileSync(join(dir, 'simulator.json'), JSON.stringify(onNetwork(shippedFixtures(), network)));
  const start = (): Promise<ServiceManager> =>
    startServiceManager(parseConfig(embeddedConfig(dir), join(dir, 'sm.cfg'), {}, dir), { logger: createMemoryLogger().logger });
  let sm = await start();
  return {
    get sm() {
      return sm;
    },
    dir,
    restart: async () => {
      await sm.close();
      sm = await start();
    },
    close: async () => {
      await sm.close();
      network.release();
      removeDir(dir);
    },
  };
}
