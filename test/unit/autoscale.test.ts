import { expect } from 'chai';
import { decideScale, type AutoscaleObservation, type AutoscalePolicy } from '../../service-manager/autoscale/decide.js';

const S = 1000;
const NOW = 1_000_000 * S;
const POLICY: AutoscalePolicy = { min: 1, max: 4, cpuHigh: 0.8, cpuLow: 0.3, cooldownMs: 300 * S, sustainMs: 60 * S };

/** A ready cluster of 2 agents with 2 cpus and 3 GB each, half busy, nothing waiting. */
function cluster(overrides: Partial<AutoscaleObservation> = {}): AutoscaleObservation {
  return {
    state: 'ready',
    agents: 2,
    minReady: 1,
    active: 2,
    cpusUsed: 2,
    cpusTotal: 4,
    memUsed: 1024,
    memTotal: 6144,
    waiting: { tasks: 0, cpus: 0, mem: 0 },
    ...overrides,
  };
}

const next = (o: AutoscaleObservation, policy = POLICY) => decideScale(o, NOW, policy);

describe('Autoscaling decisions', () => {
  it('holds while the cluster is not ready', () => {
    expect(next(cluster({ state: 'update', waiting: { tasks: 6, cpus: 3, mem: 384 } }))).to.deep.equal({ kind: 'hold', reason: 'not ready (update)' });
  });

  it('adds just enough agents for the tasks that wait for room, by cpus or by memory', () => {
    expect(next(cluster({ waiting: { tasks: 6, cpus: 3, mem: 384 } }))).to.deep.equal({
      kind: 'scale',
      agents: 4,
      reason: 'autoscale: 6 tasks waiting for 3 cpus and 384 MB, adding 2 agents',
    });
    expect(next(cluster({ waiting: { tasks: 1, cpus: 0.5, mem: 4000 } })), 'memory needs two agents').to.deep.include({ kind: 'scale', agents: 4 });
    expect(next(cluster({ waiting: { tasks: 1, cpus: 0.1, mem: 16 } }))).to.deep.include({ kind: 'scale', agents: 3 });
  });

  it('never goes above the maximum, saying so', () => {
    expect(next(cluster({ waiting: { tasks: 20, cpus: 10, mem: 640 } }))).to.deep.include({ kind: 'scale', agents: 4 });
    expect(next(cluster({ agents: 4, active: 4, cpusTotal: 8, memTotal: 12288, waiting: { tasks: 2, cpus: 1, mem: 64 } }))).to.deep.equal({
      kind: 'hold',
      reason: '2 tasks waiting for 1 cpus and 64 MB, but the cluster is at its maximum of 4',
      note: 'at-maximum',
    });
  });

  it('brings the agent count back within its bounds (min, min_ready, max), even in the cooldown', () => {
    expect(next(cluster({ agents: 6, active: 6, lastScaledAt: NOW }))).to.deep.equal({
      kind: 'scale',
      agents: 4,
      reason: 'autoscale: 6 agents is above the maximum, removing 2',
    });
    expect(next(cluster({ agents: 1, active: 1, minReady: 1 }), { ...POLICY, min: 2 })).to.deep.include({ kind: 'scale', agents: 2 });
    expect(
      next(cluster({ agents: 5, active: 5, minReady: 5, cpusTotal: 10, cpusUsed: 0, lowSince: NOW - 600 * S })).kind,
      'an explicit min_ready above the maximum',
    ).to.equal('hold');
  });

  it('waits out the cooldown after a change', () => {
    expect(next(cluster({ lastScaledAt: NOW - 100 * S, waiting: { tasks: 6, cpus: 3, mem: 384 } }))).to.deep.equal({
      kind: 'hold',
      reason: 'cooling down for 200 s more',
    });
  });

  it('adds one agent when utilisation stays above cpu_high for the sustain time, noting since when', () => {
    const busy = cluster({ cpusUsed: 3.6 });
    expect(next(busy)).to.deep.equal({ kind: 'hold', reason: 'cpu utilisation 90 % above 80 % for 0 s', highSince: NOW });
    expect(next({ ...busy, highSince: NOW - 60 * S })).to.deep.equal({
      kind: 'scale',
      agents: 3,
      reason: 'autoscale: cpu utilisation 90 % above 80 % for 60 s, adding 1 agent',
    });
    expect(next({ ...busy, agents: 4, active: 4, cpusUsed: 7.6, cpusTotal: 8, highSince: NOW - 600 * S })).to.deep.include({
      kind: 'hold',
      note: 'at-maximum',
    });
  });

  it('removes one agent when utilisation stays below cpu_low and the others hold what runs', () => {
    const idle = cluster({ agents: 3, active: 3, cpusTotal: 6, memTotal: 9216, cpusUsed: 0.5, memUsed: 256 });
    expect(next({ ...idle, lowSince: NOW - 30 * S })).to.deep.include({ kind: 'hold', lowSince: NOW - 30 * S });
    expect(next({ ...idle, lowSince: NOW - 60 * S })).to.deep.equal({
      kind: 'scale',
      agents: 2,
      reason: 'autoscale: cpu utilisation 8 % below 30 % for 60 s and 2 agents hold what runs, removing 1 agent',
    });
  });

  it('keeps an idle cluster at its floor, and agents whose removal would leave too little memory', () => {
    expect(next(cluster({ agents: 1, active: 1, cpusTotal: 2, memTotal: 3072, cpusUsed: 0, lowSince: NOW - 600 * S })).kind).to.equal('hold');
    const heavy = cluster({ agents: 2, active: 2, cpusUsed: 0.2, memUsed: 4000, lowSince: NOW - 600 * S });
    expect(next(heavy)).to.deep.equal({
      kind: 'hold',
      reason: 'cpu utilisation 5 % is low, but 1 agent could not hold what runs',
      lowSince: NOW - 600 * S,
      note: 'cannot-shrink',
    });
  });

  it('holds within the thresholds', () => {
    expect(next(cluster())).to.deep.equal({ kind: 'hold', reason: 'cpu utilisation 50 % is within 30 %–80 %' });
  });
});
