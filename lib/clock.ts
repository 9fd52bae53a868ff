import { asError } from './errors.js';
/** The source of time, injected so tests control it instead of sleeping. */
export interface Clock {
  now(): number;
}

/** Time plus waiting and scheduling, so everything that waits can run on virtual time. */
export interface Timers extends Clock {
  /** Resolves after `ms`; rejects with the signal's reason if it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  schedule(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Why a signal was aborted, as the error a waiting promise rejects with. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason === undefined ? new Error('aborted') : asError(signal.reason);
}

/**
 * Wall-clock time, optionally running `scale` times faster: with scale 100 a
 * 3 s wait takes 30 ms, and now() moves 100 ms per real millisecond from
 * `origin` on. Processes that share scale and origin share the time. Scaled
 * timers do not keep the process alive.
 */
export class SystemTimers implements Timers {
  constructor(
    readonly scale = 1,
    readonly origin = Date.now(),
  ) {
    if (!(scale > 0)) throw new Error('time scale must be positive');
  }

  now(): number {
    return this.origin + (Date.now() - this.origin) * this.scale;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = (): void => {
        cancel();
        reject(abortReason(signal!));
      };
      const cancel = this.at(
        this.now() + ms,
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        false,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  schedule(ms: number, fn: () => void): () => void {
    return this.at(this.now() + ms, fn, this.scale !== 1);
  }

  /**
   * Runs fn once now() has reached `due`. Timers and Date.now() tick on
   * different clocks, so a timer may fire a moment before now() gets there
   * (by up to `scale` ms when scaled); it then waits for the rest.
   */
  private at(due: number, fn: () => void, unref: boolean): () => void {
    let timer: NodeJS.Timeout;
    const arm = (wait: number): void => {
      timer = setTimeout(
        () => {
          const left = due - this.now();
          if (left > 0) arm(left);
          else fn();
        },
        Math.max(0, wait / this.scale),
      );
      if (unref) timer.unref();
    };
    arm(due - this.now());
    return () => clearTimeout(timer);
  }
}

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * Virtual time that only moves when told to. Sleeps and scheduled work run,
 * in time order, as advance() passes them.
 */
export class ManualClock implements Timers {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves time forward, running everything due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.pending[0];
      if (!next || next.at > target) break;
      this.pending.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  /** When the earliest scheduled work is due, if any. */
  nextDue(): number | undefined {
    return this.pending[0]?.at;
  }

  schedule(ms: number, fn: () => void): () => void {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    const index = this.pending.findIndex((p) => p.at > entry.at);
    if (index === -1) this.pending.push(entry);
    else this.pending.splice(index, 0, entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const cancel = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        cancel();
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
