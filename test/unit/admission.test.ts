import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { NotPermitted } from '../../lib/errors.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseAttributes } from '../../lib/occi/parse.js';
import { Admission } from '../../service-manager/admission/admission.js';
import type { Quota } from '../../service-manager/admission/quota.js';
import { InstanceRegistry } from '../../service-manager/registry/registry.js';
import { createInputs } from '../../service-manager/service-type/attributes.js';
import { buildServiceType } from '../../service-manager/service-type/manifest.js';
import { ETC } from '../support/sm.js';

const type = buildServiceType(JSON.parse(readFileSync(join(ETC, 'service_manifest.json'), 'utf8')), () => 'x');
const QUOTA: Quota = { instances: 4, vms: 12, agentsPerInstance: 8, writesPerMinute: 60, writeBurst: 10 };

describe('SM admission over the registry', () => {
  let registry: InstanceRegistry;
  let admission: Admission;
  let n = 0;

  beforeEach(() => {
    registry = new InstanceRegistry(':memory:', new ManualClock(Date.UTC(2026, 10, 1)));
    admission = new Admission({ registry, type, quotaOf: () => QUOTA, capacity: async () => ({}), logger: createMemoryLogger().logger });
  });

  afterEach(() => registry.close());

  const insert = (tenant: string, agents: number) =>
    registry.insert(
      {
        uid: `u${++n}`,
        id: `c${n}`,
        tenant,
        kind: 'mesos',
        attributes: createInputs(type, parseAttributes(`mesos.agents=${agents}`)),
        outputs: {},
        state: 'initialise',
        stateMessage: 'accepted',
      },
      { actor: tenant, type: 'created', state: 'initialise' },
    );
  const refusal = (tenant: string, agents: number, cloud = {}): string | undefined => {
    try {
      admission.create(tenant, createInputs(type, parseAttributes(`mesos.agents=${agents}`)), cloud);
      return undefined;
    } catch (error) {
      expect(error).to.be.instanceOf(NotPermitted);
      return (error as Error).message;
    }
  };

  it("keeps each tenant's totals through every write the registry makes, as a count from scratch would give them", () => {
    insert('demo', 3);
    expect(refusal('demo', 8), 'read whole the first time: 4 held').to.equal(
      'Quota exceeded: VMs: this create needs 9 more, which would make 13; the quota is 12 and 4 are held.',
    );
    const second = insert('demo', 3);
    expect(refusal('demo', 4), 'the insert counted').to.equal(
      'Quota exceeded: VMs: this create needs 5 more, which would make 13; the quota is 12 and 8 are held.',
    );
    const failed = registry.change(
      second.uid,
      second.version,
      { state: 'failed', memo: { failure: { cause: 'deploy failed', vms: 'removed' } } },
      { actor: 'service-manager', type: 'state_changed', state: 'failed' },
    );
    expect(refusal('demo', 4), 'a failure whose VMs are gone holds none').to.equal(undefined);
    registry.remove(failed.uid, failed.version, { actor: 'service-manager', type: 'removed' });
    insert('demo', 1);
    insert('demo', 1);
    expect(refusal('demo', 1), 'the removal counted: 3 of 4 instances').to.equal(undefined);
    insert('demo', 1);
    expect(refusal('demo', 1)).to.equal('Quota exceeded: instances: this create would make 5; the quota is 4 and 4 are held.');
    expect(refusal('other', 8), 'another tenant holds nothing of it').to.equal(undefined);
    const fresh = new Admission({ registry, type, quotaOf: () => QUOTA, capacity: async () => ({}), logger: createMemoryLogger().logger });
    expect(fresh['ledger']('demo').totals, 'the same totals as a count from scratch').to.deep.equal(admission['ledger']('demo').totals);
  });

  it('counts the VMs of instances still being built against what the cloud account has left', () => {
    insert('demo', 2);
    expect(refusal('demo', 2, { vmsAvailable: 5 })).to.equal(
      "Quota exceeded: the CloudStack account's VM limit: this create needs 3 more VMs; the account has 5 left, 3 of them promised to instances being built.",
    );
  });
});
