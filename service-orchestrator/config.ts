import { readFileSync } from 'node:fs';
import { ConfigError } from '../lib/errors.js';
import { HURTLE_CC_ENV, HURTLE_SO_PORT, SO_ENV, SO_SECRETS } from '../lib/hurtle/environment.js';
import { parseListen, type ListenAddress } from '../lib/listen.js';
import type { LogLevel } from '../lib/logger.js';
import { isObject } from '../lib/objects.js';
import type { RawValue } from './cluster/parameters.js';
import type { OrchestratorSettings } from './orchestrator.js';

/**
 * One orchestrator's configuration, all from its environment: the SO_*
 * variables a service manager of this project sets, or, under hurtle's
 * cloud controller, what it gives a container (DC_NAME, PORT, DESIGN_URI).
 */
export interface SoConfig {
  readonly instanceId: string;
  /** The instance's tenant; unset, the orchestrator serves the tenant whose PUT initialises it, as under hurtle. */
  readonly tenant?: string;
  /** The address the orchestrator's requests to the cluster leave from, when it listens on one. */
  readonly sourceAddress?: string;
  /** The key the service manager signs its requests with; unset, any caller is served, as in hurtle. */
  readonly authKey?: string;
  /** What the cluster's own credentials are derived from; unset, they derive from the CloudStack secret key. */
  readonly clusterSecret?: string;
  /** The service manager driving this orchestrator, recorded in the VMs' tags. */
  readonly managerId?: string;
  readonly listen: ListenAddress & { readonly port: number };
  readonly cloudstack: { readonly endpoint: string; readonly apiKey: string; readonly secretKey: string };
  /** The instance's attributes; PUT /orchestrator/default may add to them. */
  readonly parameters: ReadonlyMap<string, RawValue>;
  readonly settings: OrchestratorSettings;
  readonly probeTimeoutMs: number;
  readonly timeScale: number;
  readonly timeOrigin?: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'auto' | 'json' | 'text';
}

type Spec =
  | { readonly kind: 'text'; readonly required: boolean; readonly fallback?: string }
  | { readonly kind: 'int'; readonly fallback: number; readonly min: number; readonly max: number }
  | { readonly kind: 'choice'; readonly values: readonly string[]; readonly fallback: string };

const SPECS: Record<string, Spec> = {
  [SO_ENV.instanceId]: { kind: 'text', required: false },
  [SO_ENV.tenant]: { kind: 'text', required: false },
  [SO_ENV.authKey]: { kind: 'text', required: false },
  [SO_ENV.clusterSecret]: { kind: 'text', required: false },
  [SO_ENV.managerId]: { kind: 'text', required: false },
  [SO_ENV.listen]: { kind: 'text', required: false },
  SO_MANAGEMENT_CIDR: { kind: 'text', required: false },
  [SO_ENV.cloudstackEndpoint]: { kind: 'text', required: false },
  [SO_ENV.cloudstackApiKey]: { kind: 'text', required: false },
  [SO_ENV.cloudstackSecretKey]: { kind: 'text', required: false },
  [SO_ENV.parameters]: { kind: 'text', required: false, fallback: '{}' },
  SO_DEADLINE_DESIGN_S: { kind: 'int', fallback: 60, min: 1, max: 3600 },
  SO_DEADLINE_DEPLOY_S: { kind: 'int', fallback: 1200, min: 1, max: 86_400 },
  SO_DEADLINE_PROVISION_S: { kind: 'int', fallback: 900, min: 1, max: 86_400 },
  SO_DEADLINE_UPDATE_S: { kind: 'int', fallback: 1200, min: 1, max: 86_400 },
  SO_DEADLINE_DELETE_S: { kind: 'int', fallback: 600, min: 1, max: 86_400 },
  SO_DEADLINE_MASTERS_S: { kind: 'int', fallback: 300, min: 1, max: 86_400 },
  SO_DEADLINE_AGENT_S: { kind: 'int', fallback: 300, min: 1, max: 86_400 },
  SO_MAX_REPLACEMENTS: { kind: 'int', fallback: 2, min: 0, max: 10 },
  SO_CONCURRENCY: { kind: 'int', fallback: 64, min: 1, max: 1000 },
  SO_STABLE_S: { kind: 'int', fallback: 5, min: 0, max: 600 },
  SO_AGENT_FLAP_QUARANTINE_S: { kind: 'int', fallback: 90, min: 0, max: 3600 },
  SO_HEALTH_INTERVAL_S: { kind: 'int', fallback: 10, min: 1, max: 3600 },
  SO_SMOKE_TIMEOUT_S: { kind: 'int', fallback: 120, min: 1, max: 3600 },
  SO_DRAIN_TIMEOUT_S: { kind: 'int', fallback: 300, min: 0, max: 86_400 },
  SO_AGENT_UNHEALTHY_S: { kind: 'int', fallback: 60, min: 1, max: 86_400 },
  SO_MASTER_UNHEALTHY_S: { kind: 'int', fallback: 120, min: 1, max: 86_400 },
  SO_MAX_UNHEALTHY: { kind: 'int', fallback: 40, min: 0, max: 100 },
  SO_REPLACE_BACKOFF_S: { kind: 'int', fallback: 30, min: 0, max: 3600 },
  SO_VM_START_TIMEOUT_S: { kind: 'int', fallback: 300, min: 1, max: 86_400 },
  SO_POLL_MIN_MS: { kind: 'int', fallback: 1000, min: 1, max: 60_000 },
  SO_POLL_MAX_MS: { kind: 'int', fallback: 1000, min: 1, max: 600_000 },
  SO_PROBE_TIMEOUT_MS: { kind: 'int', fallback: 3000, min: 1, max: 60_000 },
  [SO_ENV.timeScale]: { kind: 'int', fallback: 1, min: 1, max: 10_000 },
  [SO_ENV.timeOrigin]: { kind: 'text', required: false },
  [SO_ENV.logLevel]: { kind: 'choice', values: ['error', 'warn', 'info', 'debug'], fallback: 'info' },
  [SO_ENV.logFormat]: { kind: 'choice', values: ['auto', 'json', 'text'], fallback: 'auto' },
};

/** Secrets may instead come from a file named by <NAME>_FILE, as with Docker and Swarm secrets. */
const SECRETS: readonly string[] = SO_SECRETS;

/** Reads SO_* variables; an unknown one, a missing required one or a bad value is an error naming it. */
export function readSoConfig(env: NodeJS.ProcessEnv): SoConfig {
  for (const name of Object.keys(env)) {
    const known = name in SPECS || SECRETS.some((secret) => name === `${secret}_FILE`);
    if (name.startsWith('SO_') && !known) throw new ConfigError(`unknown environment variable ${name}`);
  }
  const given = withSecretFiles(env);
  const values = new Map<string, string | number>();
  for (const [name, spec] of Object.entries(SPECS)) {
    const value = read(name, spec, given[name]);
    if (value !== undefined) values.set(name, value);
  }
  const text = (name: string): string => values.get(name) as string;
  const int = (name: string): number => values.get(name) as number;
  const listenText = values.has(SO_ENV.listen) ? text(SO_ENV.listen) : `0.0.0.0:${hurtlePort(given[HURTLE_CC_ENV.port])}`;
  const listen = parseListen(listenText);
  if (!listen || listen.port === undefined) throw new ConfigError(`SO_LISTEN = "${listenText}" must be host:port`);
  const sourceAddress = isOwnAddress(listen.host) ? listen.host : undefined;
  const managementCidr = values.has('SO_MANAGEMENT_CIDR') ? text('SO_MANAGEMENT_CIDR') : `${sourceAddress ?? '127.0.0.1'}/32`;
  if (!IPV4_CIDR.test(managementCidr)) throw new ConfigError(`SO_MANAGEMENT_CIDR = "${managementCidr}" must be an IPv4 CIDR block such as 192.0.2.10/32`);
  const origin = values.get(SO_ENV.timeOrigin);
  if (origin !== undefined && !/^\d+$/.test(String(origin))) throw new ConfigError(`SO_TIME_ORIGIN = "${origin}" must be epoch milliseconds`);
  const optional = (name: string, key: 'authKey' | 'clusterSecret' | 'managerId'): Partial<SoConfig> => (values.has(name) ? { [key]: text(name) } : {});
  return {
    instanceId: instanceIdOf(values.get(SO_ENV.instanceId) as string | undefined, given),
    ...(values.has(SO_ENV.tenant) ? { tenant: text(SO_ENV.tenant) } : {}),
    ...optional(SO_ENV.authKey, 'authKey'),
    ...optional(SO_ENV.clusterSecret, 'clusterSecret'),
    ...optional(SO_ENV.managerId, 'managerId'),
    listen: { host: listen.host, port: listen.port },
    ...(sourceAddress === undefined ? {} : { sourceAddress }),
    cloudstack: cloudstackAccount(values, given[HURTLE_CC_ENV.designUri]),
    parameters: parameters(text(SO_ENV.parameters)),
    settings: {
      designDeadlineMs: int('SO_DEADLINE_DESIGN_S') * 1000,
      deployDeadlineMs: int('SO_DEADLINE_DEPLOY_S') * 1000,
      provisionDeadlineMs: int('SO_DEADLINE_PROVISION_S') * 1000,
      updateDeadlineMs: int('SO_DEADLINE_UPDATE_S') * 1000,
      deleteDeadlineMs: int('SO_DEADLINE_DELETE_S') * 1000,
      mastersDeadlineMs: int('SO_DEADLINE_MASTERS_S') * 1000,
      agentDeadlineMs: int('SO_DEADLINE_AGENT_S') * 1000,
      maxReplacements: int('SO_MAX_REPLACEMENTS'),
      concurrency: int('SO_CONCURRENCY'),
      stableMs: int('SO_STABLE_S') * 1000,
      flapQuarantineMs: int('SO_AGENT_FLAP_QUARANTINE_S') * 1000,
      healthIntervalMs: int('SO_HEALTH_INTERVAL_S') * 1000,
      smokeTimeoutMs: int('SO_SMOKE_TIMEOUT_S') * 1000,
      drainTimeoutMs: int('SO_DRAIN_TIMEOUT_S') * 1000,
      agentUnhealthyMs: int('SO_AGENT_UNHEALTHY_S') * 1000,
      masterUnhealthyMs: int('SO_MASTER_UNHEALTHY_S') * 1000,
      maxUnhealthy: int('SO_MAX_UNHEALTHY') / 100,
      replaceBackoffMs: int('SO_REPLACE_BACKOFF_S') * 1000,
      vmStartTimeoutMs: int('SO_VM_START_TIMEOUT_S') * 1000,
      pollMinMs: int('SO_POLL_MIN_MS'),
      pollMaxMs: int('SO_POLL_MAX_MS'),
      managementCidr,
    },
    probeTimeoutMs: int('SO_PROBE_TIMEOUT_MS'),
    timeScale: int(SO_ENV.timeScale),
    ...(origin === undefined ? {} : { timeOrigin: Number(origin) }),
    logLevel: text(SO_ENV.logLevel) as LogLevel,
    logFormat: text(SO_ENV.logFormat) as SoConfig['logFormat'],
  };
}

/** hurtle's cloud controller names the container after the instance (DC_NAME); Docker names it by its hostname. */
function instanceIdOf(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const id = [given, env[HURTLE_CC_ENV.dcName], env[HURTLE_CC_ENV.hostname]].map((v) => v?.trim()).find((v) => v !== undefined && v !== '');
  if (id === undefined)
    throw new ConfigError(`${SO_ENV.instanceId} is required (under hurtle, ${HURTLE_CC_ENV.dcName} or ${HURTLE_CC_ENV.hostname} names the instance)`);
  return id;
}

function hurtlePort(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return HURTLE_SO_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new ConfigError(`PORT = "${value}" must be a port number from 0 (any free one) to 65535`);
  return port;
}

const DESIGN_URI_FORM = 'DESIGN_URI=http://<api key>:<secret key>@<management server>/client/api';

/**
 * The CloudStack account: the SO_CLOUDSTACK_* variables, or under hurtle
 * the design URI its service manager passes every orchestrator, which
 * names the management server's API with the account's keys as user
 * information. The URI is never echoed: it holds the secret key.
 */
function cloudstackAccount(values: ReadonlyMap<string, string | number>, designUri: string | undefined): SoConfig['cloudstack'] {
  const design = designUri === undefined || designUri.trim() === '' ? undefined : parseDesignUri(designUri.trim());
  const pick = (name: string, fromDesign: string | undefined): string => {
    const value = (values.get(name) as string | undefined) ?? fromDesign;
    if (value === undefined || value === '') throw new ConfigError(`${name} is required (under hurtle, give the account as ${DESIGN_URI_FORM})`);
    return value;
  };
  return {
    endpoint: pick(SO_ENV.cloudstackEndpoint, design?.endpoint),
    apiKey: pick(SO_ENV.cloudstackApiKey, design?.apiKey),
    secretKey: pick(SO_ENV.cloudstackSecretKey, design?.secretKey),
  };
}

function parseDesignUri(text: string): { endpoint: string; apiKey?: string; secretKey?: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`DESIGN_URI is not a URL; give the CloudStack account as ${DESIGN_URI_FORM}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`DESIGN_URI must be an http or https URL: ${DESIGN_URI_FORM}`);
  const decode = (part: string): string | undefined => {
    if (part === '') return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      throw new ConfigError('DESIGN_URI: the account in its user information is not valid percent-encoding');
    }
  };
  const apiKey = decode(url.username);
  const secretKey = decode(url.password);
  url.username = '';
  url.password = '';
  return { endpoint: url.toString(), ...(apiKey === undefined ? {} : { apiKey }), ...(secretKey === undefined ? {} : { secretKey }) };
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/;

/** A single IPv4 address to listen on (not all of them): the orchestrator's requests then leave from it too. */
function isOwnAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host !== '0.0.0.0';
}

function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const given = { ...env };
  for (const secret of SECRETS) {
    const file = env[`${secret}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[secret] !== undefined) throw new ConfigError(`set either ${secret} or ${secret}_FILE, not both`);
    try {
      given[secret] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${secret}_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return given;
}

function read(name: string, spec: Spec, raw: string | undefined): string | number | undefined {
  const value = raw?.trim();
  if (value === undefined || value === '') {
    if (spec.kind === 'text' && spec.required) throw new ConfigError(`${name} is required`);
    return spec.fallback;
  }
  switch (spec.kind) {
    case 'text':
      return value;
    case 'choice':
      if (!spec.values.includes(value)) throw new ConfigError(`${name} = "${value}" must be one of ${spec.values.join(', ')}`);
      return value;
    case 'int': {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < spec.min || n > spec.max)
        throw new ConfigError(`${name} = "${value}" must be a whole number from ${spec.min} to ${spec.max}`);
      return n;
    }
  }
}

function parameters(json: string): Map<string, RawValue> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`SO_PARAMETERS is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError('SO_PARAMETERS must be a JSON object of attributes');
  const map = new Map<string, RawValue>();
  for (const [name, value] of Object.entries(doc)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConfigError(`SO_PARAMETERS: ${name} must be a string, number or boolean`);
    }
    map.set(name, value);
  }
  return map;
}
