import { expect } from 'chai';
import { statSync } from 'node:fs';
import { httpErrorOf } from '../../lib/http-errors.js';

/** Runs fn, which must throw an error of the given class; returns that error. */
export function thrownBy<T extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => T): T {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as T;
  }
  throw new Error(`expected a ${type.name}`);
}

/** Runs fn, which must throw an error the HTTP edge answers with this status; returns its message. */
export function rejectedWith(status: number, fn: () => unknown): string {
  try {
    fn();
  } catch (thrown) {
    const error = httpErrorOf(thrown);
    expect(error, String(thrown)).to.not.equal(undefined);
    expect(error?.status, error?.message).to.equal(status);
    return error?.message ?? '';
  }
  throw new Error(`expected a refusal with status ${status}`);
}

/** A file's permission bits in octal, as `ls -l` and chmod speak of them (`600`). */
export function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}
