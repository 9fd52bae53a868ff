import { stringify } from 'yaml';
import type { ClusterCredentials } from '../../lib/cluster/credentials.js';
import { quorum, zkUrl, type Slot } from './plan.js';

/** What a node needs to know to configure itself. */
export interface NodeConfig {
  readonly slot: Slot;
  /** The node's own address; every service binds and advertises it. */
  readonly address: string;
  readonly masterAddresses: readonly string[];
  /** Shown as the Mesos cluster name. */
  readonly cluster: string;
  readonly marathon: boolean;
  /** The VM's name, published as the agent attribute `so_node` so the agent can be matched to its VM. */
  readonly nodeName: string;
  /** The cluster's credentials: agents and Marathon authenticate with them, Marathon's API wants them. */
  readonly credentials?: ClusterCredentials;
}

interface WriteFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

const MASTER_WORK_DIR = '/var/lib/mesos/master';
const AGENT_WORK_DIR = '/var/lib/mesos/agent';

function file(path: string, content: string, permissions = '0644'): WriteFile {
  return { path, content: content.endsWith('\n') ? content : `${content}\n`, permissions };
}

/** A file only root reads: it holds a secret. */
function secret(path: string, content: string): WriteFile {
  return file(path, content, '0600');
}

const CREDENTIALS_FILE = '/etc/mesos/credentials';
const CREDENTIAL_FILE = '/etc/mesos/credential';
const MARATHON_SECRET_FILE = '/etc/marathon/mesos-secret';

/**
 * The masters accept only agents and frameworks that authenticate
 * (`?flag` files are the init wrapper's boolean flags), with the
 * cluster's own principals; Marathon registers with its principal and
 * wants HTTP basic credentials for its API.
 */
function masterAuthentication(node: NodeConfig, credentials: ClusterCredentials): WriteFile[] {
  const accepted = { credentials: [credentials.agent, credentials.framework] };
  return [
    file('/etc/mesos-master/?authenticate_agents', ''),
    file('/etc/mesos-master/?authenticate_frameworks', ''),
    file('/etc/mesos-master/credentials', CREDENTIALS_FILE),
    secret(CREDENTIALS_FILE, JSON.stringify(accepted)),
    ...(node.marathon
      ? [
          file('/etc/marathon/conf/?mesos_authentication', ''),
          file('/etc/marathon/conf/mesos_authentication_principal', credentials.framework.principal),
          file('/etc/marathon/conf/mesos_authentication_secret_file', MARATHON_SECRET_FILE),
          secret(MARATHON_SECRET_FILE, credentials.framework.secret),
          secret('/etc/marathon/conf/http_credentials', `${credentials.marathon.user}:${credentials.marathon.password}`),
        ]
      : []),
  ];
}

function agentAuthentication(credentials: ClusterCredentials): WriteFile[] {
  return [file('/etc/mesos-slave/credential', CREDENTIAL_FILE), secret(CREDENTIAL_FILE, JSON.stringify(credentials.agent))];
}

/**
 * The #cloud-config that turns a stock Ubuntu VM with the ZooKeeper, Mesos
 * and Marathon packages (all services disabled in the template) into one
 * node of the cluster. Configuration goes into the files the packages'
 * init wrappers read (/etc/zookeeper, /etc/mesos*, /etc/marathon/conf);
 * the services of the node's role are then started and the others kept off.
 */
export function renderUserData(node: NodeConfig): string {
  const document = node.slot.role === 'master' ? master(node) : agent(node);
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}

function master(node: NodeConfig): Record<string, unknown> {
  const servers = node.masterAddresses.map((ip, i) => `server.${i + 1}=${ip}:2888:3888`);
  const files = [
    file(
      '/etc/zookeeper/conf/zoo.cfg',
      ['tickTime=2000', 'initLimit=10', 'syncLimit=5', 'dataDir=/var/lib/zookeeper', 'clientPort=2181', ...servers].join('\n'),
    ),
    file('/etc/zookeeper/conf/myid', String(node.masterAddresses.indexOf(node.address) + 1)),
    file('/etc/mesos/zk', zkUrl(node.masterAddresses, 'mesos')),
    file('/etc/mesos-master/quorum', String(quorum(node.masterAddresses.length))),
    file('/etc/mesos-master/ip', node.address),
    file('/etc/mesos-master/hostname', node.address),
    file('/etc/mesos-master/work_dir', MASTER_WORK_DIR),
    file('/etc/mesos-master/cluster', node.cluster),
    ...(node.credentials ? masterAuthentication(node, node.credentials) : []),
    ...(node.marathon
      ? [
          file('/etc/marathon/conf/master', zkUrl(node.masterAddresses, 'mesos')),
          file('/etc/marathon/conf/zk', zkUrl(node.masterAddresses, 'marathon')),
          file('/etc/marathon/conf/hostname', node.address),
          // Offers from agents being drained for a scale-in are declined, so their tasks move elsewhere.
          file('/etc/marathon/conf/enable_features', 'maintenance_mode'),
        ]
      : []),
  ];
  const services = ['zookeeper', 'mesos-master', ...(node.marathon ? ['marathon'] : [])];
  return {
    write_files: files,
    runcmd: [
      `systemctl disable --now mesos-slave${node.marathon ? '' : ' marathon'}`,
      `systemctl enable ${services.join(' ')}`,
      ...services.map((service) => `systemctl restart ${service}`),
    ],
  };
}

function agent(node: NodeConfig): Record<string, unknown> {
  return {
    write_files: [
      file('/etc/mesos/zk', zkUrl(node.masterAddresses, 'mesos')),
      file('/etc/mesos-slave/ip', node.address),
      file('/etc/mesos-slave/hostname', node.address),
      file('/etc/mesos-slave/work_dir', AGENT_WORK_DIR),
      file('/etc/mesos-slave/containerizers', 'mesos'),
      file('/etc/mesos-slave/attributes/so_node', node.nodeName),
      ...(node.credentials ? agentAuthentication(node.credentials) : []),
    ],
    runcmd: [
      `rm -f ${AGENT_WORK_DIR}/meta/slaves/latest`,
      'systemctl disable --now mesos-master zookeeper marathon',
      'systemctl enable mesos-slave',
      'systemctl restart mesos-slave',
    ],
  };
}
