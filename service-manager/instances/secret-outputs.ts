import { clusterCredentials, MARATHON_PASSWORD_OUTPUT, MARATHON_USER_OUTPUT } from '../../lib/cluster/credentials.js';
import { effectiveInputs } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';
import type { SecretOutputs } from './entity.js';

/**
 * A cluster's Marathon password, derived from the instance's cluster secret
 * as its orchestrator derives it, for its owner alone: never stored, never
 * in the history or a log. Shown once the orchestrator reports the cluster's
 * Marathon user, that is once there is a Marathon to use it on.
 */
export function marathonPassword(type: ServiceType, clusterSecretFor: (uid: string) => string): SecretOutputs {
  return (record): Record<string, string> => {
    if (effectiveInputs(type, record.attributes)['mesos.marathon'] === false || record.outputs[MARATHON_USER_OUTPUT] === undefined) return {};
    return { [MARATHON_PASSWORD_OUTPUT]: clusterCredentials(clusterSecretFor(record.uid)).marathon.password };
  };
}
