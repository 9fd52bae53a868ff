/** The CloudStack API objects the client reads, with the field names the server uses. Unknown fields pass through. */

export interface Tag {
  readonly key: string;
  readonly value: string;
  readonly resourcetype?: string;
  readonly resourceid?: string;
}

export interface Nic {
  readonly id: string;
  readonly networkid: string;
  readonly ipaddress?: string;
  readonly isdefault?: boolean;
  readonly macaddress?: string;
}

export type VmState = 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Destroyed' | 'Expunging' | 'Migrating' | 'Error' | 'Unknown' | 'Shutdown';

export interface VirtualMachine {
  readonly id: string;
  readonly name: string;
  readonly displayname?: string;
  /** A known state, or one a newer CloudStack reports. */
  readonly state: VmState | (string & {});
  readonly zoneid: string;
  readonly templateid: string;
  readonly serviceofferingid: string;
  readonly created: string;
  readonly nic?: readonly Nic[];
  readonly tags?: readonly Tag[];
  /** Present while a job is pending on the VM. */
  readonly jobid?: string;
  readonly jobstatus?: number;
  readonly [field: string]: unknown;
}

export interface AsyncJob<T = unknown> {
  readonly jobid: string;
  readonly jobstatus: 0 | 1 | 2 | 3;
  readonly jobresultcode: number;
  readonly jobresulttype?: 'object' | 'text';
  readonly jobresult?: T | { readonly errorcode: number; readonly errortext: string };
  readonly jobinstancetype?: string;
  readonly jobinstanceid?: string;
  readonly cmd: string;
  readonly created: string;
}

export interface Zone {
  readonly id: string;
  readonly name: string;
  readonly networktype: string;
  readonly securitygroupsenabled?: boolean;
  readonly allocationstate?: string;
}

export interface Template {
  readonly id: string;
  readonly name: string;
  readonly zoneid: string;
  readonly isready: boolean;
}

export interface ServiceOffering {
  readonly id: string;
  readonly name: string;
  readonly cpunumber: number;
  readonly memory: number;
}

export interface Network {
  readonly id: string;
  readonly name: string;
  readonly zoneid: string;
  readonly cidr?: string;
  readonly gateway?: string;
  readonly isdefault?: boolean;
  readonly canusefordeploy?: boolean;
}

export interface Capabilities {
  readonly cloudstackversion: string;
  readonly allowuserexpungerecovervm?: boolean;
  readonly allowuserviewdestroyedvm?: boolean;
  readonly apilimitinterval?: number;
  readonly apilimitmax?: number;
  readonly [field: string]: unknown;
}

/** The VM's address: the default NIC's, else the first NIC's. */
export function addressOf(vm: VirtualMachine): string | undefined {
  const nics = vm.nic ?? [];
  return (nics.find((n) => n.isdefault) ?? nics[0])?.ipaddress;
}

export function tagsOf(vm: VirtualMachine): Record<string, string> {
  return Object.fromEntries((vm.tags ?? []).map((t) => [t.key, t.value]));
}
