import { processMetrics } from '../lib/metrics/process.js';
import { ConfigError } from '../lib/errors.js';
import { chooseLogFormat, createLogger } from '../lib/logger.js';
import { readSoConfig } from './config.js';
import { startOrchestrator } from './start.js';

async function main(): Promise<void> {
  const config = readSoConfig(process.env);
  const logger = createLogger({
    level: config.logLevel,
    format: chooseLogFormat(config.logFormat, process.stdout.isTTY === true),
  }).child({ instance: config.instanceId });
  const running = await startOrchestrator(config, logger, undefined, processMetrics());
  const stop = (signal: string): void => {
    logger.info('stopping; the cluster is left as it is', { signal });
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  process.stderr.write(`service-orchestrator: ${error instanceof Error ? (known ? error.message : error.stack) : String(error)}\n`);
  process.exit(known ? 2 : 1);
});
