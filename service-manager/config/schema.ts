/**
 * Every key sm.cfg may hold, with its type and default. Anything not listed
 * here is refused at start-up, so a typo cannot silently fall back to a default.
 */

export type KeySpec =
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string; readonly doc: string }
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly default: number; readonly doc: string }
  | { readonly type: 'number'; readonly min: number; readonly max: number; readonly default: number; readonly doc: string }
  | { readonly type: 'range'; readonly default: string; readonly doc: string }
  | { readonly type: 'cron'; readonly default: string; readonly doc: string }
  | { readonly type: 'environment'; readonly default: string; readonly doc: string }
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
    key_file: {
      type: 'path',
      default: '../var/manager.key',
      doc: 'the key every orchestrator key is derived from; made at the first start, readable by the service manager only',
    },
    secret_files: {
      type: 'enum',
      values: ['refuse', 'warn'],
      default: 'refuse',
      doc: 'start-up when the tenants file or the key file is readable by group or others: refuse, or warn and go on',
    },
    public_url: {
      type: 'url',
      default: '',
      doc: 'base URL clients reach the SM at; empty: taken from each request Host header',
    },
    json_dialect: {
      type: 'enum',
      values: ['gfd225', 'pyssf'],
      default: 'gfd225',
      doc: "the shape of application/occi+json: GFD.225, or pyssf's older one that hurtle's service manager and client code read",
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
  metrics: {
    token_file: {
      type: 'name',
      default: '',
      doc: 'a file (relative to sm.cfg) holding the bearer token GET /metrics then requires, readable by the service manager only; empty: /metrics is open, like the probes',
    },
  },
  authentication: {
    method: { type: 'enum', values: ['tenants_file'], default: 'tenants_file', doc: 'how tokens are validated' },
    tenants_file: { type: 'path', default: 'tenants.json', doc: 'tenants and the sha256 hashes of their tokens' },
  },
  so_runtime: {
    type: {
      type: 'enum',
      values: ['auto', 'docker', 'swarm', 'process'],
      default: 'auto',
      doc: 'where service orchestrators run; auto: docker when an engine answers and has the image, else process',
    },
    image: { type: 'name', default: 'mesos-so:latest', doc: 'the service orchestrator image (docker, swarm)' },
    docker_host: {
      type: 'name',
      default: '',
      doc: 'the Docker engine: unix:///path/docker.sock or tcp://host:port; empty: DOCKER_HOST or the local socket',
    },
    host: { type: 'name', default: '127.0.0.1', doc: 'the address orchestrators listen on and the SM reaches them at' },
    ports: { type: 'range', default: '18000-18999', doc: 'the ports handed to orchestrators, one per instance' },
    memory_mb: { type: 'int', min: 64, max: 65536, default: 256, doc: 'memory limit of each orchestrator container' },
    cpus: { type: 'number', min: 0.05, max: 64, default: 0.5, doc: 'CPU limit of each orchestrator container' },
    start_timeout_s: {
      type: 'int',
      min: 1,
      max: 3600,
      default: 60,
      doc: 'how long an orchestrator may stay silent before it is replaced',
    },
    max_starts: { type: 'int', min: 1, max: 100, default: 3, doc: 'orchestrator starts in one state before the instance fails' },
    environment: {
      type: 'environment',
      default: '',
      doc: 'extra SO_* variables for every orchestrator, e.g. SO_DEADLINE_DEPLOY_S=1800 SO_LOG_LEVEL=debug',
    },
    process_dir: { type: 'path', default: '../var/so', doc: 'pid and log files of the process runtime' },
  },
  pipeline: {
    deadline_initialise_s: { type: 'int', min: 1, max: 86_400, default: 180, doc: 'to start the orchestrator' },
    deadline_activate_s: { type: 'int', min: 1, max: 86_400, default: 180, doc: 'to initialise it and request the deploy' },
    deadline_deploy_s: { type: 'int', min: 1, max: 86_400, default: 1800, doc: 'for every VM to run' },
    deadline_provision_s: { type: 'int', min: 1, max: 86_400, default: 1500, doc: 'for the cluster to be ready' },
    deadline_update_s: { type: 'int', min: 1, max: 86_400, default: 1800, doc: 'for an update to be ready' },
    deadline_destroy_s: { type: 'int', min: 1, max: 86_400, default: 900, doc: 'for every VM to be gone' },
    poll_min_ms: { type: 'int', min: 10, max: 60_000, default: 250, doc: 'first wait between two looks at an orchestrator' },
    poll_max_ms: { type: 'int', min: 10, max: 600_000, default: 1000, doc: 'longest wait between two looks' },
    max_running: {
      type: 'int',
      min: 1,
      max: 10_000,
      default: 32,
      doc: 'pipeline steps (looks at orchestrators and actions) of all instances running at once',
    },
    refresh_ms: {
      type: 'int',
      min: 0,
      max: 600_000,
      default: 1000,
      doc: 'a GET of an instance asks its orchestrator when what the SM knows is older than this',
    },
  },
  registry: {
    max_events: { type: 'int', min: 100, max: 1_000_000, default: 1000, doc: 'events kept per instance; older progress events are folded into one' },
    retention_days: { type: 'int', min: 1, max: 36_500, default: 30, doc: 'how long a removed instance and its history are kept' },
  },
  quota: {
    instances: { type: 'int', min: 1, max: 1_000_000, default: 20, doc: 'live instances per tenant, failed ones included' },
    vms: { type: 'int', min: 1, max: 10_000_000, default: 200, doc: 'VMs per tenant: masters, agents and the agents autoscaling may add' },
    agents_per_instance: { type: 'int', min: 1, max: 100_000, default: 100, doc: 'agents of one instance, its autoscaling maximum included' },
    writes_per_minute: { type: 'int', min: 1, max: 1_000_000, default: 120, doc: 'creates, updates, actions and deletes per tenant and minute' },
    write_burst: { type: 'int', min: 1, max: 1_000_000, default: 60, doc: 'writes a tenant may make at once before the per-minute rate applies' },
  },
  reconciler: {
    resync: {
      type: 'cron',
      default: '*/10 * * * * *',
      doc: 'look at every instance: restart stopped orchestrators, fail phases past their deadline, follow the health of ready clusters',
    },
    retries: { type: 'cron', default: '*/15 * * * * *', doc: 'retry failed teardowns and clean-ups' },
    orphans: { type: 'cron', default: '0 * * * * *', doc: 'remove orchestrators that belong to no instance' },
    vm_sweep: { type: 'cron', default: '30 */5 * * * *', doc: 'destroy VMs of instances that no longer exist' },
    prune: {
      type: 'cron',
      default: '0 17 3 * * *',
      doc: 'removed instances older than [registry] retention_days are deleted with their histories',
    },
    autoscale: { type: 'cron', default: '*/10 * * * * *', doc: 'look at the load of every autoscaled cluster and resize it' },
    autoscale_sustain_s: {
      type: 'int',
      min: 0,
      max: 86_400,
      default: 60,
      doc: 'how long cpu utilisation must stay past an autoscaling threshold before it counts',
    },
    retry_after_s: {
      type: 'int',
      min: 1,
      max: 86_400,
      default: 60,
      doc: 'wait before a failed teardown is retried; doubles with each attempt, up to an hour',
    },
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
    time_scale: {
      type: 'int',
      min: 1,
      max: 10_000,
      default: 1,
      doc: 'the cloud runs this many times faster than real time (a simulator); the SM and its orchestrators sign and wait on that clock',
    },
    time_origin: {
      type: 'int',
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      default: 0,
      doc: 'when a faster cloud clock started, in epoch ms (the simulator prints it); 0: the embedded simulator starts it now',
    },
  },
  simulator: {
    fixtures: { type: 'path', default: 'simulator.json', doc: 'accounts, zones, templates and timing of the embedded simulator' },
    listen: { type: 'listen', default: '127.0.0.1:8080', doc: 'where the embedded simulator listens' },
    control: {
      type: 'enum',
      values: ['on', 'off'],
      default: 'on',
      doc: 'serve the embedded simulator control API /sim (it can stop and destroy any VM: local trials only)',
    },
  },
} as const satisfies Record<string, Record<string, KeySpec>>;

export type SectionName = keyof typeof SCHEMA;

/** The environment variable that overrides a key: SM_<SECTION>_<KEY>. */
export function envName(section: string, key: string): string {
  return `SM_${section}_${key}`.toUpperCase();
}
