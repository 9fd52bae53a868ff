/**
 * What an orchestrator reads from its environment and a service manager
 * sets when it starts one. Secrets may also come from a file named by the
 * variable with `_FILE` appended, as Docker and Swarm secrets are mounted.
 */
export const SO_ENV = {
  instanceId: 'SO_INSTANCE_ID',
  tenant: 'SO_TENANT',
  managerId: 'SO_MANAGER_ID',
  listen: 'SO_LISTEN',
  cloudstackEndpoint: 'SO_CLOUDSTACK_ENDPOINT',
  cloudstackApiKey: 'SO_CLOUDSTACK_API_KEY',
  cloudstackSecretKey: 'SO_CLOUDSTACK_SECRET_KEY',
  authKey: 'SO_AUTH_KEY',
  clusterSecret: 'SO_CLUSTER_SECRET',
  parameters: 'SO_PARAMETERS',
  timeScale: 'SO_TIME_SCALE',
  timeOrigin: 'SO_TIME_ORIGIN',
  logLevel: 'SO_LOG_LEVEL',
  logFormat: 'SO_LOG_FORMAT',
} as const;

/**
 * What hurtle's cloud controller gives an orchestrator's container, and
 * nothing more: the design URI its service manager is configured with, the
 * container's name, and the port its router sends traffic to.
 */
export const HURTLE_CC_ENV = {
  designUri: 'DESIGN_URI',
  dcName: 'DC_NAME',
  port: 'PORT',
  hostname: 'HOSTNAME',
} as const;

/** Where an orchestrator listens when nobody says: hurtle's containers serve on 8080. */
export const HURTLE_SO_PORT = 8080;

/** The variables whose values are secrets. */
export const SO_SECRETS = [SO_ENV.cloudstackSecretKey, SO_ENV.authKey, SO_ENV.clusterSecret, HURTLE_CC_ENV.designUri] as const;

/** What a service manager sets itself for every orchestrator: an operator's extra variables may not override them. */
export const SO_MANAGED = [
  SO_ENV.instanceId,
  SO_ENV.tenant,
  SO_ENV.authKey,
  SO_ENV.clusterSecret,
  SO_ENV.managerId,
  SO_ENV.listen,
  SO_ENV.cloudstackEndpoint,
  SO_ENV.cloudstackApiKey,
  SO_ENV.cloudstackSecretKey,
  SO_ENV.parameters,
  SO_ENV.timeScale,
  SO_ENV.timeOrigin,
] as const;
