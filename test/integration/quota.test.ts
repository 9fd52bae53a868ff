import { expect } from 'chai';
import { RecordingOrchestration } from '../support/recording-orchestration.js';
import { DEMO, KIND, OTHER, useTestSm } from '../support/sm.js';

const OCCI = { 'Content-Type': 'text/occi', Category: KIND };
const create = (attributes: string) => ({ headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': attributes } });

describe('SM quotas and write limits', () => {
  describe('quotas', () => {
    let orchestration: RecordingOrchestration;
    const sm = useTestSm(() => {
      orchestration = new RecordingOrchestration();
      return {
        orchestration: () => orchestration,
        extraConfig: '[quota]\ninstances = 2\nvms = 12\nagents_per_instance = 6',
      };
    });

    it('refuses with 403 and the figures, before anything is recorded or started, the instance one too many', async () => {
      expect((await sm().call('POST', '/mesos/', create('mesos.agents=2'))).status).to.equal(201);
      expect((await sm().call('PUT', '/mesos/second', create('mesos.agents=2'))).status).to.equal(201);
      const third = await sm().call('PUT', '/mesos/third', create('mesos.agents=1'));
      expect([third.status, third.body]).to.deep.equal([403, 'Quota exceeded: instances: this create would make 3; the quota is 2 and 2 are held.\n']);
      expect((await sm().call('GET', '/mesos/third', { headers: DEMO })).status).to.equal(404);
      expect(orchestration.calls.filter((c) => c.call === 'created')).to.have.length(2);
      expect((await sm().call('PUT', '/mesos/second', create('mesos.agents=2'))).status, 'an identical repeat is no new instance').to.equal(200);
      const other = await sm().call('POST', '/mesos/', { headers: { ...OTHER, ...OCCI } });
      expect(other.status, 'another tenant has a quota of its own').to.equal(201);
    });

    it("refuses agents beyond the per-instance quota, the autoscaling maximum included, and VMs beyond the tenant's", async () => {
      const big = await sm().call('POST', '/mesos/', create('mesos.agents=7'));
      expect([big.status, big.body]).to.deep.equal([403, 'Quota exceeded: agents per instance: this create asks for 7; the quota is 6.\n']);
      const autoscaled = await sm().call('POST', '/mesos/', create('mesos.agents=1, mesos.autoscale=true, mesos.autoscale.max=8'));
      expect(autoscaled.body).to.equal('Quota exceeded: agents per instance: this create asks for 8; the quota is 6.\n');
      expect((await sm().call('PUT', '/mesos/a', create('mesos.masters=3, mesos.agents=6'))).status).to.equal(201);
      const more = await sm().call('PUT', '/mesos/b', create('mesos.masters=1, mesos.agents=3'));
      expect([more.status, more.body]).to.deep.equal([
        403,
        'Quota exceeded: VMs: this create needs 4 more, which would make 13; the quota is 12 and 9 are held.\n',
      ]);
      expect((await sm().call('PUT', '/mesos/b', create('mesos.masters=1, mesos.agents=2'))).status).to.equal(201);
    });

    it('checks the growth of an update, and lets a cluster shrink', async () => {
      expect((await sm().call('PUT', '/mesos/a', create('mesos.masters=3, mesos.agents=4'))).status).to.equal(201);
      expect((await sm().call('PUT', '/mesos/b', create('mesos.agents=3'))).status).to.equal(201);
      const update = (agents: number) =>
        sm().call('POST', '/mesos/a', { headers: { ...DEMO, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': `mesos.agents=${agents}` } });
      const grow = await update(6);
      expect([grow.status, grow.body]).to.deep.equal([
        403,
        'Quota exceeded: VMs: this update needs 2 more, which would make 13; the quota is 12 and 11 are held.\n',
      ]);
      expect((await update(5)).status).to.equal(200);
      expect((await update(1)).status).to.equal(200);
    });
  });

  describe("the CloudStack account's limits", () => {
    const sm = useTestSm(() => {
      const orchestration = new RecordingOrchestration();
      return { orchestration: () => orchestration, extraConfig: '[quota]\nvms = 1000' };
    });

    it("refuses what the tenant's CloudStack account has no room for, before any VM is asked for", async () => {
      // The simulator's account of tenant other may hold 20 VMs.
      const reply = await sm().call('POST', '/mesos/', { headers: { ...OTHER, ...OCCI, 'X-OCCI-Attribute': 'mesos.masters=5, mesos.agents=16' } });
      expect([reply.status, reply.body]).to.deep.equal([
        403,
        "Quota exceeded: the CloudStack account's VM limit: this create needs 21 more VMs; the account has 20 left, 0 of them promised to instances being built.\n",
      ]);
      expect((await sm().call('POST', '/mesos/', { headers: { ...OTHER, ...OCCI, 'X-OCCI-Attribute': 'mesos.masters=5, mesos.agents=10' } })).status).to.equal(
        201,
      );
      const next = await sm().call('POST', '/mesos/', { headers: { ...OTHER, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=5' } });
      expect(next.body, 'VMs promised to an instance being built count').to.equal(
        "Quota exceeded: the CloudStack account's VM limit: this create needs 6 more VMs; the account has 20 left, 15 of them promised to instances being built.\n",
      );
    });
  });

  describe('write limits', () => {
    const sm = useTestSm(() => {
      const orchestration = new RecordingOrchestration();
      return { orchestration: () => orchestration, extraConfig: '[quota]\nwrites_per_minute = 6\nwrite_burst = 3' };
    });

    it("answers 429 with Retry-After past a tenant's writes, leaving its reads and other tenants alone", async () => {
      for (let i = 0; i < 3; i++) expect((await sm().call('PUT', `/mesos/c${i}`, create('mesos.agents=1'))).status).to.equal(201);
      const refused = await sm().call('DELETE', '/mesos/c0', { headers: DEMO });
      expect([refused.status, refused.header('retry-after'), refused.body]).to.deep.equal([
        429,
        '10',
        'Too many writes: tenant demo may make 6 a minute, 3 at once; try again in 10 s.\n',
      ]);
      expect((await sm().call('GET', '/mesos/c0', { headers: DEMO })).status).to.equal(200);
      expect((await sm().call('GET', '/mesos/c0', { headers: DEMO })).body).to.contain('mcn.service.state="initialise"');
      expect((await sm().call('POST', '/mesos/', { headers: { ...OTHER, ...OCCI } })).status).to.equal(201);
    });
  });
});
