import { ApiError, CS, invalidParameter } from '../api-error.js';
import { isCidr, type Rule, type SecurityGroup } from '../cloud.js';
import { paged } from '../params.js';
import { securityGroupJson } from '../render.js';
import { keyword, PAGING, str, submit, visible, type Command, type CommandContext } from './command.js';

const SG_CLASS = 'org.apache.cloudstack.api.command.user.securitygroup';
const PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'];

function groupFor(context: CommandContext): SecurityGroup {
  const id = str(context.params, 'securitygroupid') ?? str(context.params, 'id');
  const name = str(context.params, 'securitygroupname') ?? str(context.params, 'name');
  const group = context.cloud.securityGroups.find((g) => g.account === context.account && (id !== undefined ? g.id === id : g.name === name));
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
    const group: SecurityGroup = {
      id: context.cloud.newId(),
      name,
      description: str(context.params, 'description') ?? name,
      account: context.account,
      ingress: [],
    };
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
    if (group.name === 'default') throw invalidParameter('The network group default is reserved');
    const referenced = context.cloud.securityGroups.some(
      (g) => g !== group && g.ingress.some((r) => r.securitygroupname === group.name && r.account === group.account.name),
    );
    if (referenced) throw new ApiError(536, 'Cannot delete group when there are security rules that allow this group', CS.resourceInUse);
    // VMs destroyed but not yet expunged still hold their groups.
    const inUse = [...context.cloud.vms.values()].some((vm) => vm.removed === undefined && vm.securityGroupIds.includes(group.id));
    if (inUse) throw new ApiError(536, "Cannot delete group when it's in use by virtual machines", CS.resourceInUse);
    context.cloud.securityGroups.splice(context.cloud.securityGroups.indexOf(group), 1);
    return { success: true };
  },
};

const authorize: Command = {
  name: 'authorizeSecurityGroupIngress',
  description: 'Adds ingress rules to a security group: from CIDRs, or from the VMs of other groups.',
  async: true,
  params: [
    { name: 'securitygroupid', type: 'uuid', entity: 'securitygroup', acl: true, description: 'group id' },
    { name: 'securitygroupname', type: 'string', description: 'group name' },
    { name: 'protocol', type: 'string', description: 'tcp, udp, icmp or all (the default)' },
    { name: 'startport', type: 'integer', description: 'first port' },
    { name: 'endport', type: 'integer', description: 'last port' },
    { name: 'icmptype', type: 'integer', description: 'ICMP type' },
    { name: 'icmpcode', type: 'integer', description: 'ICMP code' },
    { name: 'cidrlist', type: 'list', description: 'source CIDRs' },
    { name: 'usersecuritygrouplist', type: 'map', description: 'source groups (account, group)' },
  ],
  handle(context) {
    const { params } = context;
    if (params['securitygroupid'] !== undefined && params['securitygroupname'] !== undefined) {
      throw invalidParameter('securityGroupId and securityGroupName parameters are mutually exclusive');
    }
    if (params['securitygroupid'] === undefined && params['securitygroupname'] === undefined) {
      throw invalidParameter('Either securityGroupId or securityGroupName is required by authorizeSecurityGroupIngress command');
    }
    const group = groupFor(context);
    const protocol = (str(params, 'protocol') ?? 'all').toLowerCase();
    if (!PROTOCOLS.includes(protocol)) throw invalidParameter(`Invalid protocol ${protocol}`);
    const start = params['startport'] as number | undefined;
    const end = params['endport'] as number | undefined;
    if (protocol === 'all' && (start !== undefined || end !== undefined))
      throw invalidParameter('Cannot specify startPort or endPort without specifying protocol');
    if (protocol === 'tcp' || protocol === 'udp') {
      if (start === undefined || end === undefined)
        throw invalidParameter(`Invalid port range specified, startPort = ${start ?? 'null'}, endPort = ${end ?? 'null'}`);
      if (start > 65535 || end > 65535) throw invalidParameter(`Invalid port numbers ${start}:${end}`);
      if (start < 0 || end < 0 || start > end) throw invalidParameter(`Invalid port range ${start}:${end}`);
    }
    const cidrs = (params['cidrlist'] as string[] | undefined) ?? [];
    for (const cidr of cidrs) if (!isCidr(cidr)) throw invalidParameter(`Invalid cidr ${cidr}`);
    const sources = sourceGroups(context);
    if (cidrs.length === 0 && sources.length === 0) throw invalidParameter('At least one cidr or at least one security group needs to be specified');
    const ports = protocol === 'tcp' || protocol === 'udp' ? { startport: start!, endport: end! } : {};
    const icmp = {
      ...(params['icmptype'] === undefined ? {} : { icmptype: params['icmptype'] as number }),
      ...(params['icmpcode'] === undefined ? {} : { icmpcode: params['icmpcode'] as number }),
    };
    const wanted = [...cidrs.map((cidr) => ({ cidr })), ...sources].map((from) => ({ protocol, ...ports, ...icmp, ...from }));
    return submit(context, { cmdClass: `${SG_CLASS}.AuthorizeSecurityGroupIngressCmd` }, async () => {
      await context.cloud.timers.sleep(context.cloud.timing.securityGroupMs);
      // Rules that exist already are skipped; when all do, the job fails.
      const fresh = wanted.filter((rule) => !group.ingress.some((existing) => sameRule(existing, rule)));
      if (fresh.length === 0) throw new ApiError(530, 'Failed to authorize security group ingress rule(s)', CS.serverApi);
      for (const rule of fresh) group.ingress.push({ ruleid: context.cloud.newId(), ...rule });
      return { securitygroup: securityGroupJson(group, context.cloud) };
    });
  },
};

/** The groups of `usersecuritygrouplist`, each of which must exist. */
function sourceGroups(context: CommandContext): Array<{ securitygroupname: string; account: string }> {
  const entries = (context.params['usersecuritygrouplist'] as Array<Record<string, string>> | undefined) ?? [];
  return entries.map((entry) => {
    const account = entry['account'];
    const name = entry['group'];
    if (!account || !name)
      throw invalidParameter(
        "Invalid user group specified, fields 'group' and 'account' cannot be null, please specify groups in the form: userGroupList[0].group=XXX&userGroupList[0].account=YYY",
      );
    const exists = context.cloud.securityGroups.some((g) => g.name === name && g.account.name === account);
    if (!exists)
      throw invalidParameter(`Nonexistent group ${name} for account ${account}/${context.account.domainId} is given, unable to authorize security group rule.`);
    return { securitygroupname: name, account };
  });
}

function sameRule(a: Omit<Rule, 'ruleid'>, b: Omit<Rule, 'ruleid'>): boolean {
  const keys = ['protocol', 'startport', 'endport', 'icmptype', 'icmpcode', 'cidr', 'securitygroupname', 'account'] as const;
  return keys.every((key) => a[key] === b[key]);
}

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
      group.ingress.splice(
        group.ingress.findIndex((r) => r.ruleid === id),
        1,
      );
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
    { name: 'tags', type: 'map', description: 'tags (key, value); any pair matches' },
    ...PAGING,
  ],
  handle(context) {
    const { params, cloud } = context;
    const tags = (params['tags'] as Array<Record<string, string>> | undefined) ?? [];
    const tagged = (group: SecurityGroup): boolean =>
      tags.length === 0 || cloud.tagsOf(group.id).some((t) => tags.some((pair) => pair['key'] === t.key && pair['value'] === t.value));
    const vm = params['virtualmachineid'] === undefined ? undefined : cloud.vms.get(params['virtualmachineid'] as string);
    const found = cloud.securityGroups.filter(
      (g) =>
        visible(context, g.account) &&
        (params['id'] === undefined || g.id === params['id']) &&
        (params['securitygroupname'] === undefined || g.name === params['securitygroupname']) &&
        (vm === undefined || vm.securityGroupIds.includes(g.id)) &&
        tagged(g) &&
        keyword(params, g.name, g.description),
    );
    return paged(
      found.map((g) => securityGroupJson(g, cloud)),
      params,
      cloud.settings.pageSize,
      'securitygroup',
    );
  },
};

export const SECURITY_GROUP_COMMANDS: readonly Command[] = [create, remove, authorize, revoke, list];
