/** The service manager answered with an error; `status` is 0 when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The command line or the settings are wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The instance ended up failed (or gone) while mesosctl waited for it, or the wait timed out. */
export class WaitFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitFailed';
  }
}
