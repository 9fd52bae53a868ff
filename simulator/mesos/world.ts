import { randomUUID } from 'node:crypto';
import { createServer as createTcpServer } from 'node:net';
import type { Timers } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { MesosFaults } from './faults.js';
import type { Credential, Detector } from './flags.js';
import { guard, shutdown } from './http.js';
import { MarathonState } from './marathon.js';
import type { MesosTiming } from './timing.js';
import { modeOf } from './maintenance.js';
import type { Agent, AgentRecord, Group, Marathon, MarathonGroup, Master, Node, ZooKeeper } from './records.js';
import { Workload } from './workload.js';

/**
 * The emulated Mesos world: every node's daemons, the ZooKeeper ensembles
 * they form, the Mesos clusters (one per ensemble and znode path) with their
 * elected leader, registered agents and frameworks, and Marathon's own
 * leader election. Daemons find each other the way the real ones do: through
 * the ZooKeeper URLs and addresses in their flags. After any change,
 * reconcile() brings elections and registrations up to date and schedules
 * what happens later.
 */

export class MesosWorld {
  readonly nodes = new Map<string, Node>();
  readonly groups = new Map<string, Group>();
  readonly marathonGroups = new Map<string, MarathonGroup>();
  private noLeaderUntil = 0;
  private extraRecoveryMs = 0;
  private reconciling = false;
  private again = false;
  readonly work = new Workload(this);

  constructor(
    readonly timers: Timers,
    readonly timing: MesosTiming,
    readonly faults: MesosFaults,
    readonly logger?: Logger,
  ) {}

  now(): number {
    return this.timers.now();
  }

  /** Runs fn later and then brings the world up to date. */
  later(ms: number, fn: () => void): () => void {
    return this.timers.schedule(ms, () => {
      fn();
      this.reconcile();
    });
  }

  reconcile(): void {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        this.applyClusterFaults();
        this.reconcileMasters();
        for (const group of this.groups.values()) this.reconcileGroup(group);
        this.reconcileAgents();
        this.reconcileMarathons();
        this.prune();
      } while (this.again);
    } finally {
      this.reconciling = false;
    }
  }

  /**
   * A node's VM stopped: every daemon on it goes down at once, and leaves
   * the elections it took part in (a dead leader is no leader).
   */
  halt(node: Node): void {
    this.nodes.delete(node.address);
    for (const daemon of [node.zookeeper, node.master, node.marathon]) {
      if (!daemon) continue;
      daemon.state = 'down';
      shutdown(daemon.server);
    }
    if (node.master?.group) this.leave(node.master.group, node.master);
    const marathon = node.marathon;
    if (marathon?.group) {
      marathon.group.members.delete(marathon);
      if (marathon.group.leader === marathon) marathon.group.leader = undefined;
      marathon.group = undefined;
    }
    if (node.agent) {
      shutdown(node.agent.server);
      this.agentGone(node.agent);
    }
    this.reconcile();
  }

  /**
   * A VM was expunged, and its disk with it: a cluster whose every master's
   * disk is gone is gone too, so a new cluster on the same addresses starts
   * afresh instead of inheriting its registry.
   */
  forgetDisk(vmId: string): void {
    for (const groups of [this.groups, this.marathonGroups] as const) {
      for (const [key, group] of groups) {
        group.disks.delete(vmId);
        if (group.disks.size > 0 || group.members.size > 0) continue;
        group.electing?.();
        groups.delete(key);
      }
    }
  }

  /** Forgets clusters nothing belongs to any more, so a long-running simulator does not grow. */
  private prune(): void {
    for (const [key, group] of this.groups) {
      if (group.members.size === 0 && group.agents.size === 0 && !group.electing) this.groups.delete(key);
    }
    for (const [key, group] of this.marathonGroups) {
      if (group.members.size === 0 && !group.electing) this.marathonGroups.delete(key);
    }
  }

  // --- ZooKeeper -----------------------------------------------------------

  private ensembleKey(zk: ZooKeeper): string {
    const servers = [...zk.config.servers].sort(([a], [b]) => a - b).map(([id, host]) => `${id}=${host}`);
    return servers.length === 0 ? `standalone:${zk.node.address}` : servers.join(',');
  }

  /** Whether a ZooKeeper server's ensemble has a majority of its servers up. */
  serving(zk: ZooKeeper): boolean {
    if (zk.state !== 'up') return false;
    const size = Math.max(1, zk.config.servers.size);
    const key = this.ensembleKey(zk);
    let up = 0;
    for (const node of this.nodes.values()) {
      if (node.zookeeper?.state === 'up' && this.ensembleKey(node.zookeeper) === key) up++;
    }
    return up >= Math.floor(size / 2) + 1;
  }

  /** The ZooKeeper mode `srvr` reports. */
  zookeeperMode(zk: ZooKeeper): string {
    if (!this.serving(zk)) return 'not serving';
    if (zk.config.servers.size <= 1) return 'standalone';
    const key = this.ensembleKey(zk);
    const ids = [...this.nodes.values()]
      .filter((n) => n.zookeeper?.state === 'up' && this.ensembleKey(n.zookeeper) === key)
      .map((n) => n.zookeeper!.config.myid);
    return Math.max(...ids) === zk.config.myid ? 'leader' : 'follower';
  }

  /**
   * Where a ZooKeeper URL leads, as seen from a node: the ensemble and znode
   * path, if a serving server its security groups let the node reach
   * answers at one of its hosts.
   */
  resolveZk(detector: Detector, from: Node): string | undefined {
    if (detector.kind !== 'zk') return undefined;
    for (const host of detector.hosts) {
      const zk = this.nodes.get(host.host)?.zookeeper;
      if (zk && zk.config.clientPort === host.port && this.serving(zk) && connects(from, zk.node, host.port)) return `${this.ensembleKey(zk)}${detector.path}`;
    }
    return undefined;
  }

  startZooKeeper(zk: ZooKeeper): void {
    const server = createTcpServer((socket) => {
      socket.once('data', (data) => {
        const word = data.toString().trim();
        const mode = this.zookeeperMode(zk);
        if (word === 'srvr') {
          socket.end(
            mode === 'not serving'
              ? 'This ZooKeeper instance is not currently serving requests\n'
              : `Zookeeper version: 3.4.10-emulated\nMode: ${mode}\nNode count: 4\n`,
          );
        } else {
          socket.end(`${word} is not executed because it is not in the whitelist.\n`);
        }
      });
    });
    server.on('error', (error) => this.logger?.warn('emulated zookeeper cannot listen', { address: zk.node.address, error: String(error) }));
    guard(server, zk.config.clientPort, zk.node.admits);
    server.listen(zk.config.clientPort, zk.node.address);
    zk.server = server;
  }

  // --- Mesos masters ---------------------------------------------------------

  /** A master is reachable at its VM's address only if it binds and advertises that address. */
  reachable(master: Master): boolean {
    return master.flags.ip === master.node.address;
  }

  private groupFor(master: Master): Group | undefined {
    const key = master.flags.detector ? this.resolveZk(master.flags.detector, master.node) : `standalone:${master.flags.ip}:${master.flags.port}`;
    if (key === undefined) return undefined;
    let group = this.groups.get(key);
    if (!group) {
      group = {
        key,
        members: new Map(),
        disks: new Set(),
        nextSequence: 0,
        agents: new Map(),
        nextAgent: 0,
        frameworks: new Map(),
        unreachableCount: 0,
        registrations: 0,
        tasks: new Map(),
        completedTasks: [],
        ended: new Map(),
        maintenance: { windows: [], down: new Map() },
      };
      this.groups.set(key, group);
    }
    return group;
  }

  private reconcileMasters(): void {
    for (const node of this.nodes.values()) {
      const master = node.master;
      if (!master) continue;
      const target = master.state === 'up' ? this.groupFor(master) : undefined;
      if (master.group === target) continue;
      if (master.group) this.leave(master.group, master);
      if (target) {
        master.sequence = target.nextSequence++;
        target.members.set(master, master.sequence);
        target.disks.add(node.vmId);
        master.group = target;
      }
    }
  }

  private leave(group: Group, master: Master): void {
    group.members.delete(master);
    master.group = undefined;
    if (group.leader === master) this.stepDown(group);
  }

  private stepDown(group: Group): void {
    group.leader = undefined;
    group.phase = undefined;
    group.electedAt = undefined;
    group.readyAt = undefined;
    for (const record of group.agents.values()) {
      record.recovered = true;
      record.agent.registeredWith = undefined;
    }
    for (const framework of group.frameworks.values()) framework.active = false;
  }

  private reconcileGroup(group: Group): void {
    if (group.leader && !group.members.has(group.leader)) this.stepDown(group);
    if (!group.leader) {
      this.scheduleElection(group);
      return;
    }
    if (group.phase === 'recovering') this.recover(group, group.leader);
  }

  private scheduleElection(group: Group): void {
    if (group.members.size === 0 || group.electing) return;
    const wait = Math.max(this.timing.electionMs, this.noLeaderUntil - this.now());
    group.electing = this.later(wait, () => {
      group.electing = undefined;
      if (group.leader || this.now() < this.noLeaderUntil) return;
      const [first] = [...group.members].sort(([, a], [, b]) => a - b);
      if (!first) return;
      group.leader = first[0];
      group.phase = 'recovering';
      group.electedAt = this.now();
      group.readyAt = undefined;
    });
  }

  /** The new leader recovers the registry once a quorum of masters is present, or gives up after the fetch timeout. */
  private recover(group: Group, leader: Master): void {
    const quorum = leader.flags.quorum ?? 1;
    const now = this.now();
    if (group.members.size >= quorum) {
      if (group.readyAt === undefined) {
        group.readyAt = now + this.timing.recoveryMs + this.extraRecoveryMs;
        this.extraRecoveryMs = 0;
        this.later(group.readyAt - now, () => undefined);
      } else if (now >= group.readyAt) {
        group.phase = 'leading';
      }
      return;
    }
    group.readyAt = undefined;
    const deadline = group.electedAt! + this.timing.registryFetchTimeoutMs;
    if (now >= deadline) {
      this.logger?.info('emulated master gives up: Failed to recover registrar: Failed to perform fetch within 1mins', { address: leader.node.address });
      this.crash(leader);
      return;
    }
    this.later(deadline - now, () => undefined);
  }

  /** A master process dies; its supervisor starts it again. */
  private crash(master: Master): void {
    master.state = 'down';
    shutdown(master.server);
    if (master.group) this.leave(master.group, master);
    this.again = true;
    const node = master.node;
    this.later(this.timing.supervisorRestartMs, () => {
      if (node.master !== master) return;
      this.onRestart?.(node);
    });
  }

  /** Set by the guest: restarts a node's master after a crash. */
  onRestart?: (node: Node) => void;

  // --- Mesos agents ----------------------------------------------------------

  groupOfAgent(agent: Agent): Group | undefined {
    const detector = agent.flags.detector;
    if (detector.kind === 'zk') {
      const key = this.resolveZk(detector, agent.node);
      return key === undefined ? undefined : this.groups.get(key);
    }
    const master = this.nodes.get(detector.at.host)?.master;
    return master?.state === 'up' && master.flags.port === detector.at.port ? master.group : undefined;
  }

  private reconcileAgents(): void {
    for (const node of this.nodes.values()) {
      const agent = node.agent;
      if (!agent || (agent.state !== 'disconnected' && agent.state !== 'running')) continue;
      if (this.faults.partitioned(node.vmName)) {
        this.cutOff(agent);
        continue;
      }
      this.reconnect(agent);
      const group = this.groupOfAgent(agent);
      const leader = group?.leader;
      if (!group || !leader || group.phase !== 'leading' || !this.reachable(leader)) {
        if (agent.state === 'running' && agent.registeredWith !== leader?.id) agent.state = 'disconnected';
        continue;
      }
      if (agent.registeredWith === leader.id || agent.pendingRegistration) continue;
      if (modeOf(group.maintenance, { hostname: agent.flags.hostname, ip: agent.flags.ip }) === 'DOWN') continue;
      // Registration takes both ways: the agent reaches the master, the master pings the agent.
      if (!connects(node, leader.node, leader.flags.port) || !connects(leader.node, node, agent.flags.port)) continue;
      if (leader.flags.authenticateAgents && !accepted(leader, agent.flags.credential)) {
        noteOnce(node, `mesos-slave: the master ${leader.flags.ip} refused its authentication${agent.flags.credential ? '' : ' (it has no --credential)'}`);
        continue;
      }
      const backoff = Math.round(Math.random() * this.timing.registrationBackoffMs) + (agent.id === undefined ? agent.lateMs : 0);
      agent.pendingRegistration = this.later(backoff, () => {
        agent.pendingRegistration = undefined;
        if (agent.state === 'down' || group.leader !== leader || group.phase !== 'leading') return;
        this.register(group, leader, agent);
      });
    }
  }

  private register(group: Group, leader: Master, agent: Agent): void {
    const now = this.now();
    const known = agent.id === undefined ? undefined : group.agents.get(agent.id);
    if (agent.id === undefined) agent.id = `${leader.id}-S${group.nextAgent++}`;
    known?.unreachable?.();
    if (known) this.work.agentBack(group, known.id);
    const record: AgentRecord = known ?? {
      agent,
      id: agent.id,
      hostname: agent.flags.hostname,
      port: agent.flags.port,
      pid: `slave(1)@${agent.loopback ? '127.0.1.1' : agent.flags.ip}:${agent.flags.port}`,
      attributes: agent.flags.attributes,
      resources: resourcesOf(agent),
      registeredTime: now,
      active: true,
      recovered: false,
    };
    if (known) record.reregisteredTime = now;
    record.active = true;
    record.recovered = false;
    group.agents.set(record.id, record);
    group.registrations++;
    agent.registeredWith = leader.id;
    agent.state = 'running';
    const pingWindow = this.timing.agentPingTimeoutMs * this.timing.maxAgentPingTimeouts;
    if (agent.loopback || agent.flags.ip !== agent.node.address) {
      this.later(pingWindow, () => this.markUnreachable(group, record, pingWindow));
    }
    if (agent.flapEveryMs !== undefined) this.flap(record, agent.flapEveryMs);
  }

  /**
   * A partition: the masters stop hearing the agent's pongs. It stays listed
   * (and active) until the ping timeouts run out, then it is marked
   * unreachable and leaves the list; the agent itself runs on.
   */
  private cutOff(agent: Agent): void {
    agent.pendingRegistration?.();
    agent.pendingRegistration = undefined;
    const pingWindow = this.timing.agentPingTimeoutMs * this.timing.maxAgentPingTimeouts;
    for (const group of this.groups.values()) {
      const record = agent.id === undefined ? undefined : group.agents.get(agent.id);
      if (!record || record.agent !== agent || record.unreachable) continue;
      record.unreachable = this.later(pingWindow, () => {
        if (!this.faults.partitioned(agent.node.vmName) || group.agents.get(record.id) !== record) return;
        this.remove(group, record);
        agent.registeredWith = undefined;
        if (agent.state === 'running') agent.state = 'disconnected';
      });
    }
  }

  /** The partition healed before the agent was marked unreachable: nothing is lost. */
  private reconnect(agent: Agent): void {
    for (const group of this.groups.values()) {
      const record = agent.id === undefined ? undefined : group.agents.get(agent.id);
      if (!record || record.agent !== agent || !record.unreachable || !record.active) continue;
      record.unreachable();
      record.unreachable = undefined;
    }
  }

  /** The agent process dies and stays down; its VM runs on. */
  private kill(vmName: string): void {
    const node = [...this.nodes.values()].find((n) => n.vmName === vmName);
    const agent = node?.agent;
    if (!node || !agent || agent.state === 'down') return;
    shutdown(agent.server);
    node.problems.push('mesos-slave: the process died');
    this.agentGone(agent);
  }

  /** The master stops hearing from an agent: inactive now, removed as unreachable after the ping window. */
  markUnreachable(group: Group, record: AgentRecord, pingWindow: number): void {
    record.active = false;
    record.unreachable = this.later(pingWindow, () => {
      if (record.active) return;
      this.remove(group, record);
    });
  }

  /** The master gives up on an agent: it leaves the list, and its tasks are unreachable. */
  private remove(group: Group, record: AgentRecord): void {
    group.agents.delete(record.id);
    group.unreachableCount++;
    this.work.agentRemoved(group, record.id);
  }

  private flap(record: AgentRecord, every: number): void {
    this.later(every, () => {
      if (record.agent.state === 'down') return;
      record.active = !record.active;
      this.flap(record, every);
    });
  }

  /** The agent's process stopped (its VM stopped or was destroyed). */
  agentGone(agent: Agent): void {
    agent.state = 'down';
    agent.pendingRegistration?.();
    agent.pendingRegistration = undefined;
    for (const group of this.groups.values()) {
      const record = agent.id === undefined ? undefined : group.agents.get(agent.id);
      if (record && record.agent === agent) {
        this.markUnreachable(group, record, this.timing.agentPingTimeoutMs * this.timing.maxAgentPingTimeouts);
      }
    }
  }

  // --- Marathon --------------------------------------------------------------

  private marathonGroupFor(marathon: Marathon): MarathonGroup | undefined {
    const key = marathon.flags.zk ? this.resolveZk(marathon.flags.zk, marathon.node) : `standalone:${marathon.node.address}`;
    if (key === undefined) return undefined;
    let group = this.marathonGroups.get(key);
    if (!group) {
      group = { key, members: new Map(), disks: new Set(), nextSequence: 0, state: new MarathonState() };
      this.marathonGroups.set(key, group);
    }
    return group;
  }

  private reconcileMarathons(): void {
    for (const node of this.nodes.values()) {
      const marathon = node.marathon;
      if (!marathon) continue;
      const target = marathon.state === 'up' ? this.marathonGroupFor(marathon) : undefined;
      if (marathon.group === target) continue;
      if (marathon.group) {
        marathon.group.members.delete(marathon);
        if (marathon.group.leader === marathon) marathon.group.leader = undefined;
      }
      marathon.group = target;
      if (target) {
        marathon.sequence = target.nextSequence++;
        target.members.set(marathon, marathon.sequence);
        target.disks.add(node.vmId);
      }
    }
    for (const group of this.marathonGroups.values()) {
      if (!group.leader) this.electMarathon(group);
      const mesos = this.registerFramework(group);
      if (mesos) this.work.offerCycle(group, mesos, group.frameworkId!, group.leader!.flags.maintenanceMode);
    }
  }

  private electMarathon(group: MarathonGroup): void {
    if (group.members.size === 0 || group.electing) return;
    group.electing = this.later(this.timing.marathonElectionMs, () => {
      group.electing = undefined;
      const [first] = [...group.members].sort(([, a], [, b]) => a - b);
      if (!group.leader && first) group.leader = first[0];
    });
  }

  /** Registers the leading Marathon with its Mesos cluster; answers that cluster once it is. */
  private registerFramework(group: MarathonGroup): Group | undefined {
    const marathon = group.leader;
    for (const mesos of this.groups.values()) {
      const framework = group.frameworkId === undefined ? undefined : mesos.frameworks.get(group.frameworkId);
      if (framework && (!marathon || marathon.state !== 'up')) framework.active = false;
    }
    if (!marathon || marathon.state !== 'up' || marathon.unregistered) return undefined;
    const key =
      this.resolveZk(marathon.flags.master, marathon.node) ??
      (marathon.flags.master.kind === 'direct' ? this.nodes.get(marathon.flags.master.at.host)?.master?.group?.key : undefined);
    const mesos = key === undefined ? undefined : this.groups.get(key);
    if (!mesos?.leader || mesos.phase !== 'leading') return undefined;
    const leader = mesos.leader;
    if (!connects(marathon.node, leader.node, leader.flags.port)) return undefined;
    if (leader.flags.authenticateFrameworks && !accepted(leader, marathon.flags.mesosCredential)) {
      noteOnce(
        marathon.node,
        `marathon: the leading master ${leader.flags.ip} refused its authentication${marathon.flags.mesosCredential ? '' : ' (it has no --mesos_authentication)'}`,
      );
      return undefined;
    }
    group.frameworkId ??= `${mesos.leader.id}-0000`;
    const existing = mesos.frameworks.get(group.frameworkId);
    if (existing) {
      existing.active = true;
      return mesos;
    }
    mesos.frameworks.set(group.frameworkId, {
      id: group.frameworkId,
      name: 'marathon',
      hostname: marathon.flags.hostname,
      webuiUrl: `http://${marathon.flags.hostname}:8080`,
      registeredTime: this.now(),
      active: true,
    });
    return mesos;
  }

  // --- faults ----------------------------------------------------------------

  private applyClusterFaults(): void {
    for (let dies = this.faults.take('agent-dies'); dies; dies = this.faults.take('agent-dies')) this.kill(dies.vm);
    const noLeader = this.faults.take('no-leader');
    if (noLeader) {
      this.noLeaderUntil = this.now() + noLeader.ms;
      this.later(noLeader.ms, () => undefined);
    }
    const slowRecovery = this.faults.take('recovery-503');
    if (slowRecovery) this.extraRecoveryMs = slowRecovery.ms;
    if (this.faults.take('leader-change')) {
      for (const group of this.groups.values()) {
        const leader = group.leader;
        if (!leader) continue;
        this.stepDown(group);
        group.members.delete(leader);
        group.members.set(leader, group.nextSequence++);
        leader.sequence = group.members.get(leader);
      }
    }
  }

  /** A fresh daemon id, as Mesos makes them. */
  newId(): string {
    return randomUUID();
  }
}

/** What the agent offers: its flags' --resources, else what the VM has (1 GB kept back, or half when small). */
function resourcesOf(agent: Agent): AgentRecord['resources'] {
  const memory = agent.node.memoryMb;
  const given = agent.flags.resources ?? {};
  return {
    cpus: given['cpus'] ?? agent.node.cpus,
    gpus: given['gpus'] ?? 0,
    mem: given['mem'] ?? (memory >= 2048 ? memory - 1024 : Math.floor(memory / 2)),
    disk: given['disk'] ?? 14_948,
    ports: '[31000-32000]',
  };
}

/** Whether a node's traffic to a port of another gets through the other's security groups. */
function connects(from: Node, to: Node, port: number): boolean {
  return to.admits(from.address, port);
}

/** Whether a master takes a credential: one of its --credentials, principal and secret alike. */
function accepted(master: Master, credential: Credential | undefined): boolean {
  return credential !== undefined && master.flags.credentials.some((c) => c.principal === credential.principal && c.secret === credential.secret);
}

/** A problem worth telling once, not at every reconciliation. */
function noteOnce(node: Node, problem: string): void {
  if (!node.problems.includes(problem)) node.problems.push(problem);
}
