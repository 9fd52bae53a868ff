import { isServing, type ServiceState } from '../model/states.js';
import type { BrokerRecord } from '../registry/registry.js';

/** What `last_operation` answers: the state of the platform's last operation on an instance. */
export interface OperationState {
  readonly state: 'in progress' | 'succeeded' | 'failed';
  readonly description: string;
}

interface Seen {
  readonly state: ServiceState;
  readonly stateMessage: string;
}

/**
 * The last operation's state from the instance's lifecycle state. An
 * instance that is gone has no operation state: after a deprovision that is
 * success, which the platform learns as 410 Gone.
 */
export function operationState(operation: BrokerRecord['operation'], instance: Seen): OperationState {
  const description = instance.stateMessage;
  if (instance.state === 'failed') return { state: 'failed', description };
  if (operation === 'deprovision') return { state: 'in progress', description };
  return { state: isServing(instance.state) ? 'succeeded' : 'in progress', description };
}

/** Whether another operation runs on the instance now, so a second one must wait (422 ConcurrencyError). */
export function busy(instance: Seen): boolean {
  return !isServing(instance.state) && instance.state !== 'failed';
}
