import { readFileSync } from 'node:fs';
import type { CloudStackCredentials } from '../../lib/cloudstack/index.js';
import { ConfigError } from '../../lib/errors.js';
import type { Quota } from '../admission/quota.js';
import { parsePlatforms, type Platform } from './platforms.js';
import type { TokenValidator } from './validator.js';
import { isObject } from '../../lib/objects.js';
import { matchesDigest } from '../../lib/secrets.js';

export interface Tenant {
  readonly name: string;
  readonly description?: string;
  readonly tokenHashes: readonly Buffer[];
  /** The tenant's CloudStack account, used by its service orchestrators. */
  readonly cloudstack?: CloudStackCredentials;
  /** AWS-style access keys (id → secret) for the CloudFormation-compatible API; secrets, as SigV4 needs them. */
  readonly awsKeys?: ReadonlyMap<string, string>;
  /** What differs from the service manager's default quota. */
  readonly quota?: Partial<Quota>;
}

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Tenants and the sha256 hashes of their tokens, read from a JSON file. Only
 * hashes are held, so neither the file nor memory reveals a token.
 */
export class TenantsFile implements TokenValidator {
  private readonly tenants: ReadonlyMap<string, Tenant>;

  constructor(
    tenants: readonly Tenant[],
    /** Service broker platforms, each acting for some of these tenants. */
    readonly platforms: readonly Platform[] = [],
  ) {
    this.tenants = new Map(tenants.map((t) => [t.name, t]));
  }

  static load(file: string): TenantsFile {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read tenants file ${file}: ${(error as Error).message}`);
    }
    const tenants = parseTenants(doc, file);
    const platforms = parsePlatforms(isObject(doc) ? doc['platforms'] : undefined, new Set(tenants.map((t) => t.name)), (why) => {
      throw new ConfigError(`${file}: ${why}`);
    });
    return new TenantsFile(tenants, platforms);
  }

  validate(tenant: string, token: string): Promise<boolean> {
    const entry = this.tenants.get(tenant);
    return Promise.resolve(entry !== undefined && entry.tokenHashes.some((hash) => matchesDigest(token, hash)));
  }

  /** The tenant an AWS access key belongs to, with its secret. */
  awsKey(accessKeyId: string): { readonly tenant: string; readonly secret: string } | undefined {
    for (const tenant of this.tenants.values()) {
      const secret = tenant.awsKeys?.get(accessKeyId);
      if (secret !== undefined) return { tenant: tenant.name, secret };
    }
    return undefined;
  }

  tenant(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  /** A tenant's quota: the defaults with what its entry overrides. */
  quotaOf(name: string, defaults: Quota): Quota {
    return { ...defaults, ...this.tenants.get(name)?.quota };
  }

  /** Every distinct CloudStack account the tenants use. */
  accounts(): CloudStackCredentials[] {
    const byKey = new Map<string, CloudStackCredentials>();
    for (const tenant of this.tenants.values()) if (tenant.cloudstack) byKey.set(tenant.cloudstack.apiKey, tenant.cloudstack);
    return [...byKey.values()];
  }
}

export function parseTenants(doc: unknown, source: string): Tenant[] {
  const fail = (why: string): never => {
    throw new ConfigError(`${source}: ${why}`);
  };
  if (!isObject(doc) || !isObject(doc['tenants']) || Object.keys(doc).some((key) => key !== 'tenants' && key !== 'platforms')) {
    return fail('must be an object with a "tenants" object (and, for service broker platforms, a "platforms" object)');
  }
  return Object.entries(doc['tenants']).map(([name, raw]) => {
    const where = `tenants["${name}"]`;
    if (!TENANT_NAME.test(name)) fail(`${where}: tenant names are 1 to 64 letters, digits, ".", "_", "@" or "-"`);
    if (!isObject(raw)) return fail(`${where} must be an object`);
    for (const key of Object.keys(raw)) {
      if (!['description', 'token_sha256', 'cloudstack', 'quota', 'aws_keys'].includes(key)) fail(`${where}: unknown field "${key}"`);
    }
    const hashes = raw['token_sha256'];
    if (!Array.isArray(hashes) || hashes.length === 0 || !hashes.every((h) => typeof h === 'string' && SHA256_HEX.test(h))) {
      return fail(`${where}.token_sha256 must be a non-empty list of lower-case hex sha256 digests`);
    }
    const description = raw['description'];
    if (description !== undefined && typeof description !== 'string') fail(`${where}.description must be a string`);
    return {
      name,
      ...(typeof description === 'string' ? { description } : {}),
      tokenHashes: hashes.map((h: string) => Buffer.from(h, 'hex')),
      ...credentials(raw['cloudstack'], `${where}.cloudstack`, fail),
      ...quota(raw['quota'], `${where}.quota`, fail),
      ...awsKeys(raw['aws_keys'], `${where}.aws_keys`, fail),
    };
  });
}

const QUOTA_KEYS: Readonly<Record<string, keyof Quota>> = {
  instances: 'instances',
  vms: 'vms',
  agents_per_instance: 'agentsPerInstance',
  writes_per_minute: 'writesPerMinute',
  write_burst: 'writeBurst',
};

function quota(raw: unknown, where: string, fail: (why: string) => never): { quota?: Partial<Quota> } {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail(`${where} must be an object with any of ${Object.keys(QUOTA_KEYS).join(', ')}`);
  const result: Partial<Record<keyof Quota, number>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = QUOTA_KEYS[key];
    if (field === undefined) fail(`${where}: unknown field "${key}"; known: ${Object.keys(QUOTA_KEYS).join(', ')}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail(`${where}.${key} must be a whole number of at least 1`);
    result[field] = value;
  }
  return { quota: result };
}

const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

function awsKeys(raw: unknown, where: string, fail: (why: string) => never): { awsKeys?: ReadonlyMap<string, string> } {
  if (raw === undefined) return {};
  if (!Array.isArray(raw)) return fail(`${where} must be a list of {"access_key_id", "secret_access_key"}`);
  const keys = new Map<string, string>();
  raw.forEach((entry: unknown, i) => {
    const id = isObject(entry) ? entry['access_key_id'] : undefined;
    const secret = isObject(entry) ? entry['secret_access_key'] : undefined;
    if (typeof id !== 'string' || !ACCESS_KEY_ID.test(id)) fail(`${where}[${i}].access_key_id must be 16 to 128 upper-case letters and digits`);
    if (typeof secret !== 'string' || secret.length < 16) fail(`${where}[${i}].secret_access_key must be text of at least 16 characters`);
    keys.set(id, secret);
  });
  return { awsKeys: keys };
}

function credentials(raw: unknown, where: string, fail: (why: string) => never): { cloudstack?: CloudStackCredentials } {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail(`${where} must be an object with api_key and secret_key`);
  for (const key of Object.keys(raw)) if (key !== 'api_key' && key !== 'secret_key') fail(`${where}: unknown field "${key}"`);
  const apiKey = raw['api_key'];
  const secretKey = raw['secret_key'];
  if (typeof apiKey !== 'string' || apiKey === '' || typeof secretKey !== 'string' || secretKey === '') {
    return fail(`${where} needs non-empty api_key and secret_key strings`);
  }
  return { cloudstack: { apiKey, secretKey } };
}
