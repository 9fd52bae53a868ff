import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { CloudResourceNotFound, CloudStackError, type CloudStack } from '../../lib/cloudstack/index.js';
import { createMemoryLogger } from '../../lib/logger.js';
import type { RawValue } from '../../service-orchestrator/cluster/parameters.js';
import { clusterCredentials } from '../../lib/cluster/credentials.js';
import { Drainer } from '../../service-orchestrator/drain/drainer.js';
import { Orchestrator, type OrchestratorSettings } from '../../service-orchestrator/orchestrator.js';
import { DaemonHttp } from '../../service-orchestrator/readiness/daemon-http.js';
import { Probe } from '../../service-orchestrator/readiness/probe.js';
import { SmokeTest } from '../../service-orchestrator/readiness/smoke.js';
import { rejectedWith } from '../support/expect.js';
import { onVirtualTime } from '../support/time.js';

const SETTINGS: OrchestratorSettings = {
  designDeadlineMs: 60_000,
  deployDeadlineMs: 600_000,
  provisionDeadlineMs: 600_000,
  updateDeadlineMs: 600_000,
  deleteDeadlineMs: 600_000,
  mastersDeadlineMs: 120_000,
  agentDeadlineMs: 60_000,
  maxReplacements: 1,
  concurrency: 4,
  stableMs: 1000,
  smokeTimeoutMs: 120_000,
  drainTimeoutMs: 300_000,
  flapQuarantineMs: 60_000,
  pollMinMs: 1000,
  pollMaxMs: 5000,
  healthIntervalMs: 10_000,
  agentUnhealthyMs: 60_000,
  masterUnhealthyMs: 120_000,
  maxUnhealthy: 0.4,
  replaceBackoffMs: 30_000,
  vmStartTimeoutMs: 300_000,
  managementCidr: '127.0.0.1/32',
};

const PARAMETERS = new Map<string, RawValue>([
  ['cloudstack.zone', 'sim-zone-1'],
  ['cloudstack.template', 'mesos'],
  ['cloudstack.offering.master', 'medium'],
  ['cloudstack.offering.agent', 'large'],
]);

/** A CloudStack that knows the catalogue, has no VMs, and refuses to deploy. */
function fakeCloud(): CloudStack {
  const found = (id: string) => async () => ({ id, name: id, zoneid: 'z', isready: true, cpunumber: 2, memory: 4096, networktype: 'Advanced' });
  const cloudstack = {
    discovery: {
      zone: async (name: string) => {
        if (name !== 'sim-zone-1') throw new CloudResourceNotFound('zone', name, ['sim-zone-1']);
        return { id: 'z', name, networktype: 'Advanced' };
      },
      template: found('t'),
      serviceOffering: found('o'),
      network: found('n'),
    },
    vms: {
      list: async () => [],
      deploy: async () => {
        throw new CloudStackError({ command: 'deployVirtualMachine', httpStatus: 535, errorcode: 535, errortext: 'quota exceeded' });
      },
    },
    securityGroups: { remove: async () => undefined },
    client: { list: async () => [] },
  } as unknown as CloudStack;
  return cloudstack;
}

describe('SO stack state machine', () => {
  let clock: ManualClock;
  let orchestrator: Orchestrator;

  beforeEach(() => {
    clock = new ManualClock();
    orchestrator = new Orchestrator({
      instanceId: 'inst',
      cloudstack: fakeCloud(),
      probe: new Probe(new DaemonHttp(clock, 1000)),
      smoke: new SmokeTest(new DaemonHttp(clock, 1000)),
      drainer: new Drainer(new DaemonHttp(clock, 1000), clock, createMemoryLogger().logger),
      credentials: clusterCredentials('test'),
      timers: clock,
      settings: SETTINGS,
      logger: createMemoryLogger().logger,
    });
  });

  it('starts uninitialised with no actions, and refuses updates and actions until designed', () => {
    expect([orchestrator.state, orchestrator.stackId, orchestrator.actions]).to.deep.equal(['uninitialized', 'N/A', []]);
    expect(rejectedWith(400, () => orchestrator.act('deploy', new Map()))).to.equal('Not applicable atm.');
    expect(rejectedWith(400, () => orchestrator.update(new Map([['mesos.agents', 3]])))).to.match(/not initialised/);
  });

  it('offers deploy after design, then provision, then nothing', async () => {
    expect(await orchestrator.initialise(new Map(), PARAMETERS)).to.equal('created');
    expect(orchestrator.actions).to.deep.equal(['deploy']);
    expect(orchestrator.message).to.equal('Designed: 1 master, 2 agents, Marathon; waiting for deploy.');
    expect(rejectedWith(400, () => orchestrator.act('provision', new Map()))).to.equal('Not applicable atm.');
    orchestrator.act('deploy', new Map());
    expect(orchestrator.actions).to.deep.equal(['provision']);
    orchestrator.act('provision', new Map());
    expect(orchestrator.actions).to.deep.equal([]);
    expect(await orchestrator.initialise(new Map(), PARAMETERS)).to.equal('existing');
  });

  it("fails design fast with the cloud's own list of what exists", async () => {
    const error = await orchestrator.initialise(new Map([['cloudstack.zone', 'mars']]), PARAMETERS).catch((e: unknown) => e);
    expect(
      rejectedWith(400, () => {
        throw error;
      }),
    ).to.equal('Cannot build the cluster: zone "mars" not found; available: sim-zone-1.');
    expect(orchestrator.initialised).to.equal(false);
  });

  it('ends a deploy the cloud refuses in CREATE_FAILED, and then refuses to provision', async () => {
    await orchestrator.initialise(new Map(), PARAMETERS);
    orchestrator.act('deploy', new Map());
    orchestrator.act('provision', new Map());
    await onVirtualTime(clock, orchestrator.idle());
    expect(orchestrator.state).to.equal('UPDATE_FAILED');
    expect(orchestrator.message).to.match(
      /^provision not possible: deploy failed: creating (master|agent) 1 \(mesos-[a-z2-7]+-[am]1\): deployVirtualMachine 535 quota exceeded$/,
    );
  });

  it('disposes even an instance it never designed, and ends DELETE_COMPLETE when no VM is left', async () => {
    orchestrator.dispose();
    expect(orchestrator.state).to.equal('DELETE_IN_PROGRESS');
    await onVirtualTime(clock, orchestrator.idle());
    expect([orchestrator.state, orchestrator.message]).to.deep.equal(['DELETE_COMPLETE', 'delete: no VM of the instance is left']);
    expect(rejectedWith(400, () => orchestrator.update(new Map()))).to.match(/not initialised/);
  });

  it('lets only the agent count and min_ready change', async () => {
    await orchestrator.initialise(new Map(), PARAMETERS);
    expect(rejectedWith(400, () => orchestrator.update(new Map([['mesos.marathon', false]])))).to.match(/mesos.marathon cannot change/);
    orchestrator.update(new Map([['mesos.agents', '4']]));
    expect(orchestrator.parameters().get('mesos.agents')).to.equal('4');
  });
});
