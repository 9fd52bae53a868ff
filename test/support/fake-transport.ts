import type { HttpReply, HttpRequest, Transport } from '../../lib/cloudstack/transport.js';

export interface SeenRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  /** Decoded parameters, signature included. */
  readonly params: Record<string, string>;
}

export type Responder = (request: SeenRequest) => HttpReply | Promise<HttpReply>;

/** A transport that answers from a function and remembers every request. */
export class FakeTransport implements Transport {
  readonly seen: SeenRequest[] = [];

  constructor(private readonly responder: Responder) {}

  async send(request: HttpRequest): Promise<HttpReply> {
    const query = request.method === 'GET' ? (request.url.split('?')[1] ?? '') : (request.body ?? '');
    const params = Object.fromEntries(new URLSearchParams(query));
    const seen = { method: request.method, url: request.url, params };
    this.seen.push(seen);
    return this.responder(seen);
  }
}

export function reply(status: number, envelope: unknown): HttpReply {
  return { status, body: JSON.stringify(envelope) };
}
