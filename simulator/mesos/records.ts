import type { Server } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { AgentFlags, AttributeValue, MarathonFlags, MasterFlags, ZooKeeperConfig } from './flags.js';
import type { Firewall } from './http.js';
import type { Maintenance } from './maintenance.js';
import type { MarathonState } from './marathon.js';
import type { Task } from './tasks.js';

/** What the emulated Mesos world holds: nodes with their daemons, and the clusters they form. */

export type DaemonState = 'starting' | 'up' | 'down';

interface Daemon {
  readonly node: Node;
  state: DaemonState;
  readonly startedAt: number;
  server?: Server | TcpServer;
}

export interface ZooKeeper extends Daemon {
  readonly config: ZooKeeperConfig;
}

export interface Master extends Daemon {
  readonly id: string;
  readonly flags: MasterFlags;
  group?: Group;
  sequence?: number;
}

export type AgentPhase = 'starting' | 'recovering' | 'disconnected' | 'running' | 'down';

export interface Agent extends Omit<Daemon, 'state'> {
  state: AgentPhase;
  readonly flags: AgentFlags;
  /** Assigned at first registration, kept across master fail-over. */
  id?: string;
  registeredWith?: string;
  pendingRegistration?: () => void;
  readonly lateMs: number;
  readonly flapEveryMs?: number;
  readonly loopback: boolean;
}

export interface Marathon extends Daemon {
  readonly flags: MarathonFlags;
  group?: MarathonGroup;
  sequence?: number;
  /** Elected but never registering with Mesos (an injected fault). */
  readonly unregistered: boolean;
}

export interface Node {
  readonly vmId: string;
  readonly vmName: string;
  readonly address: string;
  readonly cpus: number;
  readonly memoryMb: number;
  /** What the VM's security groups let in. */
  readonly admits: Firewall;
  zookeeper?: ZooKeeper;
  master?: Master;
  agent?: Agent;
  marathon?: Marathon;
  /** Why a daemon could not start, for the control API. */
  readonly problems: string[];
}

export interface AgentRecord {
  readonly agent: Agent;
  readonly id: string;
  readonly hostname: string;
  readonly port: number;
  readonly pid: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly resources: { cpus: number; gpus: number; mem: number; disk: number; ports: string };
  readonly registeredTime: number;
  reregisteredTime?: number;
  active: boolean;
  /** Known from before a fail-over, not yet re-registered with the current leader. */
  recovered: boolean;
  unreachable?: () => void;
}

export interface Framework {
  readonly id: string;
  readonly name: string;
  readonly hostname: string;
  readonly webuiUrl: string;
  readonly registeredTime: number;
  active: boolean;
}

export interface Group {
  readonly key: string;
  readonly members: Map<Master, number>;
  /** VMs whose disks hold this cluster's registry (its masters, ever): it is gone with the last of them. */
  readonly disks: Set<string>;
  nextSequence: number;
  leader?: Master;
  phase?: 'recovering' | 'leading';
  electedAt?: number;
  readyAt?: number;
  electing?: () => void;
  readonly agents: Map<string, AgentRecord>;
  nextAgent: number;
  readonly frameworks: Map<string, Framework>;
  unreachableCount: number;
  registrations: number;
  /** Tasks launched and not ended: staging, running, being killed, or on an unreachable agent. */
  readonly tasks: Map<string, Task>;
  readonly completedTasks: Task[];
  /** How many tasks ended in each terminal state, ever (the metrics' counters). */
  readonly ended: Map<string, number>;
  readonly maintenance: Maintenance;
}

export interface MarathonGroup {
  readonly key: string;
  readonly members: Map<Marathon, number>;
  /** VMs whose disks hold its state in ZooKeeper. */
  readonly disks: Set<string>;
  nextSequence: number;
  leader?: Marathon;
  electing?: () => void;
  frameworkId?: string;
  readonly state: MarathonState;
}
