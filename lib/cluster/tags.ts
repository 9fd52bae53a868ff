/**
 * The CloudStack tags on every VM of a cluster: the contract between the
 * orchestrator that writes them and the service manager that sweeps by them.
 */
export const VM_TAGS = {
  instance: 'mesos.instance',
  role: 'mesos.role',
  /** The service manager that owns the instance, so its sweeps touch only its own VMs. */
  manager: 'mesos.manager',
} as const;
