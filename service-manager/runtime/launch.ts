import { SO_ENV } from '../../lib/hurtle/environment.js';
import type { LogLevel } from '../../lib/logger.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import type { CloudStackCredentials } from '../../lib/cloudstack/index.js';
import type { InstanceRecord } from '../registry/registry.js';
import { SoStartFailed, type SoLaunch } from './runtime.js';

export interface LaunchSettings {
  /** Where orchestrators listen (and the service manager reaches them). */
  readonly host: string;
  readonly cloudstackUrl: string;
  readonly managerId: string;
  /** The CloudStack account an instance's VMs are made in: its tenant's. */
  readonly credentials: (tenant: string) => CloudStackCredentials | undefined;
  /** The key one orchestrator (an instance's uid, a generation) shares with this service manager. */
  readonly keyFor: (uid: string, generation: number) => string;
  /** What an instance's cluster credentials derive from. */
  readonly clusterSecretFor: (uid: string) => string;
  /** Extra SO_* variables: the operator's tuning, and the embedded simulator's clock. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logLevel: LogLevel;
}

/** How an instance's orchestrator is started: its identity, its tenant's account and its parameters. */
export function launchFor(
  settings: LaunchSettings,
  instance: InstanceRecord,
  parameters: Readonly<Record<string, AttributeValue>>,
  at: { readonly port: number; readonly generation: number },
): SoLaunch {
  const account = settings.credentials(instance.tenant);
  if (!account) {
    throw new SoStartFailed(`tenant ${instance.tenant} has no CloudStack account in the service manager's tenants file`, false);
  }
  return {
    uid: instance.uid,
    instanceId: instance.id,
    tenant: instance.tenant,
    port: at.port,
    env: {
      [SO_ENV.logLevel]: settings.logLevel,
      [SO_ENV.logFormat]: 'json',
      ...settings.environment,
      [SO_ENV.instanceId]: instance.uid,
      [SO_ENV.tenant]: instance.tenant,
      [SO_ENV.managerId]: settings.managerId,
      [SO_ENV.listen]: `${settings.host}:${at.port}`,
      [SO_ENV.cloudstackEndpoint]: settings.cloudstackUrl,
      [SO_ENV.cloudstackApiKey]: account.apiKey,
      [SO_ENV.parameters]: JSON.stringify(parameters),
    },
    secrets: {
      [SO_ENV.cloudstackSecretKey]: account.secretKey,
      [SO_ENV.authKey]: settings.keyFor(instance.uid, at.generation),
      [SO_ENV.clusterSecret]: settings.clusterSecretFor(instance.uid),
    },
  };
}

/** The URL an orchestrator answers at. */
export function soUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
