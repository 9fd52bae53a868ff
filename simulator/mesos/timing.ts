/**
 * How long the emulated daemons take, in simulated milliseconds. The
 * defaults follow the real daemons' own defaults where they have one
 * (registry fetch timeout 1 min, agent ping 15 s × 5, registration backoff
 * up to 1 s) and typical start times otherwise.
 */
export interface MesosTiming {
  readonly zookeeperStartMs: number;
  readonly masterStartMs: number;
  readonly electionMs: number;
  readonly recoveryMs: number;
  readonly registryFetchTimeoutMs: number;
  readonly supervisorRestartMs: number;
  readonly agentStartMs: number;
  readonly agentRecoveryMs: number;
  readonly registrationBackoffMs: number;
  readonly agentPingTimeoutMs: number;
  readonly maxAgentPingTimeouts: number;
  readonly marathonStartMs: number;
  readonly marathonElectionMs: number;
  /** From launch to TASK_RUNNING: fetching, starting the executor. */
  readonly taskStagingMs: number;
  /** From a kill to TASK_KILLED: the executor's grace period. */
  readonly taskKillMs: number;
}

export const DEFAULT_MESOS_TIMING: MesosTiming = {
  zookeeperStartMs: 2000,
  masterStartMs: 3000,
  electionMs: 2000,
  recoveryMs: 1000,
  registryFetchTimeoutMs: 60_000,
  supervisorRestartMs: 5000,
  agentStartMs: 4000,
  agentRecoveryMs: 1000,
  registrationBackoffMs: 1000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  marathonStartMs: 20_000,
  marathonElectionMs: 3000,
  taskStagingMs: 2000,
  taskKillMs: 1000,
};
