/**
 * The image's HEALTHCHECK: asks the orchestrator of this container for
 * /healthz where its own configuration (the same environment) says it
 * listens. Exits 0 when it answers 200, 1 otherwise.
 */
import { HEALTH_PATH } from '../lib/http/probes.js';
import { readSoConfig } from './config.js';

const TIMEOUT_MS = 2000;

/** Where to reach a server listening on this host: an address that means every interface is reached on loopback. */
function reachable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

try {
  const { listen } = readSoConfig(process.env);
  const response = await fetch(`http://${reachable(listen.host)}:${listen.port}${HEALTH_PATH}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
