import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../lib/clock.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseConfig } from '../../service-manager/config/load.js';
import { startServiceManager, type ServiceManager, type StartOptions } from '../../service-manager/start.js';
import { DetachedOrchestration } from './detached-orchestration.js';
import { call, type Reply, type RequestOptions } from './http.js';

/** The repository's etc/ folder, whose manifest and tenants the tests run against. */
export const ETC = fileURLToPath(new URL('../../../etc/', import.meta.url));

export const DEMO = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' } as const;
export const OTHER = { 'X-Auth-Token': 'other-token', 'X-Tenant-Name': 'other' } as const;

export const SCHEME = 'http://schemas.mobile-cloud-networking.eu/occi/sm#';
export const KIND = `mesos; scheme="${SCHEME}"; class="kind"`;
export const RETRY_TYPE = 'http://schemas.mobile-cloud-networking.eu/occi/sm/mesos/action#retry';

export interface TestSm {
  readonly sm: ServiceManager;
  readonly url: string;
  readonly dir: string;
  readonly logLines: string[];
  readonly clock: ManualClock;
  call(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** Creates an instance as `tenant` and returns its id. */
  create(tenant?: Record<string, string>, attributes?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface TestSmOptions {
  /** Reuse a registry folder, to test restarts. */
  readonly dir?: string;
  readonly extraConfig?: string;
  readonly orchestration?: StartOptions['orchestration'];
  /** The CloudStack endpoint; the embedded simulator unless given. */
  readonly endpoint?: string;
}

/**
 * The sm.cfg every test service manager starts from: the shipped manifest and
 * tenants, an ephemeral loopback port, and clusters in the simulator's zone
 * (the embedded simulator unless an endpoint is given).
 */
export function baseConfig(registry: string, endpoint = 'embedded'): string[] {
  return [
    '[service_manager]',
    `manifest = ${join(ETC, 'service_manifest.json')}`,
    'listen = 127.0.0.1:0',
    `registry = ${registry}`,
    `key_file = ${join(dirname(registry), 'manager.key')}`,
    // The checkout's tenants file is world-readable; the check itself has its own tests.
    'secret_files = warn',
    '[authentication]',
    `tenants_file = ${join(ETC, 'tenants.json')}`,
    '[cloudstack]',
    `endpoint = ${endpoint}`,
    'zone = sim-zone-1',
    'template = ubuntu-22.04-mesos',
    'offering_master = medium',
    'offering_agent = large',
  ];
}

/** Starts a service manager on an ephemeral loopback port with its registry in a temporary folder. */
export async function startTestSm(options: TestSmOptions = {}): Promise<TestSm> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sm-test-'));
  const text = [
    ...baseConfig(join(dir, 'registry.db'), options.endpoint),
    '[simulator]',
    `fixtures = ${join(ETC, 'simulator.json')}`,
    'listen = 127.0.0.1:0',
    options.extraConfig ?? '',
  ].join('\n');
  const config = parseConfig(text, join(dir, 'sm.cfg'), {}, dir);
  const { logger, lines } = createMemoryLogger();
  const clock = new ManualClock();
  const sm = await startServiceManager(config, {
    logger,
    clock,
    orchestration: options.orchestration ?? ((registry) => new DetachedOrchestration(registry)),
  });
  const callSm = (method: string, path: string, opts?: RequestOptions) => call(method, sm.url + path, opts);
  return {
    sm,
    url: sm.url,
    dir,
    logLines: lines,
    clock,
    call: callSm,
    create: async (tenant = DEMO, attributes?: string) => {
      const reply = await callSm('POST', '/mesos/', {
        headers: {
          ...tenant,
          Category: KIND,
          'Content-Type': 'text/occi',
          ...(attributes ? { 'X-OCCI-Attribute': attributes } : {}),
        },
      });
      if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.body}`);
      return reply.header('location')!.split('/').pop()!;
    },
    stop: async () => {
      await sm.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Gives each test of the enclosing describe a fresh service manager; the
 * returned function reads the current one.
 */
export function useTestSm(options: () => TestSmOptions = () => ({})): () => TestSm {
  let current: TestSm | undefined;
  beforeEach(async () => {
    current = await startTestSm(options());
  });
  afterEach(async () => {
    await current?.stop();
    if (current) removeDir(current.dir);
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('no service manager outside a test');
    return current;
  };
}
