import { expect } from 'chai';
import { decideStack, type ResourceView, type StackStep } from '../../service-manager/cloudformation/decide.js';
import type { ServiceState } from '../../service-manager/model/states.js';
import type { OnFailure, StackRecord, StackStatus } from '../../service-manager/registry/stacks.js';

const NOW = 1_000_000;

function stack(status: StackStatus, overrides: Partial<StackRecord> = {}): StackRecord {
  return {
    stackId: 'arn:aws:cloudformation:us-east-1:000000000001:stack/s/1',
    tenant: 'demo',
    name: 's',
    template: '',
    parameters: {},
    tags: {},
    status,
    reason: 'User Initiated',
    onFailure: 'ROLLBACK',
    createdAt: 0,
    since: NOW - 1000,
    ...overrides,
  };
}

function resource(logicalId: string, status?: StackStatus, state?: ServiceState, needs: string[] = [], deleting = false): ResourceView {
  return {
    logicalId,
    needs,
    ...(status
      ? { record: { logicalId, type: 'CloudStack::Mesos::Cluster', status, reason: '', updatedAt: 0, physicalId: `${logicalId}-1`, uid: `u-${logicalId}` } }
      : {}),
    ...(state ? { instance: { state, stateMessage: `${logicalId} is ${state}`, deleting: deleting || state === 'destroy' } } : {}),
  };
}

const show = (steps: StackStep[]): string[] =>
  steps.map((s) =>
    s.kind === 'stack' ? `stack ${s.status}${s.begins ? ' (begins)' : ''}` : s.kind === 'resource' ? `${s.logicalId} ${s.status}` : `${s.kind} ${s.logicalId}`,
  );

describe('Stack decisions', () => {
  it('creates each resource once what it needs is complete, and completes the stack with the last one', () => {
    const table: Array<[ResourceView[], string[]]> = [
      [[resource('Web'), resource('Batch', undefined, undefined, ['Web'])], ['create Web']],
      [[resource('Web', 'CREATE_IN_PROGRESS', 'provision'), resource('Batch', undefined, undefined, ['Web'])], []],
      [
        [resource('Web', 'CREATE_IN_PROGRESS', 'ready'), resource('Batch', undefined, undefined, ['Web'])],
        ['Web CREATE_COMPLETE', 'create Batch'],
      ],
      [
        [resource('Web', 'CREATE_COMPLETE', 'degraded'), resource('Batch', 'CREATE_IN_PROGRESS', 'ready', ['Web'])],
        ['Batch CREATE_COMPLETE', 'stack CREATE_COMPLETE'],
      ],
      [
        [resource('A'), resource('B')],
        ['create A', 'create B'],
      ],
    ];
    for (const [resources, expected] of table) expect(show(decideStack({ stack: stack('CREATE_IN_PROGRESS'), resources }, NOW))).to.deep.equal(expected);
  });

  it('fails a create as OnFailure says, naming what failed, and creates nothing more', () => {
    const failing = [resource('Web', 'CREATE_IN_PROGRESS', 'failed'), resource('Other')];
    const cases: Array<[OnFailure, string]> = [
      ['ROLLBACK', 'stack ROLLBACK_IN_PROGRESS (begins)'],
      ['DELETE', 'stack DELETE_IN_PROGRESS (begins)'],
      ['DO_NOTHING', 'stack CREATE_FAILED'],
    ];
    for (const [onFailure, last] of cases) {
      const steps = decideStack({ stack: stack('CREATE_IN_PROGRESS', { onFailure }), resources: failing }, NOW);
      expect(show(steps)).to.deep.equal(['Web CREATE_FAILED', last]);
      expect(steps.at(-1)).to.include({ reason: 'The following resource(s) failed to create: [Web]. ' });
    }
    const gone = decideStack({ stack: stack('CREATE_IN_PROGRESS'), resources: [resource('Web', 'CREATE_IN_PROGRESS')] }, NOW);
    expect(show(gone)).to.deep.equal(['Web CREATE_FAILED', 'stack ROLLBACK_IN_PROGRESS (begins)']);
  });

  it('fails a create that outlives TimeoutInMinutes', () => {
    const late = decideStack({ stack: stack('CREATE_IN_PROGRESS', { timeoutMs: 1000 }), resources: [resource('Web', 'CREATE_IN_PROGRESS', 'provision')] }, NOW);
    expect(late.at(-1)).to.deep.equal({ kind: 'stack', status: 'ROLLBACK_IN_PROGRESS', reason: 'Stack creation timed out. ', begins: true });
  });

  it('removes every instance made on rollback and delete, and ends once they are gone', () => {
    const table: Array<[StackStatus, ResourceView[], string[]]> = [
      ['ROLLBACK_IN_PROGRESS', [resource('Web', 'CREATE_FAILED', 'failed'), resource('Never')], ['delete Web', 'Web DELETE_IN_PROGRESS']],
      ['DELETE_IN_PROGRESS', [resource('Web', 'DELETE_IN_PROGRESS', 'destroy')], []],
      ['DELETE_IN_PROGRESS', [resource('Web', 'DELETE_IN_PROGRESS')], ['Web DELETE_COMPLETE', 'stack DELETE_COMPLETE']],
      ['ROLLBACK_IN_PROGRESS', [resource('Web', 'DELETE_COMPLETE')], ['stack ROLLBACK_COMPLETE']],
      ['DELETE_IN_PROGRESS', [resource('Web', 'DELETE_IN_PROGRESS', 'failed', [], true)], ['Web DELETE_FAILED', 'stack DELETE_FAILED']],
    ];
    for (const [status, resources, expected] of table) expect(show(decideStack({ stack: stack(status), resources }, NOW)), status).to.deep.equal(expected);
    const rolledBack = decideStack(
      { stack: stack('ROLLBACK_IN_PROGRESS', { reason: 'The following resource(s) failed to create: [Web]. ' }), resources: [] },
      NOW,
    );
    expect(rolledBack).to.deep.equal([{ kind: 'stack', status: 'ROLLBACK_COMPLETE', reason: 'The following resource(s) failed to create: [Web]. ' }]);
  });

  it('completes an update once every instance serves again, and fails it when one fails', () => {
    const table: Array<[ResourceView[], string[]]> = [
      [[resource('Web', 'UPDATE_IN_PROGRESS', 'update')], []],
      [[resource('Web', 'UPDATE_IN_PROGRESS', 'ready')], ['Web UPDATE_COMPLETE', 'stack UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'stack UPDATE_COMPLETE']],
      [[resource('Web', 'CREATE_COMPLETE', 'ready')], ['stack UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'stack UPDATE_COMPLETE']],
      [[resource('Web', 'UPDATE_IN_PROGRESS', 'failed')], ['Web UPDATE_FAILED', 'stack UPDATE_FAILED']],
    ];
    for (const [resources, expected] of table) expect(show(decideStack({ stack: stack('UPDATE_IN_PROGRESS'), resources }, NOW))).to.deep.equal(expected);
  });

  it('leaves settled stacks alone', () => {
    for (const status of ['CREATE_COMPLETE', 'ROLLBACK_COMPLETE', 'DELETE_COMPLETE', 'UPDATE_COMPLETE', 'CREATE_FAILED'] as const) {
      expect(decideStack({ stack: stack(status), resources: [resource('Web')] }, NOW)).to.deep.equal([]);
    }
  });
});
