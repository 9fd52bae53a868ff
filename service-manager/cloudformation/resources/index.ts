import type { ServiceType } from '../../service-type/manifest.js';
import { mesosClusterType } from './mesos-cluster.js';
import type { ResourceType } from './resource-type.js';

/** Every resource type templates may use, by name. */
export function resourceTypes(type: ServiceType): ReadonlyMap<string, ResourceType> {
  const types = [mesosClusterType(type)];
  return new Map(types.map((t) => [t.name, t]));
}
