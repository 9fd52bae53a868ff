import { Agent } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import type { Timers } from '../../lib/clock.js';
import { MARATHON_PORT } from '../cluster/plan.js';
import type { Answer } from './observation.js';

/**
 * HTTP to the cluster's daemons (masters, agents, Marathon): no redirects
 * followed, every status an answer, a short timeout on the orchestrator's
 * clock, and a refusal or timeout is an answer too. Requests to Marathon's
 * port carry its credentials, when the cluster has them.
 */
export class DaemonHttp {
  private readonly http: AxiosInstance;

  constructor(
    private readonly timers: Timers,
    readonly timeoutMs: number,
    private readonly marathonAuthorization?: string,
    /** The address the requests leave from: the one the cluster's security group lets in. */
    sourceAddress?: string,
  ) {
    this.http = axios.create({
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      proxy: false,
      ...(sourceAddress === undefined ? {} : { httpAgent: new Agent({ localAddress: sourceAddress }) }),
    });
  }

  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<Answer> {
    const controller = new AbortController();
    const cancel = this.timers.schedule(this.timeoutMs, () => controller.abort());
    try {
      const headers = {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(this.marathonAuthorization !== undefined && new URL(url).port === String(MARATHON_PORT) ? { Authorization: this.marathonAuthorization } : {}),
      };
      const reply = await this.http.request<string>({
        method,
        url,
        signal: controller.signal,
        headers,
        ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      });
      const location: unknown = reply.headers['location'];
      return { status: reply.status, body: String(reply.data ?? ''), ...(typeof location === 'string' ? { location } : {}) };
    } catch (error) {
      if (controller.signal.aborted) return { error: `no answer within ${this.timeoutMs} ms` };
      return { error: (error as { code?: string }).code ?? 'unreachable' };
    } finally {
      cancel();
    }
  }

  get(url: string): Promise<Answer> {
    return this.request('GET', url);
  }
}
