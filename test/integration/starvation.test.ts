import { expect } from 'chai';
import { useWorld } from '../support/pipeline.js';
import { DEMO, KIND, OTHER } from '../support/sm.js';
import { until } from '../support/wait.js';

describe("SM under one tenant's failing creates, on the process runtime", function () {
  this.timeout(180_000);
  const world = useWorld();

  it("releases the port of each failed instance at once: another tenant's create still gets one and is ready", async () => {
    // Three ports of an address only this run uses: without release, the first three failures would hold them all.
    const host = world().sim.network.address(1, 32_000);
    const sm = await world().startSm('process', {
      extra: `[so_runtime]\nhost = ${host}\nports = 18000-18002\n[quota]\ninstances = 12\nwrite_burst = 1000`,
    });
    const failing = { ...OTHER, Category: KIND, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'cloudstack.zone=mars, mesos.agents=1' };
    const answers = await Promise.all(Array.from({ length: 200 }, () => sm.call('POST', '/mesos/', { headers: failing })));
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.filter((s) => s === 201),
      'the quota admits twelve',
    ).to.have.length(12);
    expect(statuses.filter((s) => s === 403)).to.have.length(188);
    const id = await sm.create(DEMO, 'mesos.agents=1');
    const ready = await sm.untilState(DEMO, id, 'ready', 120_000);
    expect(ready['mesos.agents.active']).to.equal(1);
    const failed = async (): Promise<number> =>
      (await sm.call('GET', '/mesos/', { headers: { ...OTHER, Accept: 'text/uri-list' } })).body.trim().split(/\r?\n/).length;
    expect(await failed()).to.equal(12);
    await until(() => sm.sm.registry.list('other').every((i) => i.state === 'failed' && i.memo.failure?.vms === 'removed'), 120_000);
    for (const instance of sm.sm.registry.list('other')) {
      expect(instance.stateMessage).to.match(/^Cannot build the cluster: .*mars.*\. Its VMs were removed \(on_failure=delete\)\.$/);
      expect(instance.memo.port, 'no port kept by a failed instance').to.equal(undefined);
    }
    expect((await sm.sm.pipeline!.runtime.list()).map((so) => so.uid)).to.deep.equal([sm.sm.registry.find('demo', id)!.uid]);
    expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
    await sm.untilGone(DEMO, id);
  });
});
