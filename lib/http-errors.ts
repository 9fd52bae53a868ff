import { Refusal, type RefusalKind } from './errors.js';

/**
 * Errors that carry the HTTP status a client should see and a message written
 * for a human, thrown by the HTTP edges; `httpErrorOf` maps the domain's
 * refusals (lib/errors.ts) to them.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.headers = headers;
  }
}

export class BadRequest extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

export class Unauthorized extends HttpError {
  constructor(message: string) {
    super(401, message, { 'WWW-Authenticate': 'X-Auth-Token realm="service-manager"' });
  }
}

export class Forbidden extends HttpError {
  constructor(message: string) {
    super(403, message);
  }
}

export class NotFound extends HttpError {
  constructor(message: string) {
    super(404, message);
  }
}

export class MethodNotAllowed extends HttpError {
  constructor(method: string, allowed: readonly string[]) {
    super(405, `Method ${method} is not allowed here; allowed: ${allowed.join(', ')}.`, {
      Allow: allowed.join(', '),
    });
  }
}

export class NotAcceptable extends HttpError {
  constructor(message: string) {
    super(406, message);
  }
}

export class Conflict extends HttpError {
  constructor(message: string) {
    super(409, message);
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(message: string) {
    super(415, message);
  }
}

export class NotImplemented extends HttpError {
  constructor(message: string) {
    super(501, message);
  }
}

const STATUS: Readonly<Record<RefusalKind, number>> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  gone: 410,
  conflict: 409,
  unprocessable: 422,
  throttled: 429,
  unavailable: 503,
};

/** The HTTP error a thrown value stands for, or undefined when it is a bug. */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (!(error instanceof Refusal)) return undefined;
  const headers: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) };
  return new HttpError(STATUS[error.kind], error.message, headers);
}
