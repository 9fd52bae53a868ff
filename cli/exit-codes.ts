import { ApiError, UsageError } from './errors.js';

/** What mesosctl's exit status tells a script. */
export const EXIT = {
  done: 0,
  /** The instance failed, the wait timed out, or the service manager refused for another reason. */
  failed: 1,
  /** The command line or its settings are wrong, or the service manager found the input invalid. */
  usage: 2,
  authentication: 3,
  notFound: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (!(error instanceof ApiError)) return EXIT.failed;
  if (error.status === 401 || error.status === 403) return EXIT.authentication;
  if (error.status === 404) return EXIT.notFound;
  if (error.status === 400) return EXIT.usage;
  return EXIT.failed;
}
