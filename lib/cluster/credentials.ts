import { createHmac } from 'node:crypto';

/**
 * A cluster's own credentials: the principal and secret its agents
 * register with, the ones Marathon registers with as a framework, and the
 * user and password of Marathon's REST API. All are derived from one
 * secret (the service manager derives it from its manager key for each
 * instance), so an orchestrator started again finds the credentials its
 * cluster was built with, and the service manager can tell the owner its
 * Marathon password without ever storing it.
 */
export interface ClusterCredentials {
  readonly agent: { readonly principal: string; readonly secret: string };
  readonly framework: { readonly principal: string; readonly secret: string };
  readonly marathon: { readonly user: string; readonly password: string };
}

export function clusterCredentials(secret: string): ClusterCredentials {
  const derive = (purpose: string): string => createHmac('sha256', secret).update(`mesos-cluster\n${purpose}`).digest('base64url').slice(0, 32);
  return {
    agent: { principal: 'mesos-agent', secret: derive('agent') },
    framework: { principal: 'marathon', secret: derive('framework') },
    marathon: { user: 'marathon', password: derive('marathon-http') },
  };
}

/** The cluster secret when no service manager gives one (hurtle's own start): one only this tenant's account can make. */
export function fallbackClusterSecret(cloudstackSecretKey: string, instanceId: string): string {
  return createHmac('sha256', cloudstackSecretKey).update(`mesos-cluster-secret\n${instanceId}`).digest('base64url');
}

/** The Authorization header Marathon's REST API wants. */
export function marathonAuthorization(credentials: ClusterCredentials): string {
  return `Basic ${Buffer.from(`${credentials.marathon.user}:${credentials.marathon.password}`).toString('base64')}`;
}

/** The outputs that tell a cluster's owner how to use Marathon's API. */
export const MARATHON_USER_OUTPUT = 'mesos.marathon.user';
export const MARATHON_PASSWORD_OUTPUT = 'mesos.marathon.password';
