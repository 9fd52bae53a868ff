import { expect } from 'chai';
import { admit, totalOf, vmsOf, type Held, type Quota } from '../../service-manager/admission/quota.js';

const QUOTA: Quota = { instances: 3, vms: 20, agentsPerInstance: 8, writesPerMinute: 60, writeBurst: 10 };
const held = (masters: number, agents: number, more: Partial<Held> = {}): Held => ({ footprint: { masters, agents }, building: false, empty: false, ...more });
const create = (masters: number, agents: number, reserve?: number) => ({
  kind: 'create' as const,
  footprint: { masters, agents, ...(reserve ? { reserve } : {}) },
});

describe('Admission decisions', () => {
  it('counts an instance as its masters and the larger of its agents and its autoscaling maximum', () => {
    expect(vmsOf({ masters: 3, agents: 2 })).to.equal(5);
    expect(vmsOf({ masters: 1, agents: 2, reserve: 6 })).to.equal(7);
    expect(vmsOf({ masters: 1, agents: 6, reserve: 4 })).to.equal(7);
  });

  it('admits what fits the quota and the account', () => {
    expect(admit(create(1, 2), totalOf([held(1, 2)]), QUOTA, { vmsAvailable: 10 })).to.deep.equal({ ok: true });
    expect(admit(create(1, 2), totalOf([]), QUOTA, undefined), 'the account could not be asked').to.deep.equal({ ok: true });
    expect(admit(create(1, 2), totalOf([]), QUOTA, {}), 'an unlimited account').to.deep.equal({ ok: true });
  });

  it('refuses an instance with more agents than one may have, its autoscaling maximum included', () => {
    expect(admit(create(1, 9), totalOf([]), QUOTA, undefined)).to.deep.equal({
      ok: false,
      message: 'Quota exceeded: agents per instance: this create asks for 9; the quota is 8.',
    });
    expect(admit(create(1, 2, 12), totalOf([]), QUOTA, undefined)).to.deep.include({
      ok: false,
      message: 'Quota exceeded: agents per instance: this create asks for 12; the quota is 8.',
    });
  });

  it('refuses one instance too many, failed ones included', () => {
    const three = [held(1, 1), held(1, 1, { empty: true }), held(1, 1)];
    expect(admit(create(1, 1), totalOf(three), QUOTA, undefined)).to.deep.equal({
      ok: false,
      message: 'Quota exceeded: instances: this create would make 4; the quota is 3 and 3 are held.',
    });
  });

  it('refuses VMs beyond the quota, not counting instances whose VMs a failure removed', () => {
    expect(admit(create(3, 5), totalOf([held(3, 5), held(1, 8)]), QUOTA, undefined)).to.deep.equal({
      ok: false,
      message: 'Quota exceeded: VMs: this create needs 8 more, which would make 25; the quota is 20 and 17 are held.',
    });
    expect(admit(create(3, 5), totalOf([held(3, 5), held(1, 8, { empty: true })]), QUOTA, undefined)).to.deep.equal({ ok: true });
  });

  it('checks only the growth of an update, and admits any shrink', () => {
    const before = { masters: 1, agents: 4 };
    const others = [held(1, 4), held(5, 8)];
    expect(admit({ kind: 'update', before, footprint: { masters: 1, agents: 8 } }, totalOf(others), QUOTA, undefined)).to.deep.equal({
      ok: false,
      message: 'Quota exceeded: VMs: this update needs 4 more, which would make 22; the quota is 20 and 18 are held.',
    });
    expect(admit({ kind: 'update', before, footprint: { masters: 1, agents: 6 } }, totalOf(others), QUOTA, undefined)).to.deep.equal({ ok: true });
    expect(admit({ kind: 'update', before, footprint: { masters: 1, agents: 2 } }, totalOf([...others, held(9, 9)]), QUOTA, { vmsAvailable: 0 })).to.deep.equal(
      { ok: true },
    );
  });

  it('refuses what the CloudStack account has no room for, counting the VMs promised to instances still being built', () => {
    expect(admit(create(1, 2), totalOf([held(1, 2, { building: true })]), QUOTA, { vmsAvailable: 5 })).to.deep.equal({
      ok: false,
      message:
        "Quota exceeded: the CloudStack account's VM limit: this create needs 3 more VMs; the account has 5 left, 3 of them promised to instances being built.",
    });
    expect(admit(create(1, 2), totalOf([held(1, 2)]), QUOTA, { vmsAvailable: 3 })).to.deep.equal({ ok: true });
  });
});
