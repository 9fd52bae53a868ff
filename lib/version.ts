import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OCCI_VERSION } from './occi/negotiate.js';

/** The Server header value: the component, this release's version, and the OCCI version spoken. */
export function serverName(component: string): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  return `${component}/${pkg.version} OCCI/${OCCI_VERSION.major}.${OCCI_VERSION.minor}`;
}
