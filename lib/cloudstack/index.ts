import { CloudStackClient, type CloudStackClientOptions } from './client.js';
import { Discovery } from './discovery.js';
import { SecurityGroups } from './security-groups.js';
import { VirtualMachines } from './vms.js';

export { CloudStackClient, type CloudStackClientOptions, type CloudStackCredentials } from './client.js';
export { Discovery } from './discovery.js';
export { SecurityGroups, type SecurityGroup, type WantedRule } from './security-groups.js';
export * from './errors.js';
export * from './types.js';
export { VirtualMachines, type DeploySpec, type SubmittedVm } from './vms.js';

/** A client with the VM and discovery operations built on it. */
export interface CloudStack {
  readonly client: CloudStackClient;
  readonly discovery: Discovery;
  readonly vms: VirtualMachines;
  readonly securityGroups: SecurityGroups;
}

export function connectCloudStack(options: CloudStackClientOptions & { readonly discoveryTtlMs?: number }): CloudStack {
  const client = new CloudStackClient(options);
  const discovery = new Discovery(client, options.discoveryTtlMs);
  return { client, discovery, vms: new VirtualMachines(client, discovery), securityGroups: new SecurityGroups(client) };
}
