import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { claimNetwork, onNetwork } from '../support/networks.js';
import { requireDocker } from '../support/pipeline.js';
import { shippedFixtures } from '../support/simulator.js';
import { removeDir } from '../support/sm.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The shell commands of the README's curl session, its parts one after another. */
function readmeSession(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## A curl session');
  const end = readme.indexOf('\n## ', start + 1);
  const blocks = [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) throw new Error('the README has no curl session');
  return blocks.join('\n');
}

interface Started {
  readonly child: ChildProcess;
  readonly smUrl: string;
  readonly simulatorUrl: string;
  readonly runtime: string;
  output(): string;
}

/**
 * `npm start` as a new user runs it, with the shipped configuration; only the
 * addresses (the simulator's networks too: a /16 of this run's) and the clock differ.
 */
async function npmStart(dir: string, env: Record<string, string>): Promise<Started> {
  const network = claimNetwork();
  const fixtures = join(dir, 'simulator.json');
  writeFileSync(fixtures, JSON.stringify(onNetwork(shippedFixtures(), network)));
  // Its own process group, so stopping it reaches the service manager npm started.
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    env: {
      ...process.env,
      CI: '',
      SM_SERVICE_MANAGER_LISTEN: '127.0.0.1:0',
      SM_SIMULATOR_LISTEN: '127.0.0.1:0',
      SM_SIMULATOR_FIXTURES: fixtures,
      SM_CLOUDSTACK_TIME_SCALE: '20',
      SM_SERVICE_MANAGER_REGISTRY: join(dir, 'registry.db'),
      SM_SO_RUNTIME_PROCESS_DIR: join(dir, 'so'),
      ...env,
    },
  });
  child.once('exit', () => network.release());
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const line = (message: string): Record<string, string> | undefined =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, string>)
      .find((entry) => entry['message'] === message);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (line('service manager listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${output}`)));
  });
  const listening = line('service manager listening')!;
  return {
    child,
    smUrl: listening['url'],
    simulatorUrl: line('embedded CloudStack simulator listening')!['url'],
    runtime: listening['runtime'],
    output: () => output,
  };
}

function runSession(started: Started): Promise<{ code: number | null; output: string }> {
  const script = readmeSession()
    .replaceAll('localhost:8888', started.smUrl.replace('http://', ''))
    .replaceAll('localhost:8080', started.simulatorUrl.replace('http://', ''));
  return new Promise((resolve) => {
    // stdin is not a socket, or bash would take itself for an ssh session and read bashrc.
    const shell = spawn('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH: process.env['PATH'] }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    shell.stdout.on('data', (d) => (output += d));
    shell.stderr.on('data', (d) => (output += d));
    shell.on('exit', (code) => resolve({ code, output }));
  });
}

/** SIGTERM to npm and the service manager it runs, as Ctrl-C would; then waits until the service manager has let go of its port. */
async function stop(started: Started): Promise<void> {
  const { child } = started;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  for (let i = 0; i < 100; i++) {
    const answering = await fetch(`${started.smUrl}/-/`).then(
      () => true,
      () => false,
    );
    if (!answering) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the service manager still answers after SIGTERM');
}

function expectSessionWorked(result: { code: number | null; output: string }): void {
  expect(result.code, result.output).to.equal(0);
  expect(result.output).to.contain('mcn.service.state="ready"');
  expect(result.output).to.match(/^\s*3$/m);
  expect(result.output).to.contain('mesos.agents.active=4');
  expect(result.output).to.match(/^\s*4$/m);
  expect(result.output).to.contain('mesos.tasks.running=4');
  expect(result.output).to.contain('mesos.cpus.used=2');
  expect(result.output).to.contain('Attribute mesos.masters is fixed when the instance is created and cannot be updated.');
  expect(result.output).to.contain('No instance analytics.');
  expect(result.output).to.match(/^\s*5 "state":"Expunged"$/m);
  expect(result.output).to.not.match(/"state":"(Running|Stopped|Destroyed|Error)"/);
  expect(result.output).to.match(/mcn\.service\.state\.message="degraded: agent 2 of 2 \(127\.[\d.]+\) not active for \d+ s/);
  expect(result.output).to.match(/"message": "agent 2 of 2 \([\d.]+\) replaced: it runs again on a new VM, mesos-[a-z2-7]+-a2-g2"/);
  expect(result.output).to.contain('"message": "autoscale: 6 tasks waiting for 6 cpus and 384 MB, adding 2 agents"');
}

describe('Quick start: npm start and the README curl session', function () {
  this.timeout(300_000);
  let dir: string;
  let started: Started | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sm-quickstart-'));
  });

  afterEach(async () => {
    if (started) await stop(started);
    started = undefined;
    removeDir(dir);
  });

  it('works on a machine without a Docker engine: orchestrators run as processes', async () => {
    started = await npmStart(dir, { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` });
    expect(started.runtime).to.equal('process');
    expectSessionWorked(await runSession(started));
  });

  it('works on a machine with a Docker engine: orchestrators run in containers', async function () {
    await requireDocker(this);
    started = await npmStart(dir, {});
    expect(started.runtime).to.equal('docker');
    const containers = new Docker().listContainers({ all: true, filters: { label: ['mesos-sm.instance=analytics'] } });
    const result = await runSession(started);
    expectSessionWorked(result);
    expect(await containers).to.deep.equal([]);
  });
});
