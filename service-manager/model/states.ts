import type { Action } from '../../lib/occi/model.js';

/**
 * The service instance state model (hurtle's, plus `ready`, `degraded` and
 * a real `failed`). The happy path is initialise → activate → deploy →
 * provision → ready; a ready cluster that falls below what was promised is
 * degraded until it is whole again; update returns to ready; destroy ends
 * with the instance removed.
 */
export const STATES = ['initialise', 'activate', 'deploy', 'provision', 'ready', 'degraded', 'update', 'destroy', 'failed'] as const;

export type ServiceState = (typeof STATES)[number];

/** The states an instance may stay in only until a deadline. */
export type TimedState = Exclude<ServiceState, 'ready' | 'degraded' | 'failed'>;

export const STATE_ATTRIBUTE = 'mcn.service.state';
export const MESSAGE_ATTRIBUTE = 'mcn.service.state.message';

const WORKING: readonly ServiceState[] = ['initialise', 'activate', 'deploy', 'provision', 'update'];

const TRANSITIONS: Readonly<Record<ServiceState, readonly ServiceState[]>> = {
  initialise: ['activate', 'failed', 'destroy'],
  activate: ['deploy', 'failed', 'destroy'],
  deploy: ['provision', 'failed', 'destroy'],
  // Attributes changed while provisioning are applied before the instance is called ready.
  provision: ['ready', 'update', 'failed', 'destroy'],
  ready: ['degraded', 'update', 'failed', 'destroy'],
  degraded: ['ready', 'update', 'failed', 'destroy'],
  update: ['ready', 'degraded', 'failed', 'destroy'],
  // A retry resumes the phase that failed; a failed teardown can be retried.
  failed: [...WORKING, 'destroy'],
  destroy: ['failed'],
};

/** States in which the cluster is built and serves: no deadline, the orchestrator watches it. */
export function isServing(state: ServiceState): state is 'ready' | 'degraded' {
  return state === 'ready' || state === 'degraded';
}

export function isState(value: string): value is ServiceState {
  return (STATES as readonly string[]).includes(value);
}

export function canTransition(from: ServiceState, to: ServiceState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

export class IllegalTransition extends Error {
  constructor(from: ServiceState, to: ServiceState) {
    super(`illegal state transition ${from} → ${to}`);
    this.name = 'IllegalTransition';
  }
}

/** The actions of the service kind and when each applies. */
export interface ActionRule {
  readonly action: Action;
  readonly applies: (state: ServiceState) => boolean;
  /** When it applies, in words, for the error given when it does not. */
  readonly when: string;
}

export function actionRules(kindScheme: string, kindTerm: string): readonly ActionRule[] {
  const scheme = `${kindScheme.replace(/#$/, '')}/${kindTerm}/action#`;
  return [
    {
      action: { scheme, term: 'retry', title: 'Retry the phase that failed', attributes: [] },
      applies: (state) => state === 'failed',
      when: 'to failed instances',
    },
  ];
}
