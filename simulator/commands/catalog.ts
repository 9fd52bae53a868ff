import { invalidParameter } from '../api-error.js';
import { paged } from '../params.js';
import { networkJson, offeringJson, templateJson, zoneJson } from '../render.js';
import { keyword, PAGING, str, type Command } from './command.js';

const TEMPLATE_FILTERS = ['featured', 'self', 'selfexecutable', 'sharedexecutable', 'executable', 'community', 'all', 'system'];

const zones: Command = {
  name: 'listZones',
  description: 'Lists zones.',
  async: false,
  params: [
    { name: 'available', type: 'boolean', description: 'zones the account can use' },
    { name: 'id', type: 'uuid', entity: 'zone', description: 'zone id' },
    { name: 'name', type: 'string', description: 'zone name' },
    { name: 'networktype', type: 'string', description: 'Basic or Advanced' },
    { name: 'showcapacities', type: 'boolean', description: 'include capacities' },
    ...PAGING,
  ],
  handle({ cloud, params }) {
    const type = str(params, 'networktype');
    if (type !== undefined && type.toLowerCase() !== 'advanced') return {};
    const found = cloud.zones
      .filter((z) => params['id'] === undefined || z.id === params['id'])
      .filter((z) => params['name'] === undefined || z.name === params['name'])
      .filter((z) => keyword(params, z.name));
    return paged(found.map(zoneJson), params, cloud.settings.pageSize, 'zone');
  },
};

const templates: Command = {
  name: 'listTemplates',
  description: 'Lists templates, once per zone they are in.',
  async: false,
  params: [
    { name: 'templatefilter', type: 'string', required: true, description: TEMPLATE_FILTERS.join(', ') },
    { name: 'zoneid', type: 'uuid', entity: 'zone', description: 'zone' },
    { name: 'id', type: 'uuid', entity: 'template', description: 'template id' },
    { name: 'ids', type: 'list', description: 'template ids' },
    { name: 'name', type: 'string', description: 'template name' },
    { name: 'hypervisor', type: 'string', description: 'hypervisor' },
    ...PAGING,
  ],
  handle({ cloud, params, account }) {
    const filter = str(params, 'templatefilter')!;
    if (!TEMPLATE_FILTERS.includes(filter) || (filter === 'all' && !account.admin)) {
      throw invalidParameter(`Please specify a valid template filter; ${filter} is not one of ${TEMPLATE_FILTERS.join(', ')}`);
    }
    const hypervisor = str(params, 'hypervisor');
    if (filter === 'self' || filter === 'system' || (hypervisor !== undefined && hypervisor !== 'Simulator')) return {};
    const ids = params['ids'] as string[] | undefined;
    const entries = cloud.templates
      .filter((t) => params['id'] === undefined || t.id === params['id'])
      .filter((t) => ids === undefined || ids.includes(t.id))
      .filter((t) => params['name'] === undefined || t.name === params['name'])
      .filter((t) => keyword(params, t.name, t.displaytext))
      .flatMap((t) => t.zones.filter((z) => params['zoneid'] === undefined || z.id === params['zoneid']).map((z) => templateJson(t, z)));
    return paged(entries, params, cloud.settings.pageSize, 'template');
  },
};

const offerings: Command = {
  name: 'listServiceOfferings',
  description: 'Lists service offerings.',
  async: false,
  params: [
    { name: 'id', type: 'uuid', entity: 'serviceoffering', description: 'offering id' },
    { name: 'name', type: 'string', description: 'offering name' },
    { name: 'zoneid', type: 'uuid', entity: 'zone', description: 'zone' },
    { name: 'issystem', type: 'boolean', description: 'system offerings' },
    { name: 'virtualmachineid', type: 'uuid', entity: 'vm', description: 'offerings a VM can change to' },
    ...PAGING,
  ],
  handle({ cloud, params }) {
    if (params['issystem'] === true) return {};
    const found = cloud.offerings
      .filter((o) => params['id'] === undefined || o.id === params['id'])
      .filter((o) => params['name'] === undefined || o.name === params['name'])
      .filter((o) => keyword(params, o.name));
    return paged(found.map(offeringJson), params, cloud.settings.pageSize, 'serviceoffering');
  },
};

const networks: Command = {
  name: 'listNetworks',
  description: 'Lists networks.',
  async: false,
  params: [
    { name: 'zoneid', type: 'uuid', entity: 'zone', description: 'zone' },
    { name: 'id', type: 'uuid', entity: 'network', description: 'network id' },
    { name: 'canusefordeploy', type: 'boolean', description: 'networks VMs can be deployed in' },
    { name: 'isdefault', type: 'boolean', description: 'default networks' },
    { name: 'type', type: 'string', description: 'Isolated, Shared or L2' },
    ...PAGING,
  ],
  handle({ cloud, params }) {
    const type = str(params, 'type');
    if (type !== undefined && type.toLowerCase() !== 'shared') return {};
    const found = cloud.networks
      .filter((n) => params['zoneid'] === undefined || n.zone.id === params['zoneid'])
      .filter((n) => params['id'] === undefined || n.id === params['id'])
      .filter((n) => params['isdefault'] === undefined || n.isDefault === params['isdefault'])
      .filter((n) => keyword(params, n.name));
    return paged(found.map(networkJson), params, cloud.settings.pageSize, 'network');
  },
};

export const CATALOG_COMMANDS: readonly Command[] = [zones, templates, offerings, networks];
