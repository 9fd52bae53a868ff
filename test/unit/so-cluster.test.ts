import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rejectedWith } from '../support/expect.js';
import { checkChange, parseParameters, type RawValue } from '../../service-orchestrator/cluster/parameters.js';
import { clusterPrefix, quorum, slotFromName, slotsFor, tagsFor, vmName, zkUrl } from '../../service-orchestrator/cluster/plan.js';
import { renderUserData, type NodeConfig } from '../../service-orchestrator/cluster/user-data.js';
import { bootPlan } from '../../simulator/mesos/cloud-config.js';
import { agentFlags, masterFlags, marathonFlags, zookeeperConfig } from '../../simulator/mesos/flags.js';

const GOLDEN = fileURLToPath(new URL('../../../test/fixtures/user-data/', import.meta.url));
const golden = (name: string) => readFileSync(`${GOLDEN}${name}`, 'utf8');
const THREE = ['127.10.0.2', '127.10.0.3', '127.10.0.4'];
const base: Omit<NodeConfig, 'slot' | 'address' | 'masterAddresses' | 'nodeName'> = { cluster: 'mesos-aaaaaaaaaa', marathon: true };

const REQUIRED: Array<[string, RawValue]> = [
  ['cloudstack.zone', 'z'],
  ['cloudstack.template', 't'],
  ['cloudstack.offering.master', 'm'],
  ['cloudstack.offering.agent', 'a'],
];

const badRequest = (fn: () => unknown): string => rejectedWith(400, fn);

describe('SO cluster plan', () => {
  it('names slots deterministically from the instance id, generations included', () => {
    const prefix = clusterPrefix('instance-1');
    expect(prefix).to.match(/^mesos-[a-z2-7]{10}$/);
    expect(clusterPrefix('instance-1')).to.equal(prefix);
    expect(clusterPrefix('instance-2')).to.not.equal(prefix);
    expect(vmName(prefix, { role: 'master', index: 2 }, 1)).to.equal(`${prefix}-m2`);
    expect(vmName(prefix, { role: 'agent', index: 3 }, 2)).to.equal(`${prefix}-a3-g2`);
  });

  it('tags VMs with their owner and role, the same for every VM of a role, and reads slot and generation back from the name', () => {
    expect(tagsFor({ instanceId: 'inst', managerId: 'sm-1' }, 'agent')).to.deep.equal({
      'mesos.instance': 'inst',
      'mesos.manager': 'sm-1',
      'mesos.role': 'agent',
    });
    const prefix = clusterPrefix('inst');
    expect(slotFromName(prefix, vmName(prefix, { role: 'agent', index: 4 }, 3))).to.deep.equal({ slot: { role: 'agent', index: 4 }, generation: 3 });
    expect(slotFromName(prefix, vmName(prefix, { role: 'master', index: 1 }, 1))).to.deep.equal({ slot: { role: 'master', index: 1 }, generation: 1 });
    for (const name of [`${prefix}-x1`, `${prefix}-a0`, `${prefix}-a1-g1`, `${prefix}-a1-g`, `${clusterPrefix('other')}-a1`, `${prefix}-a01`]) {
      expect(slotFromName(prefix, name), name).to.equal(undefined);
    }
  });

  it('computes the quorum as a majority and the ZooKeeper URL from the masters', () => {
    expect([1, 3, 5].map(quorum)).to.deep.equal([1, 2, 3]);
    expect(zkUrl(THREE, 'mesos')).to.equal('zk://127.10.0.2:2181,127.10.0.3:2181,127.10.0.4:2181/mesos');
    expect(slotsFor(1, 2).map((s) => `${s.role}${s.index}`)).to.deep.equal(['master1', 'agent1', 'agent2']);
  });

  describe('agent slots', () => {
    const agents = (masters: number, wanted: number, existing: number[], work?: Record<number, number>): string =>
      slotsFor(masters, wanted, existing, work && ((index) => work[index] ?? 0))
        .map((s) => `${s.role[0]}${s.index}`)
        .join(' ');

    it('keeps every agent there is and fills the lowest free slots when growing', () => {
      expect(agents(1, 4, [1, 3])).to.equal('m1 a1 a2 a3 a4');
      expect(agents(3, 2, [])).to.equal('m1 m2 m3 a1 a2');
    });

    it('removes the agents with the least work when shrinking', () => {
      expect(agents(1, 2, [1, 2, 3], { 1: 0, 2: 4, 3: 1 })).to.equal('m1 a2 a3');
      expect(agents(1, 1, [1, 2, 3], { 1: 2, 2: 0, 3: 0 })).to.equal('m1 a1');
    });

    it('removes the highest of agents with equal work', () => {
      expect(agents(1, 2, [1, 2, 3])).to.equal('m1 a1 a2');
      expect(agents(1, 1, [2, 5, 7], { 2: 1, 5: 1, 7: 1 })).to.equal('m1 a2');
    });

    it('keeps the gaps a scale-in left', () => {
      expect(agents(1, 2, [1, 3], { 1: 0, 3: 0 })).to.equal('m1 a1 a3');
      expect(agents(1, 3, [1, 3, 3])).to.equal('m1 a1 a2 a3');
    });
  });
});

describe('SO cluster parameters', () => {
  it('reads the manifest attributes, with defaults, from typed or hurtle-forwarded text values', () => {
    const params = parseParameters(new Map<string, RawValue>([...REQUIRED, ['mesos.masters', '3'], ['mesos.agents', 5], ['mesos.marathon', 'false']]));
    expect(params).to.deep.equal({
      masters: 3,
      agents: 5,
      minReady: 5,
      marathon: false,
      smoke: true,
      zone: 'z',
      template: 't',
      masterOffering: 'm',
      agentOffering: 'a',
    });
  });

  it('refuses what cannot make a cluster, naming the attribute', () => {
    const with_ = (extra: Array<[string, RawValue]>) => () => parseParameters(new Map([...REQUIRED, ...extra]));
    expect(badRequest(with_([['mesos.masters', 2]]))).to.match(/mesos.masters must be 1, 3 or 5/);
    expect(badRequest(with_([['mesos.agents', 0]]))).to.match(/mesos.agents must be between 1 and 100/);
    expect(
      badRequest(
        with_([
          ['mesos.agents', 2],
          ['mesos.agents.min_ready', 3],
        ]),
      ),
    ).to.match(/min_ready/);
    expect(badRequest(with_([['mesos.marathon', 'yes']]))).to.match(/true or false/);
    expect(badRequest(() => parseParameters(new Map()))).to.match(/cloudstack.zone is required/);
  });

  it('lets only the agent count and min_ready change', () => {
    const before = parseParameters(new Map(REQUIRED));
    expect(() => checkChange(before, { ...before, agents: 7, minReady: 7 })).to.not.throw();
    expect(badRequest(() => checkChange(before, { ...before, masters: 3 }))).to.match(/mesos.masters cannot change/);
    expect(badRequest(() => checkChange(before, { ...before, zone: 'other' }))).to.match(/cloudstack.zone cannot change/);
  });
});

describe('SO user data', () => {
  it('matches the golden cloud-config of a single master with Marathon', () => {
    const text = renderUserData({
      ...base,
      slot: { role: 'master', index: 1 },
      address: '127.10.0.2',
      masterAddresses: ['127.10.0.2'],
      nodeName: 'mesos-aaaaaaaaaa-m1',
    });
    expect(text).to.equal(golden('master-1-of-1.yaml'));
  });

  it('matches the golden cloud-config of a single master without Marathon', () => {
    const text = renderUserData({
      ...base,
      marathon: false,
      slot: { role: 'master', index: 1 },
      address: '127.10.0.2',
      masterAddresses: ['127.10.0.2'],
      nodeName: 'mesos-aaaaaaaaaa-m1',
    });
    expect(text).to.equal(golden('master-1-of-1-without-marathon.yaml'));
  });

  it('matches the golden cloud-config of the second of three masters', () => {
    const text = renderUserData({
      ...base,
      slot: { role: 'master', index: 2 },
      address: '127.10.0.3',
      masterAddresses: THREE,
      nodeName: 'mesos-aaaaaaaaaa-m2',
    });
    expect(text).to.equal(golden('master-2-of-3.yaml'));
  });

  it('matches the golden cloud-config of an agent', () => {
    const text = renderUserData({
      ...base,
      slot: { role: 'agent', index: 1 },
      address: '127.10.0.5',
      masterAddresses: THREE,
      nodeName: 'mesos-aaaaaaaaaa-a1-g2',
    });
    expect(text).to.equal(golden('agent-1-of-3-masters.yaml'));
  });

  it('gives a master the files the packages read: ensemble, myid, quorum, own address, Marathon', () => {
    const plan = bootPlan(golden('master-2-of-3.yaml'));
    expect([...plan.started].sort()).to.deep.equal(['marathon', 'mesos-master', 'zookeeper']);
    expect(plan.notes).to.deep.equal([]);
    const zk = zookeeperConfig(plan.files, '127.10.0.3');
    expect(zk).to.deep.include({ myid: 2, clientPort: 2181 });
    expect([...zk.servers.values()]).to.deep.equal(THREE);
    const master = masterFlags(plan.files, '127.10.0.3');
    expect(master).to.deep.include({ quorum: 2, ip: '127.10.0.3', hostname: '127.10.0.3', port: 5050, cluster: 'mesos-aaaaaaaaaa' });
    expect(marathonFlags(plan.files, '127.10.0.3')).to.deep.include({ hostname: '127.10.0.3', ha: true });
  });

  it('gives an agent the ZooKeeper URL, its own address and its so_node attribute, and keeps the master services off', () => {
    const plan = bootPlan(golden('agent-1-of-3-masters.yaml'));
    expect([...plan.started]).to.deep.equal(['mesos-slave']);
    const agent = agentFlags(plan.files, '127.10.0.5');
    expect(agent.detector).to.deep.equal({ kind: 'zk', hosts: THREE.map((host) => ({ host, port: 2181 })), path: '/mesos' });
    expect(agent).to.deep.include({ ip: '127.10.0.5', hostname: '127.10.0.5', port: 5051 });
    expect(agent.attributes).to.deep.equal({ so_node: 'mesos-aaaaaaaaaa-a1-g2' });
  });

  it("stays far below CloudStack's user data limit even for five masters", () => {
    const five = ['127.10.0.2', '127.10.0.3', '127.10.0.4', '127.10.0.5', '127.10.0.6'];
    const text = renderUserData({ ...base, slot: { role: 'master', index: 5 }, address: five[4], masterAddresses: five, nodeName: 'n' });
    expect(Buffer.from(text).toString('base64').length).to.be.below(4096);
  });
});
