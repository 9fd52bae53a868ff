import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';

/**
 * Private state on disk: folders only the service's user can enter, files
 * only its user can read. Other local users must not learn a tenant's
 * CloudStack keys or anything that lets them act as the service manager.
 */

/** What to do about a secret file that others can read: stop, or say so and go on. */
export type ExposurePolicy = 'refuse' | 'warn';

/** Makes a folder only its owner can enter (a folder that exists is left as it is). */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}

/** Makes a folder the service manager owns outright private, whatever its mode was. */
export function ownedPrivateDir(path: string): void {
  privateDir(path);
  chmodSync(path, 0o700);
}

/** Creates a file only its owner may read, or narrows an existing one to that. */
export function privateFile(path: string): void {
  privateDir(dirname(path));
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** Why a file or folder is exposed to other local users, or undefined when it is not. */
export function exposure(path: string): string | undefined {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `${path} is ${mode.toString(8).padStart(4, '0')}: readable by ${mode & 0o007 ? 'every local user' : 'its group'}`;
}

/**
 * Applies the policy to secret files: refused, or a warning each, when
 * group or others can read them.
 */
export function checkSecretFiles(paths: readonly string[], policy: ExposurePolicy, warn: (message: string) => void): void {
  for (const path of paths) {
    const why = exposure(path);
    if (why === undefined) continue;
    const advice = `it holds secrets; chmod 600 ${path}`;
    if (policy === 'refuse') throw new ConfigError(`${why}; ${advice}, or set [service_manager] secret_files = warn`);
    warn(`${why}; ${advice}`);
  }
}
