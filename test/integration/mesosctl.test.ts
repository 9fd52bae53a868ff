import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceManager } from '../../service-manager/start.js';
import { startEmbeddedSm, type EmbeddedSm } from '../support/embedded-sm.js';
import { call } from '../support/http.js';

const MESOSCTL = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function started(args: readonly string[], env: Record<string, string>): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [MESOSCTL, ...args], { env: { PATH: process.env['PATH'], HOME: env['HOME'] ?? tmpdir(), ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

describe('mesosctl against a live service manager', function () {
  this.timeout(120_000);
  let embedded: EmbeddedSm;
  let dir: string;
  let sm: ServiceManager;
  let env: Record<string, string>;
  const mesosctl = (...args: string[]): Promise<Run> => started(['--interval', '0.05', ...args], env).done;

  before(async () => {
    embedded = await startEmbeddedSm();
    ({ sm, dir } = embedded);
    env = { MESOSCTL_URL: sm.url, MESOSCTL_TENANT: 'demo', MESOSCTL_TOKEN: 'demo-token', HOME: dir };
  });

  after(async () => embedded.close());

  it('creates and waits for a cluster that really serves, showing each state on the way as plain lines', async () => {
    const run = await mesosctl('create', 'alpha', '--agents', '1', '--wait');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^alpha: ready\n/);
    const lines = run.stderr.split('\n');
    expect(lines[0]).to.equal('Creating alpha.');
    for (const state of ['initialise', 'provision', 'ready'])
      expect(
        lines.some((l) => l.includes(`  ${state}`)),
        `${state} in ${run.stderr}`,
      ).to.equal(true);
    const master = /Mesos: (\S+)/.exec(run.stdout)![1];
    const slaves = (await call('GET', `${master}/master/slaves`)).json<{ slaves: Array<{ active: boolean }> }>().slaves;
    expect(slaves.filter((s) => s.active)).to.have.length(1);
  });

  it('prints JSON for scripts: one instance, the list, and events one per line', async () => {
    const got = await mesosctl('--json', 'get', 'alpha');
    expect(got.code).to.equal(0);
    expect(got.stderr).to.equal('');
    const instance = JSON.parse(got.stdout) as { id: string; attributes: Record<string, unknown> };
    expect(instance.id).to.equal('alpha');
    expect(instance.attributes['mcn.service.state']).to.equal('ready');

    const listed = JSON.parse((await mesosctl('--json', 'list')).stdout) as Array<{ id: string }>;
    expect(listed.map((i) => i.id)).to.deep.equal(['alpha']);

    const events = (await mesosctl('--json', 'events', 'alpha')).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; state?: string });
    expect(events[0].seq).to.equal(1);
    expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
    expect(events.some((e) => e.state === 'ready')).to.equal(true);
  });

  it('scales and waits until the new agent is active; the table shows it', async () => {
    const run = await mesosctl('--json', 'scale', 'alpha', '2', '--wait');
    expect(run.code, run.stderr).to.equal(0);
    const instance = JSON.parse(run.stdout) as { attributes: Record<string, unknown> };
    expect(instance.attributes['mcn.service.state']).to.equal('ready');
    expect(instance.attributes['mesos.agents.active']).to.equal(2);
    const table = (await mesosctl('list')).stdout.split('\n');
    expect(table[0]).to.match(/^NAME +STATE +AGENTS +MESSAGE$/);
    expect(table[1]).to.match(/^alpha +ready +2\/2 /);
  });

  it('exits 1 when the cluster fails, 2 for usage or invalid input, 3 for bad credentials, 4 for an unknown cluster', async () => {
    const failing = await mesosctl('create', 'broken', '--agents', '1', '--zone', 'no-such-zone', '--wait', '--set', 'mcn.service.on_failure=delete');
    expect(failing.code, failing.stderr).to.equal(1);
    expect(failing.stderr).to.include('mesosctl: broken: ').and.include('no-such-zone');
    const retried = await mesosctl('retry', 'broken', '--wait');
    expect(retried.code, retried.stderr).to.equal(1);
    expect(retried.stderr)
      .to.match(/^Retrying broken\.\n/)
      .and.include('no-such-zone');
    expect((await mesosctl('create', 'alpha')).code, 'it exists already').to.equal(1);
    expect((await mesosctl('create', 'zero', '--agents', '0')).code).to.equal(2);
    const invalid = await mesosctl('create', 'huge', '--set', 'mesos.agents=1000');
    expect([invalid.code, invalid.stderr]).to.deep.equal([2, 'mesosctl: Attribute mesos.agents = 1000 is above the maximum 100.\n']);
    expect((await mesosctl('frobnicate')).code).to.equal(2);
    const denied = await started(['get', 'alpha'], { ...env, MESOSCTL_TOKEN: 'wrong' }).done;
    expect(denied.code).to.equal(3);
    expect((await mesosctl('get', 'nobody')).code).to.equal(4);
    expect((await mesosctl('--help')).code).to.equal(0);
  });

  it('reads a private config file and refuses one others may read', async () => {
    const file = join(dir, 'mesosctl.json');
    writeFileSync(file, JSON.stringify({ url: sm.url, tenant: 'demo', token: 'demo-token' }));
    chmodSync(file, 0o644);
    const open = await started(['--config', file, 'list'], { HOME: dir }).done;
    expect([open.code, open.stderr]).to.deep.equal([2, `mesosctl: The config file ${file} holds a token but others may read it; chmod 600 it.\n`]);
    chmodSync(file, 0o600);
    const run = await started(['--config', file, 'list'], { HOME: dir }).done;
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('alpha');
  });

  it('deletes and waits until every VM is gone, while a follower prints the events to the end', async () => {
    const follower = started(['--interval', '0.05', 'events', 'alpha', '--follow'], env);
    const run = await mesosctl('delete', 'alpha', '--wait');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('alpha is gone: every VM is deleted.\n');
    const vms = (await call('GET', `${sm.cloudstackUrl}/sim/vms`)).json<Array<{ name: string; state: string }>>();
    expect(vms.length).to.be.above(0);
    expect(vms.filter((vm) => vm.state !== 'Expunged')).to.deep.equal([]);
    const followed = await follower.done;
    expect(followed.code, followed.stderr).to.equal(0);
    expect(followed.stdout).to.include('destroy');
    expect(followed.stderr).to.equal('alpha is gone.\n');
    expect((await mesosctl('get', 'alpha')).code).to.equal(4);
  });
});
