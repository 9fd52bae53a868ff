import { abortReason, type Timers } from '../clock.js';
import { asError } from '../errors.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { AsyncJob } from './types.js';

/** A job as one look saw it; 'lost' when the cloud no longer knows it. */
export type JobSighting = AsyncJob | 'lost';

/** How the poller reads jobs. */
export interface JobSource {
  /** One job, by its id. */
  one(jobid: string): Promise<JobSighting>;
  /** Every job of the account created at or after `since`; `wide` asks for a margin of a day, for a server whose clock or time zone differs. */
  since(since: number, wide: boolean): Promise<AsyncJob[]>;
}

/** How a wait ended: the job finished (or failed), is lost, or its deadline came first. */
export type JobEnd = AsyncJob | 'lost' | 'timeout';

interface Waiter {
  readonly jobid: string;
  readonly registered: number;
  readonly deadline: number;
  readonly settle: (end: JobEnd) => void;
  readonly fail: (error: Error) => void;
}

/**
 * Waits for any number of async jobs at the cost of one call per round: a
 * single job is asked for by id, several by one listing of the account's
 * recent jobs (the ones it misses are asked for by id). Rounds start soon
 * after a job is submitted and grow apart, as the policy says, while no new
 * job comes; a round comes at each waiter's deadline too, so a wait ends on
 * time.
 */
export class JobPoller {
  private readonly waiters = new Set<Waiter>();
  private round = 0;
  private nextAt = Number.POSITIVE_INFINITY;
  /** The soonest look a job submitted during a look asked for. */
  private askedAt = Number.POSITIVE_INFINITY;
  private running = false;
  private wake?: AbortController;
  /** Set once a listing missed a job: later listings reach a day further back. */
  private wide = false;

  constructor(
    private readonly source: JobSource,
    private readonly timers: Timers,
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
  ) {}

  /** How many jobs are being waited for. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Resolves when the job has ended (status 1 or 2), is lost, or the deadline passed; rejects when a look fails or the signal aborts. */
  ended(jobid: string, deadlineMs: number, signal?: AbortSignal): Promise<JobEnd> {
    signal?.throwIfAborted();
    return new Promise<JobEnd>((resolve, reject) => {
      const now = this.timers.now();
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(abortReason(signal!));
        this.rearm();
      };
      const done = (): void => {
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        jobid,
        registered: now,
        deadline: now + deadlineMs,
        settle: (end) => (done(), resolve(end)),
        fail: (error) => (done(), reject(error)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Rounds grow apart with the age of the youngest job: a job just submitted is looked at soon.
      this.round = 0;
      this.waiters.add(waiter);
      const soon = now + backoffDelay(0, this.policy, this.random);
      this.nextAt = Math.min(this.nextAt, soon);
      this.askedAt = Math.min(this.askedAt, soon);
      this.rearm();
    });
  }

  /** Starts the loop, or wakes it to recompute when it should look next. */
  private rearm(): void {
    if (this.running) {
      this.wake?.abort();
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiters.size > 0) {
        const now = this.timers.now();
        const at = Math.min(this.nextAt, ...[...this.waiters].map((w) => w.deadline));
        if (now < at) {
          this.wake = new AbortController();
          await this.timers.sleep(at - now, this.wake.signal).catch(() => undefined);
          continue;
        }
        this.askedAt = Number.POSITIVE_INFINITY;
        await this.look([...this.waiters]);
        this.nextAt = Math.min(this.askedAt, this.timers.now() + backoffDelay(++this.round, this.policy, this.random));
      }
    } finally {
      this.running = false;
      this.wake = undefined;
      this.nextAt = Number.POSITIVE_INFINITY;
    }
  }

  private async look(waiters: readonly Waiter[]): Promise<void> {
    let seen: Map<string, JobSighting>;
    try {
      seen = await this.sightings([...new Set(waiters.map((w) => w.jobid))], Math.min(...waiters.map((w) => w.registered)));
    } catch (error) {
      for (const waiter of waiters) waiter.fail(asError(error));
      return;
    }
    const now = this.timers.now();
    for (const waiter of waiters) {
      if (!this.waiters.has(waiter)) continue;
      const job = seen.get(waiter.jobid);
      if (job === 'lost' || (job !== undefined && job.jobstatus !== 0)) waiter.settle(job);
      else if (now >= waiter.deadline) waiter.settle('timeout');
    }
  }

  private async sightings(jobids: readonly string[], oldest: number): Promise<Map<string, JobSighting>> {
    if (jobids.length === 1) return new Map([[jobids[0], await this.source.one(jobids[0])]]);
    const listed = new Map((await this.source.since(oldest, this.wide)).map((job) => [job.jobid, job as JobSighting]));
    const missed = jobids.filter((id) => !listed.has(id));
    if (missed.length > 0) this.wide = true;
    for (const id of missed) listed.set(id, await this.source.one(id));
    return listed;
  }
}
