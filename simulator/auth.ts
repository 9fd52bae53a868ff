import { timingSafeEqual } from 'node:crypto';
import { sign } from '../lib/cloudstack/sign.js';
import { ApiError, authFailure, CS } from './api-error.js';
import type { Account, Cloud } from './cloud.js';
import { paramIgnoringCase } from './wire.js';

const EXPIRES = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;
const MAX_EXPIRY_MS = 15 * 60_000;

/** Parses `expires` in the formats the server accepts; undefined when it cannot. */
export function parseExpires(text: string): number | undefined {
  const match = EXPIRES.exec(text);
  if (!match) return undefined;
  const zone = match[3] === 'Z' ? 'Z' : `${match[3].slice(0, 3)}:${match[3].slice(-2)}`;
  const ms = Date.parse(`${match[1]}${(match[2] ?? '').slice(0, 4)}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

interface Window {
  start: number;
  count: number;
}

/**
 * Authentication as ApiServer does it, in its order: credentials present,
 * `expires` for signature version 3, a known API key, the per-account rate
 * limit (checked before the signature), then the HMAC itself.
 */
export class Authenticator {
  private readonly windows = new Map<Account, Window>();

  constructor(private readonly cloud: Cloud) {}

  verify(params: ReadonlyMap<string, string>, read: boolean, method: 'GET' | 'POST'): Account {
    const apikey = paramIgnoringCase(params, 'apikey');
    const signature = paramIgnoringCase(params, 'signature');
    if (!apikey || !signature) throw authFailure();
    this.checkExpiry(params, read, method);
    const account = this.cloud.accountByKey(apikey);
    if (!account) throw authFailure();
    this.throttle(account);
    const signed = new Map([...params].filter(([name]) => name.toLowerCase() !== 'signature'));
    const expected = Buffer.from(sign(Object.fromEntries(signed), account.secretkey));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw authFailure();
    return account;
  }

  private checkExpiry(params: ReadonlyMap<string, string>, read: boolean, method: 'GET' | 'POST'): void {
    const now = this.cloud.timers.now();
    const version = paramIgnoringCase(params, 'signatureversion');
    const enforce = this.cloud.settings.enforcePostAndTimestamps;
    if (version !== '3') {
      if (enforce) throw authFailure();
      return;
    }
    const expires = parseExpires(paramIgnoringCase(params, 'expires') ?? '');
    if (expires === undefined || expires < now) throw authFailure();
    if (enforce && (expires > now + MAX_EXPIRY_MS || (method === 'GET' && !read))) throw authFailure();
  }

  private throttle(account: Account): void {
    const { throttling } = this.cloud.settings;
    if (!throttling.enabled || account.admin) return;
    const now = this.cloud.timers.now();
    let window = this.windows.get(account);
    if (!window || now - window.start >= throttling.intervalMs) {
      window = { start: now, count: 0 };
      this.windows.set(account, window);
    }
    window.count += 1;
    if (window.count > throttling.max) {
      const wait = window.start + throttling.intervalMs - now;
      throw new ApiError(429, `The given user has reached his/her account api limit, please retry after [${wait}] ms.`, CS.serverApi);
    }
  }
}
