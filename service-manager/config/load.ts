import { readFileSync } from 'node:fs';
import { validate as validCron } from 'node-cron';
import { dirname, resolve } from 'node:path';
import ini from 'ini';
import { ConfigError } from '../../lib/errors.js';
import { parseListen, type ListenAddress } from '../../lib/listen.js';
import type { LogLevel } from '../../lib/logger.js';
import type { TimedState } from '../model/states.js';
import { SO_MANAGED } from '../../lib/hurtle/environment.js';
import type { Quota } from '../admission/quota.js';
import { SCHEMA, envName, type KeySpec } from './schema.js';
import type { JsonDialect } from '../../lib/occi/negotiate.js';

/** The ports orchestrators may listen on, both ends included. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface SmConfig {
  readonly file: string;
  readonly general: { readonly logLevel: LogLevel; readonly logFormat: 'auto' | 'json' | 'text' };
  readonly serviceManager: {
    readonly manifest: string;
    readonly listen: ListenAddress;
    readonly registry: string;
    readonly keyFile: string;
    readonly secretFiles: 'refuse' | 'warn';
    readonly publicUrl?: string;
    readonly jsonDialect: JsonDialect;
    readonly maxBodyBytes: number;
    readonly maxHeaderBytes: number;
  };
  readonly authentication: { readonly method: 'tenants_file'; readonly tenantsFile: string };
  /** Where the bearer token of GET /metrics is kept; absent: /metrics is open. */
  readonly metrics: { readonly tokenFile?: string };
  readonly soRuntime: {
    readonly type: 'auto' | 'docker' | 'swarm' | 'process';
    readonly image: string;
    readonly dockerHost: string;
    readonly host: string;
    readonly ports: PortRange;
    readonly memoryMb: number;
    readonly cpus: number;
    readonly startTimeoutMs: number;
    readonly maxStarts: number;
    readonly environment: Readonly<Record<string, string>>;
    readonly processDir: string;
  };
  readonly pipeline: {
    readonly deadlinesMs: Readonly<Record<TimedState, number>>;
    readonly pollMinMs: number;
    readonly pollMaxMs: number;
    readonly refreshMs: number;
    readonly maxRunning: number;
  };
  readonly registry: { readonly maxEvents: number; readonly retentionMs: number };
  /** Every tenant's quota unless its entry in the tenants file says otherwise. */
  readonly quota: Quota;
  readonly reconciler: {
    readonly schedules: Readonly<Record<'resync' | 'retries' | 'orphans' | 'vmSweep' | 'prune' | 'autoscale', string>>;
    readonly retryAfterMs: number;
    readonly autoscaleSustainMs: number;
  };
  readonly cloudstack: {
    readonly endpoint: string;
    readonly zone: string;
    readonly template: string;
    readonly offeringMaster: string;
    readonly offeringAgent: string;
    /** The cloud's clock: real time, or a simulator's faster one that started at `origin` (absent: now). */
    readonly clock: { readonly scale: number; readonly origin?: number };
  };
  readonly simulator: { readonly fixtures: string; readonly listen: ListenAddress; readonly control: boolean };
  /** Every key's final value as text, by `section.key`. */
  readonly values: ReadonlyMap<string, string>;
}

type Value = string | number | ListenAddress | PortRange | Readonly<Record<string, string>>;

interface RawValue {
  readonly text: string;
  /** Where it came from, for error messages and for resolving relative paths. */
  readonly origin: { readonly kind: 'file' | 'default' } | { readonly kind: 'env'; readonly name: string };
}

export const CONFIG_PATH_ENV = 'SM_CONFIG_PATH';

/** Reads sm.cfg, applies SM_<SECTION>_<KEY> environment overrides and checks every value. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv, cwd: string): SmConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  return parseConfig(text, resolve(cwd, file), env, cwd);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv, cwd: string): SmConfig {
  const raw = readSections(text, file);
  applyEnvironment(raw, env);
  const values = new Map<string, Value>();
  const texts = new Map<string, string>();
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const [key, spec] of Object.entries(keys as Record<string, KeySpec>)) {
      const id = `${section}.${key}`;
      const given = raw.get(id) ?? { text: String(spec.default), origin: { kind: 'default' as const } };
      const base = given.origin.kind === 'env' ? cwd : dirname(file);
      const value = convert(spec, given, `[${section}] ${key}`, base);
      values.set(id, value);
      texts.set(id, typeof value === 'object' ? given.text : String(value));
    }
  }
  return assemble(file, values, texts);
}

function readSections(text: string, file: string): Map<string, RawValue> {
  const parsed = ini.parse(text) as Record<string, unknown>;
  const raw = new Map<string, RawValue>();
  for (const [section, keys] of Object.entries(parsed)) {
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
      throw new ConfigError(`${file}: key "${section}" is outside any section`);
    }
    const known = (SCHEMA as Record<string, Record<string, KeySpec>>)[section];
    if (known === undefined) {
      throw new ConfigError(`${file}: unknown section [${section}]; known: ${Object.keys(SCHEMA).join(', ')}`);
    }
    for (const [key, value] of Object.entries(keys)) {
      if (!(key in known)) {
        throw new ConfigError(`${file}: unknown key "${key}" in [${section}]; known: ${Object.keys(known).join(', ')}`);
      }
      if (typeof value === 'object' && value !== null) {
        throw new ConfigError(`${file}: [${section}] ${key} must be a single value`);
      }
      raw.set(`${section}.${key}`, { text: String(value).trim(), origin: { kind: 'file' } });
    }
  }
  return raw;
}

function applyEnvironment(raw: Map<string, RawValue>, env: NodeJS.ProcessEnv): void {
  const byEnv = new Map<string, string>();
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) byEnv.set(envName(section, key), `${section}.${key}`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SM_') || name === CONFIG_PATH_ENV || value === undefined) continue;
    const id = byEnv.get(name);
    if (id === undefined) {
      throw new ConfigError(`unknown environment variable ${name}; overrides are named SM_<SECTION>_<KEY>`);
    }
    raw.set(id, { text: value.trim(), origin: { kind: 'env', name } });
  }
}

function convert(spec: KeySpec, given: RawValue, label: string, base: string): Value {
  const text = given.text;
  const where = given.origin.kind === 'env' ? ` (from ${given.origin.name})` : '';
  const fail = (why: string): never => {
    throw new ConfigError(`${label} = "${text}"${where}: ${why}`);
  };
  switch (spec.type) {
    case 'enum':
      return spec.values.includes(text) ? text : fail(`must be one of ${spec.values.join(', ')}`);
    case 'int': {
      if (!/^\d+$/.test(text)) return fail('must be a whole number');
      const n = Number(text);
      return n >= spec.min && n <= spec.max ? n : fail(`must be between ${spec.min} and ${spec.max}`);
    }
    case 'path':
      return text === '' ? fail('must not be empty') : resolve(base, text);
    case 'listen':
      return parseListen(text) ?? fail('must be host or host:port, with a port from 0 to 65535');
    case 'url':
      if (text === '' || spec.special?.includes(text)) return text;
      return isHttpUrl(text) ? text.replace(/\/+$/, '') : fail(`must be an http(s) URL${spec.special ? ` or ${spec.special.join(', ')}` : ''}`);
    case 'name':
      return /^[^\x00-\x1f\x7f]{0,255}$/.test(text) ? text : fail('must be at most 255 printable characters');
    case 'number': {
      const n = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text)) return fail('must be a number such as 0.5');
      return n >= spec.min && n <= spec.max ? n : fail(`must be between ${spec.min} and ${spec.max}`);
    }
    case 'range':
      return portRange(text) ?? fail('must be a port range such as 18000-18999');
    case 'cron':
      return validCron(text) ? text : fail('must be a cron expression (five fields, or six with seconds first)');
    case 'environment':
      return environment(text, fail);
  }
}

function portRange(text: string): PortRange | undefined {
  const match = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = Number(match[2]);
  return from >= 1 && from <= to && to <= 65535 ? { from, to } : undefined;
}

/** The variables the service manager sets itself; the environment key may only add to them. */
const MANAGED_SO_VARIABLES: ReadonlySet<string> = new Set(SO_MANAGED);

function environment(text: string, fail: (why: string) => never): Readonly<Record<string, string>> {
  const variables: Record<string, string> = {};
  for (const pair of text.split(/[\s,]+/).filter((p) => p !== '')) {
    const match = /^(SO_[A-Z0-9_]+)=(.*)$/.exec(pair);
    if (!match) return fail(`"${pair}" is not SO_NAME=value`);
    if (MANAGED_SO_VARIABLES.has(match[1])) return fail(`${match[1]} is set by the service manager`);
    variables[match[1]] = match[2]!;
  }
  return variables;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function assemble(file: string, values: Map<string, Value>, texts: Map<string, string>): SmConfig {
  const str = (id: string): string => values.get(id) as string;
  const num = (id: string): number => values.get(id) as number;
  const publicUrl = str('service_manager.public_url');
  const scale = num('cloudstack.time_scale');
  const origin = num('cloudstack.time_origin');
  if (scale > 1 && origin === 0 && str('cloudstack.endpoint') !== 'embedded') {
    throw new ConfigError(
      `${file}: [cloudstack] time_origin must say when the clock of the cloud at ${str('cloudstack.endpoint')} started (time_scale is ${scale})`,
    );
  }
  return {
    file,
    general: {
      logLevel: str('general.log_level') as LogLevel,
      logFormat: str('general.log_format') as SmConfig['general']['logFormat'],
    },
    serviceManager: {
      manifest: str('service_manager.manifest'),
      listen: values.get('service_manager.listen') as ListenAddress,
      registry: str('service_manager.registry'),
      keyFile: str('service_manager.key_file'),
      secretFiles: str('service_manager.secret_files') as SmConfig['serviceManager']['secretFiles'],
      ...(publicUrl === '' ? {} : { publicUrl }),
      jsonDialect: str('service_manager.json_dialect') as JsonDialect,
      maxBodyBytes: num('service_manager.max_body_bytes'),
      maxHeaderBytes: num('service_manager.max_header_bytes'),
    },
    authentication: { method: 'tenants_file', tenantsFile: str('authentication.tenants_file') },
    metrics: str('metrics.token_file') === '' ? {} : { tokenFile: resolve(dirname(file), str('metrics.token_file')) },
    soRuntime: {
      type: str('so_runtime.type') as SmConfig['soRuntime']['type'],
      image: str('so_runtime.image'),
      dockerHost: str('so_runtime.docker_host'),
      host: str('so_runtime.host'),
      ports: values.get('so_runtime.ports') as PortRange,
      memoryMb: num('so_runtime.memory_mb'),
      cpus: num('so_runtime.cpus'),
      startTimeoutMs: num('so_runtime.start_timeout_s') * 1000,
      maxStarts: num('so_runtime.max_starts'),
      environment: values.get('so_runtime.environment') as Readonly<Record<string, string>>,
      processDir: str('so_runtime.process_dir'),
    },
    pipeline: {
      deadlinesMs: {
        initialise: num('pipeline.deadline_initialise_s') * 1000,
        activate: num('pipeline.deadline_activate_s') * 1000,
        deploy: num('pipeline.deadline_deploy_s') * 1000,
        provision: num('pipeline.deadline_provision_s') * 1000,
        update: num('pipeline.deadline_update_s') * 1000,
        destroy: num('pipeline.deadline_destroy_s') * 1000,
      },
      pollMinMs: num('pipeline.poll_min_ms'),
      pollMaxMs: Math.max(num('pipeline.poll_min_ms'), num('pipeline.poll_max_ms')),
      refreshMs: num('pipeline.refresh_ms'),
      maxRunning: num('pipeline.max_running'),
    },
    registry: { maxEvents: num('registry.max_events'), retentionMs: num('registry.retention_days') * 86_400_000 },
    quota: {
      instances: num('quota.instances'),
      vms: num('quota.vms'),
      agentsPerInstance: num('quota.agents_per_instance'),
      writesPerMinute: num('quota.writes_per_minute'),
      writeBurst: num('quota.write_burst'),
    },
    reconciler: {
      schedules: {
        resync: str('reconciler.resync'),
        retries: str('reconciler.retries'),
        orphans: str('reconciler.orphans'),
        vmSweep: str('reconciler.vm_sweep'),
        prune: str('reconciler.prune'),
        autoscale: str('reconciler.autoscale'),
      },
      retryAfterMs: num('reconciler.retry_after_s') * 1000,
      autoscaleSustainMs: num('reconciler.autoscale_sustain_s') * 1000,
    },
    cloudstack: {
      endpoint: str('cloudstack.endpoint'),
      zone: str('cloudstack.zone'),
      template: str('cloudstack.template'),
      offeringMaster: str('cloudstack.offering_master'),
      offeringAgent: str('cloudstack.offering_agent'),
      clock: { scale, ...(origin === 0 ? {} : { origin }) },
    },
    simulator: {
      fixtures: str('simulator.fixtures'),
      listen: values.get('simulator.listen') as ListenAddress,
      control: str('simulator.control') === 'on',
    },
    values: texts,
  };
}
