import {
  DOMAIN,
  type Account,
  type Cloud,
  type Job,
  type Network,
  type Offering,
  type SecurityGroup,
  type Tag,
  type Template,
  type Vm,
  type Zone,
} from './cloud.js';

/**
 * The objects the API returns, with the real field names and types: null
 * fields left out, empty collections kept as [], dates as
 * yyyy-MM-ddTHH:mm:ss+0000, numbers and booleans typed.
 */

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

function owner(account: Account): Record<string, unknown> {
  return { account: account.name, domainid: account.domainId, domain: DOMAIN.name };
}

export function tagJson(tag: Tag): Record<string, unknown> {
  return {
    key: tag.key,
    value: tag.value,
    resourcetype: tag.resourceType,
    resourceid: tag.resourceId,
    ...owner(tag.account),
    ...(tag.customer === undefined ? {} : { customer: tag.customer }),
  };
}

/** A VM as listVirtualMachines and job results show it; admins also see where it runs. */
export function vmJson(cloud: Cloud, vm: Vm, viewer: Account, pendingJob?: Job): Record<string, unknown> {
  return {
    id: vm.id,
    name: vm.name,
    displayname: vm.displayname,
    ...owner(vm.account),
    userid: vm.account.userId,
    username: vm.account.name,
    created: formatDate(vm.created),
    state: vm.state,
    haenable: false,
    ...(vm.group === undefined ? {} : { group: vm.group }),
    zoneid: vm.zone.id,
    zonename: vm.zone.name,
    templateid: vm.template.id,
    templatename: vm.template.name,
    templatedisplaytext: vm.template.displaytext,
    passwordenabled: false,
    serviceofferingid: vm.offering.id,
    serviceofferingname: vm.offering.name,
    cpunumber: vm.offering.cpunumber,
    cpuspeed: vm.offering.cpuspeed,
    memory: vm.offering.memory,
    guestosid: vm.template.id,
    rootdeviceid: 0,
    rootdevicetype: 'ROOT',
    hypervisor: 'Simulator',
    nic: [
      {
        id: vm.nicId,
        networkid: vm.network.id,
        networkname: vm.network.name,
        netmask: vm.network.netmask,
        gateway: vm.network.gateway,
        ipaddress: vm.ip,
        isolationuri: 'vlan://untagged',
        broadcasturi: 'vlan://untagged',
        traffictype: 'Guest',
        type: 'Shared',
        isdefault: true,
        macaddress: vm.mac,
        deviceid: '0',
        virtualmachineid: vm.id,
        secondaryip: [],
      },
    ],
    securitygroup: cloud.securityGroups
      .filter((sg) => vm.securityGroupIds.includes(sg.id))
      .map((sg) => ({ id: sg.id, name: sg.name, description: sg.description })),
    affinitygroup: [],
    tags: cloud.tagsOf(vm.id).map(tagJson),
    ...(vm.keypairs === undefined ? {} : { keypairs: vm.keypairs }),
    isdynamicallyscalable: false,
    details: {},
    ...(viewer.admin ? { instancename: `i-${vm.account.number}-${vm.internalId}-VM`, hostname: 'sim-host-1', hostid: DOMAIN.id } : {}),
    ...(pendingJob ? { jobid: pendingJob.id, jobstatus: 0 } : {}),
  };
}

export function jobJson(job: Job): Record<string, unknown> {
  return {
    accountid: job.account.id,
    account: job.account.name,
    domainid: job.account.domainId,
    domainpath: DOMAIN.path,
    userid: job.account.userId,
    cmd: job.cmdClass,
    jobstatus: job.status,
    jobprocstatus: 0,
    jobresultcode: job.resultCode,
    ...(job.result === undefined ? {} : { jobresulttype: 'object', jobresult: job.result }),
    ...(job.instanceType === undefined || job.instanceId === undefined ? {} : { jobinstancetype: job.instanceType, jobinstanceid: job.instanceId }),
    created: formatDate(job.created),
    ...(job.completed === undefined ? {} : { completed: formatDate(job.completed) }),
    jobid: job.id,
  };
}

export function zoneJson(zone: Zone): Record<string, unknown> {
  return {
    id: zone.id,
    name: zone.name,
    networktype: 'Advanced',
    securitygroupsenabled: zone.securitygroupsenabled,
    allocationstate: 'Enabled',
    localstorageenabled: false,
    dhcpprovider: 'VirtualRouter',
    dns1: '127.0.0.53',
    internaldns1: '127.0.0.53',
    tags: [],
  };
}

export function templateJson(template: Template, zone: Zone): Record<string, unknown> {
  return {
    id: template.id,
    name: template.name,
    displaytext: template.displaytext,
    ispublic: true,
    isfeatured: true,
    isready: true,
    crossZones: false,
    zoneid: zone.id,
    zonename: zone.name,
    ostypeid: template.id,
    ostypename: template.ostypename,
    hypervisor: 'Simulator',
    format: 'RAW',
    passwordenabled: false,
    sshkeyenabled: false,
    status: 'Download Complete',
    size: 10_737_418_240,
    templatetype: 'USER',
    created: formatDate(template.created),
    tags: [],
  };
}

export function offeringJson(offering: Offering): Record<string, unknown> {
  return {
    id: offering.id,
    name: offering.name,
    displaytext: `${offering.cpunumber} CPU, ${offering.memory} MB RAM`,
    cpunumber: offering.cpunumber,
    cpuspeed: offering.cpuspeed,
    memory: offering.memory,
    iscustomized: false,
    storagetype: 'shared',
    offerha: false,
    limitcpuuse: false,
    issystem: false,
    defaultuse: false,
    created: formatDate(offering.created),
  };
}

export function networkJson(network: Network): Record<string, unknown> {
  return {
    id: network.id,
    name: network.name,
    displaytext: network.name,
    zoneid: network.zone.id,
    zonename: network.zone.name,
    type: 'Shared',
    state: 'Setup',
    cidr: network.cidr,
    gateway: network.gateway,
    netmask: network.netmask,
    traffictype: 'Guest',
    isdefault: network.isDefault,
    canusefordeploy: true,
    networkdomain: 'cs.sim.internal',
    tags: [],
  };
}

export function securityGroupJson(group: SecurityGroup, cloud: Cloud): Record<string, unknown> {
  const members = [...cloud.vms.values()].filter((vm) => vm.removed === undefined && vm.securityGroupIds.includes(group.id));
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    ...owner(group.account),
    ingressrule: group.ingress.map((rule) => ({ ...rule })),
    egressrule: [],
    tags: cloud.tagsOf(group.id).map(tagJson),
    virtualmachinecount: members.length,
    virtualmachineids: members.map((vm) => vm.id),
  };
}
