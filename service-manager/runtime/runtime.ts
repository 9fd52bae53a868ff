/**
 * Where service orchestrators run: one per instance, named after the
 * instance's uid, labelled with the service manager's id so a restarted SM
 * adopts its own and removes only its own.
 */

/** Everything needed to run one instance's orchestrator. */
export interface SoLaunch {
  readonly uid: string;
  /** The instance id and tenant, for labels and for people reading `docker ps`. */
  readonly instanceId: string;
  readonly tenant: string;
  readonly port: number;
  /** SO_* variables that are not secret. */
  readonly env: Readonly<Record<string, string>>;
  /** SO_* variables that are (the CloudStack secret key, the orchestrator's token). */
  readonly secrets: Readonly<Record<string, string>>;
}

export type SoStatus =
  | { readonly state: 'running' }
  /** It exists but does not run; `exit` says how it ended, with its last words. */
  | { readonly state: 'stopped'; readonly exit: string }
  | { readonly state: 'missing' };

export interface SoListing {
  readonly uid: string;
  readonly running: boolean;
}

/** An orchestrator could not be started; `retryable` is false when trying again cannot help. */
export class SoStartFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SoStartFailed';
  }
}

export type RuntimeKind = 'docker' | 'swarm' | 'process';

export interface SoRuntime {
  readonly kind: RuntimeKind;
  /** Runs the instance's orchestrator: adopts one that runs, replaces one that stopped. */
  start(launch: SoLaunch): Promise<void>;
  status(uid: string): Promise<SoStatus>;
  /** Stops and removes it, and what it kept (logs, secrets); already gone is success. */
  remove(uid: string): Promise<void>;
  /** Every orchestrator of this service manager, running or not. */
  list(): Promise<SoListing[]>;
  /** Its last lines of output, for diagnosis. */
  logs(uid: string, lines: number): Promise<string>;
  /** Resolves when orchestrators can be started now: the engine answers, or their folder can be written. */
  ping(): Promise<void>;
}

/** The name of an instance's container, service or process files. */
export function soName(uid: string): string {
  return `mesos-so-${uid}`;
}

export const LABELS = {
  manager: 'mesos-sm.manager',
  uid: 'mesos-sm.uid',
  instance: 'mesos-sm.instance',
  tenant: 'mesos-sm.tenant',
} as const;

export function labelsFor(managerId: string, launch: SoLaunch): Record<string, string> {
  return {
    [LABELS.manager]: managerId,
    [LABELS.uid]: launch.uid,
    [LABELS.instance]: launch.instanceId,
    [LABELS.tenant]: launch.tenant,
  };
}

/** The last non-empty line of some output, shortened: the most useful words of a crashed process. */
export function lastWords(output: string): string {
  const line =
    output
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
