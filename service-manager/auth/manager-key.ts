import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { privateDir } from '../../lib/private-files.js';

const KEY_BYTES = 32;

/**
 * The manager key every orchestrator key is derived from: made once, kept
 * in a file only the service manager's user can read. Nothing else secret
 * about orchestrators is stored.
 */
export function loadManagerKey(path: string): Buffer {
  if (!existsSync(path)) {
    privateDir(dirname(path));
    try {
      writeFileSync(path, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new ConfigError(`${path} does not hold a manager key (${KEY_BYTES} bytes, base64); remove it to have a new one made`);
  return key;
}

/**
 * The key one orchestrator (an instance's uid, a generation) shares with
 * the service manager: each orchestrator started gets its own, so an older
 * one cannot pass for its successor.
 */
export function orchestratorKeys(managerKey: Buffer): (uid: string, generation: number) => string {
  return (uid, generation) => createHmac('sha256', managerKey).update(`orchestrator\n${uid}\n${generation}`).digest('base64url');
}

/**
 * The secret an instance's cluster credentials derive from: the same for
 * every orchestrator of the instance, so a new one finds its cluster's
 * credentials, and the service manager can derive them too.
 */
export function clusterSecrets(managerKey: Buffer): (uid: string) => string {
  return (uid) => createHmac('sha256', managerKey).update(`cluster\n${uid}`).digest('base64url');
}
