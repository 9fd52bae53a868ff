import { expect } from 'chai';
import { SystemTimers } from '../../lib/clock.js';

describe('Scaled system time', () => {
  it('never runs scheduled work or ends a sleep before now() reaches its time', async () => {
    const timers = new SystemTimers(1000);
    const early: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const waitMs = 500 + i * 137;
        const due = timers.now() + waitMs;
        const scheduled = new Promise<void>((resolve) =>
          timers.schedule(waitMs, () => {
            if (timers.now() < due) early.push(due - timers.now());
            resolve();
          }),
        );
        const slept = timers.sleep(waitMs).then(() => {
          if (timers.now() < due) early.push(due - timers.now());
        });
        return Promise.all([scheduled, slept]);
      }),
    );
    expect(early).to.deep.equal([]);
  });

  it('cancels scheduled work and aborts sleeps', async () => {
    const timers = new SystemTimers(100);
    let ran = false;
    timers.schedule(1000, () => (ran = true))();
    const controller = new AbortController();
    const sleeping = timers.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await sleeping.then(
      () => expect.fail('the sleep ended normally'),
      (error: Error) => expect(error.message).to.equal('stop'),
    );
    await timers.sleep(2000);
    expect(ran).to.equal(false);
  });
});
