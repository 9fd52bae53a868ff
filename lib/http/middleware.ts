import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { httpErrorOf, MethodNotAllowed } from '../http-errors.js';
import type { Logger } from '../logger.js';
import { checkClientVersion } from '../occi/negotiate.js';
import { negotiate } from '../occi/negotiate.js';
import { context, requestIdOf, send, sendText, type RequestContext } from './context.js';

/** Hears of a request once its answer is sent, with how long it took. */
export type RequestObserver = (req: Request, res: Response, seconds: number) => void;

/**
 * Gives each request an id, a logger that carries it, the Server header, and
 * one log line when it ends: at info, or at debug for successful reads when
 * `quietReads` (a service polled all day would log little else); `observe`
 * hears of every request that ended, with how long it took.
 */
export function requestContext(logger: Logger, serverName: string, quietReads = false, observe?: RequestObserver): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdOf(req);
    // The request's logger is made only when something is logged: most requests log nothing.
    const ctx: RequestContext = {
      requestId,
      started: performance.now(),
      get log(): Logger {
        return logger.child({ requestId });
      },
    };
    res.locals['ctx'] = ctx;
    res.setHeader('Server', serverName);
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      observe?.(req, res, (performance.now() - ctx.started) / 1000);
      const level = quietReads && (req.method === 'GET' || req.method === 'HEAD') && res.statusCode < 400 ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      ctx.log.log(level, 'request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round((performance.now() - ctx.started) * 10) / 10,
        ...(ctx.tenant === undefined ? {} : { tenant: ctx.tenant }),
      });
    });
    next();
  };
}

export function occiVersion(): RequestHandler {
  return (req, _res, next) => {
    checkClientVersion(req.get('user-agent'));
    next();
  };
}

/**
 * Handlers run one after the other as a single middleware: the router walks
 * one layer for them, not one each, on every request. A handler's error, thrown
 * or rejected, ends the series and goes on to the error handlers.
 */
export function series(...handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null) return next(error);
      const handler = handlers[i++];
      if (handler === undefined) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch((rejection: unknown) => next(rejection ?? new Error('rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}

type Methods = Partial<Record<string, RequestHandler>>;

/** Dispatches on the method, answering 405 with Allow for the others. HEAD follows GET. */
export function byMethod(methods: Methods): RequestHandler {
  const allowed = Object.keys(methods);
  if (methods['GET']) allowed.push('HEAD');
  return (req, res, next) => {
    const handler = methods[req.method === 'HEAD' ? 'GET' : req.method];
    if (!handler) throw new MethodNotAllowed(req.method, allowed);
    return handler(req, res, next);
  };
}

interface ParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Turns whatever was thrown into an answer in the rendering the client
 * accepts. HTTP errors and the domain's refusals say what the client did
 * wrong (or when to ask again); errors from the body
 * parser and URL decoding keep their 4xx status; anything else is a bug,
 * logged with its stack.
 */
export function errorHandler(maxBodyBytes: number) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const ctx = context(res);
    if (res.headersSent) {
      ctx.log.error('error after the response started', { error: String(error) });
      res.destroy();
      return;
    }
    const answer = (status: number, message: string, headers: Record<string, string> = {}): void => sendError(req, res, status, message, headers);
    const known = httpErrorOf(error);
    if (known) {
      answer(known.status, known.message, known.headers);
      return;
    }
    const parser = (error ?? {}) as ParserError;
    if (parser.type === 'entity.too.large') {
      answer(413, `The request body is larger than ${maxBodyBytes} bytes.`);
      return;
    }
    if (parser.type === 'encoding.unsupported') {
      answer(415, 'The request body has a Content-Encoding or charset this service does not read.');
      return;
    }
    if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500) {
      answer(parser.status, `The request could not be read: ${(error as Error).message}`);
      return;
    }
    ctx.log.error('internal error', { error: error instanceof Error ? error.stack : String(error) });
    answer(500, `Internal error; quote request id ${ctx.requestId} when reporting it.`);
  };
}

/**
 * An error in the client's rendering (GFD.223 wants a human-readable
 * message): the message in `text/plain` (also when nothing the client
 * accepts fits), the same with the `text/occi` type, or a JSON object
 * `{"status", "message"}` for the JSON renderings.
 */
export function sendError(req: Request, res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  let rendering: string;
  try {
    rendering = negotiate(req.get('accept'), true).rendering;
  } catch {
    rendering = 'text/plain';
  }
  if (rendering === 'application/occi+json') {
    send(res, status, { headers: { ...headers, 'Content-Type': 'application/json' }, body: `${JSON.stringify({ status, message })}\n` });
    return;
  }
  if (rendering === 'text/occi') {
    send(res, status, { headers: { ...headers, 'Content-Type': 'text/occi; charset=utf-8' }, body: `${message}\n` });
    return;
  }
  sendText(res, status, message, headers);
}
