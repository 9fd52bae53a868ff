import type { Server } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Guest, GuestVm } from '../guests.js';
import { bootPlan, type BootPlan, type Service } from './cloud-config.js';
import { agentHandler, masterHandler } from './endpoints.js';
import { agentFlags, marathonFlags, masterFlags, StartupFailure, zookeeperConfig } from './flags.js';
import { serve, shutdown, type Handler } from './http.js';
import { marathonHandler } from './marathon-api.js';
import type { Agent, Marathon, Master, Node, ZooKeeper } from './records.js';
import type { MesosWorld } from './world.js';

/**
 * The guest of the Mesos template: on first boot it runs the VM's
 * #cloud-config (files, then systemctl commands) and starts the daemons it
 * asked for, configured the way the packages' init wrappers configure them;
 * on later boots it starts the services that were enabled.
 */
export class MesosGuest implements Guest {
  /** What each VM's first boot left on its disk. */
  private readonly disks = new Map<string, BootPlan>();

  constructor(private readonly world: MesosWorld) {
    world.onRestart = (node) => this.startMaster(node, node.master!.flags);
  }

  start(vm: GuestVm): void {
    const firstBoot = !this.disks.has(vm.id);
    const plan = this.disks.get(vm.id) ?? bootPlan(vm.userData);
    this.disks.set(vm.id, plan);
    const node: Node = {
      vmId: vm.id,
      vmName: vm.name,
      address: vm.address,
      cpus: vm.cpus,
      memoryMb: vm.memoryMb,
      admits: vm.admits,
      problems: [...plan.notes],
    };
    this.world.nodes.set(vm.address, node);
    const services = firstBoot ? plan.started : plan.enabled;
    for (const service of ['zookeeper', 'mesos-master', 'mesos-slave', 'marathon'] as const) {
      if (services.has(service)) this.startService(node, service, plan);
    }
  }

  stop(vmId: string): void {
    const node = [...this.world.nodes.values()].find((n) => n.vmId === vmId);
    if (!node) return;
    this.world.halt(node);
  }

  forget(vmId: string): void {
    this.disks.delete(vmId);
    this.world.forgetDisk(vmId);
  }

  private startService(node: Node, service: Service, plan: BootPlan): void {
    try {
      switch (service) {
        case 'zookeeper':
          return this.startZooKeeper(node, plan);
        case 'mesos-master':
          if (this.world.faults.forNode(node.vmName, ['master-never-starts']).length > 0) {
            node.problems.push('mesos-master: never came up');
            return;
          }
          return this.startMaster(node, masterFlags(plan.files, node.address));
        case 'mesos-slave':
          return this.startAgent(node, plan);
        case 'marathon':
          return this.startMarathon(node, plan);
      }
    } catch (error) {
      if (!(error instanceof StartupFailure)) throw error;
      node.problems.push(`${service}: ${error.message}`);
    }
  }

  private startZooKeeper(node: Node, plan: BootPlan): void {
    const zk: ZooKeeper = { node, config: zookeeperConfig(plan.files, node.address), state: 'starting', startedAt: this.world.now() };
    node.zookeeper = zk;
    this.world.later(this.world.timing.zookeeperStartMs, () => {
      if (node.zookeeper !== zk || !this.alive(node)) return;
      zk.state = 'up';
      this.world.startZooKeeper(zk);
    });
  }

  private startMaster(node: Node, flags: Master['flags']): void {
    const master: Master = { node, id: this.world.newId(), flags, state: 'starting', startedAt: this.world.now() };
    node.master = master;
    this.world.later(this.world.timing.masterStartMs, () => {
      if (node.master !== master || !this.alive(node)) return;
      master.state = 'up';
      if (this.world.reachable(master)) this.bind(node, master, flags.port, masterHandler(this.world, master));
      else node.problems.push(`mesos-master: bound to ${flags.ip}, not reachable at ${node.address}`);
    });
  }

  private startAgent(node: Node, plan: BootPlan): void {
    const faults = this.world.faults.forNode(node.vmName);
    if (faults.some((f) => f.kind === 'agent-never-starts')) {
      node.problems.push('mesos-slave: never came up');
      return;
    }
    const late = faults.find((f) => f.kind === 'agent-late');
    const flaps = faults.find((f) => f.kind === 'agent-flaps');
    const agent: Agent = {
      node,
      flags: agentFlags(plan.files, node.address),
      state: 'starting',
      startedAt: this.world.now(),
      lateMs: late?.kind === 'agent-late' ? late.ms : 0,
      ...(flaps?.kind === 'agent-flaps' ? { flapEveryMs: flaps.periodMs } : {}),
      loopback: faults.some((f) => f.kind === 'agent-loopback'),
    };
    node.agent = agent;
    this.world.later(this.world.timing.agentStartMs, () => {
      if (node.agent !== agent || !this.alive(node)) return;
      agent.state = 'recovering';
      this.bind(node, agent, agent.flags.port, agentHandler(this.world, agent));
      this.world.later(this.world.timing.agentRecoveryMs, () => {
        if (agent.state === 'recovering') agent.state = 'disconnected';
      });
    });
  }

  private startMarathon(node: Node, plan: BootPlan): void {
    const unregistered = this.world.faults.take('marathon-unregistered') !== undefined;
    const marathon: Marathon = { node, flags: marathonFlags(plan.files, node.address), state: 'starting', startedAt: this.world.now(), unregistered };
    node.marathon = marathon;
    this.world.later(this.world.timing.marathonStartMs, () => {
      if (node.marathon !== marathon || !this.alive(node)) return;
      marathon.state = 'up';
      this.bind(node, marathon, 8080, marathonHandler(this.world, marathon));
    });
  }

  private alive(node: Node): boolean {
    return this.world.nodes.get(node.address) === node;
  }

  private bind(node: Node, daemon: { server?: Server | TcpServer }, port: number, handler: Handler): void {
    serve(node.address, port, handler, node.admits).then(
      (server) => {
        if (this.alive(node)) daemon.server = server;
        else shutdown(server);
      },
      (error: unknown) => node.problems.push(`cannot listen on ${node.address}:${port}: ${String(error)}`),
    );
  }
}
