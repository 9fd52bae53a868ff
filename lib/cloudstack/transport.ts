import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance } from 'axios';

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  /** Form body for POST. */
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** Why no reply came: a short code, never the URL (it carries the signature). */
export class TransportFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TransportFailure';
  }
}

/** Moves one signed request to the server and back. */
export interface Transport {
  send(request: HttpRequest): Promise<HttpReply>;
}

/** HTTP over axios with keep-alive connections; every status is a reply, only the wire can fail. */
export class AxiosTransport implements Transport {
  private readonly http: AxiosInstance;

  constructor() {
    this.http = axios.create({
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxRedirects: 0,
      proxy: false,
    });
  }

  async send(request: HttpRequest): Promise<HttpReply> {
    try {
      const reply = await this.http.request<string>({
        method: request.method,
        url: request.url,
        timeout: request.timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.method === 'POST' ? { data: request.body ?? '', headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' } } : {}),
      });
      return { status: reply.status, body: typeof reply.data === 'string' ? reply.data : String(reply.data ?? '') };
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      const code = (error as { code?: string }).code;
      throw new TransportFailure(code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timeout' : (code ?? 'network error'));
    }
  }
}
