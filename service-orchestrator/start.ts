import { Registry } from 'prom-client';
import { CallMetrics } from '../lib/metrics/calls.js';
import { HttpMetrics } from '../lib/metrics/http.js';
import { answers } from '../lib/http/probes.js';
import { SystemTimers, type Timers } from '../lib/clock.js';
import { connectCloudStack } from '../lib/cloudstack/index.js';
import { listen, type RunningServer } from '../lib/http/server.js';
import type { Logger } from '../lib/logger.js';
import { serverName } from '../lib/version.js';
import { clusterCredentials, fallbackClusterSecret, marathonAuthorization } from '../lib/cluster/credentials.js';
import type { SoConfig } from './config.js';
import { Drainer } from './drain/drainer.js';
import { createSoApp } from './http/app.js';
import { Orchestrator } from './orchestrator.js';
import { DaemonHttp } from './readiness/daemon-http.js';
import { Probe } from './readiness/probe.js';
import { SmokeTest } from './readiness/smoke.js';

export interface RunningOrchestrator {
  readonly orchestrator: Orchestrator;
  readonly server: RunningServer;
  close(): Promise<void>;
}

/**
 * Builds one instance's orchestrator from its configuration and serves the
 * hurtle SO protocol, with its probes and its own metrics (its HTTP requests
 * and its CloudStack calls) at /metrics.
 */
export async function startOrchestrator(config: SoConfig, logger: Logger, timers?: Timers, metrics: Registry = new Registry()): Promise<RunningOrchestrator> {
  const clock = timers ?? new SystemTimers(config.timeScale, config.timeOrigin);
  const http = new HttpMetrics(metrics);
  const cloudstackCalls = new CallMetrics(metrics, 'so_cloudstack', "The orchestrator's CloudStack calls", 'command');
  const cloudstack = connectCloudStack({
    ...config.cloudstack,
    timers: clock,
    logger,
    observe: (command, outcome, seconds) => cloudstackCalls.observe(command, outcome, seconds),
  });
  const credentials = clusterCredentials(config.clusterSecret ?? fallbackClusterSecret(config.cloudstack.secretKey, config.instanceId));
  const daemons = new DaemonHttp(clock, config.probeTimeoutMs, marathonAuthorization(credentials), config.sourceAddress);
  const orchestrator = new Orchestrator({
    instanceId: config.instanceId,
    ...(config.managerId === undefined ? {} : { managerId: config.managerId }),
    cloudstack,
    probe: new Probe(daemons),
    smoke: new SmokeTest(daemons),
    drainer: new Drainer(daemons, clock, logger),
    credentials,
    timers: clock,
    settings: config.settings,
    logger,
  });
  const app = createSoApp({
    readiness: { cloudstack: () => answers(config.cloudstack.endpoint) },
    metrics,
    observe: (req, res, seconds) => http.observe(req, res, seconds),
    orchestrator,
    tenant: config.tenant,
    ...(config.authKey === undefined ? {} : { authKey: config.authKey }),
    wallClock: Date.now,
    defaults: config.parameters,
    logger,
    serverName: serverName('mesos-service-orchestrator'),
    fallbackHost: `${config.listen.host}:${config.listen.port}`,
  });
  const server = await listen(app, { host: config.listen.host, port: config.listen.port, maxHeaderBytes: 16_384 });
  logger.info('service orchestrator listening', {
    url: server.url,
    instance: config.instanceId,
    tenant: config.tenant,
    cloudstack: config.cloudstack.endpoint,
  });
  return { orchestrator, server, close: () => server.close() };
}
