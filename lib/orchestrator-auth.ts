import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How a service manager and the orchestrator it started prove themselves to
 * each other, with a key only the two hold (the manager derives it; the
 * orchestrator gets it as a secret when it is started). No secret crosses
 * the wire: each request carries an HMAC over its method, path, the headers
 * that carry meaning, its body, a time and a fresh nonce; each answer
 * carries an HMAC over that nonce, its status and its body. Whoever else
 * answers on the orchestrator's port (a process that took the port first)
 * learns nothing it can reuse, and its answers are refused.
 */

export const AUTH_SCHEME = 'SO-HMAC-SHA256';
/** The answer's proof. */
export const SIGNATURE_HEADER = 'x-orchestrator-signature';
/**
 * Request headers the request proof covers, besides the method, path and
 * body. Host binds a request to the address it was sent to, so one taken
 * by a process on another port cannot be played to the orchestrator.
 */
export const SIGNED_HEADERS = ['host', 'category', 'x-occi-attribute', 'x-tenant-name', 'content-type'] as const;
/** How far a request's time may be from the orchestrator's (both read the same host's wall clock). */
export const CLOCK_SKEW_MS = 300_000;

export interface SignedRequest {
  readonly method: string;
  /** Path with the query string, as sent. */
  readonly path: string;
  readonly header: (name: string) => string | undefined;
  readonly body: Buffer | string;
}

/** The Authorization header value for one request. */
export function signRequest(
  key: string,
  request: SignedRequest,
  now: number,
  nonce: string = randomBytes(16).toString('hex'),
): { authorization: string; nonce: string } {
  const signature = mac(key, requestText(request, now, nonce));
  return { authorization: `${AUTH_SCHEME} ts=${now}, nonce=${nonce}, sig=${signature}`, nonce };
}

export type RequestVerdict = { readonly ok: true; readonly nonce: string } | { readonly ok: false; readonly reason: string };

/**
 * Checks a request's proof: well formed, sent to this address (`authority`,
 * host:port), within the clock window, a nonce not seen before (`fresh`
 * records it), and an HMAC that matches.
 */
export function verifyRequest(
  key: string,
  request: SignedRequest,
  authority: string,
  now: number,
  fresh: (nonce: string, expires: number) => boolean,
): RequestVerdict {
  const given = parseAuthorization(request.header('authorization'));
  if (!given) return { ok: false, reason: `requests must be signed (${AUTH_SCHEME})` };
  if (request.header('host') !== authority) return { ok: false, reason: 'the request was meant for another address' };
  if (Math.abs(now - given.ts) > CLOCK_SKEW_MS) return { ok: false, reason: "the request's signature time is outside the allowed window" };
  if (!equal(given.sig, mac(key, requestText(request, given.ts, given.nonce)))) return { ok: false, reason: "the request's signature does not match" };
  if (!fresh(given.nonce, given.ts + CLOCK_SKEW_MS)) return { ok: false, reason: 'the request was replayed' };
  return { ok: true, nonce: given.nonce };
}

/** The answer's proof: over the request's nonce, the status and the body. */
export function signResponse(key: string, nonce: string, status: number, body: Buffer | string): string {
  return mac(key, responseText(nonce, status, body));
}

export function verifyResponse(key: string, nonce: string, status: number, body: Buffer | string, signature: string | undefined): boolean {
  return signature !== undefined && equal(signature, signResponse(key, nonce, status, body));
}

/**
 * Nonces seen within the clock window, so a captured request cannot be
 * played again; expired ones are dropped as new ones arrive.
 */
export class NonceBook {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** True, and remembered, the first time a nonce is seen. */
  fresh = (nonce: string, expires: number): boolean => {
    this.prune();
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, expires);
    return true;
  };

  private prune(): void {
    const now = this.now();
    for (const [nonce, expires] of this.seen) {
      if (expires >= now) break;
      this.seen.delete(nonce);
    }
  }
}

function requestText(request: SignedRequest, ts: number, nonce: string): string {
  const headers = SIGNED_HEADERS.map((name) => `${name}:${request.header(name) ?? ''}`);
  return ['request', request.method.toUpperCase(), request.path, String(ts), nonce, ...headers, digest(request.body)].join('\n');
}

function responseText(nonce: string, status: number, body: Buffer | string): string {
  return ['response', nonce, String(status), digest(body)].join('\n');
}

function parseAuthorization(value: string | undefined): { ts: number; nonce: string; sig: string } | undefined {
  if (value === undefined || !value.startsWith(`${AUTH_SCHEME} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(AUTH_SCHEME.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const ts = Number(fields.get('ts'));
  const nonce = fields.get('nonce');
  const sig = fields.get('sig');
  if (!Number.isSafeInteger(ts) || nonce === undefined || !/^[0-9a-f]{16,64}$/.test(nonce) || !sig) return undefined;
  return { ts, nonce, sig };
}

function mac(key: string, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function digest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
