import cron from 'node-cron';
import type { Logger } from '../../lib/logger.js';
import type { SmConfig } from '../config/load.js';
import type { Autoscaler } from '../autoscale/autoscaler.js';
import type { Reconciler } from './reconciler.js';
import { messageOf } from '../../lib/errors.js';

type Job = readonly [name: string, expression: string, run: () => number | Promise<number>];

/** Runs the reconciler's checks and the autoscaler on their cron schedules; the returned function stops them. */
export function scheduleReconciler(
  reconciler: Reconciler,
  autoscaler: Autoscaler,
  schedules: SmConfig['reconciler']['schedules'],
  logger: Logger,
  ran: (check: string, outcome: 'ok' | 'failed', acted: number) => void = () => undefined,
): () => Promise<void> {
  const jobs: readonly Job[] = [
    ['resync', schedules.resync, () => reconciler.resync()],
    ['retries', schedules.retries, () => reconciler.retries()],
    ['orphans', schedules.orphans, () => reconciler.orphans()],
    ['vm_sweep', schedules.vmSweep, () => reconciler.sweepVms()],
    ['prune', schedules.prune, () => reconciler.prune()],
    ['autoscale', schedules.autoscale, () => autoscaler.run()],
  ];
  const cronLogger = {
    info: (message: string) => logger.debug(message),
    warn: (message: string) => logger.debug(message),
    error: (message: string | Error) => logger.warn(String(message)),
    debug: (message: string | Error) => logger.debug(String(message)),
  };
  const tasks = jobs.map(([name, expression, run]) =>
    cron.schedule(
      expression,
      async () => {
        try {
          const acted = await run();
          ran(name, 'ok', acted);
          if (acted > 0) logger.info('reconciler acted', { check: name, count: acted });
        } catch (error) {
          ran(name, 'failed', 0);
          logger.error('reconciler check failed', { check: name, error: messageOf(error) });
        }
      },
      { name: `reconciler-${name}`, noOverlap: true, logger: cronLogger },
    ),
  );
  return async () => {
    await Promise.all(tasks.map((task) => Promise.resolve(task.destroy())));
  };
}
