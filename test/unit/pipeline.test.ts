import { expect } from 'chai';
import type { PipelineMemo } from '../../service-manager/model/memo.js';
import { awaitsRetry, decide, failureMessage, type PipelinePolicy, type Situation, type SoObservation } from '../../service-manager/lifecycle/pipeline.js';
import type { ServiceState } from '../../service-manager/model/states.js';
import { STACK_STATES, type SoAction, type StackState } from '../../lib/hurtle/protocol.js';

const NOW = 1_000_000;
const POLICY: PipelinePolicy = {
  deadlinesMs: { initialise: 60_000, activate: 60_000, deploy: 600_000, provision: 600_000, update: 600_000, destroy: 300_000 },
  startTimeoutMs: 30_000,
  maxStarts: 3,
  teardownRetryMs: 60_000,
};

const STARTED: PipelineMemo = { port: 18000, started: true, startedAt: NOW - 5000, phase: 'initialise', starts: 1, applied: 'current' };

function stack(state: StackState, actions: SoAction[] = [], message = ''): SoObservation {
  return { kind: 'stack', stack: { state, actions, message } };
}

function situation(state: ServiceState, so: SoObservation, overrides: Partial<Situation> = {}): Situation {
  return { state, stateSince: NOW - 1000, memo: { ...STARTED, phase: state }, desired: 'current', onFailure: 'delete', so, now: NOW, ...overrides };
}

const next = (s: Situation) => decide(s, POLICY);

describe('SM pipeline decisions', () => {
  describe('on the way to ready', () => {
    it('starts the orchestrator, waits for it to answer, then initialises it', () => {
      expect(next(situation('initialise', { kind: 'absent' }, { memo: {} }))).to.deep.equal({
        kind: 'start',
        message: 'starting the service orchestrator',
        newPort: true,
      });
      expect(next(situation('initialise', { kind: 'silent', reason: 'ECONNREFUSED', since: NOW - 1000 }))).to.include({ kind: 'wait' });
      expect(next(situation('initialise', { kind: 'fresh' }))).to.include({ kind: 'advance', to: 'activate' });
      expect(next(situation('activate', { kind: 'fresh' }))).to.include({ kind: 'call', call: 'init' });
    });

    it('has a step for every stack state of the protocol, in every state of the way to ready', () => {
      for (const state of STACK_STATES) {
        for (const phase of ['activate', 'deploy', 'provision', 'update', 'ready'] as const) {
          expect(next(situation(phase, stack(state))).kind, `${phase} with ${state}`).to.be.oneOf(['call', 'advance', 'wait', 'fail', 'replace', 'idle']);
        }
      }
      expect(next(situation('deploy', stack('uninitialized')))).to.deep.equal({ kind: 'wait', message: 'the orchestrator reports uninitialized' });
    });

    it('asks for the deploy once the orchestrator offers it, and moves to deploy with it', () => {
      expect(next(situation('activate', stack('uninitialized', ['deploy'])))).to.deep.equal({
        kind: 'call',
        call: 'deploy',
        message: 'creating the VMs',
        then: 'deploy',
      });
      expect(next(situation('activate', stack('CREATE_IN_PROGRESS', ['provision'], 'deploy: 1 of 3 VMs running')))).to.deep.equal({
        kind: 'advance',
        to: 'deploy',
        message: 'deploy: 1 of 3 VMs running',
      });
    });

    it('mirrors the orchestrator progress while VMs are created, then asks for the provisioning', () => {
      expect(next(situation('deploy', stack('CREATE_IN_PROGRESS', ['provision'], 'deploy: 2 of 3 VMs running')))).to.deep.equal({
        kind: 'wait',
        message: 'deploy: 2 of 3 VMs running',
      });
      expect(next(situation('deploy', stack('CREATE_COMPLETE', ['provision'])))).to.include({ kind: 'call', call: 'provision', then: 'provision' });
      expect(next(situation('provision', stack('CREATE_COMPLETE', ['provision'])))).to.not.have.property('then');
      expect(next(situation('provision', stack('CREATE_COMPLETE', [])))).to.include({ kind: 'wait' });
    });

    it('is ready only when the orchestrator says UPDATE_COMPLETE with the current parameters', () => {
      expect(next(situation('provision', stack('UPDATE_IN_PROGRESS', [], 'provision: 2 of 3 agents active')))).to.deep.equal({
        kind: 'wait',
        message: 'provision: 2 of 3 agents active',
      });
      expect(next(situation('provision', stack('UPDATE_COMPLETE', [], 'ready: 3 of 3 agents active')))).to.deep.equal({
        kind: 'advance',
        to: 'ready',
        message: 'ready: 3 of 3 agents active',
      });
      expect(next(situation('ready', stack('UPDATE_COMPLETE')))).to.deep.equal({ kind: 'idle' });
    });

    it('fails with the orchestrator own words when a phase fails', () => {
      expect(next(situation('deploy', stack('CREATE_FAILED', [], 'deploy failed: no capacity')))).to.deep.equal({
        kind: 'fail',
        cause: 'deploy failed: no capacity',
        vms: 'removing',
      });
      expect(next(situation('provision', stack('UPDATE_FAILED', [], 'provision failed: agent 2 not registered')))).to.deep.equal({
        kind: 'fail',
        cause: 'provision failed: agent 2 not registered',
        vms: 'removing',
      });
    });

    it('applies attributes changed meanwhile before calling the cluster ready, and goes back to ready after', () => {
      const changed = { desired: 'new' };
      expect(next(situation('provision', stack('UPDATE_COMPLETE'), changed))).to.include({ kind: 'call', call: 'update', then: 'update' });
      expect(next(situation('ready', stack('UPDATE_COMPLETE'), changed))).to.include({ kind: 'call', call: 'update', then: 'update' });
      expect(next(situation('update', stack('UPDATE_COMPLETE'), changed))).to.deep.equal({
        kind: 'call',
        call: 'update',
        message: 'applying the changed attributes',
      });
      expect(next(situation('update', stack('UPDATE_FAILED', [], 'update failed: x'), changed))).to.include({ kind: 'call', call: 'update' });
      expect(next(situation('update', stack('UPDATE_COMPLETE', [], 'ready: 4 of 4 agents active')))).to.include({ kind: 'advance', to: 'ready' });
    });
  });

  describe('when the orchestrator restarted or misbehaves', () => {
    it('initialises and redeploys a fresh orchestrator in whatever state the instance is, without changing it', () => {
      for (const state of ['deploy', 'provision', 'ready', 'update'] as const) {
        expect(next(situation(state, { kind: 'fresh' })), state).to.deep.equal({
          kind: 'call',
          call: 'init',
          message: 'initialising the service orchestrator',
        });
        expect(next(situation(state, stack('uninitialized', ['deploy']))), state).to.deep.equal({ kind: 'call', call: 'deploy', message: 'creating the VMs' });
      }
      expect(next(situation('ready', stack('CREATE_IN_PROGRESS', [], 'deploy: 1 of 3 VMs running')))).to.deep.equal({
        kind: 'wait',
        message: 'ready; the orchestrator restarted and is checking the cluster again: deploy: 1 of 3 VMs running',
      });
    });

    it('restarts a stopped orchestrator, and fails the phase after too many starts, with its last words', () => {
      const exit = 'exit code 2: service-orchestrator: SO_LISTEN is required';
      expect(next(situation('deploy', { kind: 'absent', exit }))).to.deep.equal({
        kind: 'start',
        message: `restarting the service orchestrator (it stopped: ${exit})`,
        newPort: false,
      });
      expect(next(situation('deploy', { kind: 'absent', exit }, { memo: { ...STARTED, phase: 'deploy', starts: 3 } }))).to.deep.equal({
        kind: 'fail',
        cause: `the service orchestrator stopped 3 times; last: ${exit}`,
        vms: 'removing',
      });
      expect(next(situation('deploy', { kind: 'absent', exit }, { memo: { ...STARTED, phase: 'activate', starts: 3 } })), 'starts of another state').to.include(
        { kind: 'start' },
      );
    });

    it('replaces an orchestrator that stays silent past the start timeout', () => {
      const silent: SoObservation = { kind: 'silent', reason: 'no answer in time', since: NOW - 40_000 };
      const old: PipelineMemo = { ...STARTED, phase: 'provision', startedAt: NOW - 3_600_000 };
      expect(next(situation('provision', silent, { memo: old }))).to.include({ kind: 'replace' });
      expect(next(situation('provision', silent, { memo: { ...old, starts: 3 } }))).to.include({ kind: 'fail' });
      expect(next(situation('provision', { ...silent, since: NOW - 10_000 }, { memo: old })), 'silent briefly').to.include({ kind: 'wait' });
      expect(next(situation('provision', silent, { memo: { ...old, startedAt: NOW - 10_000 } })), 'just started').to.include({ kind: 'wait' });
    });

    it('replaces an orchestrator that was disposed behind its back, and one older than the generation wanted', () => {
      expect(next(situation('deploy', stack('DELETE_COMPLETE')))).to.include({ kind: 'replace' });
      const older: PipelineMemo = { ...STARTED, phase: 'deploy', generation: 3, running: 2 };
      expect(next(situation('deploy', stack('CREATE_FAILED'), { memo: older }))).to.include({ kind: 'replace' });
      expect(next(situation('failed', stack('DELETE_FAILED'), { memo: older, failedPhase: 'destroy' }))).to.include({ kind: 'replace' });
      expect(next(situation('deploy', { kind: 'absent' }, { memo: older }))).to.deep.equal({
        kind: 'start',
        message: 'starting a fresh service orchestrator',
        newPort: false,
      });
      expect(next(situation('deploy', stack('CREATE_IN_PROGRESS', ['provision'], 'x'), { memo: { ...older, running: 3 } }))).to.include({ kind: 'wait' });
    });
  });

  describe('deadlines', () => {
    it('fails a phase that outlives its deadline, with what the orchestrator said last', () => {
      const late = { stateSince: NOW - 600_001 };
      expect(next(situation('deploy', stack('CREATE_IN_PROGRESS', [], 'deploy: 2 of 3 VMs running'), late))).to.deep.equal({
        kind: 'fail',
        cause: 'deploy did not finish within 600 s; the orchestrator last reported: deploy: 2 of 3 VMs running',
        vms: 'removing',
      });
      expect(next(situation('initialise', { kind: 'silent', reason: 'x', since: NOW }, { stateSince: NOW - 60_001 }))).to.include({ kind: 'fail' });
    });

    it('never times out a ready or failed instance', () => {
      expect(next(situation('ready', stack('UPDATE_COMPLETE'), { stateSince: 0 }))).to.deep.equal({ kind: 'idle' });
      expect(
        next(situation('failed', stack('CREATE_FAILED'), { stateSince: 0, onFailure: 'keep', memo: { ...STARTED, failure: { cause: 'x', vms: 'kept' } } })),
      ).to.deep.equal({ kind: 'idle' });
    });
  });

  describe('teardown', () => {
    it('removes at once an instance that never had an orchestrator', () => {
      expect(next(situation('destroy', { kind: 'absent' }, { memo: {} }))).to.deep.equal({ kind: 'remove' });
    });

    it('starts a fresh orchestrator for the teardown when the old one is gone', () => {
      expect(next(situation('destroy', { kind: 'absent' }))).to.include({ kind: 'start' });
      expect(next(situation('destroy', { kind: 'fresh' }))).to.deep.equal({ kind: 'call', call: 'dispose', message: 'removing the cluster' });
    });

    it('disposes, waits for DELETE_COMPLETE, then removes; a failed delete fails the teardown', () => {
      expect(next(situation('destroy', stack('UPDATE_COMPLETE')))).to.include({ kind: 'call', call: 'dispose' });
      expect(next(situation('destroy', stack('DELETE_IN_PROGRESS', [], 'delete: destroying 3 VMs')))).to.deep.equal({
        kind: 'wait',
        message: 'delete: destroying 3 VMs',
      });
      expect(next(situation('destroy', stack('DELETE_COMPLETE')))).to.deep.equal({ kind: 'remove' });
      expect(next(situation('destroy', stack('DELETE_FAILED', [], 'delete failed: 1 VM still exists')))).to.deep.equal({
        kind: 'fail',
        cause: 'delete failed: 1 VM still exists',
      });
      expect(next(situation('destroy', stack('DELETE_IN_PROGRESS'), { stateSince: NOW - 300_001 }))).to.include({ kind: 'fail' });
    });
  });

  describe('after a failure', () => {
    const removing: PipelineMemo = { ...STARTED, phase: 'failed', starts: 0, failure: { cause: 'deploy failed: no capacity', vms: 'removing' } };
    const failed = (so: SoObservation, memo = removing) => situation('failed', so, { failedPhase: 'deploy', memo });

    it('removes the VMs of a failed instance (on_failure=delete), keeping the cause in the message', () => {
      expect(next(failed(stack('CREATE_FAILED', ['provision'])))).to.deep.equal({
        kind: 'call',
        call: 'dispose',
        message: 'deploy failed: no capacity. Removing its VMs (on_failure=delete).',
      });
      expect(next(failed(stack('DELETE_IN_PROGRESS', [], 'delete: destroying 2 VMs')))).to.deep.equal({
        kind: 'wait',
        message: 'deploy failed: no capacity. Removing its VMs (on_failure=delete): delete: destroying 2 VMs.',
      });
      expect(next(failed(stack('DELETE_COMPLETE')))).to.deep.equal({ kind: 'cleaned' });
      expect(next(failed({ kind: 'absent' }, { ...removing, started: false }))).to.deep.equal({ kind: 'cleaned' });
    });

    it('leaves a failed clean-up to the reconciler instead of looping', () => {
      expect(next(failed(stack('DELETE_FAILED', [], 'delete failed: timeout')))).to.deep.equal({
        kind: 'idle',
        message: 'deploy failed: no capacity. Removing its VMs (on_failure=delete): delete failed: timeout; tried again later.',
      });
      expect(next(failed({ kind: 'absent' }, { ...removing, starts: 3 }))).to.include({ kind: 'idle' });
    });

    it('does nothing more once the VMs are removed or kept, or when the teardown itself failed', () => {
      expect(next(failed(stack('DELETE_COMPLETE'), { ...removing, failure: { cause: 'x', vms: 'removed' } }))).to.deep.equal({ kind: 'idle' });
      expect(next(failed(stack('CREATE_FAILED'), { ...removing, failure: { cause: 'x', vms: 'kept' } }))).to.deep.equal({ kind: 'idle' });
      expect(next(situation('failed', stack('DELETE_FAILED'), { failedPhase: 'destroy' }))).to.deep.equal({ kind: 'idle' });
    });

    it('has something to try again only for a failed teardown or a clean-up under way, and is idle for every other failed instance', () => {
      const cases: Array<[ServiceState | undefined, PipelineMemo, boolean]> = [
        ['destroy', STARTED, true],
        ['deploy', removing, true],
        ['deploy', { ...removing, failure: { cause: 'x', vms: 'removed' } }, false],
        ['deploy', { ...removing, failure: { cause: 'x', vms: 'kept' } }, false],
        ['initialise', { ...removing, started: false, failure: { cause: 'x', vms: 'none' } }, false],
      ];
      for (const [failedPhase, memo, expected] of cases) {
        expect(awaitsRetry(failedPhase, memo.failure?.vms), `${failedPhase} ${memo.failure?.vms}`).to.equal(expected);
        if (expected) continue;
        const long = situation('failed', stack('CREATE_FAILED'), { ...(failedPhase ? { failedPhase } : {}), memo, stateSince: NOW - 86_400_000 });
        expect(next(long), 'the pipeline agrees: nothing to do, however long it waits').to.deep.equal({ kind: 'idle' });
      }
    });

    it('says what became of the VMs', () => {
      expect(failureMessage({ cause: 'deploy failed: no capacity.', vms: 'removed' })).to.equal(
        'deploy failed: no capacity. Its VMs were removed (on_failure=delete).',
      );
      expect(failureMessage({ cause: 'deploy failed: no capacity', vms: 'kept' })).to.equal(
        'deploy failed: no capacity. Its VMs are kept for debugging (on_failure=keep); delete the instance to remove them.',
      );
    });
  });

  describe('decisions the actuator only carries out', () => {
    it('starts over with a fresh orchestrator after a retry, forgetting the failure', () => {
      const retried: PipelineMemo = { ...STARTED, phase: 'deploy', failure: { cause: 'deploy failed: x', vms: 'removed' } };
      expect(next(situation('deploy', { kind: 'absent' }, { memo: retried }))).to.deep.equal({
        kind: 'renew',
        reason: 'retry',
        message: 'starting over with a fresh service orchestrator',
      });
    });

    it('tries a failed teardown again once its back-off has passed, waiting twice as long each time', () => {
      const failedTeardown = (memo: Partial<PipelineMemo>, since: number) =>
        situation('failed', stack('DELETE_FAILED'), { failedPhase: 'destroy', stateSince: NOW - since, memo: { ...STARTED, ...memo } });
      expect(next(failedTeardown({}, 59_000))).to.deep.equal({ kind: 'idle' });
      expect(next(failedTeardown({}, 60_000))).to.deep.equal({
        kind: 'renew',
        reason: 'teardown',
        to: 'destroy',
        message: 'Retrying the teardown (attempt 2).',
      });
      expect(next(failedTeardown({ teardowns: 2, retriedAt: NOW - 239_000 }, 0)), 'the third wait is 4 minutes').to.deep.equal({ kind: 'idle' });
      expect(next(failedTeardown({ teardowns: 2, retriedAt: NOW - 240_000 }, 0))).to.include({ kind: 'renew', message: 'Retrying the teardown (attempt 4).' });
      expect(next(failedTeardown({ teardowns: 20, retriedAt: NOW - 3_600_000 }, 0)), 'never more than an hour').to.include({ kind: 'renew' });
    });

    it('tries a stuck clean-up again with a fresh orchestrator once due, keeping the instance failed', () => {
      const stuck: PipelineMemo = { ...STARTED, phase: 'failed', failure: { cause: 'deploy failed: x', vms: 'removing' }, retriedAt: NOW - 60_000 };
      expect(next(situation('failed', stack('DELETE_FAILED', [], 'delete failed: y'), { failedPhase: 'deploy', memo: stuck }))).to.deep.equal({
        kind: 'renew',
        reason: 'teardown',
        message: 'deploy failed: x. Removing its VMs (on_failure=delete).',
      });
    });

    it('fails when an orchestrator cannot be started for good, and tries again when it may work later', () => {
      const fatal: PipelineMemo = { ...STARTED, startError: { reason: 'tenant demo has no CloudStack account', retryable: false } };
      expect(next(situation('initialise', { kind: 'absent' }, { memo: fatal }))).to.deep.equal({
        kind: 'fail',
        cause: 'cannot start the service orchestrator: tenant demo has no CloudStack account',
        vms: 'removing',
      });
      const passing: PipelineMemo = { ...STARTED, phase: 'initialise', startError: { reason: 'no free port', retryable: true } };
      expect(next(situation('initialise', { kind: 'absent' }, { memo: passing }))).to.deep.equal({
        kind: 'start',
        message: 'cannot start the service orchestrator (no free port); trying again',
        newPort: false,
      });
      const removing: PipelineMemo = { ...fatal, failure: { cause: 'x', vms: 'removing' } };
      expect(next(situation('failed', { kind: 'absent' }, { failedPhase: 'deploy', memo: removing }))).to.deep.equal({
        kind: 'idle',
        message: 'x. Removing its VMs (on_failure=delete): cannot start the service orchestrator: tenant demo has no CloudStack account; tried again later.',
      });
    });

    it("fails with the orchestrator's words when it refuses the parameters", () => {
      const rejected: PipelineMemo = { ...STARTED, phase: 'activate', rejected: 'Cannot build the cluster: zone "mars" not found' };
      expect(next(situation('activate', { kind: 'fresh' }, { memo: rejected }))).to.deep.equal({
        kind: 'fail',
        cause: 'Cannot build the cluster: zone "mars" not found',
        vms: 'removing',
      });
    });

    it("keeps the instance's port, and takes a new one when another process took it", () => {
      expect(next(situation('deploy', { kind: 'absent', exit: 'exit code 1: listen EADDRINUSE 127.0.0.1:18000' }))).to.include({
        kind: 'start',
        newPort: true,
      });
      expect(next(situation('deploy', { kind: 'absent', exit: 'exit code 1: killed' }))).to.include({ kind: 'start', newPort: false });
    });

    it('moves to another port when something that cannot prove it is the orchestrator answers on the port of one that does not run', () => {
      const taken = 'the service orchestrator at 127.0.0.1:18000 could not prove its identity';
      expect(next(situation('ready', { kind: 'absent', exit: 'exit code 137', taken }))).to.deep.equal({
        kind: 'start',
        message: `${taken}; starting the service orchestrator on another port`,
        newPort: true,
      });
      expect(next(situation('initialise', { kind: 'absent', taken }))).to.include({ kind: 'start', newPort: true });
    });

    it('waits, saying so, while a starting orchestrator cannot prove its identity, and replaces it after the start timeout', () => {
      const reason = 'the service orchestrator at 127.0.0.1:18000 could not prove its identity';
      const unproven = (since: number): SoObservation => ({ kind: 'silent', reason, since, unproven: true });
      expect(next(situation('activate', unproven(NOW - 1000)))).to.deep.equal({ kind: 'wait', message: `waiting for the service orchestrator: ${reason}` });
      expect(next(situation('activate', unproven(NOW - 60_000), { memo: { ...STARTED, startedAt: NOW - 60_000 } }))).to.deep.equal({
        kind: 'replace',
        message: `replacing the service orchestrator: the service orchestrator did not answer for 60 s (${reason})`,
      });
    });

    it('says what becomes of the VMs when an instance fails: none made, kept, or removed', () => {
      const failedDeploy = (overrides: Partial<Situation>) => next(situation('deploy', stack('CREATE_FAILED', [], 'no'), overrides));
      expect(failedDeploy({ memo: { ...STARTED, started: false } })).to.include({ vms: 'none' });
      expect(failedDeploy({ onFailure: 'keep' })).to.include({ vms: 'kept' });
      expect(failedDeploy({})).to.include({ vms: 'removing' });
      expect(next(situation('destroy', stack('DELETE_FAILED', [], 'no'))), 'a failed teardown is retried, its VMs unchanged').to.deep.equal({
        kind: 'fail',
        cause: 'no',
      });
    });
  });

  describe('a ready cluster', () => {
    const watched = (health: 'healthy' | 'degraded', message: string): SoObservation => ({
      kind: 'stack',
      stack: { state: 'UPDATE_COMPLETE', actions: [], message, health },
    });

    it('turns degraded when the orchestrator finds it below its promise, and ready again when it is whole', () => {
      const message =
        'degraded: agent 2 of 3 (127.10.0.5) not active for 40 s (registered but inactive); replacing it (replacement 1); 2 of 3 agents active (min_ready 3)';
      expect(next(situation('ready', watched('degraded', message)))).to.deep.equal({ kind: 'advance', to: 'degraded', message });
      expect(next(situation('degraded', watched('degraded', message)))).to.deep.equal({ kind: 'idle', message });
      const whole = 'ready: leader 127.10.0.2, 3 of 3 agents active, Marathon registered';
      expect(next(situation('degraded', watched('healthy', whole)))).to.deep.equal({ kind: 'advance', to: 'ready', message: whole });
      expect(next(situation('ready', watched('healthy', whole)))).to.deep.equal({ kind: 'idle', message: whole });
    });

    it('goes from provisioning or an update to ready first, even when the cluster is already degraded', () => {
      expect(next(situation('provision', watched('degraded', 'degraded: x')))).to.include({ kind: 'advance', to: 'ready' });
      expect(next(situation('update', watched('degraded', 'degraded: x')))).to.include({ kind: 'advance', to: 'ready' });
    });

    it('applies changed attributes from degraded too, and never times it out', () => {
      expect(next(situation('degraded', watched('degraded', 'degraded: x'), { desired: 'new' }))).to.include({ kind: 'call', call: 'update', then: 'update' });
      expect(next(situation('degraded', watched('degraded', 'degraded: x'), { stateSince: 0 }))).to.include({ kind: 'idle' });
    });
  });
});
