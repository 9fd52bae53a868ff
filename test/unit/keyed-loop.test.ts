import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { KeyedLoop, type StepOutcome } from '../../service-manager/lifecycle/keyed-loop.js';
import { passTime } from '../support/time.js';

interface Script {
  readonly steps: Array<{ key: string; at: number }>;
  outcome: (key: string, n: number) => StepOutcome;
  /** Steps wait for this before they finish, when set. */
  gate?: Promise<void>;
}

function loop(
  clock: ManualClock,
  script: Script,
  options: Partial<{ maxRunning: number; onError: (key: string, error: unknown) => StepOutcome }> = {},
): KeyedLoop {
  const counts = new Map<string, number>();
  return new KeyedLoop(
    async (key) => {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      script.steps.push({ key, at: clock.now() - START });
      if (script.gate) await script.gate;
      return script.outcome(key, n);
    },
    { timers: clock, pollMinMs: 100, pollMaxMs: 1000, maxRunning: options.maxRunning ?? 10, onError: options.onError ?? (() => 'idle') },
  );
}

const START = Date.UTC(2026, 0, 1);
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SM keyed loop', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock(START);
  });

  it('steps at once after an action, then backs off by half again each time a step waits, up to the longest wait', async () => {
    const script: Script = { steps: [], outcome: (_key, n) => (n === 1 ? 'acted' : n < 10 ? 'waiting' : 'idle') };
    const l = loop(clock, script);
    l.kick('a');
    await passTime(clock, 10_000);
    expect(script.steps.map((s) => s.at)).to.deep.equal([0, 0, 100, 250, 475, 813, 1320, 2081, 3081, 4081]);
    expect(l.active('a')).to.equal(false);
  });

  it('ends a loop when a step is idle, and a kick starts it again', async () => {
    const script: Script = { steps: [], outcome: () => 'idle' };
    const l = loop(clock, script);
    l.kick('a');
    await passTime(clock, 1000);
    expect(l.active('a')).to.equal(false);
    l.kick('a');
    await passTime(clock, 0);
    expect(script.steps).to.have.length(2);
  });

  it('never steps a key twice at once: a kick during a step makes one more step follow at once', async () => {
    let open!: () => void;
    const script: Script = { steps: [], outcome: () => 'idle', gate: new Promise((resolve) => (open = resolve)) };
    const l = loop(clock, script);
    l.kick('a');
    await settle();
    l.kick('a');
    l.kick('a');
    expect(script.steps).to.have.length(1);
    script.gate = undefined;
    open();
    await passTime(clock, 0);
    expect(script.steps.map((s) => s.at)).to.deep.equal([0, 0]);
    expect(l.active('a')).to.equal(false);
  });

  it('runs at most maxRunning steps at once; the others wait for a turn', async () => {
    let open!: () => void;
    const script: Script = { steps: [], outcome: () => 'idle', gate: new Promise((resolve) => (open = resolve)) };
    const l = loop(clock, script, { maxRunning: 2 });
    for (const key of ['a', 'b', 'c', 'd']) l.kick(key);
    await settle();
    expect(script.steps.map((s) => s.key)).to.deep.equal(['a', 'b']);
    script.gate = undefined;
    open();
    await passTime(clock, 0);
    expect(script.steps.map((s) => s.key)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('lets a caller wait for the next step of a key, or for a limit', async () => {
    const script: Script = { steps: [], outcome: () => 'waiting' };
    const l = loop(clock, script);
    let done = false;
    const stepped = l.stepped('a', 5000).then(() => (done = true));
    await passTime(clock, 0);
    await stepped;
    expect(done).to.equal(true);
    let open!: () => void;
    script.gate = new Promise((resolve) => (open = resolve));
    let late = false;
    const limited = l.stepped('b', 2000).then(() => (late = true));
    await passTime(clock, 1999);
    expect(late).to.equal(false);
    await passTime(clock, 1);
    await limited;
    expect(late).to.equal(true);
    open();
  });

  it('turns a step that threw into the outcome onError gives', async () => {
    const seen: string[] = [];
    const l = new KeyedLoop(
      async () => {
        throw new Error('boom');
      },
      { timers: clock, pollMinMs: 100, pollMaxMs: 1000, maxRunning: 1, onError: (key, error) => (seen.push(`${key}: ${(error as Error).message}`), 'idle') },
    );
    l.kick('a');
    await passTime(clock, 0);
    expect(seen).to.deep.equal(['a: boom']);
    expect(l.active('a')).to.equal(false);
  });

  it('stops every loop and takes no kicks afterwards', async () => {
    const script: Script = { steps: [], outcome: () => 'waiting' };
    const l = loop(clock, script);
    l.kick('a');
    await passTime(clock, 0);
    await l.stop(1000);
    l.kick('b');
    await passTime(clock, 5000);
    expect(script.steps.map((s) => s.key)).to.deep.equal(['a']);
    expect(l.active('b')).to.equal(false);
  });
});
