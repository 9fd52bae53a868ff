import { ApiError, invalidParameter } from '../api-error.js';
import type { Tag } from '../cloud.js';
import { paged } from '../params.js';
import { tagJson } from '../render.js';
import { PAGING, str, submit, visible, type Command, type CommandContext } from './command.js';

const RESOURCE_TYPES: Record<string, string> = { uservm: 'UserVm', securitygroup: 'SecurityGroup' };

/** The canonical resource type, or undefined for one the simulator does not tag. */
function resourceType(raw: string): string | undefined {
  return RESOURCE_TYPES[raw.toLowerCase()];
}

function ownerOf(context: CommandContext, type: string, id: string): boolean {
  const owner = type === 'UserVm' ? context.cloud.vms.get(id)?.account : context.cloud.securityGroups.find((g) => g.id === id)?.account;
  const removed = type === 'UserVm' && context.cloud.vms.get(id)?.removed !== undefined;
  return owner !== undefined && !removed && (owner === context.account || context.account.admin);
}

const create: Command = {
  name: 'createTags',
  description: 'Creates resource tags.',
  async: true,
  params: [
    { name: 'resourcetype', type: 'string', required: true, description: 'UserVm or SecurityGroup' },
    { name: 'resourceids', type: 'list', required: true, description: 'resources to tag' },
    { name: 'tags', type: 'map', required: true, description: 'tags (key, value)' },
    { name: 'customer', type: 'string', description: 'customer name' },
  ],
  handle(context) {
    const raw = str(context.params, 'resourcetype')!;
    const ids = context.params['resourceids'] as string[];
    const pairs = context.params['tags'] as Array<Record<string, string>>;
    const type = resourceType(raw);
    if (type) {
      for (const id of ids) if (!ownerOf(context, type, id)) throw invalidParameter(`Unable to find resource by id ${id} and type ${type}`);
    }
    return submit(context, { cmdClass: 'org.apache.cloudstack.api.command.user.tag.CreateTagsCmd' }, async () => {
      await context.cloud.timers.sleep(context.cloud.timing.tagMs);
      if (!type) throw invalidParameter(`Invalid resource type ${raw}`);
      const added: Tag[] = [];
      for (const id of ids) {
        for (const pair of pairs) {
          const key = pair['key'] ?? '';
          const value = pair['value'];
          if (value === undefined || value === '') throw invalidParameter(`Value for the key ${key} is either null or empty`);
          if ([...context.cloud.tagsOf(id), ...added].some((t) => t.resourceId === id && t.key.toLowerCase() === key.toLowerCase())) {
            throw new ApiError(530, `A tag with key ${key} already exists on resource ${id}`);
          }
          const customer = str(context.params, 'customer');
          added.push({ key, value, resourceType: type, resourceId: id, account: context.account, ...(customer ? { customer } : {}) });
        }
      }
      context.cloud.tags.push(...added);
      return { success: true };
    });
  },
};

const remove: Command = {
  name: 'deleteTags',
  description: 'Deletes resource tags.',
  async: true,
  params: [
    { name: 'resourcetype', type: 'string', required: true, description: 'UserVm or SecurityGroup' },
    { name: 'resourceids', type: 'list', required: true, description: 'resources' },
    { name: 'tags', type: 'map', description: 'tags to delete (key, optional value); all when absent' },
  ],
  handle(context) {
    const raw = str(context.params, 'resourcetype')!;
    const ids = context.params['resourceids'] as string[];
    const pairs = (context.params['tags'] as Array<Record<string, string>> | undefined) ?? [];
    return submit(context, { cmdClass: 'org.apache.cloudstack.api.command.user.tag.DeleteTagsCmd' }, async () => {
      await context.cloud.timers.sleep(context.cloud.timing.tagMs);
      const type = resourceType(raw);
      if (!type) throw invalidParameter(`Invalid resource type ${raw}`);
      const doomed = (t: Tag): boolean =>
        t.resourceType === type &&
        ids.includes(t.resourceId) &&
        visible(context, t.account) &&
        (pairs.length === 0 ||
          pairs.some(
            (p) => p['key']?.toLowerCase() === t.key.toLowerCase() && (p['value'] === undefined || p['value'].toLowerCase() === t.value.toLowerCase()),
          ));
      if (!context.cloud.tags.some(doomed)) throw invalidParameter('Unable to find any tags which conform to specified delete parameters.');
      context.cloud.tags = context.cloud.tags.filter((t) => !doomed(t));
      return { success: true };
    });
  },
};

const list: Command = {
  name: 'listTags',
  description: 'Lists resource tags.',
  async: false,
  params: [
    { name: 'resourcetype', type: 'string', description: 'resource type' },
    { name: 'resourceid', type: 'string', description: 'resource id' },
    { name: 'key', type: 'string', description: 'tag key' },
    { name: 'value', type: 'string', description: 'tag value' },
    { name: 'customer', type: 'string', description: 'customer' },
    ...PAGING,
  ],
  handle(context) {
    const { params } = context;
    const eq = (a: string | undefined, b: string | undefined): boolean => a === undefined || a.toLowerCase() === b?.toLowerCase();
    const tags = context.cloud.tags.filter(
      (t) =>
        visible(context, t.account) &&
        eq(str(params, 'resourcetype'), t.resourceType) &&
        eq(str(params, 'resourceid'), t.resourceId) &&
        eq(str(params, 'key'), t.key) &&
        eq(str(params, 'value'), t.value) &&
        eq(str(params, 'customer'), t.customer),
    );
    return paged(tags.map(tagJson), params, context.cloud.settings.pageSize, 'tag');
  },
};

export const TAG_COMMANDS: readonly Command[] = [create, remove, list];
