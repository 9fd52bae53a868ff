import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assess, type Expected } from '../../service-orchestrator/readiness/assess.js';
import type { Answer, MarathonObservation, MasterObservation, Observation } from '../../service-orchestrator/readiness/observation.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/mesos/', import.meta.url));
const recorded = (name: string): Answer => ({ status: 200, body: readFileSync(`${DIR}${name}`, 'utf8') });
const ok: Answer = { status: 200, body: '' };
const refused: Answer = { error: 'ECONNREFUSED' };
const noLeader: Answer = { status: 503, body: 'No leader elected' };
const to = (host: string): Answer => ({ status: 307, body: '', location: `//${host}:5050` });

const MASTERS = ['127.10.0.2', '127.10.0.3', '127.10.0.4'];
const expected = (agents = 3, marathon = true): Expected => ({
  masters: MASTERS.map((address, i) => ({ slot: { role: 'master', index: i + 1 }, address, name: `mesos-aaaaaaaaaa-m${i + 1}` })),
  agents: Array.from({ length: agents }, (_, i) => ({
    slot: { role: 'agent', index: i + 1 },
    address: `127.10.0.${5 + i}`,
    name: `mesos-aaaaaaaaaa-a${i + 1}`,
  })),
  marathon,
});

function master(address: string, metrics: string, redirect: Answer = to('127.10.0.2'), health: Answer = ok): MasterObservation {
  return { address, health, metrics: recorded(metrics), redirect };
}

function marathon(address: string, info: string): MarathonObservation {
  return { address, ping: { status: 200, body: 'pong' }, info: recorded(info) };
}

const healthy: Observation = {
  masters: [master('127.10.0.2', 'metrics-leader.json'), master('127.10.0.3', 'metrics-follower.json'), master('127.10.0.4', 'metrics-follower.json')],
  slaves: { from: '127.10.0.2', answer: recorded('slaves-3-active.json') },
  frameworks: { from: '127.10.0.2', answer: recorded('frameworks-marathon.json') },
  marathons: [
    marathon('127.10.0.2', 'marathon-info-leader.json'),
    marathon('127.10.0.3', 'marathon-info-follower.json'),
    marathon('127.10.0.4', 'marathon-info-follower.json'),
  ],
};

describe('SO readiness', () => {
  it('judges a healthy cluster ready: one recovered leader, every agent active, Marathon registered', () => {
    const verdict = assess(healthy, expected());
    expect(verdict).to.deep.include({ mastersHealthy: 3, leader: '127.10.0.2', readyAgents: 3 });
    expect(verdict.masterProblem).to.equal(undefined);
    expect(verdict.marathon).to.deep.equal({ ready: true, url: 'http://127.10.0.2:8080' });
    expect(verdict.agents.map((a) => a.mesosId)).to.deep.equal([
      '5f0c2f4e-0f1b-4a5c-9a0e-1b2c3d4e5f60-S1',
      '5f0c2f4e-0f1b-4a5c-9a0e-1b2c3d4e5f60-S2',
      '5f0c2f4e-0f1b-4a5c-9a0e-1b2c3d4e5f60-S0',
    ]);
  });

  it('gives the same signature to the same state and another when an agent changes', () => {
    const again = assess(healthy, expected());
    expect(again.signature).to.equal(assess(healthy, expected()).signature);
    const fewer = assess({ ...healthy, slaves: { from: '127.10.0.2', answer: recorded('slaves-troubled.json') } }, expected());
    expect(fewer.signature).to.not.equal(again.signature);
  });

  it('finds the leader through redirects when the metrics do not say', () => {
    const observation: Observation = {
      ...healthy,
      masters: [
        { address: '127.10.0.2', health: ok, metrics: refused, redirect: to('127.10.0.2') },
        master('127.10.0.3', 'metrics-follower.json'),
        master('127.10.0.4', 'metrics-follower.json'),
      ],
    };
    expect(assess(observation, expected()).leader).to.equal('127.10.0.2');
  });

  it('reports no leader while masters answer 503 to redirect, naming the masters that are down', () => {
    const observation: Observation = {
      masters: [
        master('127.10.0.2', 'metrics-follower.json', noLeader),
        master('127.10.0.3', 'metrics-follower.json', noLeader, refused),
        master('127.10.0.4', 'metrics-follower.json', noLeader, refused),
      ],
      marathons: [],
    };
    const verdict = assess(observation, expected(1, false));
    expect(verdict.leader).to.equal(undefined);
    expect(verdict.masterProblem).to.equal(
      'no leader elected yet (1 of 3 masters healthy); master 2 of 3 (127.10.0.3): ECONNREFUSED; master 3 of 3 (127.10.0.4): ECONNREFUSED',
    );
    expect(verdict.agents[0]).to.deep.include({ ready: false, reason: 'no leader to ask' });
  });

  it('refuses two masters that both claim to lead', () => {
    const observation: Observation = {
      ...healthy,
      masters: [master('127.10.0.2', 'metrics-leader.json'), master('127.10.0.3', 'metrics-leader.json'), master('127.10.0.4', 'metrics-follower.json')],
    };
    expect(assess(observation, expected()).masterProblem).to.equal('2 masters claim to lead (127.10.0.2, 127.10.0.3)');
  });

  it('waits for a new leader to recover its registry', () => {
    const observation: Observation = {
      ...healthy,
      masters: [
        master('127.10.0.2', 'metrics-leader-recovering.json'),
        master('127.10.0.3', 'metrics-follower.json'),
        master('127.10.0.4', 'metrics-follower.json'),
      ],
    };
    expect(assess(observation, expected()).masterProblem).to.equal(
      'leader master 1 of 3 (127.10.0.2) is still recovering its registry (3 of 3 masters healthy)',
    );
  });

  it('explains each agent that is not ready: loopback pid, deactivated, no resources, not registered', () => {
    const observation: Observation = { ...healthy, slaves: { from: '127.10.0.2', answer: recorded('slaves-troubled.json') } };
    const verdict = assess(observation, expected(5));
    expect(verdict.agents.map((a) => [a.node.address, a.ready, a.reason])).to.deep.equal([
      ['127.10.0.5', false, 'registered but inactive; it advertises the loopback pid slave(1)@127.0.1.1:5051, so the master cannot reach it'],
      ['127.10.0.6', false, 'deactivated (draining)'],
      ['127.10.0.7', false, 'offers no resources (cpus 0, mem 0)'],
      ['127.10.0.8', true, 'active'],
      ['127.10.0.9', false, 'not registered'],
    ]);
    expect(verdict.readyAgents).to.equal(1);
  });

  it("does not count an agent that is active but advertises another address than its VM's", () => {
    const doc = JSON.parse(readFileSync(`${DIR}slaves-3-active.json`, 'utf8'));
    doc.slaves[0].pid = 'slave(1)@127.0.1.1:5051';
    const verdict = assess({ ...healthy, slaves: { from: '127.10.0.2', answer: { status: 200, body: JSON.stringify(doc) } } }, expected());
    expect(verdict.agents[0]).to.deep.include({
      ready: false,
      reason: 'advertises slave(1)@127.0.1.1:5051 instead of its address 127.10.0.5, so the master cannot reach it',
    });
  });

  it("does not count agents while the leader's list cannot be read", () => {
    const observation: Observation = { ...healthy, slaves: { from: '127.10.0.2', answer: { status: 503, body: 'No leader elected' } } };
    expect(assess(observation, expected()).agents[0].reason).to.equal("the leader's agent list is unavailable (HTTP 503 No leader elected)");
  });

  it('requires Marathon to answer, be elected, and be an active framework of the leader', () => {
    const silent: Observation = { ...healthy, marathons: MASTERS.map((address) => ({ address, ping: refused, info: refused })) };
    expect(assess(silent, expected()).marathon.problem).to.match(/^Marathon does not answer/);
    const unregistered: Observation = { ...healthy, marathons: [marathon('127.10.0.2', 'marathon-info-unregistered.json')] };
    expect(assess(unregistered, expected()).marathon.problem).to.equal('Marathon is elected but not registered with Mesos');
    const unlisted: Observation = { ...healthy, frameworks: { from: '127.10.0.2', answer: { status: 200, body: '{"frameworks":[]}' } } };
    expect(assess(unlisted, expected()).marathon.problem).to.match(/does not list Marathon's framework/);
    expect(assess({ ...healthy, marathons: [] }, expected(3, false)).marathon.ready).to.equal(true);
  });
});
