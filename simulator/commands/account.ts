import { invalidParameter } from '../api-error.js';
import { DOMAIN, type Account } from '../cloud.js';
import { paged } from '../params.js';
import { PAGING, str, visible, type Command, type CommandContext } from './command.js';

export const CLOUDSTACK_VERSION = '4.19.1.0';

const RESOURCE_TYPES: ReadonlyArray<readonly [string, string, 'user_vm' | 'cpu' | 'memory' | undefined]> = [
  ['0', 'user_vm', 'user_vm'],
  ['1', 'public_ip', undefined],
  ['2', 'volume', undefined],
  ['3', 'snapshot', undefined],
  ['4', 'template', undefined],
  ['6', 'network', undefined],
  ['7', 'vpc', undefined],
  ['8', 'cpu', 'cpu'],
  ['9', 'memory', 'memory'],
  ['10', 'primary_storage', undefined],
  ['11', 'secondary_storage', undefined],
];

const capabilities: Command = {
  name: 'listCapabilities',
  description: "Lists the cloud's capabilities and settings that matter to users.",
  async: false,
  params: [],
  handle({ cloud }) {
    const { settings } = cloud;
    return {
      capability: {
        cloudstackversion: CLOUDSTACK_VERSION,
        securitygroupsenabled: cloud.zones.some((z) => z.securitygroupsenabled),
        userpublictemplateenabled: true,
        allowuserviewdestroyedvm: settings.allowUserViewDestroyedVm,
        allowuserexpungerecovervm: settings.allowUserExpungeRecoverVm,
        ...(settings.throttling.enabled ? { apilimitinterval: Math.round(settings.throttling.intervalMs / 1000), apilimitmax: settings.throttling.max } : {}),
        customdiskofferingmaxsize: 1024,
        kvmsnapshotenabled: false,
        dynamicrolesenabled: true,
        defaultuipagesize: 20,
        projectinviterequired: false,
        kubernetesserviceenabled: false,
      },
    };
  },
};

function limitText(limit: number | undefined): string {
  return limit === undefined ? 'Unlimited' : String(limit);
}

const resourceLimits: Command = {
  name: 'listResourceLimits',
  description: "Lists the account's resource limits (-1 is unlimited).",
  async: false,
  params: [
    { name: 'resourcetype', type: 'integer', description: 'resource type number' },
    { name: 'resourcetypename', type: 'string', description: 'resource type name' },
    ...PAGING,
  ],
  handle({ account, params, cloud }) {
    const wantedType = params['resourcetype'];
    const wantedName = str(params, 'resourcetypename');
    if (wantedType !== undefined && !RESOURCE_TYPES.some(([n]) => Number(n) === wantedType)) {
      throw invalidParameter(`Please specify a valid resource type; ${JSON.stringify(wantedType)} is not one`);
    }
    const limits = RESOURCE_TYPES.filter(
      ([n, name]) => (wantedType === undefined || Number(n) === wantedType) && (wantedName === undefined || name === wantedName),
    ).map(([n, name, key]) => ({
      account: account.name,
      domainid: DOMAIN.id,
      domain: DOMAIN.name,
      resourcetype: n,
      resourcetypename: name,
      max: key === undefined ? -1 : (account.limits[key] ?? -1),
    }));
    return paged(limits, params, cloud.settings.pageSize, 'resourcelimit');
  },
};

function accountJson(context: CommandContext, account: Account): Record<string, unknown> {
  const used = context.cloud.usage(account);
  const available = (key: 'user_vm' | 'cpu' | 'memory'): string => (account.limits[key] === undefined ? 'Unlimited' : String(account.limits[key] - used[key]));
  return {
    id: account.id,
    name: account.name,
    accounttype: account.admin ? 1 : 0,
    roletype: account.admin ? 'Admin' : 'User',
    domainid: DOMAIN.id,
    domain: DOMAIN.name,
    state: 'enabled',
    vmtotal: used.user_vm,
    vmlimit: limitText(account.limits.user_vm),
    vmavailable: available('user_vm'),
    cputotal: used.cpu,
    cpulimit: limitText(account.limits.cpu),
    cpuavailable: available('cpu'),
    memorytotal: used.memory,
    memorylimit: limitText(account.limits.memory),
    memoryavailable: available('memory'),
    user: [{ id: account.userId, username: account.name, account: account.name, accounttype: account.admin ? 1 : 0, state: 'enabled' }],
  };
}

const accounts: Command = {
  name: 'listAccounts',
  description: 'Lists accounts with their resource use.',
  async: false,
  params: [{ name: 'name', type: 'string', description: 'account name' }, ...PAGING],
  handle(context) {
    const found = context.cloud.accounts.filter((a) => visible(context, a) && (context.params['name'] === undefined || a.name === context.params['name']));
    return paged(
      found.map((a) => accountJson(context, a)),
      context.params,
      context.cloud.settings.pageSize,
      'account',
    );
  },
};

/** listApis describes every command of the given table. */
export function apisCommand(all: () => readonly Command[]): Command {
  return {
    name: 'listApis',
    description: 'Lists the APIs available to the caller.',
    async: false,
    params: [{ name: 'name', type: 'string', description: 'one API' }],
    handle({ params }) {
      const name = str(params, 'name');
      const commands = all().filter((c) => name === undefined || c.name === name);
      if (name !== undefined && commands.length === 0) throw invalidParameter(`Api Name ${name} is not found`);
      const apis = commands.map((c) => ({
        name: c.name,
        description: c.description,
        isasync: c.async,
        related: '',
        params: c.params.map((p) => ({
          name: p.name,
          description: p.description ?? '',
          type: p.type,
          length: p.length ?? 255,
          required: p.required === true,
        })),
        response: [],
      }));
      return { count: apis.length, api: apis };
    },
  };
}

export const ACCOUNT_COMMANDS: readonly Command[] = [capabilities, resourceLimits, accounts];
