import { collectDefaultMetrics, Registry } from 'prom-client';

/** The metrics of a whole process: a registry with Node's own (CPU, memory, event loop lag, GC), made once by a main. */
export function processMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
