/**
 * Errors that carry the HTTP status a client should see and a message written
 * for a human. Anything thrown that is not an HttpError is a bug and becomes a
 * logged 500 at the edge.
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

export class PayloadTooLarge extends HttpError {
  constructor(message: string) {
    super(413, message);
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(message: string) {
    super(415, message);
  }
}

export class TooManyRequests extends HttpError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, message, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class ServiceUnavailable extends HttpError {
  constructor(message: string, retryAfterSeconds = 5) {
    super(503, message, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class NotImplemented extends HttpError {
  constructor(message: string) {
    super(501, message);
  }
}

/** A configuration or start-up problem; the message names the offending key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The message of whatever was thrown, for logs and state messages. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
