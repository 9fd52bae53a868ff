import { isServing, type ServiceState } from '../model/states.js';
import type { StackRecord, StackResourceRecord, StackStatus } from '../registry/stacks.js';

/** One resource of a stack as it is now: what the template says it needs, what was recorded, and its instance. */
export interface ResourceView {
  readonly logicalId: string;
  readonly needs: readonly string[];
  readonly record?: StackResourceRecord;
  /** Its live instance; undefined before it is made and once it is gone. */
  readonly instance?: { readonly state: ServiceState; readonly stateMessage: string; readonly deleting: boolean };
}

export interface StackView {
  readonly stack: StackRecord;
  /** In creation order. */
  readonly resources: readonly ResourceView[];
}

export type StackStep =
  | { readonly kind: 'create'; readonly logicalId: string }
  | { readonly kind: 'delete'; readonly logicalId: string }
  | { readonly kind: 'resource'; readonly logicalId: string; readonly status: StackStatus; readonly reason: string }
  | { readonly kind: 'stack'; readonly status: StackStatus; readonly reason: string; readonly begins?: boolean };

/**
 * The next steps of a stack's operation, from its resources' instances: the
 * stack's lifecycle as a pure decision. Create makes each resource once
 * what it needs is complete, and fails as the stack's OnFailure says;
 * rollback and delete remove every instance made and are complete once
 * they are gone; an update is complete once every instance serves again.
 */
export function decideStack(view: StackView, now: number): StackStep[] {
  switch (view.stack.status) {
    case 'CREATE_IN_PROGRESS':
      return creating(view, now);
    case 'ROLLBACK_IN_PROGRESS':
      return removing(view, 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED');
    case 'DELETE_IN_PROGRESS':
      return removing(view, 'DELETE_COMPLETE', 'DELETE_FAILED');
    case 'UPDATE_IN_PROGRESS':
      return updating(view);
    default:
      return [];
  }
}

function creating(view: StackView, now: number): StackStep[] {
  const { stack } = view;
  const steps: StackStep[] = [];
  const status = new Map(view.resources.map((r) => [r.logicalId, r.record?.status]));
  const timedOut = stack.timeoutMs !== undefined && now - stack.since >= stack.timeoutMs;
  for (const resource of view.resources) {
    const current = status.get(resource.logicalId);
    if (current === undefined) {
      if (!timedOut && resource.needs.every((need) => status.get(need) === 'CREATE_COMPLETE')) steps.push({ kind: 'create', logicalId: resource.logicalId });
      continue;
    }
    if (current !== 'CREATE_IN_PROGRESS') continue;
    const outcome = createOutcome(resource);
    if (!outcome) continue;
    steps.push({ kind: 'resource', logicalId: resource.logicalId, ...outcome });
    status.set(resource.logicalId, outcome.status);
  }
  const failed = view.resources.filter((r) => status.get(r.logicalId) === 'CREATE_FAILED').map((r) => r.logicalId);
  if (failed.length > 0 || timedOut) {
    const reason = failed.length > 0 ? `The following resource(s) failed to create: [${failed.join(', ')}]. ` : 'Stack creation timed out. ';
    const next: StackStatus = stack.onFailure === 'DO_NOTHING' ? 'CREATE_FAILED' : stack.onFailure === 'DELETE' ? 'DELETE_IN_PROGRESS' : 'ROLLBACK_IN_PROGRESS';
    return [...steps.filter((s) => s.kind !== 'create'), { kind: 'stack', status: next, reason, begins: next !== 'CREATE_FAILED' }];
  }
  if (view.resources.every((r) => status.get(r.logicalId) === 'CREATE_COMPLETE')) steps.push({ kind: 'stack', status: 'CREATE_COMPLETE', reason: '' });
  return steps;
}

function createOutcome(resource: ResourceView): { status: StackStatus; reason: string } | undefined {
  const { instance } = resource;
  if (!instance) return { status: 'CREATE_FAILED', reason: 'Its instance was deleted.' };
  if (instance.state === 'failed' || instance.deleting) return { status: 'CREATE_FAILED', reason: instance.stateMessage };
  if (isServing(instance.state)) return { status: 'CREATE_COMPLETE', reason: '' };
  return undefined;
}

function removing(view: StackView, done: StackStatus, failure: StackStatus): StackStep[] {
  const steps: StackStep[] = [];
  const failed: string[] = [];
  let remaining = 0;
  for (const resource of view.resources) {
    const { record, instance } = resource;
    if (!record || record.status === 'DELETE_COMPLETE') continue;
    if (!instance) {
      steps.push({ kind: 'resource', logicalId: resource.logicalId, status: 'DELETE_COMPLETE', reason: '' });
      continue;
    }
    remaining++;
    if (instance.state === 'failed' && instance.deleting) {
      failed.push(resource.logicalId);
      if (record.status !== 'DELETE_FAILED')
        steps.push({ kind: 'resource', logicalId: resource.logicalId, status: 'DELETE_FAILED', reason: instance.stateMessage });
    } else if (!instance.deleting) {
      steps.push(
        { kind: 'delete', logicalId: resource.logicalId },
        { kind: 'resource', logicalId: resource.logicalId, status: 'DELETE_IN_PROGRESS', reason: '' },
      );
    }
  }
  if (failed.length > 0) steps.push({ kind: 'stack', status: failure, reason: `The following resource(s) failed to delete: [${failed.join(', ')}]. ` });
  // A rollback's end keeps the reason it began with: what failed to create.
  else if (remaining === 0) steps.push({ kind: 'stack', status: done, reason: done === 'ROLLBACK_COMPLETE' ? view.stack.reason : '' });
  return steps;
}

function updating(view: StackView): StackStep[] {
  const steps: StackStep[] = [];
  const failed: string[] = [];
  let busy = false;
  for (const resource of view.resources) {
    const { record, instance } = resource;
    if (!instance || instance.state === 'failed' || instance.deleting) {
      failed.push(resource.logicalId);
      if (record?.status !== 'UPDATE_FAILED')
        steps.push({ kind: 'resource', logicalId: resource.logicalId, status: 'UPDATE_FAILED', reason: instance?.stateMessage ?? 'Its instance was deleted.' });
      continue;
    }
    if (!isServing(instance.state)) {
      busy = true;
      continue;
    }
    if (record?.status === 'UPDATE_IN_PROGRESS') steps.push({ kind: 'resource', logicalId: resource.logicalId, status: 'UPDATE_COMPLETE', reason: '' });
  }
  if (failed.length > 0)
    return [...steps, { kind: 'stack', status: 'UPDATE_FAILED', reason: `The following resource(s) failed to update: [${failed.join(', ')}]. ` }];
  if (busy) return steps;
  return [...steps, { kind: 'stack', status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', reason: '' }, { kind: 'stack', status: 'UPDATE_COMPLETE', reason: '' }];
}
