import { Counter, Histogram, type Registry } from 'prom-client';

const CALL_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Calls to another system by name and outcome, with their latency:
 * `<prefix>_calls_total{<label>, outcome}` and
 * `<prefix>_call_duration_seconds{<label>}`.
 */
export class CallMetrics {
  private readonly calls: Counter;
  private readonly latency: Histogram;

  constructor(
    registry: Registry,
    prefix: string,
    what: string,
    private readonly label: string,
  ) {
    this.calls = new Counter({
      name: `${prefix}_calls_total`,
      help: `${what}, by ${label} and outcome.`,
      labelNames: [label, 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: `${prefix}_call_duration_seconds`,
      help: `Latency of ${what.toLowerCase()}, by ${label}.`,
      labelNames: [label],
      buckets: CALL_SECONDS,
      registers: [registry],
    });
  }

  observe(name: string, outcome: string, seconds: number): void {
    this.calls.inc({ [this.label]: name, outcome });
    this.latency.observe({ [this.label]: name }, seconds);
  }
}
