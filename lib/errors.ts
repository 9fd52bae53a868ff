/**
 * Why the domain refuses a request, in its own terms. Domain code throws
 * these; only the HTTP edge (lib/http-errors.ts) turns them into status
 * codes. Anything thrown that is neither a refusal nor an HTTP error is a
 * bug and becomes a logged 500 at the edge.
 */
export type RefusalKind = 'invalid' | 'not-found' | 'gone' | 'conflict' | 'unprocessable' | 'forbidden' | 'throttled' | 'unavailable';

export abstract class Refusal extends Error {
  abstract readonly kind: RefusalKind;
  /** A machine-readable reason, for protocols that name one (Open Service Broker's `AsyncRequired`, …). */
  code?: string;

  constructor(
    message: string,
    /** When asking again may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input breaks a rule; the message says which. */
export class InvalidInput extends Refusal {
  readonly kind = 'invalid';
}

/** What the request names does not exist (for this caller). */
export class UnknownResource extends Refusal {
  readonly kind = 'not-found';
}

/** What the request names existed once and is gone for good. */
export class NoLongerExists extends Refusal {
  readonly kind = 'gone';
}

/** The request is well-formed but cannot be carried out as asked (now, or in this way); `code` says why. */
export class CannotProcess extends Refusal {
  readonly kind = 'unprocessable';

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The request does not fit what exists now. */
export class ConflictingState extends Refusal {
  readonly kind = 'conflict';
}

/** A policy (a quota, a tenant's limits) forbids it. */
export class NotPermitted extends Refusal {
  readonly kind = 'forbidden';
}

/** Too many requests in too short a time. */
export class RateLimited extends Refusal {
  readonly kind = 'throttled';

  constructor(message: string, retryAfterSeconds: number) {
    super(message, retryAfterSeconds);
  }
}

/** Something it depends on cannot be asked right now. */
export class Unavailable extends Refusal {
  readonly kind = 'unavailable';

  constructor(message: string, retryAfterSeconds = 5) {
    super(message, retryAfterSeconds);
  }
}

/** A configuration or start-up problem; the message names the offending key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Whatever was thrown, as an Error (a rejection always carries one). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** The message of whatever was thrown, for logs and state messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
