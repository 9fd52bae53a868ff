import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { RateLimited } from '../../lib/errors.js';
import { WriteLimit } from '../../service-manager/admission/write-limit.js';
import { thrownBy } from '../support/expect.js';

const QUOTA = { instances: 20, vms: 200, agentsPerInstance: 100, writesPerMinute: 30, writeBurst: 3 };

describe('Write limit per tenant', () => {
  it('allows a burst, then one write per 60/writes_per_minute seconds, saying when to try again', () => {
    const clock = new ManualClock();
    const limit = new WriteLimit(clock, () => QUOTA);
    for (let i = 0; i < 3; i++) limit.spend('demo');
    const refused = thrownBy(() => limit.spend('demo'), RateLimited);
    expect(refused.retryAfterSeconds).to.equal(2);
    expect(refused.message).to.equal('Too many writes: tenant demo may make 30 a minute, 3 at once; try again in 2 s.');
    clock.advance(1999);
    expect(() => limit.spend('demo')).to.throw(RateLimited);
    clock.advance(1);
    limit.spend('demo');
  });

  it('keeps tenants apart: one tenant past its allowance leaves the others theirs', () => {
    const limit = new WriteLimit(new ManualClock(), () => QUOTA);
    for (let i = 0; i < 3; i++) limit.spend('busy');
    expect(() => limit.spend('busy')).to.throw(RateLimited);
    for (let i = 0; i < 3; i++) limit.spend('quiet');
  });
});
