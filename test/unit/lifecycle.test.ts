import { expect } from 'chai';
import { actionRules, canTransition, STATES } from '../../service-manager/model/states.js';

describe('SM lifecycle states', () => {
  it('walks the happy path initialise → activate → deploy → provision → ready', () => {
    const path = ['initialise', 'activate', 'deploy', 'provision', 'ready'] as const;
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1], path[i])).to.equal(true);
  });

  it('never skips a phase', () => {
    expect(canTransition('initialise', 'ready')).to.equal(false);
    expect(canTransition('activate', 'provision')).to.equal(false);
  });

  it('lets every state but destroy be deleted, and every working state fail', () => {
    for (const state of STATES.filter((s) => s !== 'destroy')) expect(canTransition(state, 'destroy'), state).to.equal(true);
    for (const state of ['initialise', 'activate', 'deploy', 'provision', 'update', 'destroy'] as const) {
      expect(canTransition(state, 'failed'), state).to.equal(true);
    }
  });

  it('leaves destroy only to failed (a teardown that did not finish)', () => {
    expect(STATES.filter((s) => s !== 'destroy' && canTransition('destroy', s))).to.deep.equal(['failed']);
  });

  it('updates from ready or degraded, or straight after provisioning when attributes changed meanwhile, and returns to ready', () => {
    expect(STATES.filter((s) => s !== 'update' && canTransition(s, 'update'))).to.deep.equal(['provision', 'ready', 'degraded', 'failed']);
    expect(canTransition('update', 'ready')).to.equal(true);
  });

  it('enters degraded from a ready cluster only, and leaves it for ready when the cluster is whole again', () => {
    expect(STATES.filter((s) => s !== 'degraded' && canTransition(s, 'degraded'))).to.deep.equal(['ready', 'update']);
    expect(STATES.filter((s) => s !== 'degraded' && canTransition('degraded', s))).to.deep.equal(['ready', 'update', 'destroy', 'failed']);
  });

  it('offers retry to failed instances only', () => {
    const [retry] = actionRules('http://x/sm#', 'mesos');
    expect(retry.action.scheme).to.equal('http://x/sm/mesos/action#');
    expect(STATES.filter((s) => retry.applies(s))).to.deep.equal(['failed']);
  });
});
