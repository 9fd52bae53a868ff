import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { fileURLToPath } from 'node:url';
import { SystemTimers } from '../../lib/clock.js';
import { SO_SCHEME } from '../../lib/hurtle/protocol.js';
import { parseFixtures } from '../../simulator/fixtures.js';
import { call, type Reply } from './http.js';
import { expectHurtleReads } from './hurtle-rules.js';
import { shippedFixtures, startTestSimulator, type TestSimulator } from './simulator.js';

const MAIN = fileURLToPath(new URL('../../service-orchestrator/main.js', import.meta.url));

export const SERVICE = SO_SCHEME;
export const AUTH = { 'X-Auth-Token': 'any-token', 'X-Tenant-Name': 'demo' } as const;

/** Simulated time runs this many times faster than the wall clock, in the simulator and the SO alike. */
export const SCALE = 50;

/** The image `npm run image` builds. */
export const SO_IMAGE = 'mesos-so:latest';

export const CLUSTER = {
  'cloudstack.zone': 'sim-zone-1',
  'cloudstack.template': 'ubuntu-22.04-mesos',
  'cloudstack.offering.master': 'medium',
  'cloudstack.offering.agent': 'large',
};

/** Deadlines short enough for tests, in simulated seconds. */
export const FAST: Record<string, string> = {
  SO_DEADLINE_MASTERS_S: '120',
  SO_DEADLINE_AGENT_S: '60',
  SO_DEADLINE_PROVISION_S: '900',
  SO_POLL_MIN_MS: '500',
  SO_POLL_MAX_MS: '3000',
  SO_PROBE_TIMEOUT_MS: '10000',
};

export interface TestSo {
  readonly url: string;
  readonly output: () => string;
  call(method: string, path: string, headers?: Record<string, string>): Promise<Reply>;
  /** The orchestrator entity as JSON attributes; empty before it is initialised. */
  state(): Promise<Record<string, unknown>>;
  /** Polls until the stack state leaves *_IN_PROGRESS, and returns the attributes. */
  settle(limitMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface SoWorld {
  readonly sim: TestSimulator;
  readonly timers: SystemTimers;
  start(env?: Record<string, string>, parameters?: Record<string, string | number | boolean>): Promise<TestSo>;
  /** An SO (a process, or a container of the image) with only what hurtle's cloud controller gives one, and the simulated clock. */
  startUnderHurtle(env: Record<string, string>, runtime?: 'process' | 'docker'): Promise<TestSo>;
  /** VMs of an instance that the simulator still has alive. */
  liveVms(instanceId?: string): Promise<Array<Record<string, any>>>;
  mesosFault(fault: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** A simulator with the Mesos guest and a way to start SO processes against it. */
export async function startSoWorld(): Promise<SoWorld> {
  const timers = new SystemTimers(SCALE);
  const sim = await startTestSimulator({ timers, fixtures: parseFixtures(shippedFixtures()) });
  const children: TestSo[] = [];
  return {
    sim,
    timers,
    start: async (env = {}, parameters = {}) => {
      const so = await spawnSo(timers, soEnvironment(sim, env, { ...CLUSTER, ...parameters }));
      children.push(so);
      return so;
    },
    startUnderHurtle: async (env, runtime = 'process') => {
      const so = runtime === 'docker' ? await runSoContainer(timers, env) : await spawnSo(timers, { PATH: process.env['PATH'], ...env });
      children.push(so);
      return so;
    },
    liveVms: async (instanceId = 'inst-1') =>
      (await sim.control('GET', '/vms')).json<Array<Record<string, any>>>().filter((vm) => vm.tags['mesos.instance'] === instanceId && vm.state !== 'Expunged'),
    mesosFault: async (fault) => {
      const reply = await sim.control('POST', '/mesos/faults', fault);
      if (reply.status !== 201) throw new Error(`fault refused: ${reply.body}`);
    },
    close: async () => {
      await Promise.all(children.map((c) => c.stop()));
      await sim.close();
    },
  };
}

/** What this project's service manager gives an orchestrator, with test deadlines. */
function soEnvironment(
  sim: TestSimulator,
  env: Record<string, string>,
  parameters: Record<string, string | number | boolean>,
): Record<string, string | undefined> {
  return {
    PATH: process.env['PATH'],
    SO_INSTANCE_ID: 'inst-1',
    SO_TENANT: 'demo',
    SO_LISTEN: '127.0.0.1:0',
    SO_CLOUDSTACK_ENDPOINT: sim.url,
    SO_CLOUDSTACK_API_KEY: 'demo-api-key',
    SO_CLOUDSTACK_SECRET_KEY: 'demo-secret-key',
    SO_PARAMETERS: JSON.stringify(parameters),
    SO_LOG_FORMAT: 'json',
    ...FAST,
    ...env,
  };
}

/** The URL an SO's "listening" line names, once it is in the output; one that listens on every address is called on loopback. */
function listeningUrl(output: string): string | undefined {
  const line = output
    .split('\n')
    .slice(0, -1)
    .map(parse)
    .find((e) => e?.message === 'service orchestrator listening');
  return line?.url ? (line.url as string).replace('//0.0.0.0:', '//127.0.0.1:') : undefined;
}

async function spawnSo(timers: SystemTimers, env: Record<string, string | undefined>): Promise<TestSo> {
  const child = spawn(process.execPath, [MAIN], { env: { ...env, ...clockEnvironment(timers) } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const found = listeningUrl(output);
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`SO exited with ${code}: ${output}`)));
  });
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  return testSo(url, () => output, stop);
}

/** The orchestrator image run as hurtle's cloud controller runs it: one container, this environment, the host's network. */
async function runSoContainer(timers: SystemTimers, env: Record<string, string>): Promise<TestSo> {
  const docker = new Docker();
  const container = await docker.createContainer({
    Image: SO_IMAGE,
    Env: Object.entries({ ...env, ...clockEnvironment(timers) }).map(([name, value]) => `${name}=${value}`),
    HostConfig: { NetworkMode: 'host' },
  });
  let output = '';
  const sink = new PassThrough();
  sink.on('data', (d) => (output += d));
  const stop = async (): Promise<void> => {
    await container.remove({ force: true }).catch(() => undefined);
  };
  try {
    await container.start();
    const logs = await container.logs({ follow: true, stdout: true, stderr: true });
    docker.modem.demuxStream(logs, sink, sink);
    const url = await new Promise<string>((resolve, reject) => {
      sink.on('data', () => {
        const found = listeningUrl(output);
        if (found) resolve(found);
      });
      logs.once('end', () => reject(new Error(`the SO container ended: ${output}`)));
    });
    return testSo(url, () => output, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

function clockEnvironment(timers: SystemTimers): Record<string, string> {
  return { SO_TIME_SCALE: String(timers.scale), SO_TIME_ORIGIN: String(timers.origin) };
}

function testSo(url: string, output: () => string, stop: () => Promise<void>): TestSo {
  const callSo = (method: string, path: string, headers: Record<string, string> = {}) => call(method, url + path, { headers: { ...AUTH, ...headers } });
  /** The entity's attributes; every look also checks that hurtle's SM reads the text/occi rendering of it whole. */
  const state = async (): Promise<Record<string, unknown>> => {
    const reply = await callSo('GET', '/orchestrator/default', { Accept: 'application/occi+json' });
    if (reply.status === 404) return {};
    const text = await callSo('GET', '/orchestrator/default', { Accept: 'text/occi' });
    if (text.status === 200) expectHurtleReads(text.header('x-occi-attribute'));
    return reply.json<{ attributes: Record<string, unknown> }>().attributes;
  };
  return {
    url,
    output,
    call: callSo,
    state,
    settle: async (limitMs = 30_000) => {
      const until = Date.now() + limitMs;
      for (;;) {
        const attributes = await state();
        if (!String(attributes['occi.mcn.stack.state']).endsWith('_IN_PROGRESS')) return attributes;
        if (Date.now() > until) throw new Error(`still ${attributes['occi.mcn.stack.state']}: ${attributes['occi.mcn.stack.message']}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop,
  };
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** PUT, deploy and provision, as a hurtle service manager drives an SO; returns the settled attributes of each phase. */
export async function build(so: TestSo): Promise<{ deployed: Record<string, unknown>; provisioned: Record<string, unknown> }> {
  const put = await so.call('PUT', '/orchestrator/default', { 'Content-Type': 'text/occi', Category: `orchestrator; scheme="${SERVICE}"` });
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT answered ${put.status}: ${put.body}`);
  const deploy = await so.call('POST', '/orchestrator/default?action=deploy', { 'Content-Type': 'text/occi', Category: `deploy; scheme="${SERVICE}"` });
  if (deploy.status !== 200) throw new Error(`deploy answered ${deploy.status}: ${deploy.body}`);
  const deployed = await so.settle();
  if (deployed['occi.mcn.stack.state'] !== 'CREATE_COMPLETE') return { deployed, provisioned: deployed };
  const provision = await so.call('POST', '/orchestrator/default?action=provision', {
    'Content-Type': 'text/occi',
    Category: `provision; scheme="${SERVICE}"`,
  });
  if (provision.status !== 200) throw new Error(`provision answered ${provision.status}: ${provision.body}`);
  return { deployed, provisioned: await so.settle() };
}

/** DELETE, then wait until the SO says the teardown is done. */
export async function dispose(so: TestSo): Promise<Record<string, unknown>> {
  const reply = await so.call('DELETE', '/orchestrator/default');
  if (reply.status !== 200) throw new Error(`DELETE answered ${reply.status}: ${reply.body}`);
  return so.settle();
}
