import { expect } from 'chai';
import { decide, type ClusterObservation, type HealthPolicy, type SlotRecord } from '../../service-orchestrator/health/decide.js';
import { track, type NodeHealth, type NodeRecord, type Sighting, type TrackingContext } from '../../service-orchestrator/health/tracking.js';

const NOW = 10_000_000;
const S = 1000;

const POLICY: HealthPolicy = {
  mastersDeadlineMs: 300 * S,
  agentDeadlineMs: 300 * S,
  agentUnhealthyMs: 60 * S,
  masterUnhealthyMs: 120 * S,
  maxUnhealthy: 0.4,
  maxReplacements: 2,
  replaceBackoffMs: 30 * S,
  stableMs: 5 * S,
  smokeTimeoutMs: 120 * S,
};

function node(key: string, status: NodeHealth['status'], options: Partial<NodeHealth> = {}): NodeHealth {
  const role = key.startsWith('m') ? 'master' : 'agent';
  const index = Number(key.slice(1));
  return {
    key,
    slot: { role, index },
    name: `vm-${key}`,
    address: `127.10.0.${index + (role === 'master' ? 1 : 10)}`,
    status,
    reason: status === 'healthy' ? 'active' : 'not registered',
    role,
    watchedMs: 600 * S,
    unhealthyMs: 0,
    healthyMs: status === 'healthy' ? 600 * S : 0,
    everHealthy: true,
    ...options,
  };
}

function cluster(overrides: Partial<ClusterObservation> = {}): ClusterObservation {
  return {
    mode: 'ready',
    since: NOW - 1000 * S,
    deadline: NOW + 1000 * S,
    masters: [node('m1', 'healthy')],
    agents: [node('a1', 'healthy'), node('a2', 'healthy'), node('a3', 'healthy')],
    slots: new Map(),
    leader: '127.10.0.2',
    marathon: { wanted: true, ready: true },
    leaderHeldMs: 600 * S,
    minReady: 3,
    quorum: 1,
    health: { reported: 'healthy' },
    ...overrides,
  };
}

const lost = (key: string, forMs: number, reason = 'registered but inactive'): NodeHealth => node(key, 'unhealthy', { unhealthyMs: forMs, reason });
const next = (o: ClusterObservation, now = NOW) => decide(o, now, POLICY);

describe('SO health decisions', () => {
  describe('a ready cluster', () => {
    it('is ready and whole when every node is healthy, naming the leader', () => {
      expect(next(cluster())).to.deep.equal({
        outcome: { kind: 'ready', health: 'healthy', message: 'ready: leader 127.10.0.2, 3 of 3 agents active, Marathon registered' },
        replace: [],
        health: { reported: 'healthy' },
      });
    });

    it('turns degraded only once the loss held for the stability window, naming the node and the cause', () => {
      const once = next(cluster({ agents: [node('a1', 'healthy'), lost('a2', 10 * S), node('a3', 'healthy')] }));
      expect(once.outcome).to.include({ kind: 'ready', health: 'healthy' });
      expect(once.health).to.deep.equal({ reported: 'healthy', pending: { health: 'degraded', since: NOW } });
      expect(once.recheckInMs, 'looked at again when the window closes').to.equal(5 * S);
      const early = next(cluster({ agents: [node('a1', 'healthy'), lost('a2', 14 * S), node('a3', 'healthy')], health: once.health }), NOW + 4 * S);
      expect(early.outcome, 'not before the window closes').to.include({ health: 'healthy' });
      expect(early.recheckInMs).to.equal(1 * S);
      const twice = next(cluster({ agents: [node('a1', 'healthy'), lost('a2', 20 * S), node('a3', 'healthy')], health: once.health }), NOW + 5 * S);
      expect(twice.outcome).to.deep.equal({
        kind: 'ready',
        health: 'degraded',
        message:
          'degraded: agent 2 of 3 (127.10.0.12) not active for 20 s (registered but inactive); replaced if it stays so for 40 s more; 2 of 3 agents active (min_ready 3)',
      });
      expect(twice.replace).to.deep.equal([]);
    });

    it('replaces an agent not active for the unhealthy time, and says so', () => {
      const d = next(cluster({ agents: [node('a1', 'healthy'), lost('a2', 61 * S), node('a3', 'healthy')], health: { reported: 'degraded' } }));
      expect(d.replace).to.deep.equal([{ key: 'a2', vm: 'vm-a2', reason: 'agent 2 of 3 (127.10.0.12) not active for 61 s (registered but inactive)' }]);
      expect(d.outcome).to.deep.include({ health: 'degraded' });
      expect((d.outcome as { message: string }).message).to.match(/; replacing it \(replacement 1\); 2 of 3 agents active/);
    });

    it('does not replace a slot already being replaced, and backs off between replacements of one slot', () => {
      const agents = [node('a1', 'healthy'), lost('a2', 300 * S), node('a3', 'healthy')];
      const replacing = new Map<string, SlotRecord>([['a2', { replacements: 1, replacing: true }]]);
      expect(next(cluster({ agents, slots: replacing })).replace).to.deep.equal([]);
      const recent = new Map<string, SlotRecord>([['a2', { replacements: 2, lastReplacedAt: NOW - 59 * S, replacing: false }]]);
      const waiting = next(cluster({ agents, slots: recent, health: { reported: 'degraded' } }));
      expect(waiting.replace, 'the second back-off is 60 s').to.deep.equal([]);
      expect((waiting.outcome as { message: string }).message).to.contain('replaced again in 1 s (after 2 replacements)');
      const due = new Map<string, SlotRecord>([['a2', { replacements: 2, lastReplacedAt: NOW - 60 * S, replacing: false }]]);
      expect(next(cluster({ agents, slots: due })).replace.map((r) => r.key)).to.deep.equal(['a2']);
    });

    it('stops remediation when more than 40 % of the nodes are unhealthy at once, and resumes below it', () => {
      const agents = [node('a1', 'healthy'), lost('a2', 100 * S), lost('a3', 100 * S)];
      const storm = next(cluster({ agents, health: { reported: 'degraded' } }));
      expect(storm.replace).to.deep.equal([]);
      expect(storm.stopped).to.equal('remediation stopped: 2 of 4 nodes unhealthy (more than 40 %)');
      expect((storm.outcome as { message: string }).message).to.contain('remediation stopped: 2 of 4 nodes unhealthy');
      const bigger = cluster({ agents: [...agents, node('a4', 'healthy')], minReady: 4, health: { reported: 'degraded' } });
      expect(
        next(bigger).replace.map((r) => r.key),
        '2 of 5 is not more than 40 %',
      ).to.deep.equal(['a2', 'a3']);
      const single = cluster({ masters: [node('m1', 'healthy')], agents: [lost('a1', 100 * S)], minReady: 1 });
      expect(
        next(single).replace.map((r) => r.key),
        'one unhealthy node is always replaced',
      ).to.deep.equal(['a1']);
    });

    it('counts nodes being replaced among the unhealthy', () => {
      const agents = [node('a1', 'healthy'), lost('a2', 100 * S), lost('a3', 100 * S), node('a4', 'healthy')];
      const slots = new Map<string, SlotRecord>([['a2', { replacements: 1, replacing: true }]]);
      const d = next(cluster({ agents, slots, minReady: 4 }));
      expect(d.replace.map((r) => r.key)).to.deep.equal(['a3']);
    });

    it('is ready, not degraded, with fewer agents than asked but at least min_ready, naming the missing ones', () => {
      const d = next(cluster({ agents: [node('a1', 'healthy'), lost('a2', 70 * S), node('a3', 'healthy')], minReady: 2 }));
      expect(d.outcome).to.deep.equal({
        kind: 'ready',
        health: 'healthy',
        message: 'ready with 2 of 3 agents (min_ready 2); missing: agent 2 of 3 (127.10.0.12): registered but inactive; replacing it (replacement 1)',
      });
    });

    it('is degraded without a leader, with lost quorum, or with Marathon unregistered', () => {
      const degraded = { reported: 'degraded' as const };
      const noLeader = next(cluster({ leader: undefined, masterProblem: 'no leader elected yet (1 of 1 masters healthy)', health: degraded })).outcome;
      expect(noLeader).to.deep.include({ health: 'degraded', message: 'degraded: no leader: no leader elected yet (1 of 1 masters healthy)' });
      const three = [node('m1', 'healthy'), lost('m2', 30 * S), lost('m3', 30 * S)];
      const quorumLost = next(cluster({ masters: three, quorum: 2, health: degraded }));
      expect((quorumLost.outcome as { message: string }).message).to.match(/^degraded: lost quorum: 1 of 3 masters healthy \(quorum 2\); master 2 of 3/);
      const marathon = next(cluster({ marathon: { wanted: true, ready: false, problem: 'no Marathon instance is elected yet' }, health: degraded })).outcome;
      expect(marathon).to.deep.include({ message: 'degraded: Marathon: no Marathon instance is elected yet' });
    });

    it('heals back to ready once the cluster stayed whole for the stability window', () => {
      const first = next(cluster({ health: { reported: 'degraded' } }));
      expect(first.outcome).to.deep.include({ health: 'degraded' });
      expect(next(cluster({ health: first.health }), NOW + 4 * S).outcome).to.deep.include({ health: 'degraded' });
      expect(next(cluster({ health: first.health }), NOW + 5 * S).outcome).to.deep.include({
        health: 'healthy',
        message: 'ready: leader 127.10.0.2, 3 of 3 agents active, Marathon registered',
      });
    });

    it('replaces a master that stays unhealthy, one at a time and only while the others keep the quorum', () => {
      const masters = [lost('m1', 121 * S, 'its /master/health: ECONNREFUSED'), node('m2', 'healthy'), node('m3', 'healthy')];
      const one = next(cluster({ masters, quorum: 2 }));
      expect(one.replace).to.deep.equal([
        { key: 'm1', vm: 'vm-m1', reason: 'master 1 of 3 (127.10.0.2) not healthy for 121 s (its /master/health: ECONNREFUSED)' },
      ]);
      expect(one.outcome, 'quorum stands: ready, saying so').to.deep.include({ health: 'healthy' });
      const two = [lost('m1', 200 * S), lost('m2', 200 * S), node('m3', 'healthy'), node('m4', 'healthy'), node('m5', 'healthy')];
      expect(
        next(cluster({ masters: two, quorum: 3 })).replace.map((r) => r.key),
        'one master at a time',
      ).to.deep.equal(['m1']);
      const busy = new Map<string, SlotRecord>([['m1', { replacements: 1, replacing: true }]]);
      expect(next(cluster({ masters: two, quorum: 3, slots: busy })).replace, 'not while another master is replaced').to.deep.equal([]);
      const broken = [lost('m1', 200 * S), lost('m2', 200 * S), node('m3', 'healthy')];
      expect(next(cluster({ masters: broken, quorum: 2 })).replace, 'no quorum to protect: none is replaced').to.deep.equal([]);
      expect(
        next(cluster({ masters: [lost('m1', 121 * S)] })).replace.map((r) => r.key),
        'a single master is replaced',
      ).to.deep.equal(['m1']);
    });

    it('does not judge agents nobody can see (no leader to ask)', () => {
      const unknown = node('a2', 'unknown', { reason: 'no leader to ask', unhealthyMs: 0 });
      const d = next(cluster({ agents: [node('a1', 'healthy'), unknown, node('a3', 'healthy')], leader: undefined }));
      expect(d.replace).to.deep.equal([]);
    });
  });

  describe('while building', () => {
    const building = (overrides: Partial<ClusterObservation>) => cluster({ mode: 'provision', since: NOW - 10 * S, ...overrides });
    const fresh = (key: string, forMs: number): NodeHealth => node(key, 'healthy', { healthyMs: forMs });

    it('is ready once the leader and every node held for the stability window, and says when that closes', () => {
      expect(next(building({})).outcome).to.deep.include({ kind: 'ready', message: 'ready: leader 127.10.0.2, 3 of 3 agents active, Marathon registered' });
      const settling = next(building({ agents: [node('a1', 'healthy'), fresh('a2', 3 * S), node('a3', 'healthy')] }));
      expect(settling).to.deep.include({
        outcome: { kind: 'progress', message: 'provision: leader 127.10.0.2; 3 of 3 agents active; checking that it stays so' },
        recheckInMs: 2 * S,
      });
      expect(next(building({ leaderHeldMs: 1 * S })).recheckInMs, 'a new leader restarts the window').to.equal(4 * S);
      expect(next(building({ masters: [fresh('m1', 4 * S)] })).recheckInMs, 'so does a master').to.equal(1 * S);
      expect(next(building({ agents: [fresh('a1', 5 * S), fresh('a2', 5 * S), fresh('a3', 5 * S)] })).outcome, 'the window is inclusive').to.include({
        kind: 'ready',
      });
    });

    it('waits for agents, then replaces one that missed its deadline, up to the budget', () => {
      const late = node('a3', 'unhealthy', { everHealthy: false, watchedMs: 301 * S });
      const d = next(building({ agents: [node('a1', 'healthy'), node('a2', 'healthy'), late] }));
      expect(d.replace).to.deep.equal([{ key: 'a3', vm: 'vm-a3', reason: 'agent 3 of 3 (127.10.0.13) not ready after 301 s (not registered)' }]);
      expect(d.outcome).to.deep.equal({
        kind: 'progress',
        message: 'provision: agent 3 of 3 (127.10.0.13) not ready after 301 s (not registered); replacing it',
      });
      const spent = new Map<string, SlotRecord>([['a3', { replacements: 2, replacing: false }]]);
      const failed = next(building({ agents: [node('a1', 'healthy'), node('a2', 'healthy'), late], slots: spent }));
      expect(failed.outcome).to.deep.equal({
        kind: 'failed',
        cause: 'provision failed: only 2 of 3 agents can still be ready (min_ready 3); missing: agent 3 of 3 (127.10.0.13): not registered',
      });
      expect(failed.replace).to.deep.equal([]);
    });

    it('replaces nothing while building when the budget is zero', () => {
      const late = node('a3', 'unhealthy', { everHealthy: false, watchedMs: 301 * S });
      const d = decide(building({ agents: [node('a1', 'healthy'), node('a2', 'healthy'), late], minReady: 2 }), NOW, { ...POLICY, maxReplacements: 0 });
      expect(d.replace).to.deep.equal([]);
      expect(d.outcome).to.deep.equal({
        kind: 'ready',
        health: 'healthy',
        message: 'ready with 2 of 3 agents (min_ready 2); missing: agent 3 of 3 (127.10.0.13): not registered',
      });
    });

    describe('proving that work runs', () => {
      const whole = 'ready: leader 127.10.0.2, 3 of 3 agents active, Marathon registered';

      it('launches the smoke task as soon as the cluster works, while its stability window still runs, and not before', () => {
        expect(next(building({ smoke: { phase: 'pending' } }))).to.deep.include({
          outcome: { kind: 'progress', message: 'provision: checking that work runs: launching a one-task Marathon app' },
          smoke: 'launch',
        });
        expect(next(building({ smoke: { phase: 'pending' }, leaderHeldMs: 1 * S })).smoke, 'also while still settling').to.equal('launch');
        const noMarathon = { wanted: true, ready: false, problem: 'no Marathon instance is elected yet' };
        expect(next(building({ smoke: { phase: 'pending' }, marathon: noMarathon })).smoke, 'not before Marathon is ready').to.equal(undefined);
        const young = node('a3', 'unhealthy', { everHealthy: false, watchedMs: 20 * S });
        expect(
          next(building({ smoke: { phase: 'pending' }, agents: [node('a1', 'healthy'), node('a2', 'healthy'), young] })).smoke,
          'not before every agent is active',
        ).to.equal(undefined);
      });

      it('is not ready before the stability window closed, even when the smoke task runs', () => {
        const running = { phase: 'launched' as const, since: NOW - 2 * S, runningOn: '127.10.0.12' };
        const d = next(building({ smoke: running, leaderHeldMs: 3 * S }));
        expect(d).to.deep.include({
          outcome: { kind: 'progress', message: 'provision: leader 127.10.0.2; 3 of 3 agents active; checking that it stays so' },
          recheckInMs: 2 * S,
        });
        expect(d.smoke, 'the smoke app stays until the cluster is ready').to.equal(undefined);
      });

      it('waits for the smoke task, saying why it does not run, and fails with that cause at its timeout', () => {
        const waiting = {
          phase: 'launched' as const,
          since: NOW - 30 * S,
          waiting: 'its task waits for an offer that fits (offers declined: InsufficientCpus)',
        };
        expect(next(building({ smoke: waiting }))).to.deep.include({
          outcome: {
            kind: 'progress',
            message: 'provision: checking that work runs: its task waits for an offer that fits (offers declined: InsufficientCpus) (30 s)',
          },
        });
        expect(next(building({ smoke: { ...waiting, since: NOW - 120 * S } })).outcome).to.deep.equal({
          kind: 'failed',
          cause: 'provision failed: a smoke task did not run within 120 s: its task waits for an offer that fits (offers declined: InsufficientCpus)',
        });
      });

      it('is ready, naming the agent the smoke task ran on, and removes it', () => {
        const d = next(building({ smoke: { phase: 'launched', since: NOW - 5 * S, runningOn: '127.10.0.12' } }));
        expect(d).to.deep.include({ outcome: { kind: 'ready', health: 'healthy', message: `${whole}; a smoke task ran on 127.10.0.12` }, smoke: 'remove' });
        expect(next(building({ smoke: { phase: 'passed', ranOn: '127.10.0.12' } }))).to.deep.include({
          outcome: { kind: 'ready', health: 'healthy', message: `${whole}; a smoke task ran on 127.10.0.12` },
        });
      });
    });

    it('is ready with min_ready agents once the missing ones are being replaced, instead of failing at the deadline', () => {
      const late = node('a3', 'unhealthy', { everHealthy: false, watchedMs: 301 * S });
      const slots = new Map<string, SlotRecord>([['a3', { replacements: 0, replacing: true }]]);
      const d = next(building({ agents: [node('a1', 'healthy'), node('a2', 'healthy'), late], slots, minReady: 2 }));
      expect(d.outcome).to.deep.equal({
        kind: 'ready',
        health: 'healthy',
        message: 'ready with 2 of 3 agents (min_ready 2); missing: agent 3 of 3 (127.10.0.13): not registered; being replaced',
      });
      const young = node('a3', 'unhealthy', { everHealthy: false, watchedMs: 20 * S });
      expect(next(building({ agents: [node('a1', 'healthy'), node('a2', 'healthy'), young], minReady: 2 })).outcome, 'not before its deadline').to.include({
        kind: 'progress',
      });
    });

    it("fails at the masters deadline with the masters' problem, and never replaces a master while building", () => {
      const masters = [node('m1', 'healthy'), node('m2', 'unhealthy', { everHealthy: false, watchedMs: 400 * S })];
      const d = decide(
        building({ masters, leader: undefined, masterProblem: 'no leader elected yet (1 of 2 masters healthy)', since: NOW - 301 * S }),
        NOW,
        POLICY,
      );
      expect(d.outcome).to.deep.equal({
        kind: 'failed',
        cause: 'provision failed: masters not ready after 301 s: no leader elected yet (1 of 2 masters healthy)',
      });
      expect(d.replace).to.deep.equal([]);
    });

    it('fails at its deadline naming what is missing', () => {
      const d = next(building({ marathon: { wanted: true, ready: false, problem: 'Marathon is elected but not registered with Mesos' }, deadline: NOW }));
      expect(d.outcome).to.deep.equal({ kind: 'failed', cause: 'provision failed at its deadline: Marathon is elected but not registered with Mesos' });
    });

    it('names the phase it is in', () => {
      expect(next(building({ mode: 'update', leaderHeldMs: 0 })).outcome).to.deep.include({
        message: 'update: leader 127.10.0.2; 3 of 3 agents active; checking that it stays so',
      });
    });
  });
});

describe('SO node tracking', () => {
  const sighting = (status: Sighting['status'], name = 'vm-a1'): Sighting => ({
    key: 'a1',
    slot: { role: 'agent', index: 1 },
    name,
    address: '127.10.0.3',
    status,
    reason: status,
  });
  const context: Omit<TrackingContext, 'now'> = { leaderChanged: false, quarantineMs: 90 * S, dropsToFlap: 2 };
  const step = (records: ReadonlyMap<string, NodeRecord>, status: Sighting['status'], now: number, over: Partial<typeof context> = {}) =>
    track(records, [sighting(status)], { ...context, ...over, now });

  it('times how long a node has been unhealthy without a break, and forgets it once healthy', () => {
    let t = step(new Map(), 'healthy', NOW);
    t = step(t.records, 'unhealthy', NOW + 10 * S);
    t = step(t.records, 'unhealthy', NOW + 40 * S);
    expect(t.nodes[0]).to.include({ status: 'unhealthy', unhealthyMs: 30 * S, everHealthy: true, watchedMs: 40 * S });
    t = step(t.records, 'healthy', NOW + 50 * S);
    expect(t.nodes[0]).to.include({ status: 'healthy', unhealthyMs: 0 });
  });

  it('times how long a node has been healthy without a break, from the first look that saw it so', () => {
    let t = step(new Map(), 'unhealthy', NOW);
    expect(t.nodes[0]).to.include({ healthyMs: 0 });
    t = step(t.records, 'healthy', NOW + 10 * S);
    t = step(t.records, 'healthy', NOW + 13 * S);
    expect(t.nodes[0]).to.include({ healthyMs: 3 * S });
    t = step(t.records, 'unknown', NOW + 14 * S);
    expect(t.nodes[0], 'nobody could say: not counted as held').to.include({ healthyMs: 0 });
    t = step(t.records, 'unhealthy', NOW + 15 * S);
    t = step(t.records, 'healthy', NOW + 16 * S);
    expect(t.nodes[0], 'a break starts it over').to.include({ healthyMs: 0 });
  });

  it('neither starts nor stops the timers on an unknown status', () => {
    let t = step(new Map(), 'healthy', NOW);
    t = step(t.records, 'unhealthy', NOW + 10 * S);
    t = step(t.records, 'unknown', NOW + 70 * S);
    expect(t.nodes[0]).to.include({ status: 'unknown', unhealthyMs: 60 * S });
  });

  it('quarantines an agent that drops out twice, keeping its unhealthy time running', () => {
    let t = step(new Map(), 'healthy', NOW);
    t = step(t.records, 'unhealthy', NOW + 10 * S);
    t = step(t.records, 'healthy', NOW + 12 * S);
    expect(t.nodes[0].status, 'one drop is not a flap once ready').to.equal('healthy');
    t = step(t.records, 'unhealthy', NOW + 14 * S);
    t = step(t.records, 'healthy', NOW + 16 * S);
    expect(t.nodes[0]).to.include({ status: 'unhealthy', unhealthyMs: 2 * S });
    expect(t.nodes[0].reason).to.equal('flapping: active again for 0 s of the 90 s it must hold');
    t = step(t.records, 'healthy', NOW + 106 * S);
    expect(t.nodes[0]).to.include({ status: 'healthy' });
  });

  it('quarantines at the first drop while the cluster is built', () => {
    let t = step(new Map(), 'healthy', NOW, { dropsToFlap: 1 });
    t = step(t.records, 'unhealthy', NOW + 10 * S, { dropsToFlap: 1 });
    t = step(t.records, 'healthy', NOW + 12 * S, { dropsToFlap: 1 });
    expect(t.nodes[0].status).to.equal('unhealthy');
  });

  it('does not count dropping out on a leader change as flapping', () => {
    let t = step(new Map(), 'healthy', NOW, { dropsToFlap: 1 });
    t = step(t.records, 'unhealthy', NOW + 10 * S, { dropsToFlap: 1, leaderChanged: true });
    t = step(t.records, 'healthy', NOW + 12 * S, { dropsToFlap: 1 });
    expect(t.nodes[0].status).to.equal('healthy');
  });

  it('starts a new record for a new VM in the slot', () => {
    let t = step(new Map(), 'unhealthy', NOW);
    t = track(t.records, [sighting('unhealthy', 'vm-a1-g2')], { ...context, now: NOW + 100 * S });
    expect(t.nodes[0]).to.include({ watchedMs: 0, unhealthyMs: 0, everHealthy: false });
    expect([...t.records.keys()]).to.deep.equal(['vm-a1-g2']);
  });
});
