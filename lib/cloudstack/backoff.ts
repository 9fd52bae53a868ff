/** Exponential backoff with jitter: the n-th wait is firstMs × factor^n, capped at maxMs, ± jitter. */
export interface BackoffPolicy {
  readonly firstMs: number;
  readonly factor: number;
  readonly maxMs: number;
  /** Fraction of the delay to spread either way, e.g. 0.2 for ±20 %. */
  readonly jitter: number;
}

/** Job polling: start soon (short jobs are common) and grow slowly to 5 s; one round looks at every job waited for. */
export const JOB_POLLING: BackoffPolicy = { firstMs: 1000, factor: 1.25, maxMs: 5000, jitter: 0.2 };

/** Retrying a write after a transient failure, once it is known not to have taken effect. */
export const WRITE_RETRY: BackoffPolicy = { firstMs: 1000, factor: 2, maxMs: 15_000, jitter: 0.3 };

/** Retrying a read after a transport failure. */
export const READ_RETRY: BackoffPolicy = { firstMs: 500, factor: 2, maxMs: 5000, jitter: 0.2 };

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.maxMs, policy.firstMs * policy.factor ** attempt);
  return Math.round(base * (1 - policy.jitter + 2 * policy.jitter * random()));
}
