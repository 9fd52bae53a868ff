import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SystemTimers } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { chooseLogFormat, createLogger } from '../lib/logger.js';
import { parseListen } from '../lib/listen.js';
import { loadFixtures } from './fixtures.js';
import { startSimulator } from './simulator.js';

const USAGE = `usage: simulator [--listen host:port] [--fixtures file] [--seed n] [--time-scale x] [--time-origin ms] [--control]

Serves a simulated CloudStack management server: the API at /client/api,
and with --control the control API at /sim, which can stop, destroy and
partition any account's VMs (local trials only). Defaults: 127.0.0.1:8080, etc/simulator.json,
random ids, real time. A faster clock starts at --time-origin (epoch ms;
default: now), which its clients need to know: it is printed at start.`;

function options() {
  try {
    return parseArgs({
      options: {
        listen: { type: 'string', default: '127.0.0.1:8080' },
        fixtures: { type: 'string', default: fileURLToPath(new URL('../../etc/simulator.json', import.meta.url)) },
        seed: { type: 'string' },
        'time-scale': { type: 'string', default: '1' },
        'time-origin': { type: 'string' },
        control: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const listen = parseListen(values.listen);
  if (!listen) throw new ConfigError(`--listen "${values.listen}" must be host:port`);
  const scale = Number(values['time-scale']);
  if (!(scale > 0)) throw new ConfigError(`--time-scale "${values['time-scale']}" must be a positive number`);
  const origin = values['time-origin'] === undefined ? Date.now() : Number(values['time-origin']);
  if (!Number.isSafeInteger(origin) || origin < 0) throw new ConfigError(`--time-origin "${values['time-origin']}" must be epoch milliseconds`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new ConfigError(`--seed "${values.seed}" must be a whole number`);
  const logger = createLogger({ level: 'info', format: chooseLogFormat('auto', process.stdout.isTTY === true) });
  const running = await startSimulator({
    fixtures: loadFixtures(values.fixtures),
    timers: new SystemTimers(scale, origin),
    ...(seed === undefined ? {} : { seed }),
    logger,
    control: values.control === true,
    host: listen.host,
    port: listen.port ?? 8080,
  });
  logger.info('CloudStack simulator listening', {
    url: running.url,
    api: `${running.url}/client/api`,
    control: values.control ? `${running.url}/sim` : 'off',
    timeScale: scale,
    timeOrigin: origin,
  });
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  process.stderr.write(`simulator: ${error instanceof Error ? (known ? error.message : error.stack) : String(error)}\n`);
  process.exit(known ? 2 : 1);
});
