import { randomUUID } from 'node:crypto';
import { SystemTimers, systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { serverName } from '../lib/version.js';
import { TenantsFile } from './auth/tenants-file.js';
import type { SmConfig } from './config/load.js';
import { createApp } from './http/app.js';
import { listen } from '../lib/http/server.js';
import { InstanceService } from './instances/service.js';
import { DetachedOrchestration, type Orchestration } from './lifecycle/orchestration.js';
import { InstanceRegistry } from './registry/registry.js';
import { loadManifest, type ServiceType } from './service-type/manifest.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { startSimulator, type RunningSimulator } from '../simulator/simulator.js';

export interface StartOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Attaches what drives instances; by default nothing does and they wait in initialise. */
  readonly orchestration?: (registry: InstanceRegistry, logger: Logger) => Orchestration;
}

export interface ServiceManager {
  readonly url: string;
  readonly type: ServiceType;
  readonly registry: InstanceRegistry;
  /** The CloudStack the instances are built on: the configured endpoint, or the embedded simulator. */
  readonly cloudstackUrl: string;
  close(): Promise<void>;
}

/** Builds the service manager from its configuration and starts serving. */
export async function startServiceManager(config: SmConfig, options: StartOptions): Promise<ServiceManager> {
  const { logger } = options;
  const type = loadManifest(config.serviceManager.manifest, (key) => config.values.get(key));
  const validator = TenantsFile.load(config.authentication.tenantsFile);
  const simulator = config.cloudstack.endpoint === 'embedded' ? await embeddedSimulator(config, logger) : undefined;
  const registry = new InstanceRegistry(config.serviceManager.registry, options.clock ?? systemClock);
  try {
    const orchestration = options.orchestration?.(registry, logger) ?? new DetachedOrchestration(registry, logger);
    const service = new InstanceService({ registry, type, orchestration, newId: randomUUID, newUid: randomUUID });
    const { host, port } = config.serviceManager.listen;
    const listenPort = port ?? endpointPort(type.endpoint);
    const app = createApp({
      service,
      type,
      validator,
      logger,
      serverName: serverName('mesos-service-manager'),
      maxBodyBytes: config.serviceManager.maxBodyBytes,
      fallbackHost: `${host.includes(':') ? `[${host}]` : host}:${listenPort}`,
      ...(config.serviceManager.publicUrl === undefined ? {} : { publicUrl: config.serviceManager.publicUrl }),
    });
    const server = await listen(app, { host, port: listenPort, maxHeaderBytes: config.serviceManager.maxHeaderBytes });
    const cloudstackUrl = simulator?.url ?? config.cloudstack.endpoint;
    logger.info('service manager listening', {
      url: server.url,
      serviceType: type.kind.scheme + type.kind.term,
      registry: config.serviceManager.registry,
      instances: registry.listAll().length,
      cloudstack: cloudstackUrl,
    });
    return {
      url: server.url,
      type,
      registry,
      cloudstackUrl,
      close: async () => {
        await server.close();
        await simulator?.close();
        registry.close();
      },
    };
  } catch (error) {
    registry.close();
    await simulator?.close();
    throw error;
  }
}

/** The CloudStack simulator, in this process, for `[cloudstack] endpoint = embedded`. */
async function embeddedSimulator(config: SmConfig, logger: Logger): Promise<RunningSimulator> {
  const { fixtures, listen: at, timeScale } = config.simulator;
  const running = await startSimulator({
    fixtures: loadFixtures(fixtures),
    timers: new SystemTimers(timeScale),
    logger,
    host: at.host,
    port: at.port ?? 8080,
  });
  logger.info('embedded CloudStack simulator listening', { url: running.url, api: `${running.url}/client/api`, timeScale });
  return running;
}

function endpointPort(endpoint: URL): number {
  if (endpoint.port !== '') return Number(endpoint.port);
  return endpoint.protocol === 'https:' ? 443 : 80;
}
