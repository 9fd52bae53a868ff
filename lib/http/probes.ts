import type { RequestHandler } from 'express';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { sendText } from './context.js';

/** One readiness check: resolves when what it checks can be used, rejects saying why not. */
export type ReadinessCheck = () => Promise<void>;

export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';

/** How long a check may take before it counts as failing: a probe must answer before the prober gives up. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * The probes a load balancer or an orchestrator of containers asks, before
 * any authentication: `GET /healthz` answers 200 while the process serves;
 * `GET /readyz` runs every check at once and answers 200, or 503 naming the
 * checks that fail. Why a check fails is logged, never told: the probes are
 * open to anyone who reaches the port. Every other request goes on.
 */
export function probes(checks: Readonly<Record<string, ReadinessCheck>>, logger: Logger, timeoutMs = CHECK_TIMEOUT_MS): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === HEALTH_PATH) return sendText(res, 200, 'ok');
    if (req.path !== READY_PATH) return next();
    void readiness(checks, logger, timeoutMs).then((failing) => {
      if (failing.length === 0) sendText(res, 200, `ready: ${Object.keys(checks).join(', ')} ok`);
      else sendText(res, 503, `not ready: ${failing.join(', ')} failing`);
    });
  };
}

/** The names of the checks that fail, in the order given. */
async function readiness(checks: Readonly<Record<string, ReadinessCheck>>, logger: Logger, timeoutMs: number): Promise<string[]> {
  const outcomes = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), timeoutMs);
        return undefined;
      } catch (error) {
        logger.warn('readiness check failing', { check: name, reason: messageOf(error) });
        return name;
      }
    }),
  );
  return outcomes.filter((name): name is string => name !== undefined);
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** Resolves when an HTTP server answers at this URL at all, whatever the status: it is up, if not yet authenticated. */
export async function answers(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), redirect: 'manual' });
  await response.body?.cancel();
}
