import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { createMemoryLogger } from '../../lib/logger.js';
import type { ClusterBuilder, NodeVm } from '../../service-orchestrator/cluster/builder.js';
import { slotKey, type Slot } from '../../service-orchestrator/cluster/plan.js';
import { ClusterWatch, type WatchedCluster, type WatchSettings } from '../../service-orchestrator/health/watch.js';
import type { Expected } from '../../service-orchestrator/readiness/assess.js';
import type { Observation } from '../../service-orchestrator/readiness/observation.js';
import type { Probe } from '../../service-orchestrator/readiness/probe.js';
import type { SmokeTest } from '../../service-orchestrator/readiness/smoke.js';

const S = 1000;

const SETTINGS: WatchSettings = {
  mastersDeadlineMs: 300 * S,
  agentDeadlineMs: 0,
  agentUnhealthyMs: 60 * S,
  masterUnhealthyMs: 120 * S,
  maxUnhealthy: 0.5,
  maxReplacements: 3,
  replaceBackoffMs: 30 * S,
  stableMs: 1 * S,
  smokeTimeoutMs: 120 * S,
  healthIntervalMs: 30 * S,
  pollMinMs: 1 * S,
  pollMaxMs: 10 * S,
  flapQuarantineMs: 300 * S,
  replacementDeadlineMs: 600 * S,
};

function vm(slot: Slot, generation: number, address: string): NodeVm {
  const name = `mesos-aaaaaaaaaa-${slotKey(slot)}${generation > 1 ? `-g${generation}` : ''}`;
  return { slot, generation, name, address, vm: { id: name, name, state: 'Running', zoneid: 'z', templateid: 't', serviceofferingid: 'o', created: '' } };
}

const MASTER = vm({ role: 'master', index: 1 }, 1, '127.10.0.2');
const A1 = vm({ role: 'agent', index: 1 }, 1, '127.10.0.5');
const A1_AGAIN = vm({ role: 'agent', index: 1 }, 2, '127.10.0.8');
const A2 = vm({ role: 'agent', index: 2 }, 1, '127.10.0.6');

/** The leader lists only agent 2: agent 1, whichever VM holds it, is not registered. */
const ONLY_A2: Observation = {
  masters: [
    {
      address: MASTER.address,
      health: { status: 200, body: '' },
      metrics: { status: 200, body: JSON.stringify({ 'master/elected': 1, 'registrar/log/recovered': 1 }) },
      redirect: { status: 307, body: '', location: `//${MASTER.address}:5050` },
    },
  ],
  slaves: {
    from: MASTER.address,
    answer: {
      status: 200,
      body: JSON.stringify({
        slaves: [
          {
            id: 'S0',
            hostname: A2.address,
            pid: `slave(1)@${A2.address}:5051`,
            attributes: { so_node: A2.name },
            resources: { cpus: 2, mem: 3072 },
            active: true,
          },
        ],
      }),
    },
  },
  marathons: [],
};

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Turns the event loop until the condition holds; unlike support/wait's until, no real time passes, only the watch's own steps. */
async function whenTurned(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('the watch never got there');
}

describe('SO cluster watch', () => {
  it('never judges a replaced slot by a look begun before its replacement ended', async () => {
    const clock = new ManualClock();
    const looks: Array<{ expected: Expected; answer: Deferred<Observation> }> = [];
    const probe = {
      observe: (expected: Expected) => {
        const answer = deferred<Observation>();
        looks.push({ expected, answer });
        return answer.promise;
      },
      agentHealth: async () => ({ error: 'ECONNREFUSED' }),
    } as unknown as Probe;
    const replaced: string[] = [];
    const fresh = deferred<NodeVm>();
    const builder = {
      replace: (node: NodeVm) => {
        replaced.push(node.name);
        return fresh.promise;
      },
      startNode: async (node: NodeVm) => node,
    } as unknown as ClusterBuilder;
    const cluster: WatchedCluster = {
      nodes: new Map([MASTER, A1, A2].map((n) => [slotKey(n.slot), n])),
      masters: [MASTER.address],
      marathon: false,
      smoke: false,
      minReady: () => 2,
      userData: () => '',
    };
    const watch = new ClusterWatch({
      probe,
      smoke: {} as SmokeTest,
      builder: () => builder,
      timers: clock,
      settings: SETTINGS,
      logger: createMemoryLogger().logger,
      report: () => undefined,
    });
    const stop = new AbortController();
    const running = watch.run(cluster, 'provision', 900 * S, stop.signal);

    await whenTurned(() => looks.length === 1);
    looks[0].answer.resolve(ONLY_A2);
    await whenTurned(() => replaced.length === 1);
    expect(replaced).to.deep.equal([A1.name]);

    await whenTurned(() => clock.nextDue() !== undefined);
    clock.advance(clock.nextDue()! - clock.now());
    await whenTurned(() => looks.length === 2);
    expect(looks[1].expected.agents.map((a) => a.name)).to.deep.equal([A1.name, A2.name]);
    fresh.resolve(A1_AGAIN);
    await whenTurned(() => cluster.nodes.get('a1') === A1_AGAIN);
    looks[1].answer.resolve(ONLY_A2);

    await whenTurned(() => looks.length === 3 || replaced.length > 1);
    expect(replaced, 'the new VM was not condemned for the old one').to.deep.equal([A1.name]);
    expect(
      looks[2].expected.agents.map((a) => a.name),
      'looked at again, at once, at the new VM',
    ).to.deep.equal([A1_AGAIN.name, A2.name]);
    stop.abort();
    looks[2].answer.resolve(ONLY_A2);
    await running;
  });
});
