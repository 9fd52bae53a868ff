import { expect } from 'chai';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { series } from '../../lib/http/middleware.js';

/** Runs a series on a bare request and resolves with what it passed on: nothing, or an error. */
function run(handler: RequestHandler): Promise<unknown> {
  return new Promise((resolve) => {
    const next: NextFunction = (error?: unknown) => resolve(error);
    void handler({} as Request, {} as Response, next);
  });
}

describe('HTTP middleware series', () => {
  it('runs its handlers in order, then goes on', async () => {
    const seen: string[] = [];
    const step =
      (name: string): RequestHandler =>
      (_req, _res, next) => {
        seen.push(name);
        next();
      };
    const asynchronous: RequestHandler = async (_req, _res, next) => {
      await Promise.resolve();
      seen.push('async');
      next();
    };
    expect(await run(series(step('a'), asynchronous, step('b')))).to.equal(undefined);
    expect(seen).to.deep.equal(['a', 'async', 'b']);
  });

  it('ends at a handler that throws, rejects or passes an error, and hands the error on', async () => {
    const boom = new Error('boom');
    const never: RequestHandler = () => expect.fail('ran after an error');
    const thrower: RequestHandler = () => {
      throw boom;
    };
    const rejecter: RequestHandler = async () => {
      throw boom;
    };
    const passer: RequestHandler = (_req, _res, next) => next(boom);
    for (const failing of [thrower, rejecter, passer]) expect(await run(series(failing, never))).to.equal(boom);
  });
});
