import { WRITE_RETRY } from './backoff.js';
import type { CloudStackClient } from './client.js';
import { isTransient } from './errors.js';

export interface OperationOptions {
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

/** Tries of one write (the first included) through transient failures. */
const WRITE_ATTEMPTS = 5;

/**
 * Runs a write, trying again after transient failures with jittered
 * back-off while the deadline allows. Before each new try, `settled` may
 * find that the write took effect after all (its answer was lost) and say
 * what it did; it sees the error, so it may also decide the failure is final.
 */
export async function retryingWrite<T>(
  client: CloudStackClient,
  options: OperationOptions,
  jobsToo: boolean,
  write: () => Promise<T>,
  settled: (error: unknown) => Promise<T | undefined> = () => Promise.resolve(undefined),
): Promise<T> {
  const { timers } = client;
  const deadline = timers.now() + options.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      return await write();
    } catch (error) {
      failure = error;
    }
    const done = await settled(failure);
    if (done !== undefined) return done;
    const wait = client.backoff(attempt, WRITE_RETRY);
    if (!isTransient(failure, jobsToo) || attempt + 1 >= WRITE_ATTEMPTS || timers.now() + wait >= deadline) throw failure;
    await timers.sleep(wait, options.signal);
  }
}
