/**
 * The shipped sm.cfg as `npm start` runs it, for benchmarks that drive the
 * service manager with its embedded simulator: only the addresses, the
 * files (all in `dir`) and what a benchmark adds (`SM_*` overrides, such as
 * the runtime or the clock's scale) differ.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type SmConfig } from '../service-manager/config/load.js';

export const ETC = fileURLToPath(new URL('../../etc/', import.meta.url));

export function shippedConfig(dir: string, overrides: Readonly<Record<string, string>>): SmConfig {
  return loadConfig(
    join(ETC, 'sm.cfg'),
    {
      SM_SERVICE_MANAGER_LISTEN: '127.0.0.1:0',
      SM_SERVICE_MANAGER_REGISTRY: join(dir, 'registry.db'),
      SM_SERVICE_MANAGER_KEY_FILE: join(dir, 'manager.key'),
      SM_SO_RUNTIME_TYPE: 'process',
      SM_SO_RUNTIME_PROCESS_DIR: join(dir, 'so'),
      SM_SIMULATOR_LISTEN: '127.0.0.1:0',
      ...overrides,
    },
    dir,
  );
}
