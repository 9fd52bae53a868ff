import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isObject } from '../lib/objects.js';
import { UsageError } from './errors.js';

/** Where the service manager is and who asks it. */
export interface Settings {
  readonly url: string;
  readonly tenant: string;
  readonly token: string;
}

export interface SettingSources {
  readonly flags: Partial<Record<keyof Settings | 'config', string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8888';

/** The config file mesosctl reads when none is named: $XDG_CONFIG_HOME/mesosctl/config.json. */
export function defaultConfigFile(env: SettingSources['env'], home: string): string {
  return join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'mesosctl', 'config.json');
}

/**
 * Each setting from the first place that has it: a flag, then the
 * environment (MESOSCTL_URL, MESOSCTL_TENANT, MESOSCTL_TOKEN), then the
 * config file (--config, MESOSCTL_CONFIG, or the default one when it exists).
 */
export function resolveSettings(sources: SettingSources): Settings {
  const { flags, env } = sources;
  const file = readConfigFile(flags.config ?? env['MESOSCTL_CONFIG'], defaultConfigFile(env, sources.home));
  const pick = (key: keyof Settings, variable: string): string | undefined => flags[key] || env[variable] || file[key];
  const url = pick('url', 'MESOSCTL_URL') ?? DEFAULT_URL;
  const tenant = pick('tenant', 'MESOSCTL_TENANT');
  const token = pick('token', 'MESOSCTL_TOKEN');
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`The service manager URL must be http(s)://host[:port]; got "${url}".`);
  if (!tenant) throw new UsageError('No tenant: give --tenant, MESOSCTL_TENANT or "tenant" in the config file.');
  if (!token) throw new UsageError('No token: set MESOSCTL_TOKEN or "token" in the config file (or give --token).');
  return { url, tenant, token };
}

/** A named file must exist; the default one may not. A file holding a token must be private to its owner. */
function readConfigFile(named: string | undefined, fallback: string): Partial<Settings> {
  const path = named ?? fallback;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (named === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`Cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(`The config file ${path} is not JSON.`);
  }
  if (!isObject(doc)) throw new UsageError(`The config file ${path} must hold an object with url, tenant and token.`);
  const settings: Partial<Record<keyof Settings, string>> = {};
  for (const key of ['url', 'tenant', 'token'] as const) {
    const value = doc[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new UsageError(`The config file ${path}: "${key}" must be text.`);
    settings[key] = value;
  }
  if (settings.token !== undefined && (statSync(path).mode & 0o077) !== 0) {
    throw new UsageError(`The config file ${path} holds a token but others may read it; chmod 600 it.`);
  }
  return settings;
}
