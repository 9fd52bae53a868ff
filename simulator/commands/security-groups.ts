import { ApiError, CS, invalidParameter } from '../api-error.js';
import type { Rule, SecurityGroup } from '../cloud.js';
import { paged } from '../params.js';
import { securityGroupJson } from '../render.js';
import { keyword, PAGING, str, submit, visible, type Command, type CommandContext } from './command.js';

const SG_CLASS = 'org.apache.cloudstack.api.command.user.securitygroup';
const PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'];

function groupFor(context: CommandContext): SecurityGroup {
  const id = str(context.params, 'securitygroupid') ?? str(context.params, 'id');
  const name = str(context.params, 'securitygroupname') ?? str(context.params, 'name');
  const group = context.cloud.securityGroups.find(
    (g) => g.account === context.account && (id !== undefined ? g.id === id : g.name === name),
  );
  if (id === undefined && name === undefined) throw invalidParameter('Either the security group id or name must be specified');
  if (!group) throw invalidParameter(`Unable to find security group ${id ?? name}`);
  return group;
}

const create: Command = {
  name: 'createSecurityGroup',
  description: 'Creates a security group.',
  async: false,
  params: [
    { name: 'name', type: 'string', required: true, description: 'group name' },
    { name: 'description', type: 'string', description: 'group description' },
  ],
  handle(context) {
    const name = str(context.params, 'name')!;
    if (context.cloud.securityGroups.some((g) => g.account === context.account && g.name === name)) {
      throw invalidParameter(`Unable to create security group, a group with name ${name} already exists.`);
    }
    const group: SecurityGroup = { id: context.cloud.newId(), name, description: str(context.params, 'description') ?? name, account: context.account, ingress: [] };
    context.cloud.securityGroups.push(group);
    return { securitygroup: securityGroupJson(group, context.cloud) };
  },
};

const remove: Command = {
  name: 'deleteSecurityGroup',
  description: 'Deletes a security group that no VM uses.',
  async: false,
  params: [
    { name: 'id', type: 'uuid', entity: 'securitygroup', acl: true, description: 'group id' },
    { name: 'name', type: 'string', description: 'group name' },
  ],
  handle(context) {
    const group = groupFor(context);
    if (group.name === 'default') throw invalidParameter("The network default group can't be removed");
    const inUse = [...context.cloud.vms.values()].some((vm) => vm.removed === undefined && vm.securityGroupIds.includes(group.id));
    if (inUse) throw new ApiError(536, `Unable to delete security group ${group.name}; it is in use`, CS.resourceInUse);
    context.cloud.securityGroups.splice(context.cloud.securityGroups.indexOf(group), 1);
    return { success: true };
  },
};

const authorize: Command = {
  name: 'authorizeSecurityGroupIngress',
  description: 'Adds an ingress rule to a security group.',
  async: true,
  params: [
    { name: 'securitygroupid', type: 'uuid', entity: 'securitygroup', acl: true, description: 'group id' },
    { name: 'securitygroupname', type: 'string', description: 'group name' },
    { name: 'protocol', type: 'string', description: 'tcp, udp, icmp or all' },
    { name: 'startport', type: 'integer', description: 'first port' },
    { name: 'endport', type: 'integer', description: 'last port' },
    { name: 'icmptype', type: 'integer', description: 'ICMP type' },
    { name: 'icmpcode', type: 'integer', description: 'ICMP code' },
    { name: 'cidrlist', type: 'list', description: 'source CIDRs' },
  ],
  handle(context) {
    const group = groupFor(context);
    const protocol = (str(context.params, 'protocol') ?? 'tcp').toLowerCase();
    if (!PROTOCOLS.includes(protocol)) throw invalidParameter(`Invalid protocol ${protocol}`);
    const start = context.params['startport'] as number | undefined;
    const end = context.params['endport'] as number | undefined;
    if ((protocol === 'tcp' || protocol === 'udp') && (start === undefined || end === undefined || start < 0 || end > 65535 || start > end)) {
      throw invalidParameter(`Invalid port range ${start ?? '?'}:${end ?? '?'}`);
    }
    const cidrs = (context.params['cidrlist'] as string[] | undefined) ?? ['0.0.0.0/0'];
    return submit(context, { cmdClass: `${SG_CLASS}.AuthorizeSecurityGroupIngressCmd` }, async () => {
      await context.cloud.timers.sleep(context.cloud.timing.securityGroupMs);
      for (const cidr of cidrs) {
        const rule: Rule = {
          ruleid: context.cloud.newId(),
          protocol,
          ...(start === undefined ? {} : { startport: start }),
          ...(end === undefined ? {} : { endport: end }),
          ...(context.params['icmptype'] === undefined ? {} : { icmptype: context.params['icmptype'] as number }),
          ...(context.params['icmpcode'] === undefined ? {} : { icmpcode: context.params['icmpcode'] as number }),
          cidr,
        };
        group.ingress.push(rule);
      }
      return { securitygroup: securityGroupJson(group, context.cloud) };
    });
  },
};

const revoke: Command = {
  name: 'revokeSecurityGroupIngress',
  description: 'Removes an ingress rule.',
  async: true,
  params: [{ name: 'id', type: 'string', required: true, description: 'rule id' }],
  handle(context) {
    const id = str(context.params, 'id')!;
    const group = context.cloud.securityGroups.find((g) => g.account === context.account && g.ingress.some((r) => r.ruleid === id));
    if (!group) throw invalidParameter(`Unable to find security group rule with id ${id}`);
    return submit(context, { cmdClass: `${SG_CLASS}.RevokeSecurityGroupIngressCmd` }, async () => {
      await context.cloud.timers.sleep(context.cloud.timing.securityGroupMs);
      group.ingress.splice(group.ingress.findIndex((r) => r.ruleid === id), 1);
      return { success: true };
    });
  },
};

const list: Command = {
  name: 'listSecurityGroups',
  description: 'Lists security groups.',
  async: false,
  params: [
    { name: 'id', type: 'uuid', entity: 'securitygroup', description: 'group id' },
    { name: 'securitygroupname', type: 'string', description: 'group name' },
    { name: 'virtualmachineid', type: 'uuid', entity: 'vm', description: 'groups of a VM' },
    ...PAGING,
  ],
  handle(context) {
    const { params, cloud } = context;
    const vm = params['virtualmachineid'] === undefined ? undefined : cloud.vms.get(params['virtualmachineid'] as string);
    const found = cloud.securityGroups.filter(
      (g) =>
        visible(context, g.account) &&
        (params['id'] === undefined || g.id === params['id']) &&
        (params['securitygroupname'] === undefined || g.name === params['securitygroupname']) &&
        (vm === undefined || vm.securityGroupIds.includes(g.id)) &&
        keyword(params, g.name, g.description),
    );
    return paged(found.map((g) => securityGroupJson(g, cloud)), params, cloud.settings.pageSize, 'securitygroup');
  },
};

export const SECURITY_GROUP_COMMANDS: readonly Command[] = [create, remove, authorize, revoke, list];
