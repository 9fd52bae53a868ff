/**
 * A service manager in a process of its own with no orchestrator behind it,
 * for tests that kill it: started with the path of its sm.cfg, it prints the
 * URL it serves at as one line.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger } from '../../lib/logger.js';
import { parseConfig } from '../../service-manager/config/load.js';
import { startServiceManager } from '../../service-manager/start.js';
import { DetachedOrchestration } from './detached-orchestration.js';

const file = process.argv[2];
const config = parseConfig(readFileSync(file, 'utf8'), file, {}, dirname(file));
const sm = await startServiceManager(config, {
  logger: createLogger({ level: 'error', format: 'json', stream: process.stderr }),
  orchestration: (registry) => new DetachedOrchestration(registry),
});
process.stdout.write(`${sm.url}\n`);
