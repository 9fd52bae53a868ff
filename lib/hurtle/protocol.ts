import type { ClusterHealth } from '../cluster/health.js';

/**
 * The hurtle service orchestrator protocol (hurtle.md §4, §5.1), as both a
 * service manager and an orchestrator speak it: one resource of the
 * `orchestrator` kind at a fixed path, the `deploy` and `provision`
 * actions, and the stack state, id and message attributes whose values are
 * CloudFormation/Heat stack states. Spelled here and nowhere else.
 */

export const SO_SCHEME = 'http://schemas.mobile-cloud-networking.eu/occi/service#';
export const ORCHESTRATOR_TERM = 'orchestrator';
export const ORCHESTRATOR_LOCATION = '/orchestrator/';
export const ORCHESTRATOR_PATH = '/orchestrator/default';

export const SO_ACTIONS = ['deploy', 'provision'] as const;
export type SoAction = (typeof SO_ACTIONS)[number];

export function isSoAction(term: string): term is SoAction {
  return (SO_ACTIONS as readonly string[]).includes(term);
}

export const STACK_STATE_ATTRIBUTE = 'occi.mcn.stack.state';
export const STACK_ID_ATTRIBUTE = 'occi.mcn.stack.id';
export const STACK_MESSAGE_ATTRIBUTE = 'occi.mcn.stack.message';

export const STACK_STATES = [
  'uninitialized',
  'CREATE_IN_PROGRESS',
  'CREATE_COMPLETE',
  'CREATE_FAILED',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'DELETE_IN_PROGRESS',
  'DELETE_COMPLETE',
  'DELETE_FAILED',
] as const;

/** The stack states hurtle service managers wait for. */
export type StackState = (typeof STACK_STATES)[number];

export function isStackState(text: string): text is StackState {
  return (STACK_STATES as readonly string[]).includes(text);
}

/** What an orchestrator reports of its stack. */
export interface StackView {
  /** `occi.mcn.stack.state`: uninitialized or a CloudFormation/Heat stack state. */
  readonly state: StackState;
  readonly message: string;
  /** The action terms the orchestrator offers now. */
  readonly actions: readonly SoAction[];
  /** How the orchestrator's watch finds a ready cluster. */
  readonly health?: ClusterHealth;
}
