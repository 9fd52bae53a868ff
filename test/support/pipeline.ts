import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { SystemTimers } from '../../lib/clock.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseConfig } from '../../service-manager/config/load.js';
import { isSwarmManager } from '../../service-manager/runtime/choose.js';
import { DockerRuntime } from '../../service-manager/runtime/docker.js';
import { ProcessRuntime } from '../../service-manager/runtime/process.js';
import type { RuntimeKind, SoRuntime } from '../../service-manager/runtime/runtime.js';
import { SwarmRuntime } from '../../service-manager/runtime/swarm.js';
import { startServiceManager, type ServiceManager } from '../../service-manager/start.js';
import { parseFixtures } from '../../simulator/fixtures.js';
import { call, type Reply, type RequestOptions } from './http.js';
import { expectHurtleReads } from './hurtle-rules.js';
import { FAST, SCALE, SO_IMAGE } from './orchestrator.js';
import { shippedFixtures, startTestSimulator, type TestSimulator } from './simulator.js';
import { baseConfig, KIND, removeDir } from './sm.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SM_MAIN = fileURLToPath(new URL('../../service-manager/main.js', import.meta.url));

export type Tenant = Readonly<Record<string, string>>;
export type Attributes = Record<string, unknown>;

/** A service manager's API as a tenant's script uses it. */
export interface SmClient {
  readonly url: string;
  call(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** Creates a mesos instance (PUT when an id is given) and returns its id. */
  create(tenant: Tenant, attributes?: string, id?: string): Promise<string>;
  /** The instance's attributes (JSON rendering), or undefined once it is gone. */
  attributes(tenant: Tenant, id: string): Promise<Attributes | undefined>;
  /** Polls the instance until `wanted` holds; fails with its last state if the limit passes first. */
  until(tenant: Tenant, id: string, wanted: (attributes: Attributes) => boolean, limitMs?: number): Promise<Attributes>;
  untilState(tenant: Tenant, id: string, state: string, limitMs?: number): Promise<Attributes>;
  untilGone(tenant: Tenant, id: string, limitMs?: number): Promise<void>;
  /** The instance's whole history, every page of it. */
  history(tenant: Tenant, id: string): Promise<HistoryEvent[]>;
}

export interface HistoryEvent {
  readonly seq: number;
  readonly type: string;
  readonly actor: string;
  readonly state?: string;
  readonly message?: string;
}

export interface InProcessSm extends SmClient {
  readonly sm: ServiceManager;
  /** Its registry and orchestrator files. */
  readonly dir: string;
  readonly logLines: string[];
  /** Stops serving; orchestrators keep running, as after a real stop. */
  stop(): Promise<void>;
}

export interface SpawnedSm extends SmClient {
  readonly child: ChildProcess;
  readonly dir: string;
  output(): string;
  kill(): Promise<void>;
}

export interface SimVm {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly account: string;
  readonly tags: Record<string, string>;
}

export interface SmOptions {
  /** Shares a registry (and orchestrator files) with an earlier service manager, as a restart does. */
  readonly dir?: string;
  readonly extra?: string;
  /** SO_* variables over the test defaults (FAST). */
  readonly soEnvironment?: Readonly<Record<string, string>>;
}

export interface PipelineWorld {
  readonly sim: TestSimulator;
  readonly timers: SystemTimers;
  startSm(runtime: RuntimeKind, options?: SmOptions): Promise<InProcessSm>;
  spawnSm(runtime: RuntimeKind, options?: SmOptions): Promise<SpawnedSm>;
  newDir(): string;
  /** Every VM the simulator ever had. */
  vms(): Promise<SimVm[]>;
  /** VMs not destroyed, of an instance (by uid) or of all. */
  liveVms(uid?: string): Promise<SimVm[]>;
  close(): Promise<void>;
}

const NEVER = '0 0 1 1 *';

/**
 * A CloudStack simulator with the Mesos guest, 50 times faster than real
 * time, and service managers pointed at it whose orchestrators share that
 * clock. The reconciler's schedules are off: tests run its checks themselves.
 */
export async function startPipelineWorld(adjust: (fixtures: Record<string, any>) => void = () => {}): Promise<PipelineWorld> {
  // Started in the past, so the cloud's clock is far ahead of real time from the start: whatever signs on the wrong clock fails at once.
  const timers = new SystemTimers(SCALE, Date.now() - 30_000);
  const fixtures = shippedFixtures();
  for (const account of fixtures['accounts']) if (account.limits) account.limits = { user_vm: 200, cpu: 1000, memory: 4_000_000 };
  adjust(fixtures);
  const sim = await startTestSimulator({ timers, fixtures: parseFixtures(fixtures) });
  const dirs: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  const newDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'sm-pipeline-'));
    dirs.push(dir);
    return dir;
  };
  const configText = (runtime: RuntimeKind, dir: string, options: SmOptions): string =>
    [
      '[general]',
      'log_format = json',
      ...baseConfig(join(dir, 'registry.db'), sim.url),
      `time_scale = ${timers.scale}`,
      `time_origin = ${timers.origin}`,
      '[so_runtime]',
      `type = ${runtime}`,
      `process_dir = ${join(dir, 'so')}`,
      'start_timeout_s = 30',
      `environment = SO_LOG_LEVEL=debug ${Object.entries({ ...FAST, ...options.soEnvironment })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      '[pipeline]',
      'poll_min_ms = 20',
      'poll_max_ms = 250',
      '[reconciler]',
      ...['resync', 'retries', 'orphans', 'vm_sweep', 'prune', 'autoscale'].map((job) => `${job} = ${NEVER}`),
      options.extra ?? '',
    ].join('\n');
  const vms = async (): Promise<SimVm[]> => (await sim.control('GET', '/vms')).json<SimVm[]>();
  return {
    sim,
    timers,
    newDir,
    vms,
    liveVms: async (uid) =>
      (await vms()).filter((vm) => !['Destroyed', 'Expunging', 'Expunged'].includes(vm.state) && (uid === undefined || vm.tags['mesos.instance'] === uid)),
    startSm: async (runtime, options = {}) => {
      const dir = options.dir ?? newDir();
      const config = parseConfig(configText(runtime, dir, options), join(dir, 'sm.cfg'), {}, dir);
      const { logger, lines } = createMemoryLogger();
      const sm = await startServiceManager(config, { logger });
      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await sm.close();
      };
      closers.push(async () => {
        const runtimeOf = sm.pipeline?.runtime;
        await stop();
        if (runtimeOf) for (const so of await runtimeOf.list()) await runtimeOf.remove(so.uid);
      });
      return { ...smClient(sm.url), sm, dir, logLines: lines, stop };
    },
    spawnSm: async (runtime, options = {}) => {
      const dir = options.dir ?? newDir();
      const file = join(dir, 'sm.cfg');
      writeFileSync(file, configText(runtime, dir, options));
      const child = spawn(process.execPath, [SM_MAIN, '-c', file], { env: { PATH: process.env['PATH'] } });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const url = await new Promise<string>((resolve, reject) => {
        const look = (): void => {
          const match = /"message":"service manager listening"[^\n]*"url":"(http:[^"]+)"/.exec(output);
          if (match) resolve(match[1]);
        };
        child.stdout.on('data', look);
        child.once('exit', (code) => reject(new Error(`service manager exited with ${code}: ${output}`)));
      });
      const kill = (): Promise<void> =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      const managerId = /"managerId":"([0-9a-f]+)"/.exec(output)![1];
      closers.push(async () => {
        await kill();
        const left = runtimeOf(runtime, dir, managerId);
        for (const so of await left.list()) await left.remove(so.uid);
      });
      return { ...smClient(url), child, dir, output: () => output, kill };
    },
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await sim.close();
      for (const dir of dirs) removeDir(dir);
    },
  };
}

/** The runtime a service manager of this world used, to remove what it left behind. */
function runtimeOf(kind: RuntimeKind, dir: string, managerId: string): SoRuntime {
  if (kind === 'process') return new ProcessRuntime(join(dir, 'so'));
  const options = { docker: new Docker(), image: SO_IMAGE, managerId, limits: { memoryMb: 256, cpus: 0.5 } };
  return kind === 'docker' ? new DockerRuntime(options) : new SwarmRuntime(options);
}

export function smClient(url: string): SmClient {
  const callSm = (method: string, path: string, options?: RequestOptions): Promise<Reply> => call(method, url + path, options);
  /** The instance's attributes; every look also checks that hurtle's parsers read its text/occi rendering whole. */
  const attributes = async (tenant: Tenant, id: string): Promise<Attributes | undefined> => {
    const reply = await callSm('GET', `/mesos/${id}`, { headers: { ...tenant, Accept: 'application/occi+json' } });
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw new Error(`GET /mesos/${id} answered ${reply.status}: ${reply.body}`);
    const text = await callSm('GET', `/mesos/${id}`, { headers: { ...tenant, Accept: 'text/occi' } });
    if (text.status === 200) expectHurtleReads(text.header('x-occi-attribute'));
    return reply.json<{ attributes: Attributes }>().attributes;
  };
  /** Polls the instance until `done` holds for what is seen (undefined once it is gone). */
  const watch = async (tenant: Tenant, id: string, done: (seen?: Attributes) => boolean, limitMs: number): Promise<Attributes | undefined> => {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const seen = await attributes(tenant, id);
      if (done(seen)) return seen;
      if (Date.now() > deadline) {
        throw new Error(`instance ${id} did not get there; last seen: ${seen ? `${seen['mcn.service.state']}: ${seen['mcn.service.state.message']}` : 'gone'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const until = async (tenant: Tenant, id: string, wanted: (a: Attributes) => boolean, limitMs = 60_000): Promise<Attributes> =>
    (await watch(tenant, id, (seen) => seen !== undefined && wanted(seen), limitMs))!;
  return {
    url,
    call: callSm,
    create: async (tenant, attributeHeader, id) => {
      const reply = await callSm(id ? 'PUT' : 'POST', id ? `/mesos/${id}` : '/mesos/', {
        headers: { ...tenant, Category: KIND, 'Content-Type': 'text/occi', ...(attributeHeader ? { 'X-OCCI-Attribute': attributeHeader } : {}) },
      });
      if (reply.status !== 201 && reply.status !== 200) throw new Error(`create answered ${reply.status}: ${reply.body}`);
      return id ?? reply.header('location')!.split('/').pop()!;
    },
    attributes,
    history: async (tenant, id) => {
      const events: HistoryEvent[] = [];
      for (let page: string | undefined = `${url}/mesos/${id}/events?limit=1000`; page !== undefined;) {
        const reply = await call('GET', page, { headers: tenant });
        if (reply.status !== 200) throw new Error(`GET ${page} answered ${reply.status}: ${reply.body}`);
        events.push(...reply.json<HistoryEvent[]>());
        page = /<([^>]+)>; rel="next"/.exec(reply.header('link') ?? '')?.[1];
      }
      return events;
    },
    until,
    untilState: (tenant, id, state, limitMs) =>
      until(
        tenant,
        id,
        (a) => {
          if (a['mcn.service.state'] === 'failed' && state !== 'failed') throw new Error(`instance ${id} failed: ${a['mcn.service.state.message']}`);
          return a['mcn.service.state'] === state;
        },
        limitMs,
      ),
    untilGone: async (tenant, id, limitMs = 60_000) => {
      await watch(tenant, id, (seen) => seen === undefined, limitMs);
    },
  };
}

/** The uid behind an instance id, which names its orchestrator and tags its VMs. */
export function uidOf(sm: ServiceManager, tenant: Tenant, id: string): string {
  const instance = sm.registry.find(tenant['X-Tenant-Name'], id);
  if (!instance) throw new Error(`no instance ${id}`);
  return instance.uid;
}

/** The leader's view of its agents: how many are registered and active. */
export async function activeAgents(masterUrl: string): Promise<number> {
  const reply = await call('GET', `${masterUrl}/master/slaves`);
  if (reply.status !== 200) throw new Error(`${masterUrl}/master/slaves answered ${reply.status}`);
  return reply.json<{ slaves: Array<{ active: boolean }> }>().slaves.filter((s) => s.active).length;
}

/** Marathon takes 200 simulated seconds to start, so provisioning lasts long enough to be interrupted. */
export function SLOW_PROVISIONING(fixtures: Record<string, any>): void {
  fixtures['mesos'] = { marathonStartMs: 200_000 };
}

export interface WorldOptions {
  readonly adjust?: (fixtures: Record<string, any>) => void;
  /** The suite needs a Docker engine, or a Swarm manager (see requireDocker). */
  readonly docker?: 'engine' | 'swarm';
}

/**
 * Gives the enclosing describe one world, made before its tests and closed
 * after them; faults a test injects are cleared after it.
 */
export function useWorld(options: WorldOptions = {}): () => PipelineWorld {
  let world: PipelineWorld | undefined;
  before(async function () {
    if (options.docker) await requireDocker(this, options.docker === 'swarm');
    world = await startPipelineWorld(options.adjust);
  });
  after(async () => {
    await world?.close();
  });
  afterEach(async () => {
    await world?.sim.control('DELETE', '/faults');
  });
  return () => {
    if (!world) throw new Error('no world outside a test');
    return world;
  };
}

let dockerReady: Promise<string | undefined> | undefined;

/**
 * Skips the enclosing suite when no Docker engine (or no Swarm manager) is
 * here; in CI that is a failure instead. Builds the orchestrator image from
 * the compiled tree if it is missing or stale.
 */
export async function requireDocker(context: Mocha.Context, swarm = false): Promise<void> {
  dockerReady ??= dockerProblem();
  let problem = await dockerReady;
  if (!problem && swarm) {
    if (!(await isSwarmManager(new Docker()))) problem = 'this Docker engine is not a Swarm manager';
  }
  if (!problem) return;
  if (process.env['CI'] === 'true') throw new Error(`CI runs the Docker tests, but ${problem}`);
  process.stdout.write(`      (skipped: ${problem})\n`);
  context.skip();
}

async function dockerProblem(): Promise<string | undefined> {
  try {
    await new Docker().ping();
  } catch (error) {
    return `no Docker engine answers (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  const built = spawnSync('bash', ['scripts/image.sh'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) return `the orchestrator image does not build: ${built.stderr || built.stdout}`;
  return undefined;
}
