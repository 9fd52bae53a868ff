/**
 * Every key sm.cfg may hold, with its type and default. Anything not listed
 * here is refused at start-up, so a typo cannot silently fall back to a default.
 */

export type KeySpec =
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string; readonly doc: string }
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly default: number; readonly doc: string }
  | { readonly type: 'path'; readonly default: string; readonly doc: string }
  | { readonly type: 'listen'; readonly default: string; readonly doc: string }
  | { readonly type: 'url'; readonly default: string; readonly special?: readonly string[]; readonly doc: string }
  | { readonly type: 'name'; readonly default: string; readonly doc: string };

export const SCHEMA = {
  general: {
    log_level: { type: 'enum', values: ['error', 'warn', 'info', 'debug'], default: 'info', doc: 'least severe level logged' },
    log_format: {
      type: 'enum',
      values: ['auto', 'json', 'text'],
      default: 'auto',
      doc: 'json lines, readable text, or auto: text on a terminal, json otherwise',
    },
  },
  service_manager: {
    manifest: { type: 'path', default: 'service_manifest.json', doc: 'the service manifest' },
    listen: {
      type: 'listen',
      default: '127.0.0.1',
      doc: 'host[:port] to listen on; the port defaults to the manifest service_endpoint port',
    },
    registry: { type: 'path', default: '../var/registry.db', doc: 'the SQLite registry file' },
    public_url: {
      type: 'url',
      default: '',
      doc: 'base URL clients reach the SM at; empty: taken from each request Host header',
    },
    max_body_bytes: { type: 'int', min: 1024, max: 16 * 1024 * 1024, default: 65536, doc: 'largest request body' },
    max_header_bytes: {
      type: 'int',
      min: 4096,
      max: 1024 * 1024,
      default: 16384,
      doc: 'largest request head (request line and headers)',
    },
  },
  authentication: {
    method: { type: 'enum', values: ['tenants_file'], default: 'tenants_file', doc: 'how tokens are validated' },
    tenants_file: { type: 'path', default: 'tenants.json', doc: 'tenants and the sha256 hashes of their tokens' },
  },
  so_runtime: {
    type: {
      type: 'enum',
      values: ['docker', 'swarm', 'process'],
      default: 'docker',
      doc: 'where service orchestrators run',
    },
    image: { type: 'name', default: 'mesos-so:latest', doc: 'the service orchestrator image' },
  },
  cloudstack: {
    endpoint: {
      type: 'url',
      default: 'embedded',
      special: ['embedded'],
      doc: 'CloudStack base URL, or embedded for the built-in simulator',
    },
    zone: { type: 'name', default: '', doc: 'default zone (name or id) for new clusters' },
    template: { type: 'name', default: '', doc: 'default template (name or id) for new clusters' },
    offering_master: { type: 'name', default: '', doc: 'default service offering for masters' },
    offering_agent: { type: 'name', default: '', doc: 'default service offering for agents' },
  },
  simulator: {
    fixtures: { type: 'path', default: 'simulator.json', doc: 'accounts, zones, templates and timing of the embedded simulator' },
    listen: { type: 'listen', default: '127.0.0.1:8080', doc: 'where the embedded simulator listens' },
    time_scale: { type: 'int', min: 1, max: 10_000, default: 1, doc: 'how many times faster than real time the simulator runs' },
  },
} as const satisfies Record<string, Record<string, KeySpec>>;

export type SectionName = keyof typeof SCHEMA;

/** The environment variable that overrides a key: SM_<SECTION>_<KEY>. */
export function envName(section: string, key: string): string {
  return `SM_${section}_${key}`.toUpperCase();
}
