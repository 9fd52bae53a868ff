import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { Representation } from '../occi/representation.js';

/** What the middleware learns about a request, kept in res.locals. */
export interface RequestContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly started: number;
  tenant?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** A client's X-Request-Id is kept so a call can be followed across systems; otherwise one is made. */
export function requestIdOf(req: Request): string {
  const given = req.get('x-request-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

export function context(res: Response): RequestContext {
  return res.locals['ctx'] as RequestContext;
}

/**
 * The scheme and authority clients reach us at: configured, or taken from the
 * request's Host header when that is a plain host[:port].
 */
export function baseUrlOf(req: Request, publicUrl: string | undefined, fallbackHost: string): string {
  if (publicUrl !== undefined) return publicUrl;
  const host = req.get('host');
  return `${req.protocol}://${host !== undefined && HOST.test(host) ? host : fallbackHost}`;
}

export function send(res: Response, status: number, representation: Representation): void {
  res.statusCode = status;
  const { headers, body } = representation;
  for (const name in headers) res.setHeader(name, headers[name]);
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'));
  res.end(body, 'utf8');
}

export function sendText(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: `${message}\n` });
}
