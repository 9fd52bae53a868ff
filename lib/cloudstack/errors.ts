/**
 * What went wrong talking to CloudStack, classified by what a caller can do
 * about it:
 * - fatal: a caller bug, bad credentials or a refused permission; retrying will not help;
 * - retryable: transient (transport, resource unavailable, maintenance); try again later;
 * - quota: an account limit is reached; nothing helps until something is freed;
 * - capacity: the cloud has no room now; retry later or elsewhere;
 * - throttled: the account's API rate limit; retry after the given delay.
 */
export type ErrorClass = 'fatal' | 'retryable' | 'quota' | 'capacity' | 'throttled';

export function classify(errorcode: number): ErrorClass {
  switch (errorcode) {
    case 429:
      return 'throttled';
    case 533:
      return 'capacity';
    case 532:
    case 535:
      return 'quota';
    case 503:
    case 534:
      return 'retryable';
    default:
      return 'fatal';
  }
}

export interface CloudStackErrorDetails {
  readonly command: string;
  readonly httpStatus: number;
  readonly errorcode: number;
  readonly cserrorcode?: number;
  readonly errortext: string;
  /** Set when the error came from an async job rather than the call itself. */
  readonly jobid?: string;
  /** The resource the failed job acted on, e.g. the VM left in Error by a failed deploy. */
  readonly resourceId?: string;
}

/** An error answer from the CloudStack API, sync or from a job. */
export class CloudStackError extends Error {
  readonly command: string;
  readonly httpStatus: number;
  readonly errorcode: number;
  readonly cserrorcode?: number;
  readonly errortext: string;
  readonly jobid?: string;
  readonly resourceId?: string;
  readonly classification: ErrorClass;

  constructor(details: CloudStackErrorDetails) {
    super(`${details.command} failed${details.jobid ? ` in job ${details.jobid}` : ''}: ${details.errorcode} ${details.errortext}`);
    this.name = 'CloudStackError';
    this.command = details.command;
    this.httpStatus = details.httpStatus;
    this.errorcode = details.errorcode;
    if (details.cserrorcode !== undefined) this.cserrorcode = details.cserrorcode;
    this.errortext = details.errortext;
    if (details.jobid !== undefined) this.jobid = details.jobid;
    if (details.resourceId !== undefined) this.resourceId = details.resourceId;
    this.classification = classify(details.errorcode);
  }

  /** The delay a 429 asks for ("please retry after [N] ms"), if it gives one. */
  retryAfterMs(): number | undefined {
    const match = /retry after \[?(\d+)\]? ?ms/i.exec(this.errortext);
    return match ? Number(match[1]) : undefined;
  }
}

/**
 * No usable answer: the connection failed or was reset, the request timed
 * out, or something other than CloudStack (a proxy) answered. Whether the
 * call took effect is unknown.
 */
export class CloudStackTransportError extends Error {
  readonly classification: ErrorClass = 'retryable';

  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`${command}: no usable answer from CloudStack (${reason})`);
    this.name = 'CloudStackTransportError';
  }
}

/** An operation ran past its deadline; what it started may still be going on. */
export class CloudStackTimeout extends Error {
  readonly classification: ErrorClass = 'retryable';

  constructor(
    readonly command: string,
    readonly deadlineMs: number,
    readonly jobid?: string,
  ) {
    super(`${command}${jobid ? ` (job ${jobid})` : ''} did not finish within ${Math.round(deadlineMs / 1000)} s`);
    this.name = 'CloudStackTimeout';
  }
}

/** A zone, template, offering or network named in a request does not exist. */
export class CloudResourceNotFound extends Error {
  readonly classification: ErrorClass = 'fatal';

  constructor(
    readonly kind: string,
    readonly wanted: string,
    available: readonly string[],
  ) {
    super(`${kind} "${wanted}" not found; available: ${available.length > 0 ? available.join(', ') : 'none'}`);
    this.name = 'CloudResourceNotFound';
  }
}

/**
 * A failure worth trying again: no usable answer, a transient error answer,
 * or an internal error (530) of the call itself. A job that failed is an
 * outcome, not a transient failure, unless the caller says its job is safe
 * to run again.
 */
export function isTransient(error: unknown, jobsToo = false): boolean {
  if (error instanceof CloudStackTransportError) return true;
  if (!(error instanceof CloudStackError)) return false;
  if (error.jobid !== undefined && !jobsToo) return false;
  return error.classification === 'retryable' || error.errorcode === 530;
}
