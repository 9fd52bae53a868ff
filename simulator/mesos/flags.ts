/**
 * How the packages' init wrappers turn configuration files into a
 * service's flags, and the checks each service makes at start-up. A check
 * that fails is the message the real daemon dies with.
 */

export type Files = ReadonlyMap<string, string>;

export class StartupFailure extends Error {}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** A ZooKeeper URL (zk://h1:2181,h2:2181/path) or a plain host:port. */
export type Detector = { readonly kind: 'zk'; readonly hosts: readonly Endpoint[]; readonly path: string } | { readonly kind: 'direct'; readonly at: Endpoint };

export function parseDetector(text: string, what: string): Detector {
  const zk = /^zk:\/\/(?:[^@/]*@)?([^/]+)(\/.*)$/.exec(text);
  if (zk) {
    const hosts = zk[1].split(',').map((h) => endpoint(h, 2181, what));
    return { kind: 'zk', hosts, path: zk[2].replace(/\/+$/, '') || '/' };
  }
  if (/^[A-Za-z0-9.-]+(:\d+)?$/.test(text)) return { kind: 'direct', at: endpoint(text, 5050, what) };
  throw new StartupFailure(`Failed to parse ${what} '${text}': expecting zk://host:port[,host:port]/path or host:port`);
}

function endpoint(text: string, fallback: number, what: string): Endpoint {
  const [host, port] = text.split(':');
  const n = port === undefined ? fallback : Number(port);
  if (!host || !Number.isSafeInteger(n) || n < 1 || n > 65535) throw new StartupFailure(`Failed to parse ${what} address '${text}'`);
  return { host, port: n };
}

/** The flag files of a directory: /etc/mesos-master/quorum holds --quorum; `?flag` files set booleans. */
function flagFiles(files: Files, dir: string): Map<string, string> {
  const flags = new Map<string, string>();
  for (const [path, content] of files) {
    if (!path.startsWith(`${dir}/`)) continue;
    const name = path.slice(dir.length + 1);
    if (name.includes('/')) continue;
    if (name.startsWith('?')) flags.set(name.slice(1), 'true');
    else flags.set(name, content.trim());
  }
  return flags;
}

export interface ZooKeeperConfig {
  readonly myid: number;
  readonly clientPort: number;
  /** server.N=host:2888:3888 lines, by id. */
  readonly servers: ReadonlyMap<number, string>;
}

export function zookeeperConfig(files: Files, address: string): ZooKeeperConfig {
  const cfg = files.get('/etc/zookeeper/conf/zoo.cfg');
  if (cfg === undefined) throw new StartupFailure('Invalid config, exiting abnormally: /etc/zookeeper/conf/zoo.cfg is missing');
  const servers = new Map<number, string>();
  let clientPort = 2181;
  for (const line of cfg.split('\n').map((l) => l.trim())) {
    const server = /^server\.(\d+)=([^:]+):\d+:\d+/.exec(line);
    if (server) servers.set(Number(server[1]), server[2]);
    const port = /^clientPort=(\d+)$/.exec(line);
    if (port) clientPort = Number(port[1]);
  }
  const myidText = files.get('/etc/zookeeper/conf/myid')?.trim();
  const myid = servers.size <= 1 && myidText === undefined ? 1 : Number(myidText);
  if (servers.size > 1 && !Number.isSafeInteger(myid)) throw new StartupFailure('Invalid config, exiting abnormally: myid file is missing');
  if (servers.size > 0 && servers.get(myid) !== address) {
    throw new StartupFailure(`Invalid config, exiting abnormally: myid ${myid} does not name this server (${address}) in zoo.cfg`);
  }
  return { myid, clientPort, servers };
}

/** A principal and its secret, as --credential holds one and --credentials several. */
export interface Credential {
  readonly principal: string;
  readonly secret: string;
}

export interface MasterFlags {
  readonly detector?: Detector;
  readonly quorum?: number;
  readonly ip: string;
  readonly hostname: string;
  readonly port: number;
  readonly cluster?: string;
  /** --authenticate_agents: only agents with one of `credentials` may register. */
  readonly authenticateAgents: boolean;
  /** --authenticate_frameworks: only frameworks with one of `credentials` may register. */
  readonly authenticateFrameworks: boolean;
  /** --credentials: the principals and secrets it accepts. */
  readonly credentials: readonly Credential[];
}

/**
 * A flag that names a file (--credentials=/etc/mesos/credentials, also as
 * file:///…): the file must be on the node, or the daemon does not start.
 */
function fileFlag(files: Files, value: string | undefined, flag: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const path = value.replace(/^file:\/\//, '');
  const content = files.get(path);
  if (content === undefined) throw new StartupFailure(`Failed to load flag '${flag}': Error opening file ${path}: No such file or directory`);
  return content;
}

/** A credentials file: JSON ({"credentials": [{"principal", "secret"}]}, or one such object) or "principal secret" lines. */
function credentialsIn(text: string, flag: string): Credential[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch {
      throw new StartupFailure(`Failed to load flag '${flag}': not valid JSON`);
    }
    const list = (doc as { credentials?: unknown }).credentials ?? [doc];
    if (!Array.isArray(list)) throw new StartupFailure(`Failed to load flag '${flag}': "credentials" must be a list`);
    return list.map((c: { principal?: unknown; secret?: unknown }) => {
      if (typeof c.principal !== 'string' || typeof c.secret !== 'string')
        throw new StartupFailure(`Failed to load flag '${flag}': each credential needs a principal and a secret`);
      return { principal: c.principal, secret: c.secret };
    });
  }
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [principal, secret] = line.trim().split(/\s+/);
      if (!principal || !secret) throw new StartupFailure(`Failed to load flag '${flag}': a line must be "principal secret"`);
      return { principal, secret };
    });
}

export function masterFlags(files: Files, address: string): MasterFlags {
  const flags = flagFiles(files, '/etc/mesos-master');
  const zk = files.get('/etc/mesos/zk')?.trim() || flags.get('zk');
  const detector = zk ? parseDetector(zk, '--zk') : undefined;
  if (!flags.get('work_dir')) throw new StartupFailure('--work_dir needed for replicated log based registry');
  const quorumText = flags.get('quorum');
  if (detector && quorumText === undefined) throw new StartupFailure('Need to specify --quorum for replicated log based registry when using ZooKeeper');
  const quorum = quorumText === undefined ? undefined : Number(quorumText);
  if (quorum !== undefined && (!Number.isSafeInteger(quorum) || quorum < 1))
    throw new StartupFailure(`Failed to load flag 'quorum': '${quorumText}' is not a number`);
  const ip = flags.get('ip') || address;
  const credentials = fileFlag(files, flags.get('credentials'), 'credentials');
  return {
    ...(detector ? { detector } : {}),
    ...(quorum === undefined ? {} : { quorum }),
    ip,
    hostname: flags.get('hostname') || ip,
    port: Number(flags.get('port') ?? 5050),
    ...(flags.get('cluster') ? { cluster: flags.get('cluster')! } : {}),
    authenticateAgents: flags.get('authenticate_agents') === 'true',
    authenticateFrameworks: flags.get('authenticate_frameworks') === 'true',
    credentials: credentials === undefined ? [] : credentialsIn(credentials, 'credentials'),
  };
}

export type AttributeValue = string | number;

export interface AgentFlags {
  readonly detector: Detector;
  readonly ip: string;
  readonly hostname: string;
  readonly port: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly resources?: Readonly<Record<string, number>>;
  /** --credential: what it authenticates with, when the master asks. */
  readonly credential?: Credential;
}

export function agentFlags(files: Files, address: string): AgentFlags {
  const flags = flagFiles(files, '/etc/mesos-slave');
  const master = flags.get('master') || files.get('/etc/mesos/zk')?.trim();
  if (!master) throw new StartupFailure('Missing required option --master or --master_detector');
  if (!flags.get('work_dir')) throw new StartupFailure('Missing required option --work_dir');
  const hostnameFile = flags.get('hostname');
  if (hostnameFile === '') throw new StartupFailure('Empty --hostname: the agent cannot register a usable host name');
  const ip = flags.get('ip') || address;
  const credential = fileFlag(files, flags.get('credential'), 'credential');
  return {
    detector: parseDetector(master, '--master'),
    ip,
    hostname: hostnameFile ?? ip,
    port: Number(flags.get('port') ?? 5051),
    attributes: attributes(files, flags.get('attributes')),
    ...(flags.get('resources') ? { resources: resources(flags.get('resources')!) } : {}),
    ...(credential === undefined ? {} : { credential: credentialsIn(credential, 'credential')[0] }),
  };
}

/** --attributes "a:1;b:x" and /etc/mesos-slave/attributes/<name> files; numbers come back as numbers. */
function attributes(files: Files, inline: string | undefined): Record<string, AttributeValue> {
  const pairs: Array<[string, string]> = [];
  for (const part of (inline ?? '').split(';').filter((p) => p.trim() !== '')) {
    const [name, value] = part.split(':');
    pairs.push([name?.trim() ?? '', value?.trim() ?? '']);
  }
  for (const [path, content] of files) {
    const match = /^\/etc\/mesos-slave\/attributes\/([^/]+)$/.exec(path);
    if (match) pairs.push([match[1], content.trim()]);
  }
  const parsed: Record<string, AttributeValue> = {};
  for (const [name, value] of pairs) {
    if (name === '' || value === '') throw new StartupFailure(`Failed to parse attribute '${name}:${value}'`);
    parsed[name] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return parsed;
}

function resources(text: string): Record<string, number> {
  const parsed: Record<string, number> = {};
  for (const part of text.split(';')) {
    const [name, value] = part.split(':');
    const n = Number(value);
    if (name && Number.isFinite(n)) parsed[name.trim()] = n;
  }
  return parsed;
}

export interface MarathonFlags {
  readonly master: Detector;
  readonly zk?: Detector;
  readonly hostname: string;
  readonly ha: boolean;
  /** --enable_features maintenance_mode: offers from agents under maintenance are declined. */
  readonly maintenanceMode: boolean;
  /** --mesos_authentication with its principal and --mesos_authentication_secret_file: how it registers with Mesos. */
  readonly mesosCredential?: Credential;
  /** --http_credentials user:password: its REST API wants them (HTTP basic). */
  readonly httpCredentials?: { readonly user: string; readonly password: string };
}

export function marathonFlags(files: Files, address: string): MarathonFlags {
  const flags = flagFiles(files, '/etc/marathon/conf');
  const master = flags.get('master');
  if (!master) throw new StartupFailure('Missing required option --master');
  const ha = flags.get('disable_ha') !== 'true';
  const zk = flags.get('zk');
  if (ha && !zk) throw new StartupFailure('High availability mode requires --zk');
  const mesosAuthentication = flags.get('mesos_authentication') === 'true';
  const principal = flags.get('mesos_authentication_principal');
  const secret = fileFlag(files, flags.get('mesos_authentication_secret_file'), 'mesos_authentication_secret_file');
  if (mesosAuthentication && (!principal || secret === undefined)) {
    throw new StartupFailure('--mesos_authentication needs --mesos_authentication_principal and --mesos_authentication_secret_file');
  }
  const http = flags.get('http_credentials');
  const colon = http?.indexOf(':') ?? -1;
  if (http !== undefined && colon <= 0) throw new StartupFailure(`--http_credentials must be user:password`);
  return {
    master: parseDetector(master, '--master'),
    ...(zk ? { zk: parseDetector(zk, '--zk') } : {}),
    hostname: flags.get('hostname') || address,
    ha,
    maintenanceMode: (flags.get('enable_features') ?? '').split(',').some((f) => f.trim() === 'maintenance_mode'),
    ...(mesosAuthentication ? { mesosCredential: { principal: principal!, secret: secret!.trim() } } : {}),
    ...(http === undefined ? {} : { httpCredentials: { user: http.slice(0, colon), password: http.slice(colon + 1) } }),
  };
}
