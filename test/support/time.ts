import type { ManualClock } from '../../lib/clock.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs a promise to completion on virtual time: whenever it is only waiting
 * on the clock, the clock jumps to the next scheduled moment. Nothing sleeps
 * for real.
 */
export async function onVirtualTime<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = work.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  for (let idle = 0; !settled;) {
    await tick();
    if (settled) break;
    const due = clock.nextDue();
    if (due === undefined) {
      if (++idle > 50) throw new Error('work is stuck: nothing scheduled and not settled');
      continue;
    }
    idle = 0;
    clock.advance(Math.max(0, due - clock.now()));
  }
  return tracked;
}

/**
 * Lets `ms` of virtual time pass, step by step, giving the work each step
 * wakes up the chance to schedule its next step before time moves on.
 */
export async function passTime(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  for (;;) {
    await tick();
    const due = clock.nextDue();
    if (due === undefined || due > target) break;
    clock.advance(due - clock.now());
  }
  clock.advance(target - clock.now());
  await tick();
}

/** Waits (on real time, briefly) until something has been scheduled on the clock, e.g. a request has arrived. */
export async function untilScheduled(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 1000 && clock.nextDue() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  if (clock.nextDue() === undefined) throw new Error('nothing was scheduled');
}
