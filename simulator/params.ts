import { ApiError, CS, invalidValue, missingParameter } from './api-error.js';
import type { Account, Cloud } from './cloud.js';
import type { JobEngine } from './jobs.js';

/** Parameter types as the API declares them (listApis shows them). */
export type ParamType = 'string' | 'integer' | 'boolean' | 'uuid' | 'list' | 'map' | 'date';

/** Entities a uuid parameter is translated to; an unknown uuid is a 431. */
export type Entity = 'zone' | 'template' | 'serviceoffering' | 'network' | 'vm' | 'job' | 'securitygroup';

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly required?: boolean;
  readonly entity?: Entity;
  /** Acting on another account's entity is refused (531). */
  readonly acl?: boolean;
  readonly length?: number;
  readonly description?: string;
}

export type ParamValue = string | number | boolean | string[] | Array<Record<string, string>>;
export type Params = Readonly<Record<string, ParamValue | undefined>>;

const ILLEGAL = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/;
const MAP_KEY = /^([a-z0-9_]+)\[(\d+)\]\.([a-z0-9_]+)$/;
const INTEGER = /^-?\d+$/;
const DEFAULT_LENGTH = 255;

/**
 * Checks a command's parameters in the order the management server does:
 * control characters (431), map syntax (430), required (431), types and
 * uuids (431), ownership (531), paging (431). Names are lower-cased; unknown
 * parameters are ignored, as on the real server.
 */
export function validateParams(
  command: string,
  specs: readonly ParamSpec[],
  raw: ReadonlyMap<string, string>,
  context: { readonly cloud: Cloud; readonly jobs: JobEngine; readonly account: Account },
): Params {
  const lower = new Map<string, string>();
  for (const [name, value] of raw) {
    if (ILLEGAL.test(value)) {
      throw new ApiError(431, `Received value containing illegal ASCII non-printable characters for parameter ${name}`, CS.serverApi);
    }
    if (!lower.has(name.toLowerCase())) lower.set(name.toLowerCase(), value);
  }
  const maps = unpackMaps(lower);
  for (const spec of specs) {
    const present = spec.type === 'map' ? maps.has(spec.name) : lower.has(spec.name);
    if (spec.required && !present) throw missingParameter(command, spec.name);
  }
  const params: Record<string, ParamValue> = {};
  for (const spec of specs) {
    if (spec.type === 'map') {
      const entries = maps.get(spec.name);
      if (entries) params[spec.name] = entries;
      continue;
    }
    const value = lower.get(spec.name);
    if (value === undefined) continue;
    const typed = convert(command, spec, value, context);
    if (typed !== undefined) params[spec.name] = typed;
  }
  checkPaging(params);
  return params;
}

function unpackMaps(params: ReadonlyMap<string, string>): Map<string, Array<Record<string, string>>> {
  const maps = new Map<string, Map<number, Record<string, string>>>();
  for (const [name, value] of params) {
    if (!name.includes('[')) continue;
    const match = MAP_KEY.exec(name);
    if (!match) {
      throw new ApiError(
        430,
        `Unable to decode parameter ${name}; if specifying an object array, please use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup`,
        CS.serverApi,
      );
    }
    const [, base, index, field] = match as unknown as [string, string, string, string];
    const entries = maps.get(base) ?? new Map<number, Record<string, string>>();
    maps.set(base, entries);
    const entry = entries.get(Number(index)) ?? {};
    entries.set(Number(index), { ...entry, [field]: value });
  }
  return new Map([...maps].map(([base, entries]) => [base, [...entries].sort(([a], [b]) => a - b).map(([, e]) => e)]));
}

function convert(
  command: string,
  spec: ParamSpec,
  value: string,
  context: { readonly cloud: Cloud; readonly jobs: JobEngine; readonly account: Account },
): ParamValue | undefined {
  switch (spec.type) {
    case 'integer':
      if (value === '') return undefined;
      if (!INTEGER.test(value)) throw invalidValue(command, spec.name, value);
      return Number(value);
    case 'boolean':
      return value.toLowerCase() === 'true';
    case 'list':
      return value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    case 'uuid':
      checkEntity(command, spec, value, context);
      return value;
    default: {
      const limit = spec.length ?? DEFAULT_LENGTH;
      if (value.length > limit) {
        throw new ApiError(
          431,
          `Unable to execute API command ${command.toLowerCase()} due to invalid value. Value greater than max allowed length ${limit} for param: ${spec.name}`,
          CS.serverApi,
        );
      }
      return value;
    }
  }
}

function checkEntity(
  command: string,
  spec: ParamSpec,
  value: string,
  context: { readonly cloud: Cloud; readonly jobs: JobEngine; readonly account: Account },
): void {
  const { account } = context;
  const found = lookup(spec.entity, value, context);
  if (!found) throw invalidValue(command, spec.name, value);
  if (spec.acl && found.owner !== undefined && found.owner !== account && !account.admin) {
    throw new ApiError(
      531,
      `Acct[${account.id}-${account.name}] does not have permission to operate with resource Acct[${found.owner.id}-${found.owner.name}]`,
      CS.permissionDenied,
    );
  }
}

function lookup(entity: Entity | undefined, id: string, { cloud, jobs }: { readonly cloud: Cloud; readonly jobs: JobEngine }): { owner?: Account } | undefined {
  switch (entity) {
    case 'zone':
      return cloud.zones.find((z) => z.id === id) && {};
    case 'template':
      return cloud.templates.find((t) => t.id === id) && {};
    case 'serviceoffering':
      return cloud.offerings.find((o) => o.id === id) && {};
    case 'network':
      return cloud.networks.find((n) => n.id === id) && {};
    case 'vm': {
      const vm = cloud.vms.get(id);
      return vm && { owner: vm.account };
    }
    case 'job': {
      const job = jobs.find(id);
      return job && { owner: job.account };
    }
    case 'securitygroup': {
      const group = cloud.securityGroups.find((g) => g.id === id);
      return group && { owner: group.account };
    }
    default:
      return {};
  }
}

function checkPaging(params: Record<string, ParamValue>): void {
  const page = params['page'];
  const size = params['pagesize'];
  if (page !== undefined && size === undefined) {
    throw new ApiError(431, '"pagesize" parameter is required when "page" is specified', CS.serverApi);
  }
  if (size !== undefined && page === undefined && size !== -1) {
    throw new ApiError(431, '"page" parameter is required when "pagesize" is specified', CS.serverApi);
  }
  if (size === -1 && page !== undefined) {
    throw new ApiError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)", CS.serverApi);
  }
}

/** The page of `items` a list call asked for, with the total count (`{}` when there is nothing at all). */
export function paged<T>(items: readonly T[], params: Params, maxPageSize: number, key: string): Record<string, unknown> {
  const size = params['pagesize'] as number | undefined;
  if (size !== undefined && size !== -1 && (size > maxPageSize || size < 1)) {
    throw new ApiError(431, `Page size can't exceed max allowed page size value: ${maxPageSize}`, CS.serverApi);
  }
  if (items.length === 0) return {};
  const page = (params['page'] as number | undefined) ?? 1;
  const slice = size === -1 ? items : items.slice((page - 1) * (size ?? maxPageSize), page * (size ?? maxPageSize));
  return slice.length === 0 ? { count: items.length } : { count: items.length, [key]: slice };
}
