import { ApiError, CS, invalidParameter } from '../api-error.js';
import { DOMAIN, type Network, type Vm, type Zone } from '../cloud.js';
import { paged, type ParamSpec } from '../params.js';
import { vmJson } from '../render.js';
import { keyword, PAGING, str, submit, visible, type Command, type CommandContext } from './command.js';

const VM_CLASS = 'org.apache.cloudstack.api.command.user.vm';
const HOSTNAME = /^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_GET_USER_DATA = 4096;
const MAX_POST_USER_DATA = 1_048_576;
const CUSTOM_JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const VM_ID: ParamSpec = { name: 'id', type: 'uuid', entity: 'vm', acl: true, required: true, description: 'the VM' };

/** The VM a job acted on, as the job result shows it. */
function result(context: CommandContext, vm: Vm): Record<string, unknown> {
  return { virtualmachine: vmJson(context.cloud, vm, context.account) };
}

function vmOf(context: CommandContext): Vm {
  return context.cloud.vms.get(context.params['id'] as string)!;
}

function notFound(vm: Vm): ApiError {
  return new ApiError(431, `unable to find a virtual machine with id ${vm.internalId}`, CS.invalidParameterValue);
}

const deploy: Command = {
  name: 'deployVirtualMachine',
  description: 'Creates and automatically starts a virtual machine.',
  async: true,
  params: [
    { name: 'zoneid', type: 'uuid', entity: 'zone', required: true, description: 'availability zone' },
    { name: 'serviceofferingid', type: 'uuid', entity: 'serviceoffering', required: true, description: 'service offering' },
    { name: 'templateid', type: 'uuid', entity: 'template', required: true, description: 'template' },
    { name: 'name', type: 'string', length: 63, description: 'host name' },
    { name: 'displayname', type: 'string', description: 'display name' },
    { name: 'networkids', type: 'list', description: 'network ids; the first is the default NIC' },
    { name: 'securitygroupids', type: 'list', description: 'security group ids' },
    { name: 'keypair', type: 'string', description: 'SSH key pair name' },
    { name: 'keypairs', type: 'list', description: 'SSH key pair names' },
    { name: 'userdata', type: 'string', length: MAX_POST_USER_DATA, description: 'base64 user data' },
    { name: 'startvm', type: 'boolean', description: 'start the VM (default true)' },
    { name: 'group', type: 'string', description: 'instance group' },
    { name: 'customjobid', type: 'string', description: 'a uuid to use as the job id' },
    { name: 'ipaddress', type: 'string', description: 'the address to give the VM in its default network' },
  ],
  handle(context) {
    const { cloud, account, params } = context;
    const zone = cloud.zones.find((z) => z.id === params['zoneid'])!;
    const template = cloud.templates.find((t) => t.id === params['templateid'])!;
    const offering = cloud.offerings.find((o) => o.id === params['serviceofferingid'])!;
    if (!template.zones.includes(zone)) {
      throw invalidParameter(`Template ${template.id} has not been completely downloaded to zone ${zone.id}`);
    }
    const network = networkFor(context, zone);
    const name = str(params, 'name') ?? `VM-${cloud.newId()}`;
    checkHostname(context, name, network);
    const keypairs = keypairsFor(context);
    const securityGroupIds = securityGroupsFor(context, zone);
    const userData = userDataFor(context);
    checkLimits(context, offering.cpunumber, offering.memory);
    const address = addressFor(context, network);
    const vm: Vm = {
      id: cloud.newId(),
      internalId: cloud.nextInternalId(),
      name,
      displayname: str(params, 'displayname') ?? name,
      account,
      zone,
      template,
      offering,
      network,
      ip: address,
      mac: macFor(address),
      nicId: cloud.newId(),
      created: cloud.timers.now(),
      ...(userData === undefined ? {} : { userData }),
      ...(keypairs === undefined ? {} : { keypairs }),
      securityGroupIds,
      ...(str(params, 'group') === undefined ? {} : { group: str(params, 'group')! }),
      state: 'Stopped',
      counted: true,
    };
    cloud.vms.set(vm.id, vm);
    const customJobId = checkCustomJobId(context);
    const { jobid } = submit(
      context,
      { cmdClass: `${VM_CLASS}.DeployVMCmd`, instanceType: 'VirtualMachine', instanceId: vm.id, queueKey: vm.id, ...customJobId },
      async () => {
        if (params['startvm'] === false) {
          await cloud.timers.sleep(cloud.timing.stopMs);
          return result(context, vm);
        }
        await context.vms.start(vm, cloud.timing.deployMs, 'deployVirtualMachine', true);
        return result(context, vm);
      },
    );
    return { id: vm.id, jobid };
  },
};

function networkFor(context: CommandContext, zone: Zone): Network {
  const ids = context.params['networkids'] as string[] | undefined;
  if (ids && ids.length > 0) {
    const network = context.cloud.networks.find((n) => n.id === ids[0]);
    if (!network) throw invalidParameter(`Unable to find network by id ${ids[0]}`);
    if (network.zone !== zone) throw invalidParameter(`Network ${network.id} does not belong to zone ${zone.id}`);
    return network;
  }
  const fallback = context.cloud.networks.find((n) => n.zone === zone && n.isDefault);
  if (!fallback) throw invalidParameter(`No default network found in zone ${zone.id}; specify networkids`);
  return fallback;
}

function addressFor(context: CommandContext, network: Network): string {
  const wanted = str(context.params, 'ipaddress');
  if (wanted === undefined) {
    const address = context.cloud.allocateAddress(network);
    if (address === undefined) throw new ApiError(533, `Insufficient address capacity in network ${network.name}`, CS.insufficientServerCapacity);
    return address;
  }
  const claim = context.cloud.claimAddress(network, wanted);
  if (claim === 'outside') throw invalidParameter(`IP address ${wanted} is not in the range of network ${network.name} (${network.cidr})`);
  if (claim === 'taken') throw invalidParameter(`The IP address ${wanted} is already used by another VM in network ${network.name}`);
  return wanted;
}

function checkHostname(context: CommandContext, name: string, network: Network): void {
  if (!HOSTNAME.test(name)) {
    throw invalidParameter(
      "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), " +
        'must be between 1 and 63 characters long, and can\'t start or end with "-" and can\'t start with digit',
    );
  }
  const taken = [...context.cloud.vms.values()].some(
    (vm) => vm.network === network && vm.removed === undefined && vm.name.toLowerCase() === name.toLowerCase(),
  );
  if (taken) {
    throw invalidParameter(`The vm with hostName ${name} already exists in the network domain: cs.sim.internal; network=${network.name}`);
  }
}

function keypairsFor(context: CommandContext): string | undefined {
  const names = [
    ...((context.params['keypairs'] as string[] | undefined) ?? []),
    ...(str(context.params, 'keypair') === undefined ? [] : [str(context.params, 'keypair')!]),
  ];
  for (const name of names) {
    if (!context.cloud.keypairs.some((k) => k.name === name && k.account === context.account)) {
      throw invalidParameter(`A key pair with name '${name}' was not found for account ${context.account.name} in specified domain id`);
    }
  }
  return names.length === 0 ? undefined : names.join(',');
}

/** The VM's groups: those named, or in a zone with security groups the account's default group. */
function securityGroupsFor(context: CommandContext, zone: Zone): string[] {
  const ids = (context.params['securitygroupids'] as string[] | undefined) ?? [];
  if (ids.length > 0 && !zone.securitygroupsenabled) {
    throw invalidParameter("Can't create vm with security groups; security group feature is not enabled per zone");
  }
  for (const id of ids) {
    const group = context.cloud.securityGroups.find((g) => g.id === id);
    if (!group || group.account !== context.account) throw invalidParameter(`Unable to find security group by id ${id}`);
  }
  if (ids.length > 0 || !zone.securitygroupsenabled) return ids;
  const fallback = context.cloud.securityGroups.find((g) => g.account === context.account && g.name === 'default');
  return fallback ? [fallback.id] : [];
}

/** The user data checks of UserDataManagerImpl: base64, not empty, size by HTTP method and by setting. */
function userDataFor(context: CommandContext): string | undefined {
  const raw = str(context.params, 'userdata');
  if (raw === undefined) return undefined;
  const data = raw.includes('%') ? decodeURIComponent(raw) : raw;
  if (context.method === 'GET' && data.length >= MAX_GET_USER_DATA) throw invalidParameter('User data is too long for an http GET request');
  if (data.length > MAX_POST_USER_DATA) throw invalidParameter('User data is too long for POST request');
  if (data.length > context.cloud.settings.userDataMaxLength) {
    throw invalidParameter(`User data has exceeded configurable max length : ${context.cloud.settings.userDataMaxLength}`);
  }
  if (!BASE64.test(data) || data.length % 4 !== 0) throw invalidParameter('User data is not base64 encoded');
  if (Buffer.from(data, 'base64').length === 0) throw invalidParameter('User data is too short');
  return data;
}

function checkLimits(context: CommandContext, cpu: number, memory: number): void {
  const { account, cloud } = context;
  const used = cloud.usage(account);
  const wanted = { user_vm: used.user_vm + 1, cpu: used.cpu + cpu, memory: used.memory + memory };
  for (const type of ['user_vm', 'cpu', 'memory'] as const) {
    const limit = account.limits[type];
    if (limit !== undefined && wanted[type] > limit) {
      throw new ApiError(
        535,
        `Maximum number of resources of type '${type}' for account name=${account.name} in domain id=${DOMAIN.id} has been exceeded.`,
        CS.serverApi,
      );
    }
  }
}

/** Checked after the VM row exists, as the real server does, so a reused id leaves a Stopped VM behind. */
function checkCustomJobId(context: CommandContext): { id?: string } {
  const id = str(context.params, 'customjobid');
  if (id === undefined) return {};
  if (!CUSTOM_JOB_ID.test(id) || context.cloud.jobs.has(id)) {
    throw invalidParameter(`UUID: ${id} already exists so can't create/update with custom id`);
  }
  return { id };
}

function macFor(address: string): string {
  const octets = address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return `02:00:${octets.join(':')}`;
}

const destroy: Command = {
  name: 'destroyVirtualMachine',
  description: 'Destroys a virtual machine; expunges it too when asked and allowed.',
  async: true,
  params: [VM_ID, { name: 'expunge', type: 'boolean', description: 'expunge at once' }, { name: 'volumeids', type: 'list', description: 'volumes to delete' }],
  handle(context) {
    const vm = vmOf(context);
    const expunge = context.params['expunge'] === true;
    return submit(context, { cmdClass: `${VM_CLASS}.DestroyVMCmd`, instanceType: 'VirtualMachine', instanceId: vm.id, queueKey: vm.id }, async () => {
      if (vm.removed !== undefined) throw notFound(vm);
      if (expunge && !context.account.admin && !context.cloud.settings.allowUserExpungeRecoverVm) {
        throw new ApiError(530, 'Parameter expunge can be passed by Admin only. Or when the allow.user.expunge.recover.vm key is set.');
      }
      if ((vm.state === 'Destroyed' || vm.state === 'Expunging') && !expunge) return result(context, vm);
      await context.vms.destroy(vm, expunge);
      return result(context, vm);
    });
  },
};

const expungeVm: Command = {
  name: 'expungeVirtualMachine',
  description: 'Expunges a destroyed virtual machine.',
  async: true,
  params: [VM_ID],
  handle(context) {
    const vm = vmOf(context);
    return submit(context, { cmdClass: `${VM_CLASS}.ExpungeVMCmd`, instanceType: 'VirtualMachine', instanceId: vm.id, queueKey: vm.id }, async () => {
      if (vm.removed !== undefined) throw notFound(vm);
      if (!context.account.admin && !context.cloud.settings.allowUserExpungeRecoverVm) {
        throw new ApiError(530, 'Parameter expunge can be passed by Admin only. Or when the allow.user.expunge.recover.vm key is set.');
      }
      if (vm.state !== 'Destroyed' && vm.state !== 'Error') throw invalidParameter(`Please destroy vm with id ${vm.id} first`);
      await context.vms.expunge(vm);
      return { success: true };
    });
  },
};

const recover: Command = {
  name: 'recoverVirtualMachine',
  description: 'Recovers a destroyed virtual machine.',
  async: false,
  params: [VM_ID],
  handle(context) {
    const vm = vmOf(context);
    if (!context.account.admin && !context.cloud.settings.allowUserExpungeRecoverVm) {
      throw new ApiError(531, 'Recovering a vm can only be done by an Admin. Or when the allow.user.expunge.recover.vm key is set.', CS.permissionDenied);
    }
    if (vm.removed !== undefined || vm.state !== 'Destroyed') throw invalidParameter(`Unable to recover VM ${vm.id} in state ${vm.state}`);
    context.vms.recover(vm);
    return result(context, vm);
  },
};

function vmAction(name: string, cmdClass: string, description: string, act: (context: CommandContext, vm: Vm) => Promise<void>): Command {
  return {
    name,
    description,
    async: true,
    params: name === 'stopVirtualMachine' ? [VM_ID, { name: 'forced', type: 'boolean', description: 'force stop' }] : [VM_ID],
    handle(context) {
      const vm = vmOf(context);
      return submit(context, { cmdClass: `${VM_CLASS}.${cmdClass}`, instanceType: 'VirtualMachine', instanceId: vm.id, queueKey: vm.id }, async () => {
        if (vm.removed !== undefined) throw notFound(vm);
        await act(context, vm);
        return result(context, vm);
      });
    },
  };
}

function requireState(vm: Vm, action: string, ...states: readonly string[]): void {
  if (!states.includes(vm.state)) throw invalidParameter(`Unable to ${action} VM ${vm.id} in state ${vm.state}`);
}

const start = vmAction('startVirtualMachine', 'StartVMCmd', 'Starts a virtual machine.', async (context, vm) => {
  if (vm.state === 'Running') return;
  requireState(vm, 'start', 'Stopped');
  await context.vms.start(vm, context.cloud.timing.startMs, 'startVirtualMachine', false);
});

const stop = vmAction('stopVirtualMachine', 'StopVMCmd', 'Stops a virtual machine.', async (context, vm) => {
  if (vm.state === 'Stopped') return;
  requireState(vm, 'stop', 'Running');
  await context.vms.stop(vm, context.cloud.timing.stopMs);
});

const reboot = vmAction('rebootVirtualMachine', 'RebootVMCmd', 'Reboots a virtual machine.', async (context, vm) => {
  requireState(vm, 'reboot', 'Running');
  await context.vms.stop(vm, 0);
  await context.vms.start(vm, context.cloud.timing.rebootMs, 'rebootVirtualMachine', false);
});

const update: Command = {
  name: 'updateVirtualMachine',
  description: 'Updates a virtual machine, e.g. its user data (read by the guest at its next boot).',
  async: false,
  params: [
    VM_ID,
    { name: 'userdata', type: 'string', length: MAX_POST_USER_DATA, description: 'base64 user data' },
    { name: 'displayname', type: 'string', description: 'display name' },
  ],
  handle(context) {
    const vm = vmOf(context);
    if (vm.removed !== undefined) throw notFound(vm);
    const userData = userDataFor(context);
    if (userData !== undefined) vm.userData = userData;
    const displayname = str(context.params, 'displayname');
    if (displayname !== undefined) vm.displayname = displayname;
    return result(context, vm);
  },
};

const HIDDEN_FROM_USERS = new Set(['Destroyed', 'Expunging']);

const list: Command = {
  name: 'listVirtualMachines',
  description: 'Lists virtual machines.',
  async: false,
  params: [
    { name: 'id', type: 'uuid', entity: 'vm', description: 'the VM' },
    { name: 'ids', type: 'list', description: 'VM ids' },
    { name: 'name', type: 'string', description: 'host name (exact)' },
    { name: 'state', type: 'string', description: 'state, or Present for not destroyed' },
    { name: 'zoneid', type: 'uuid', entity: 'zone', description: 'zone' },
    { name: 'templateid', type: 'uuid', entity: 'template', description: 'template' },
    { name: 'serviceofferingid', type: 'uuid', entity: 'serviceoffering', description: 'service offering' },
    { name: 'networkid', type: 'uuid', entity: 'network', description: 'network' },
    { name: 'tags', type: 'map', description: 'tags (key, value); any pair matches' },
    { name: 'userdata', type: 'boolean', description: 'include user data' },
    { name: 'details', type: 'list', description: 'detail groups' },
    ...PAGING,
  ],
  handle(context) {
    const { cloud, params, account } = context;
    if (params['id'] !== undefined && params['ids'] !== undefined) {
      throw invalidParameter('Specify either id or ids but not both parameters');
    }
    const tags = (params['tags'] as Array<Record<string, string>> | undefined) ?? [];
    const ids = params['ids'] as string[] | undefined;
    const state = str(params, 'state')?.toLowerCase();
    const showDestroyed = account.admin || cloud.settings.allowUserViewDestroyedVm;
    const matches = [...cloud.vms.values()]
      .filter((vm) => vm.removed === undefined && (visible(context, vm.account) || (account.admin && params['id'] !== undefined)))
      .filter((vm) => showDestroyed || !HIDDEN_FROM_USERS.has(vm.state))
      .filter((vm) => params['id'] === undefined || vm.id === params['id'])
      .filter((vm) => ids === undefined || ids.includes(vm.id))
      .filter((vm) => params['name'] === undefined || vm.name === params['name'])
      .filter((vm) => state === undefined || (state === 'present' ? !HIDDEN_FROM_USERS.has(vm.state) : vm.state.toLowerCase() === state))
      .filter((vm) => params['zoneid'] === undefined || vm.zone.id === params['zoneid'])
      .filter((vm) => params['templateid'] === undefined || vm.template.id === params['templateid'])
      .filter((vm) => params['serviceofferingid'] === undefined || vm.offering.id === params['serviceofferingid'])
      .filter((vm) => params['networkid'] === undefined || vm.network.id === params['networkid'])
      .filter((vm) => tags.length === 0 || tags.some((pair) => hasTag(context, vm, pair)))
      .filter((vm) => keyword(params, vm.name, vm.displayname, vm.ip) || str(params, 'keyword')?.toLowerCase() === vm.state.toLowerCase())
      .sort((a, b) => a.internalId - b.internalId);
    const rendered = matches.map((vm) => ({
      ...vmJson(cloud, vm, account, context.jobs.runningOn(vm.id)),
      ...(params['userdata'] === true && vm.userData !== undefined ? { userdata: vm.userData } : {}),
    }));
    return paged(rendered, params, cloud.settings.pageSize, 'virtualmachine');
  },
};

function hasTag(context: CommandContext, vm: Vm, pair: Record<string, string>): boolean {
  const key = pair['key']?.toLowerCase();
  const value = pair['value']?.toLowerCase();
  return context.cloud
    .tagsOf(vm.id)
    .some((t) => (key === undefined || t.key.toLowerCase() === key) && (value === undefined || t.value.toLowerCase() === value));
}

export const VM_COMMANDS: readonly Command[] = [deploy, update, destroy, expungeVm, recover, start, stop, reboot, list];
