import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthEventKind } from '../lib/cluster/health.js';
import { CallMetrics } from '../lib/metrics/calls.js';
import { HttpMetrics } from '../lib/metrics/http.js';
import type { InstanceRegistry } from './registry/registry.js';
import type { SoListing, SoRuntime } from './runtime/runtime.js';
import { STATES, type ServiceState } from './model/states.js';

const SECONDS_IN_A_STATE = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600];

/**
 * What the service manager tells Prometheus. Labels stay bounded: states,
 * tenants, routes, calls, commands and checks, never an instance. Instances
 * by state are counted from the registry when scraped; the rest is counted
 * as it happens.
 */
export class SmMetrics {
  readonly http: HttpMetrics;
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly stateSeconds: Histogram<'state'>;
  /** Calls to orchestrators, by call (read, init, deploy, …). */
  readonly soCalls: CallMetrics;
  /** The service manager's own CloudStack calls (account capacity, the VM sweep), by command. */
  readonly cloudstackCalls: CallMetrics;
  private readonly starts: Counter<'runtime' | 'outcome'>;
  private readonly checks: Counter<'check' | 'outcome'>;
  private readonly acted: Counter<'check'>;
  private readonly health: Counter<'kind'>;
  /** Each instance's state and since when, as last written, so that leaving it can be timed. */
  private readonly entered = new Map<string, { readonly state: ServiceState; readonly since: number }>();

  constructor(
    readonly registry: Registry,
    instances: InstanceRegistry,
  ) {
    const registers = [registry];
    this.http = new HttpMetrics(registry);
    new Gauge({
      name: 'sm_instances',
      help: 'Live instances by lifecycle state and tenant (degraded: a ready cluster that lost a node).',
      labelNames: ['state', 'tenant'],
      registers,
      collect() {
        this.reset();
        for (const { state, tenant, count } of instances.stateCounts()) this.set({ state, tenant }, count);
      },
    });
    this.transitions = new Counter({
      name: 'sm_instance_transitions_total',
      help: 'Lifecycle state changes, by the state left and the state entered.',
      labelNames: ['from', 'to'],
      registers,
    });
    this.stateSeconds = new Histogram({
      name: 'sm_instance_state_duration_seconds',
      help: 'Time instances spent in a state before leaving it.',
      labelNames: ['state'],
      buckets: SECONDS_IN_A_STATE,
      registers,
    });
    this.soCalls = new CallMetrics(registry, 'sm_orchestrator', 'Calls to orchestrators', 'call');
    this.cloudstackCalls = new CallMetrics(registry, 'sm_cloudstack', "The service manager's own CloudStack calls", 'command');
    this.starts = new Counter({
      name: 'sm_orchestrator_starts_total',
      help: 'Orchestrators started (or restarted), by runtime and outcome.',
      labelNames: ['runtime', 'outcome'],
      registers,
    });
    this.checks = new Counter({
      name: 'sm_reconciler_runs_total',
      help: 'Runs of the periodic checks, by check and outcome.',
      labelNames: ['check', 'outcome'],
      registers,
    });
    this.acted = new Counter({
      name: 'sm_reconciler_acted_total',
      help: 'Instances, orchestrators or VMs the periodic checks acted on, by check.',
      labelNames: ['check'],
      registers,
    });
    this.health = new Counter({
      name: 'sm_cluster_health_events_total',
      help: 'Health events orchestrators reported of ready clusters, by kind (degraded, healed, leader-changed, replacing, replaced, replacement-failed, …).',
      labelNames: ['kind'],
      registers,
    });
    for (const state of STATES) this.stateSeconds.zero({ state });
    instances.onWrite((uid, record) => {
      const before = this.entered.get(uid);
      if (!record) {
        this.entered.delete(uid);
        return;
      }
      if (before && before.state !== record.state) {
        this.transitions.inc({ from: before.state, to: record.state });
        this.stateSeconds.observe({ state: before.state }, Math.max(0, record.stateSince - before.since) / 1000);
      }
      this.entered.set(uid, { state: record.state, since: record.stateSince });
    });
  }

  healthReported(kind: HealthEventKind): void {
    this.health.inc({ kind });
  }

  reconcilerRun(check: string, outcome: 'ok' | 'failed', acted: number): void {
    this.checks.inc({ check, outcome });
    if (acted > 0) this.acted.inc({ check }, acted);
  }

  /** The runtime as it is, with every start counted. */
  counted(runtime: SoRuntime): SoRuntime {
    const starts = this.starts;
    return {
      kind: runtime.kind,
      async start(launch) {
        try {
          await runtime.start(launch);
          starts.inc({ runtime: runtime.kind, outcome: 'started' });
        } catch (error) {
          starts.inc({ runtime: runtime.kind, outcome: 'failed' });
          throw error;
        }
      },
      status: (uid) => runtime.status(uid),
      remove: (uid) => runtime.remove(uid),
      list: (): Promise<SoListing[]> => runtime.list(),
      logs: (uid, lines) => runtime.logs(uid, lines),
      ping: () => runtime.ping(),
    };
  }
}
