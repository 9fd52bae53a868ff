/**
 * Polls a condition on real time until it holds, for tests that wait on
 * other processes (orchestrators, the simulator) rather than on a clock of
 * their own. It never waits a fixed time: it returns as soon as the
 * condition holds, and fails with `why()` once the limit has passed.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  limitMs = 60_000,
  why: () => string | Promise<string> = () => 'the condition never held',
): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`waited ${Math.round(limitMs / 1000)} s: ${await why()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
