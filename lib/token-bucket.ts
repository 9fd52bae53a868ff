import type { Timers } from './clock.js';

/**
 * A token bucket: `perSecond` tokens a second up to `burst`. The CloudStack
 * client waits on one so an account's calls stay under the management
 * server's limit (a 429 pauses it for as long as the server asks); the
 * service manager refuses a tenant's writes past its own.
 */
export class TokenBucket {
  private tokens: number;
  private updated: number;
  private pausedUntil = 0;

  constructor(
    private readonly timers: Timers,
    private perSecond: number,
    private readonly burst: number,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new Error('rate limit needs perSecond > 0 and burst >= 1');
    this.tokens = burst;
    this.updated = timers.now();
  }

  /** Waits until a call may be made, then spends a token. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.tryTake();
      if (wait === 0) return;
      await this.timers.sleep(wait, signal);
    }
  }

  /** Spends a token and answers 0 when one is there; otherwise how many ms until one is. */
  tryTake(): number {
    const wait = this.waitNeeded();
    if (wait === 0) this.tokens -= 1;
    return wait;
  }

  get rate(): number {
    return this.perSecond;
  }

  /** Changes the rate from now on; tokens already earned stay. */
  retune(perSecond: number): void {
    if (!(perSecond > 0)) throw new Error('rate limit needs perSecond > 0');
    this.waitNeeded();
    this.perSecond = perSecond;
  }

  /** Stops all calls until `ms` from now. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.timers.now() + ms);
  }

  private waitNeeded(): number {
    const now = this.timers.now();
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) * this.perSecond) / 1000);
    this.updated = now;
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }
}
