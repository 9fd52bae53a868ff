import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstanceRegistry } from '../../service-manager/registry/registry.js';
import { writeUnlimitedCopy } from '../../simulator/fixtures.js';
import { baseConfig, DEMO, ETC, KIND, OTHER, removeDir, startTestSm } from '../support/sm.js';

const DETACHED_SM = fileURLToPath(new URL('../support/detached-sm-process.js', import.meta.url));
/** Creates acknowledged before the kill, and how many are sent at once. */
const ACKNOWLEDGED = 60;
const CONCURRENT = 16;

describe('SM restart', () => {
  it('keeps instances, their attributes, states and events', async () => {
    const first = await startTestSm();
    const a = await first.create(DEMO, 'mesos.agents=3');
    const b = await first.create(OTHER);
    await first.call('POST', `/mesos/${a}`, {
      headers: { ...DEMO, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=6' },
    });
    await first.call('PUT', '/mesos/named', {
      headers: { ...DEMO, 'Content-Type': 'text/occi', Category: 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"' },
    });
    const renderedBefore = (await first.call('GET', `/mesos/${a}`, { headers: DEMO })).body;
    const eventsBefore = (await first.call('GET', `/mesos/${a}/events`, { headers: DEMO })).body;
    await first.stop();

    const second = await startTestSm({ dir: first.dir });
    try {
      expect((await second.call('GET', `/mesos/${a}`, { headers: DEMO })).body).to.equal(renderedBefore);
      expect((await second.call('GET', `/mesos/${a}/events`, { headers: DEMO })).body).to.equal(eventsBefore);
      expect((await second.call('GET', `/mesos/${b}`, { headers: OTHER })).status).to.equal(200);
      const list = await second.call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'text/uri-list' } });
      expect(list.body.trim().split('\r\n')).to.have.length(2);
      const repeat = await second.call('PUT', '/mesos/named', {
        headers: { ...DEMO, 'Content-Type': 'text/occi', Category: 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"' },
      });
      expect(repeat.status).to.equal(200);
    } finally {
      await second.stop();
      removeDir(first.dir);
    }
  });

  it('loses no create it acknowledged when killed right after answering 201', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sm-kill-'));
    const file = join(dir, 'sm.cfg');
    writeFileSync(
      file,
      [
        ...baseConfig(join(dir, 'registry.db')),
        '[simulator]',
        `fixtures = ${writeUnlimitedCopy(join(ETC, 'simulator.json'), dir)}`,
        'listen = 127.0.0.1:0',
        '[quota]',
        'instances = 1000',
        'vms = 100000',
        'writes_per_minute = 100000',
        'write_burst = 100000',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [DETACHED_SM, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (line: Buffer) => resolve(line.toString().trim()));
        child.once('exit', (code) => reject(new Error(`the service manager exited with ${code}`)));
      });
      const acknowledged: string[] = [];
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENT });
      const create = (): Promise<boolean> =>
        new Promise((resolve) => {
          const req = request(`${url}/mesos/`, { method: 'POST', agent, headers: { ...DEMO, Category: KIND, 'Content-Type': 'text/occi' } }, (res) => {
            // The kill comes in the very callback that hears the 201, while other creates are still being written.
            if (res.statusCode === 201 && acknowledged.push(res.headers.location!.split('/').pop()!) === ACKNOWLEDGED) child.kill('SIGKILL');
            res.resume();
            res.on('end', () => resolve(res.statusCode === 201));
            res.on('error', () => resolve(false));
          });
          req.on('error', () => resolve(false));
          req.end();
        });
      const worker = async (): Promise<void> => {
        while (child.exitCode === null && child.signalCode === null && (await create()));
      };
      await Promise.all(Array.from({ length: CONCURRENT }, worker));
      agent.destroy();
      expect(acknowledged.length, 'creates acknowledged before the kill').to.be.at.least(ACKNOWLEDGED);
      await exited;
      const registry = new InstanceRegistry(join(dir, 'registry.db'), { now: () => Date.now() });
      try {
        expect(
          acknowledged.filter((id) => registry.find('demo', id) === undefined),
          'acknowledged but lost',
        ).to.deep.equal([]);
      } finally {
        registry.close();
      }
    } finally {
      child.kill('SIGKILL');
      removeDir(dir);
    }
  });
});
