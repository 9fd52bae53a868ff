import type { Logger } from '../lib/logger.js';
import { ApiError } from './api-error.js';
import type { Account, Cloud, Job } from './cloud.js';
import type { Faults } from './faults.js';
import { messageOf } from '../lib/errors.js';

export interface JobSpec {
  /** A client-chosen job id (customjobid); otherwise one is made. */
  readonly id?: string;
  readonly account: Account;
  readonly command: string;
  readonly cmdClass: string;
  readonly instanceType?: string;
  readonly instanceId?: string;
  /** Jobs with the same key run one at a time, in order (CloudStack's per-VM work queue). */
  readonly queueKey?: string;
}

/** Commands whose jobs start a VM: an injected job failure leaves the VM in Error, so the VM's lifecycle applies it. */
const STARTS = new Set(['deployVirtualMachine', 'startVirtualMachine', 'rebootVirtualMachine']);

/** The job's work: resolves with the result object, or throws ApiError with the job's failure code. */
export type JobWork = () => Promise<Record<string, unknown>>;

/**
 * Async jobs: each runs its work on the simulator's timers; jobs on the same
 * VM queue behind each other. A job pending longer than the cancel threshold
 * is failed; finished jobs are forgotten after job.expire.minutes.
 */
export class JobEngine {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly heads = new Map<string, Job>();
  private submitted = 0;

  constructor(
    private readonly cloud: Cloud,
    private readonly faults: Faults,
    private readonly logger?: Logger,
  ) {}

  submit(spec: JobSpec, work: JobWork): Job {
    if (++this.submitted % 256 === 0) this.purge();
    const job: Job = {
      id: spec.id ?? this.cloud.newId(),
      account: spec.account,
      command: spec.command,
      cmdClass: spec.cmdClass,
      ...(spec.instanceType ? { instanceType: spec.instanceType } : {}),
      ...(spec.instanceId ? { instanceId: spec.instanceId } : {}),
      created: this.cloud.timers.now(),
      status: 0,
      resultCode: 0,
    };
    this.cloud.jobs.set(job.id, job);
    const key = spec.queueKey;
    const previous = key ? (this.queues.get(key) ?? Promise.resolve()) : Promise.resolve();
    const done = previous.then(() => this.run(job, work, key));
    if (key) {
      this.queues.set(key, done);
      void done.then(() => {
        if (this.queues.get(key) === done) this.queues.delete(key);
      });
    }
    return job;
  }

  /** A job that still exists (finished jobs expire). */
  find(id: string): Job | undefined {
    const job = this.cloud.jobs.get(id);
    if (!job || job.completed === undefined) return job;
    if (this.cloud.timers.now() - job.completed < this.cloud.settings.jobExpireMinutes * 60_000) return job;
    this.cloud.jobs.delete(id);
    return undefined;
  }

  /** Drops every finished job past job.expire.minutes. */
  private purge(): void {
    for (const id of [...this.cloud.jobs.keys()]) this.find(id);
  }

  /** The job running on a VM right now, shown on the VM as jobid/jobstatus. */
  runningOn(queueKey: string): Job | undefined {
    return this.heads.get(queueKey);
  }

  private async run(job: Job, work: JobWork, key: string | undefined): Promise<void> {
    if (key) this.heads.set(key, job);
    const threshold = this.cloud.settings.jobCancelThresholdMinutes * 60_000;
    let stopTimer!: () => void;
    const cancellation = new Promise<'cancelled'>((resolve) => {
      stopTimer = this.cloud.timers.schedule(threshold, () => resolve('cancelled'));
    });
    try {
      const injected = STARTS.has(job.command) ? undefined : this.faults.take('fail-job', job.command);
      if (injected) throw new ApiError(injected.errorcode, injected.errortext, injected.cserrorcode);
      const outcome = await Promise.race([work(), cancellation]);
      if (outcome === 'cancelled') {
        this.fail(job, new ApiError(530, `Job ${job.id} was cancelled after ${threshold / 60_000} minutes pending`));
      } else {
        this.complete(job, 1, 0, outcome);
      }
    } catch (error) {
      this.fail(job, error);
    } finally {
      stopTimer();
      if (key && this.heads.get(key) === job) this.heads.delete(key);
    }
  }

  private fail(job: Job, error: unknown): void {
    const apiError = error instanceof ApiError ? error : new ApiError(530, messageOf(error));
    if (!(error instanceof ApiError)) this.logger?.error('simulated job crashed', { jobid: job.id, error: String(error) });
    this.complete(job, 2, apiError.errorcode, { errorcode: apiError.errorcode, errortext: apiError.errortext });
  }

  private complete(job: Job, status: 1 | 2, code: number, result: Record<string, unknown>): void {
    job.status = status;
    job.resultCode = code;
    job.result = result;
    job.completed = this.cloud.timers.now();
  }
}
