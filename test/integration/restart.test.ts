import { expect } from 'chai';
import { DEMO, OTHER, removeDir, startTestSm } from '../support/sm.js';

describe('SM restart', () => {
  it('keeps instances, their attributes, states and events', async () => {
    const first = await startTestSm();
    const a = await first.create(DEMO, 'mesos.agents=3');
    const b = await first.create(OTHER);
    await first.call('POST', `/mesos/${a}`, {
      headers: { ...DEMO, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=6' },
    });
    await first.call('PUT', '/mesos/named', { headers: { ...DEMO, 'Content-Type': 'text/occi', Category: 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"' } });
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
});
