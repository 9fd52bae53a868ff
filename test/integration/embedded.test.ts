import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseConfig } from '../../service-manager/config/load.js';
import { ProcessRuntime } from '../../service-manager/runtime/process.js';
import { startServiceManager, type ServiceManager } from '../../service-manager/start.js';
import { call } from '../support/http.js';
import { claimNetwork, onNetwork, type RunNetwork } from '../support/networks.js';
import { smClient } from '../support/pipeline.js';
import { shippedFixtures } from '../support/simulator.js';
import { embeddedConfig } from '../support/embedded-sm.js';
import { DEMO, removeDir } from '../support/sm.js';

describe('SM with its embedded CloudStack simulator', function () {
  this.timeout(60_000);
  let dir: string;
  let sm: ServiceManager | undefined;
  let network: RunNetwork;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sm-embedded-'));
    network = claimNetwork();
    writeFileSync(join(dir, 'simulator.json'), JSON.stringify(onNetwork(shippedFixtures(), network)));
  });

  afterEach(async () => {
    await sm?.close();
    sm = undefined;
    network.release();
    removeDir(dir);
  });

  const start = async (): Promise<ServiceManager> => {
    return startServiceManager(parseConfig(embeddedConfig(dir), join(dir, 'sm.cfg'), {}, dir), { logger: createMemoryLogger().logger });
  };

  it('rebuilds the clusters kept in its registry, since the simulator starts empty, and stops their orchestrators with it', async () => {
    sm = await start();
    let client = smClient(sm.url);
    const id = await client.create(DEMO, 'mesos.agents=1', 'kept');
    const first = await client.untilState(DEMO, id, 'ready');
    await sm.close();
    sm = undefined;
    expect(await new ProcessRuntime(join(dir, 'so')).list()).to.deep.equal([]);

    const restarted = await start();
    sm = restarted;
    client = smClient(restarted.url);
    const uid = restarted.registry.find('demo', id)!.uid;
    const states: string[] = [];
    const vms = async (): Promise<string[]> => (await call('GET', `${restarted.cloudstackUrl}/sim/vms`)).json<Array<{ state: string }>>().map((vm) => vm.state);
    const again = await client.until(DEMO, id, (a) => {
      states.push(String(a['mcn.service.state']));
      return a['occi.mcn.stack.state'] === 'UPDATE_COMPLETE' && !restarted.pipeline!.driver.active(uid);
    });
    expect(await vms()).to.deep.equal(['Running', 'Running']);
    expect(new Set(states)).to.deep.equal(new Set(['ready']));
    expect(again['mesos.agents.active']).to.equal(1);
    expect(again['mesos.master.url']).to.equal(first['mesos.master.url']);
  });
});
