import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SystemTimers, systemClock, type Clock, type Timers } from '../lib/clock.js';
import { connectCloudStack } from '../lib/cloudstack/index.js';
import { ConfigError } from '../lib/errors.js';
import { listen } from '../lib/http/server.js';
import type { Logger } from '../lib/logger.js';
import { checkSecretFiles, exposure } from '../lib/private-files.js';
import { serverName } from '../lib/version.js';
import { loadFixtures } from '../simulator/fixtures.js';
import { startSimulator, type RunningSimulator } from '../simulator/simulator.js';
import { AccountCapacities } from './admission/account-capacities.js';
import { Admission } from './admission/admission.js';
import type { Quota } from './admission/quota.js';
import { WriteLimit } from './admission/write-limit.js';
import { clusterSecrets, loadManagerKey, orchestratorKeys } from './auth/manager-key.js';
import { TenantsFile } from './auth/tenants-file.js';
import { Autoscaler } from './autoscale/autoscaler.js';
import type { SmConfig } from './config/load.js';
import { createApp } from './http/app.js';
import { answers } from '../lib/http/probes.js';
import { marathonPassword } from './instances/secret-outputs.js';
import { InstanceService } from './instances/service.js';
import { PipelineDriver } from './lifecycle/driver.js';
import type { Orchestration } from './lifecycle/orchestration.js';
import { Reconciler } from './reconciler/reconciler.js';
import { scheduleReconciler } from './reconciler/schedule.js';
import { VmSweeper } from './reconciler/vm-sweep.js';
import { InstanceRegistry } from './registry/registry.js';
import { chooseRuntime } from './runtime/choose.js';
import { PortPool } from './runtime/ports.js';
import type { SoRuntime } from './runtime/runtime.js';
import { loadManifest, type ServiceType } from './service-type/manifest.js';
import { SoClient } from './so/client.js';
import { Broker } from './broker/broker.js';
import { parseBrokerCatalog } from './broker/catalog.js';
import { resourceTypes } from './cloudformation/resources/index.js';
import { StackService } from './cloudformation/stacks.js';
import { SmMetrics } from './metrics.js';
import { Registry } from 'prom-client';

export interface StartOptions {
  readonly logger: Logger;
  /** The registry's clock. */
  readonly clock?: Clock;
  /** The pipeline's and the reconciler's time; real time by default. */
  readonly timers?: Timers;
  /** Replaces the orchestrator pipeline, for tests of the API alone. */
  readonly orchestration?: (registry: InstanceRegistry, logger: Logger) => Orchestration;
  /** Where the metrics are kept: the process's, with Node's own metrics, or one of its own by default. */
  readonly metrics?: Registry;
}

/** How long one look at a CloudStack account's limits serves admission, and how long admission waits for one. */
const CAPACITY_TTL_MS = 10_000;
const CAPACITY_TIMEOUT_MS = 3_000;

/** The running pipeline: where orchestrators run, and the checks that keep them honest. */
export interface Pipeline {
  readonly runtime: SoRuntime;
  readonly driver: PipelineDriver;
  readonly reconciler: Reconciler;
  readonly autoscaler: Autoscaler;
}

export interface ServiceManager {
  readonly url: string;
  readonly type: ServiceType;
  readonly registry: InstanceRegistry;
  /** The id that labels what this service manager owns (containers, VMs). */
  readonly managerId: string;
  /** The CloudStack the instances are built on: the configured endpoint, or the embedded simulator. */
  readonly cloudstackUrl: string;
  /** Absent when an orchestration was injected. */
  readonly pipeline?: Pipeline;
  /** Stops serving and driving; orchestrators keep running for the next start to adopt. */
  close(): Promise<void>;
}

/** Builds the service manager from its configuration and starts serving. */
export async function startServiceManager(config: SmConfig, options: StartOptions): Promise<ServiceManager> {
  const { logger } = options;
  const type = loadManifest(config.serviceManager.manifest, (key) => config.values.get(key));
  const tenants = TenantsFile.load(config.authentication.tenantsFile);
  const { keyFile, secretFiles, registry: registryFile } = config.serviceManager;
  const key = loadManagerKey(keyFile);
  const clusterSecretFor = clusterSecrets(key);
  checkSecretFiles([config.authentication.tenantsFile, keyFile], secretFiles, (message) => logger.warn(message));
  const folder = registryFile === ':memory:' ? undefined : exposure(dirname(registryFile));
  if (folder) logger.warn(`the registry's folder ${folder}; chmod 700 it`);
  const cloudClock = new SystemTimers(config.cloudstack.clock.scale, config.cloudstack.clock.origin);
  const simulator = config.cloudstack.endpoint === 'embedded' ? await embeddedSimulator(config, cloudClock, logger) : undefined;
  const registry = new InstanceRegistry(config.serviceManager.registry, options.clock ?? systemClock, { maxEvents: config.registry.maxEvents });
  const metrics = new SmMetrics(options.metrics ?? new Registry(), registry);
  const stops: Array<() => Promise<void>> = [];
  try {
    const managerId = registry.managerId();
    const cloudstackUrl = simulator?.url ?? config.cloudstack.endpoint;
    let pipeline: Pipeline | undefined;
    let orchestration: Orchestration;
    if (options.orchestration) {
      orchestration = options.orchestration(registry, logger);
    } else {
      const timers = options.timers ?? new SystemTimers();
      pipeline = await startPipeline({
        config,
        type,
        registry,
        registryClock: options.clock ?? systemClock,
        tenants,
        managerId,
        keyFor: orchestratorKeys(key),
        clusterSecretFor,
        cloudstackUrl,
        cloudClock,
        timers,
        logger,
        metrics,
      });
      orchestration = pipeline.driver;
      const stopSchedule = scheduleReconciler(pipeline.reconciler, pipeline.autoscaler, config.reconciler.schedules, logger, (check, outcome, acted) =>
        metrics.reconcilerRun(check, outcome, acted),
      );
      const { driver, runtime } = pipeline;
      stops.push(stopSchedule, () => driver.stop());
      if (simulator) {
        rebuildForEmptyCloud(registry, logger);
        stops.push(() => removeAll(runtime));
      }
    }
    const quotaOf = (tenant: string): Quota => tenants.quotaOf(tenant, config.quota);
    const capacities = new AccountCapacities({
      credentials: (tenant) => tenants.tenant(tenant)?.cloudstack,
      connect: (account) => connectCloudStack({ endpoint: cloudstackUrl, ...account, timers: cloudClock, logger, observe: cloudstackObserver(metrics) }),
      clock: cloudClock,
      ttlMs: CAPACITY_TTL_MS,
      timeoutMs: CAPACITY_TIMEOUT_MS,
    });
    const admission = new Admission({ registry, type, quotaOf, capacity: capacities.of, logger });
    const service = new InstanceService({ registry, type, orchestration, admission, newId: randomUUID, newUid: randomUUID });
    const secrets = marathonPassword(type, clusterSecretFor);
    const catalog = parseBrokerCatalog(type);
    const writes = new WriteLimit(options.timers ?? new SystemTimers(), quotaOf);
    const stackService = new StackService({
      registry,
      instances: service,
      type,
      resourceTypes: resourceTypes(type),
      timers: options.timers ?? new SystemTimers(),
      logger,
    });
    stops.push(() => stackService.stop());
    const { host, port } = config.serviceManager.listen;
    const listenPort = port ?? endpointPort(type.endpoint);
    const app = createApp({
      service,
      type,
      validator: tenants,
      secrets,
      ...(catalog
        ? {
            broker: {
              broker: new Broker({ instances: service, registry, type, catalog, secrets, spendWrite: (tenant) => writes.spend(tenant) }),
              platforms: tenants.platforms,
            },
          }
        : {}),
      cloudformation: { stacks: stackService, awsKey: (id) => tenants.awsKey(id), clock: options.clock ?? systemClock },
      jsonDialect: config.serviceManager.jsonDialect,
      writes,
      metrics: metrics.registry,
      observe: (req, res, seconds) => metrics.http.observe(req, res, seconds),
      ...(config.metrics.tokenFile === undefined ? {} : { metricsToken: readMetricsToken(config.metrics.tokenFile, secretFiles, logger) }),
      readiness: {
        registry: () => registry.proveWritable(),
        ...(pipeline ? { runtime: () => pipeline.runtime.ping() } : {}),
        cloudstack: () => answers(cloudstackUrl),
      },
      logger,
      serverName: serverName('mesos-service-manager'),
      maxBodyBytes: config.serviceManager.maxBodyBytes,
      fallbackHost: `${host.includes(':') ? `[${host}]` : host}:${listenPort}`,
      ...(config.serviceManager.publicUrl === undefined ? {} : { publicUrl: config.serviceManager.publicUrl }),
    });
    const server = await listen(app, { host, port: listenPort, maxHeaderBytes: config.serviceManager.maxHeaderBytes });
    logger.info('service manager listening', {
      url: server.url,
      serviceType: type.kind.scheme + type.kind.term,
      registry: config.serviceManager.registry,
      instances: registry.liveStates().length,
      cloudstack: cloudstackUrl,
      runtime: pipeline?.runtime.kind ?? 'none',
      managerId,
    });
    pipeline?.driver.resumeAll();
    stackService.start();
    return {
      url: server.url,
      type,
      registry,
      managerId,
      cloudstackUrl,
      ...(pipeline ? { pipeline } : {}),
      close: async () => {
        for (const stop of stops) await stop();
        await server.close();
        await simulator?.close();
        registry.close();
      },
    };
  } catch (error) {
    for (const stop of stops) await stop();
    registry.close();
    await simulator?.close();
    throw error;
  }
}

interface PipelineContext {
  readonly config: SmConfig;
  readonly type: ServiceType;
  readonly registry: InstanceRegistry;
  /** The registry's clock: removal times are on it. */
  readonly registryClock: Clock;
  readonly tenants: TenantsFile;
  readonly managerId: string;
  readonly keyFor: (uid: string, generation: number) => string;
  readonly clusterSecretFor: (uid: string) => string;
  readonly cloudstackUrl: string;
  /** The cloud's clock: the SM's own CloudStack calls and its orchestrators run on it. */
  readonly cloudClock: SystemTimers;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly metrics: SmMetrics;
}

async function startPipeline(context: PipelineContext): Promise<Pipeline> {
  const { config, registry, tenants, managerId, timers, logger, metrics } = context;
  const settings = config.soRuntime;
  const runtime = metrics.counted(await chooseRuntime(settings, managerId, logger));
  const policy = {
    deadlinesMs: config.pipeline.deadlinesMs,
    startTimeoutMs: settings.startTimeoutMs,
    maxStarts: settings.maxStarts,
    teardownRetryMs: config.reconciler.retryAfterMs,
  };
  const driver = new PipelineDriver({
    registry,
    type: context.type,
    runtime,
    client: new SoClient(undefined, (call, outcome, seconds) => metrics.soCalls.observe(call, outcome, seconds)),
    ports: new PortPool(settings.ports, settings.host),
    launch: {
      host: settings.host,
      cloudstackUrl: context.cloudstackUrl,
      managerId,
      credentials: (tenant) => tenants.tenant(tenant)?.cloudstack,
      keyFor: context.keyFor,
      clusterSecretFor: context.clusterSecretFor,
      environment: { ...settings.environment, ...sharedClock(context.cloudClock) },
      logLevel: config.general.logLevel,
    },
    policy,
    pacing: config.pipeline,
    timers,
    logger,
    healthReported: (kind) => metrics.healthReported(kind),
  });
  const sweeper = new VmSweeper({
    registry,
    managerId,
    accounts: () => tenants.accounts(),
    connect: (account) =>
      connectCloudStack({ endpoint: context.cloudstackUrl, ...account, timers: context.cloudClock, logger, observe: cloudstackObserver(metrics) }),
    deadlineMs: config.pipeline.deadlinesMs.destroy,
    logger,
  });
  const reconciler = new Reconciler({ registry, driver, runtime, sweeper, clock: context.registryClock, retentionMs: config.registry.retentionMs, logger });
  const autoscaler = new Autoscaler({
    registry,
    type: context.type,
    orchestration: driver,
    clock: timers,
    sustainMs: config.reconciler.autoscaleSustainMs,
    logger,
  });
  return { runtime, driver, reconciler, autoscaler };
}

function cloudstackObserver(metrics: SmMetrics): (command: string, outcome: string, seconds: number) => void {
  return (command, outcome, seconds) => metrics.cloudstackCalls.observe(command, outcome, seconds);
}

/** The bearer token of GET /metrics, from a file kept like the other secrets. */
function readMetricsToken(file: string, secretFiles: SmConfig['serviceManager']['secretFiles'], logger: Logger): string {
  checkSecretFiles([file], secretFiles, (message) => logger.warn(message));
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`cannot read the metrics token file ${file}: ${(error as Error).message}`);
  }
  if (token === '') throw new ConfigError(`the metrics token file ${file} is empty`);
  return token;
}

/**
 * The embedded simulator starts empty every time, so the clusters of the
 * instances kept in the registry no longer exist: each gets a fresh
 * orchestrator, which builds its cluster again.
 */
function rebuildForEmptyCloud(registry: InstanceRegistry, logger: Logger): void {
  const instances = registry.listAll().filter((i) => i.memo.started && i.state !== 'failed');
  for (const instance of instances) registry.setMemo(instance.uid, { ...instance.memo, generation: (instance.memo.generation ?? 1) + 1, starts: 0 });
  if (instances.length > 0) logger.info('the embedded CloudStack simulator starts empty: rebuilding the clusters', { instances: instances.length });
}

/** With the embedded simulator, orchestrators have no cloud left once the service manager stops. */
async function removeAll(runtime: SoRuntime): Promise<void> {
  for (const so of await runtime.list()) await runtime.remove(so.uid);
}

/** Orchestrators share the cloud's clock, so a faster simulator means faster deadlines too. */
function sharedClock(timers: SystemTimers): Record<string, string> {
  if (timers.scale === 1) return {};
  return { SO_TIME_SCALE: String(timers.scale), SO_TIME_ORIGIN: String(timers.origin) };
}

/** The CloudStack simulator, in this process, for `[cloudstack] endpoint = embedded`. */
async function embeddedSimulator(config: SmConfig, timers: SystemTimers, logger: Logger): Promise<RunningSimulator> {
  const { fixtures, listen: at, control } = config.simulator;
  const running = await startSimulator({
    fixtures: loadFixtures(fixtures),
    timers,
    logger,
    control,
    host: at.host,
    port: at.port ?? 8080,
  });
  logger.info('embedded CloudStack simulator listening', {
    url: running.url,
    api: `${running.url}/client/api`,
    timeScale: timers.scale,
    timeOrigin: timers.origin,
  });
  return running;
}

function endpointPort(endpoint: URL): number {
  if (endpoint.port !== '') return Number(endpoint.port);
  return endpoint.protocol === 'https:' ? 443 : 80;
}
