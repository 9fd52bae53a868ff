import { SystemTimers, type Timers } from '../clock.js';
import type { Logger } from '../logger.js';
import { isObject } from '../objects.js';
import { backoffDelay, JOB_POLLING, READ_RETRY, type BackoffPolicy } from './backoff.js';
import { isRead } from './commands.js';
import { CloudStackError, CloudStackTimeout, CloudStackTransportError } from './errors.js';
import { JobPoller, type JobSighting } from './job-poller.js';
import { flattenParams, type CsParams } from './params.js';
import { TokenBucket } from '../token-bucket.js';
import { encodeParams, formatExpires, sign } from './sign.js';
import { AxiosTransport, TransportFailure, type Transport } from './transport.js';
import type { AsyncJob } from './types.js';
import { messageOf } from '../errors.js';

/** An account's API key pair. */
export interface CloudStackCredentials {
  readonly apiKey: string;
  readonly secretKey: string;
}

export interface CloudStackClientOptions extends CloudStackCredentials {
  /** The management server, e.g. http://127.0.0.1:8080; the API is <endpoint>/client/api. */
  readonly endpoint: string;
  readonly timers?: Timers;
  readonly transport?: Transport;
  readonly logger?: Logger;
  /** Source of jitter; Math.random by default. */
  readonly random?: () => number;
  /** Per HTTP request. */
  readonly requestTimeoutMs?: number;
  /** How long a signature stays valid (`expires`); the server refuses more than 15 min. */
  readonly signatureTtlMs?: number;
  /**
   * Client-side limit, the most the client ever sends. The default follows
   * CloudStack's own throttling default (api.throttling.max 25 a second per
   * account); when the server answers 429 the client halves its rate and
   * creeps back up while calls get through, so clients sharing an account
   * settle on what the server allows.
   */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Extra attempts for reads after a transport error or a transient error answer. */
  readonly readRetries?: number;
  /** Hears of each HTTP call: its command, how it ended (ok, error, throttled, transport) and how long it took. */
  readonly observe?: (command: string, outcome: string, seconds: number) => void;
  /** Extra attempts after a 429, each after the delay the server asks for. */
  readonly throttleRetries?: number;
  /** Items per page when listing; lowered automatically to the server's maximum. */
  readonly pageSize?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface WaitOptions<T> extends CallOptions {
  /** How long the job may take, from now. */
  readonly deadlineMs: number;
  /**
   * Called when CloudStack no longer knows the job (431: purged or never
   * committed): find the outcome by looking at the resource instead.
   */
  readonly onLost?: () => Promise<T | undefined>;
}

export type Body = Record<string, unknown>;

/** The slowest the client goes however often the server throttles it, in calls a second. */
const MIN_RATE = 0.5;

const DEFAULTS = {
  requestTimeoutMs: 30_000,
  signatureTtlMs: 10 * 60_000,
  rateLimit: { perSecond: 25, burst: 10 },
  pageSize: 500,
  readRetries: 5,
  throttleRetries: 5,
};

/**
 * A CloudStack API client: signs every call (signature version 3), GETs
 * reads and POSTs the rest as a form, unwraps the envelope, turns error
 * answers into CloudStackError, paginates lists and waits for async jobs.
 * Secrets, signatures and parameter values never reach the log.
 */
export class CloudStackClient {
  readonly timers: Timers;
  private readonly api: string;
  private readonly transport: Transport;
  private readonly bucket: TokenBucket;
  private readonly random: () => number;
  private readonly options: CloudStackClientOptions & typeof DEFAULTS;
  private pageSize: number;
  private readonly jobs: JobPoller;

  constructor(options: CloudStackClientOptions) {
    this.options = { ...DEFAULTS, ...options };
    this.timers = options.timers ?? new SystemTimers();
    this.transport = options.transport ?? new AxiosTransport();
    this.random = options.random ?? Math.random;
    const base = options.endpoint.replace(/\/+$/, '');
    this.api = base.endsWith('/client/api') ? base : `${base}/client/api`;
    this.bucket = new TokenBucket(this.timers, this.options.rateLimit.perSecond, this.options.rateLimit.burst);
    this.pageSize = this.options.pageSize;
    const source = { one: (jobid: string) => this.oneJob(jobid), since: (since: number, wide: boolean) => this.jobsSince(since, wide) };
    this.jobs = new JobPoller(source, this.timers, JOB_POLLING, this.random);
  }

  /** The n-th jittered wait of a backoff policy, with this client's source of jitter. */
  backoff(attempt: number, policy: BackoffPolicy): number {
    return backoffDelay(attempt, policy, this.random);
  }

  /** Calls a command and returns the body inside its envelope. */
  async request<T = Body>(command: string, params: CsParams = {}, options: CallOptions = {}): Promise<T> {
    const read = isRead(command);
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take(options.signal);
      try {
        const body = (await this.once(command, params, read ? 'GET' : 'POST', options.signal)) as T;
        this.recover();
        return body;
      } catch (error) {
        const wait = this.retryDelay(error, attempt, read);
        if (wait === undefined) throw error;
        this.options.logger?.warn('cloudstack call will be retried', { command, attempt: attempt + 1, waitMs: wait, error: messageOf(error) });
        if (wait > 0) await this.timers.sleep(wait, options.signal);
      }
    }
  }

  /**
   * Every item of a list command, page by page. A server whose maximum page
   * size is smaller than ours says so (431); the listing starts over with its size.
   */
  async list<T>(command: string, objectKey: string, params: CsParams = {}, options: CallOptions = {}): Promise<T[]> {
    for (;;) {
      try {
        return await this.listPages<T>(command, objectKey, params, options);
      } catch (error) {
        const max = error instanceof CloudStackError && error.errorcode === 431 ? /max allowed page size value: (\d+)/.exec(error.errortext) : null;
        if (!max || Number(max[1]) >= this.pageSize || Number(max[1]) < 1) throw error;
        this.pageSize = Number(max[1]);
      }
    }
  }

  private async listPages<T>(command: string, objectKey: string, params: CsParams, options: CallOptions): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const body = await this.request(command, { ...params, page, pagesize: this.pageSize }, options);
      const batch = Array.isArray(body[objectKey]) ? (body[objectKey] as T[]) : [];
      items.push(...batch);
      const count = typeof body['count'] === 'number' ? body['count'] : 0;
      if (batch.length === 0 || items.length >= count) return items;
    }
  }

  /**
   * Waits for an async job until it succeeds (returns its result), fails
   * (throws CloudStackError with the job's code) or runs past the deadline
   * (throws CloudStackTimeout). Every job waited for at once is looked at in
   * the same rounds, with growing, jittered delays between them.
   */
  async waitForJob<T = Body>(command: string, jobid: string, options: WaitOptions<T>): Promise<T> {
    const end = await this.jobs.ended(jobid, options.deadlineMs, options.signal);
    if (end === 'lost') return this.recoverLostJob(command, jobid, options);
    if (end === 'timeout') throw new CloudStackTimeout(command, options.deadlineMs, jobid);
    if (end.jobstatus === 1) return end.jobresult as T;
    throw jobFailure(command, end);
  }

  private async oneJob(jobid: string): Promise<JobSighting> {
    try {
      return await this.request<AsyncJob>('queryAsyncJobResult', { jobid });
    } catch (error) {
      if (error instanceof CloudStackError && error.errorcode === 431) return 'lost';
      throw error;
    }
  }

  /** The account's jobs from a minute before `since` (a day before when `wide`), in the server's date format. */
  private jobsSince(since: number, wide: boolean): Promise<AsyncJob[]> {
    const from = new Date(since - (wide ? 86_400_000 : 60_000)).toISOString();
    const startdate = wide ? from.slice(0, 10) : `${from.slice(0, 10)} ${from.slice(11, 19)}`;
    return this.list<AsyncJob>('listAsyncJobs', 'asyncjobs', { startdate });
  }

  private async recoverLostJob<T>(command: string, jobid: string, options: WaitOptions<T>): Promise<T> {
    const outcome = options.onLost ? await options.onLost() : undefined;
    if (outcome !== undefined) return outcome;
    throw new CloudStackError({
      command,
      httpStatus: 431,
      errorcode: 431,
      jobid,
      errortext: `CloudStack no longer knows job ${jobid} and its outcome could not be found`,
    });
  }

  private retryDelay(error: unknown, attempt: number, read: boolean): number | undefined {
    if (error instanceof CloudStackError && error.classification === 'throttled') {
      this.bucket.retune(Math.max(MIN_RATE, this.bucket.rate / 2));
      if (attempt >= this.options.throttleRetries) return undefined;
      this.bucket.pause(error.retryAfterMs() ?? 1000);
      return 0;
    }
    if (!read || attempt >= this.options.readRetries) return undefined;
    const transient =
      error instanceof CloudStackTransportError || (error instanceof CloudStackError && (error.classification === 'retryable' || error.errorcode === 530));
    return transient ? backoffDelay(attempt, READ_RETRY, this.random) : undefined;
  }

  /** A call got through: the rate creeps back towards the configured limit, a fiftieth of it a call. */
  private recover(): void {
    const max = this.options.rateLimit.perSecond;
    if (this.bucket.rate < max) this.bucket.retune(Math.min(max, this.bucket.rate + max / 50));
  }

  private async once(command: string, params: CsParams, method: 'GET' | 'POST', signal?: AbortSignal): Promise<Body> {
    const signed: Record<string, string> = {
      ...flattenParams(params),
      command,
      response: 'json',
      apikey: this.options.apiKey,
      signatureversion: '3',
      expires: formatExpires(this.timers.now() + this.options.signatureTtlMs),
    };
    const encoded = encodeParams({ ...signed, signature: sign(signed, this.options.secretKey) });
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    let reply;
    try {
      reply = await this.transport.send({
        method,
        url: method === 'GET' ? `${this.api}?${encoded}` : this.api,
        ...(method === 'POST' ? { body: encoded } : {}),
        timeoutMs: this.options.requestTimeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      this.options.observe?.(command, 'transport', seconds());
      if (error instanceof TransportFailure) throw new CloudStackTransportError(command, error.reason);
      throw error;
    }
    this.options.logger?.debug('cloudstack call', { command, method, status: reply.status, ms: Math.round(seconds() * 1000) });
    try {
      const body = unwrap(command, reply.status, reply.body);
      this.options.observe?.(command, 'ok', seconds());
      return body;
    } catch (error) {
      this.options.observe?.(command, reply.status === 429 ? 'throttled' : 'error', seconds());
      throw error;
    }
  }
}

/** The body inside the single-key envelope, or the error it carries. */
export function unwrap(command: string, status: number, text: string): Body {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CloudStackTransportError(command, `HTTP ${status} reply is not JSON`);
  }
  const keys = isObject(doc) ? Object.keys(doc) : [];
  const body = keys.length === 1 ? (doc as Body)[keys[0]] : undefined;
  if (!isObject(body)) throw new CloudStackTransportError(command, `HTTP ${status} reply is not a CloudStack envelope`);
  if (typeof body['errorcode'] === 'number') {
    throw new CloudStackError({
      command,
      httpStatus: status,
      errorcode: body['errorcode'],
      ...(typeof body['cserrorcode'] === 'number' ? { cserrorcode: body['cserrorcode'] } : {}),
      errortext: typeof body['errortext'] === 'string' ? body['errortext'] : 'no error text',
    });
  }
  if (status !== 200) throw new CloudStackTransportError(command, `HTTP ${status} without an error code`);
  return body;
}

function jobFailure(command: string, job: AsyncJob): CloudStackError {
  const result = isObject(job.jobresult) ? job.jobresult : {};
  return new CloudStackError({
    command,
    httpStatus: 200,
    errorcode: typeof result['errorcode'] === 'number' ? result['errorcode'] : job.jobresultcode || 530,
    errortext: typeof result['errortext'] === 'string' ? result['errortext'] : `job ended with status ${job.jobstatus}`,
    jobid: job.jobid,
    ...(job.jobinstanceid ? { resourceId: job.jobinstanceid } : {}),
  });
}
