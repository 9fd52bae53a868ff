import { processMetrics } from '../lib/metrics/process.js';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../lib/errors.js';
import { chooseLogFormat, createLogger } from '../lib/logger.js';
import { CONFIG_PATH_ENV, loadConfig } from './config/load.js';
import { startServiceManager } from './start.js';

const USAGE = `usage: service-manager [-c|--config-file <sm.cfg>]

The configuration file is ${CONFIG_PATH_ENV} if set, else --config-file, else etc/sm.cfg
of this installation. Any key can be overridden with SM_<SECTION>_<KEY>.`;

function configPath(): string {
  let values: { 'config-file'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { 'config-file': { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return process.env[CONFIG_PATH_ENV] ?? values['config-file'] ?? fileURLToPath(new URL('../../etc/sm.cfg', import.meta.url));
}

async function main(): Promise<void> {
  const config = loadConfig(configPath(), process.env, process.cwd());
  const logger = createLogger({
    level: config.general.logLevel,
    format: chooseLogFormat(config.general.logFormat, process.stdout.isTTY === true),
  });
  const sm = await startServiceManager(config, { logger, metrics: processMetrics() });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    sm.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('stop failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  const message = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
  process.stderr.write(`service-manager: ${message}\n`);
  process.exit(known ? 2 : 1);
});
