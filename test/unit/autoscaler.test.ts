import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { parseAttributes } from '../../lib/occi/parse.js';
import { Autoscaler, AUTOSCALER_ACTOR } from '../../service-manager/autoscale/autoscaler.js';
import { InstanceRegistry, type InstanceRecord } from '../../service-manager/registry/registry.js';
import type { Attributes } from '../../service-manager/service-type/attributes.js';
import { createInputs } from '../../service-manager/service-type/attributes.js';
import { buildServiceType } from '../../service-manager/service-type/manifest.js';
import { RecordingOrchestration } from '../support/recording-orchestration.js';
import { ETC } from '../support/sm.js';

const type = buildServiceType(JSON.parse(readFileSync(join(ETC, 'service_manifest.json'), 'utf8')), () => 'x');
const S = 1000;

/** Outputs of a ready cluster whose agents have 2 cpus and 4 GB each. */
function load(agents: number, cpusUsed: number, waiting = { tasks: 0, cpus: 0, mem: 0 }): Attributes {
  return {
    'mesos.agents.active': agents,
    'mesos.cpus.used': cpusUsed,
    'mesos.cpus.total': 2 * agents,
    'mesos.mem.used': 128,
    'mesos.mem.total': 4096 * agents,
    'mesos.tasks.waiting': waiting.tasks,
    'mesos.tasks.waiting.cpus': waiting.cpus,
    'mesos.tasks.waiting.mem': waiting.mem,
  };
}

describe('Autoscaler loop', () => {
  let clock: ManualClock;
  let registry: InstanceRegistry;
  let orchestration: RecordingOrchestration;
  let autoscaler: Autoscaler;
  let seq = 0;

  beforeEach(() => {
    clock = new ManualClock(Date.UTC(2026, 11, 1));
    registry = new InstanceRegistry(':memory:', clock);
    orchestration = new RecordingOrchestration();
    autoscaler = new Autoscaler({ registry, type, orchestration, clock, sustainMs: 60 * S, logger: createMemoryLogger().logger });
  });

  afterEach(() => registry.close());

  function ready(attributes: string, outputs: Attributes): InstanceRecord {
    const id = `c${++seq}`;
    const created = registry.insert(
      {
        uid: `uid-${id}`,
        id,
        tenant: 'demo',
        kind: 'mesos',
        attributes: createInputs(type, parseAttributes(attributes)),
        outputs: {},
        state: 'initialise',
        stateMessage: '',
      },
      { actor: 'demo', type: 'created' },
    );
    let current = created;
    for (const state of ['activate', 'deploy', 'provision', 'ready'] as const) {
      current = registry.change(
        current.uid,
        current.version,
        { state, ...(state === 'ready' ? { outputs } : {}) },
        { actor: 'service-manager', type: 'state_changed', state },
      );
    }
    return current;
  }

  const reload = (instance: InstanceRecord): InstanceRecord => registry.byUid(instance.uid)!;
  const setLoad = (instance: InstanceRecord, outputs: Attributes): void => {
    const current = reload(instance);
    registry.change(current.uid, current.version, { outputs }, { actor: 'service-manager', type: 'outputs_changed' });
  };

  it("resizes an autoscaled cluster as a tenant's update would, with the reason as message and event", async () => {
    const cluster = ready('mesos.autoscale=true, mesos.agents=1, mesos.autoscale.max=4', load(1, 2, { tasks: 4, cpus: 4, mem: 256 }));
    expect(await autoscaler.run()).to.equal(1);
    const scaled = reload(cluster);
    expect(scaled).to.deep.include({ state: 'update', stateMessage: 'autoscale: 4 tasks waiting for 4 cpus and 256 MB, adding 2 agents' });
    expect(scaled.attributes['mesos.agents']).to.equal(3);
    expect(registry.events(cluster.uid).at(-1)).to.deep.include({
      actor: AUTOSCALER_ACTOR,
      type: 'updated',
      state: 'update',
      changes: { 'mesos.agents': { from: 1, to: 3 } },
    });
    expect(orchestration.calls).to.deep.equal([{ call: 'reconfigured', id: cluster.id, changes: { 'mesos.agents': { from: 1, to: 3 } } }]);
  });

  it('leaves clusters alone that are not autoscaled or not ready', async () => {
    ready('mesos.agents=1', load(1, 2, { tasks: 4, cpus: 4, mem: 256 }));
    const building = registry.insert(
      {
        uid: 'uid-b',
        id: 'b',
        tenant: 'demo',
        kind: 'mesos',
        attributes: createInputs(type, parseAttributes('mesos.autoscale=true')),
        outputs: {},
        state: 'initialise',
        stateMessage: '',
      },
      { actor: 'demo', type: 'created' },
    );
    expect(await autoscaler.run()).to.equal(0);
    expect(orchestration.calls).to.deep.equal([]);
    expect(reload(building).state).to.equal('initialise');
  });

  it("counts sustained utilisation across looks and waits out the cooldown of any resize, a tenant's too", async () => {
    const cluster = ready('mesos.autoscale=true, mesos.agents=2, mesos.autoscale.cooldown_s=120', load(2, 3.8));
    expect(await autoscaler.run(), 'high since now').to.equal(0);
    clock.advance(30 * S);
    expect(await autoscaler.run()).to.equal(0);
    clock.advance(30 * S);
    expect(await autoscaler.run(), 'high for 60 s').to.equal(1);
    expect(reload(cluster).attributes['mesos.agents']).to.equal(3);
    const scaled = reload(cluster);
    registry.change(scaled.uid, scaled.version, { state: 'ready', outputs: load(3, 5.8) }, { actor: 'service-manager', type: 'state_changed', state: 'ready' });
    clock.advance(100 * S);
    expect(await autoscaler.run(), 'cooling down').to.equal(0);
    const restarted = new Autoscaler({ registry, type, orchestration, clock, sustainMs: 0, logger: createMemoryLogger().logger });
    expect(await restarted.run(), 'the cooldown comes from the history after a restart').to.equal(0);
    clock.advance(20 * S);
    expect(await restarted.run()).to.equal(1);
  });

  it('tells once, not at every look, why it holds against the load', async () => {
    const cluster = ready('mesos.autoscale=true, mesos.agents=2, mesos.autoscale.max=2', load(2, 1, { tasks: 3, cpus: 3, mem: 96 }));
    for (let look = 0; look < 3; look++) {
      await autoscaler.run();
      clock.advance(10 * S);
    }
    const told = registry.events(cluster.uid).filter((e) => e.type === 'autoscale');
    expect(told.map((e) => e.message)).to.deep.equal(['3 tasks waiting for 3 cpus and 96 MB, but the cluster is at its maximum of 2']);
    setLoad(cluster, load(2, 1));
    await autoscaler.run();
    setLoad(cluster, load(2, 1, { tasks: 3, cpus: 3, mem: 96 }));
    await autoscaler.run();
    expect(
      registry.events(cluster.uid).filter((e) => e.type === 'autoscale'),
      'told again once it had passed',
    ).to.have.length(2);
  });
});
