import type { Timers } from '../../lib/clock.js';

/**
 * What one step of a key's loop came to: nothing left to do (the loop ends),
 * it acted (look again at once, then soon), something changed meanwhile
 * (look again soon), or it is waiting on the world (look again later and
 * later).
 */
export type StepOutcome = 'idle' | 'acted' | 'changed' | 'waiting';

export interface KeyedLoopOptions {
  readonly timers: Timers;
  /** First wait between two steps; it grows while the steps wait. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  /** Steps running at once, across all keys; more wait for a turn. */
  readonly maxRunning: number;
  /** What a step that threw comes to. */
  readonly onError: (key: string, error: unknown) => StepOutcome;
}

interface Loop {
  /** Something happened during the current step: take another at once. */
  again: boolean;
  wake?: () => void;
  /** Called after the loop's next step, for callers waiting on fresh news. */
  waiters: Array<() => void>;
  done: Promise<void>;
}

/**
 * One loop per key, like controller-runtime's work queue: a key is never
 * stepped twice at once, a kick during a step makes another step follow
 * at once, steps back off while they wait, and at most `maxRunning` steps
 * run at the same time. A loop ends when a step says idle and nothing
 * kicked it meanwhile; a kick starts it again.
 */
export class KeyedLoop {
  private readonly loops = new Map<string, Loop>();
  private running = 0;
  private readonly turns: Array<() => void> = [];
  private stopping = false;

  constructor(
    private readonly step: (key: string) => Promise<StepOutcome>,
    private readonly options: KeyedLoopOptions,
  ) {}

  /** Makes the key's loop take a step now, starting it if it is not running. */
  kick(key: string): void {
    if (this.stopping) return;
    const running = this.loops.get(key);
    if (running) {
      running.again = true;
      running.wake?.();
      return;
    }
    const loop: Loop = { again: false, waiters: [], done: Promise.resolve() };
    this.loops.set(key, loop);
    loop.done = this.run(key, loop).finally(() => {
      this.loops.delete(key);
      release(loop);
    });
  }

  active(key: string): boolean {
    return this.loops.has(key);
  }

  /** Kicks the key and resolves after its next step has finished, or after `limitMs`, whichever comes first. */
  stepped(key: string, limitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.options.timers.schedule(limitMs, resolve);
      const done = (): void => {
        cancel();
        resolve();
      };
      this.kick(key);
      const loop = this.loops.get(key);
      if (loop) loop.waiters.push(done);
      else done();
    });
  }

  /** Ends every loop after its current step; waits for them at most `limitMs`. */
  async stop(limitMs: number): Promise<void> {
    this.stopping = true;
    for (const loop of this.loops.values()) loop.wake?.();
    for (const turn of this.turns.splice(0)) turn();
    await Promise.race([Promise.all([...this.loops.values()].map((l) => l.done)), this.options.timers.sleep(limitMs)]);
  }

  private async run(key: string, loop: Loop): Promise<void> {
    const { pollMinMs, pollMaxMs } = this.options;
    let delay = pollMinMs;
    let previous: StepOutcome | undefined;
    while (!this.stopping) {
      loop.again = false;
      if (!(await this.turn())) break;
      let outcome: StepOutcome;
      try {
        outcome = await this.step(key);
      } catch (error) {
        outcome = this.options.onError(key, error);
      } finally {
        this.running--;
        this.turns.shift()?.();
      }
      release(loop);
      if (outcome === 'idle' && !loop.again) return;
      // The step after an action looks at once (an orchestrator answers at once); a run of actions slows down.
      delay =
        outcome === 'waiting' ? Math.min(Math.max(pollMinMs, Math.round(delay * 1.5)), pollMaxMs) : outcome === 'acted' && previous !== 'acted' ? 0 : pollMinMs;
      previous = outcome;
      if (!loop.again && delay > 0) await this.pause(loop, delay);
    }
  }

  /** Waits until fewer than maxRunning steps run, and takes a place; false once stopping. */
  private async turn(): Promise<boolean> {
    while (this.running >= this.options.maxRunning && !this.stopping) await new Promise<void>((resolve) => this.turns.push(resolve));
    if (this.stopping) return false;
    this.running++;
    return true;
  }

  private pause(loop: Loop, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        cancel();
        loop.wake = undefined;
        resolve();
      };
      const cancel = this.options.timers.schedule(ms, finish);
      loop.wake = finish;
    });
  }
}

function release(loop: Loop): void {
  for (const waiter of loop.waiters.splice(0)) waiter();
}
