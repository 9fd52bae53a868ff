import { RateLimited } from '../../lib/errors.js';
import type { Timers } from '../../lib/clock.js';
import { TokenBucket } from '../../lib/token-bucket.js';
import type { Quota } from './quota.js';

/**
 * Each tenant's writes (creates, updates, actions, deletes) at most
 * `writesPerMinute`, in bursts of `writeBurst`: one tenant's script in a
 * loop cannot crowd out the others.
 */
export class WriteLimit {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly timers: Timers,
    private readonly quotaOf: (tenant: string) => Quota,
  ) {}

  /** Spends one of the tenant's writes, or refuses with 429 and when to try again. */
  spend(tenant: string): void {
    const quota = this.quotaOf(tenant);
    let bucket = this.buckets.get(tenant);
    if (!bucket) {
      bucket = new TokenBucket(this.timers, quota.writesPerMinute / 60, quota.writeBurst);
      this.buckets.set(tenant, bucket);
    }
    const waitMs = bucket.tryTake();
    if (waitMs === 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new RateLimited(
      `Too many writes: tenant ${tenant} may make ${quota.writesPerMinute} a minute, ${quota.writeBurst} at once; try again in ${seconds} s.`,
      seconds,
    );
  }
}
