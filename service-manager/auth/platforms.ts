import { NotPermitted } from '../../lib/errors.js';
import { isObject } from '../../lib/objects.js';
import { matchesDigest } from '../../lib/secrets.js';

/** Which tenant a platform request acts for, when the platform serves several: by the request's `context`. */
export interface ContextRule {
  /** Fields the context must carry with these values (platform, organization_guid, space_guid, namespace, …). */
  readonly match: Readonly<Record<string, string>>;
  readonly tenant: string;
}

/** A service broker platform (a marketplace) and the tenants it acts for. */
export interface Platform {
  readonly name: string;
  readonly passwordHash: Buffer;
  /** The one tenant of every request, or rules that pick one by context. */
  readonly tenant?: string;
  readonly contexts: readonly ContextRule[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTEXT_FIELDS = ['platform', 'organization_guid', 'space_guid', 'namespace', 'clusterid', 'instance_name'];

/** The `platforms` section of the tenants file. */
export function parsePlatforms(raw: unknown, tenants: ReadonlySet<string>, fail: (why: string) => never): Platform[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) return fail('platforms must be an object of platform names');
  return Object.entries(raw).map(([name, entry]) => {
    const where = `platforms["${name}"]`;
    if (!isObject(entry)) return fail(`${where} must be an object`);
    for (const key of Object.keys(entry)) if (!['description', 'password_sha256', 'tenant', 'contexts'].includes(key)) fail(`${where}: unknown field "${key}"`);
    const hash = entry['password_sha256'];
    if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) return fail(`${where}.password_sha256 must be a lower-case hex sha256 digest`);
    const tenant = entry['tenant'];
    if (tenant !== undefined && (typeof tenant !== 'string' || !tenants.has(tenant))) fail(`${where}.tenant must name a tenant of this file`);
    const contexts = parseContexts(entry['contexts'], tenants, (why) => fail(`${where}.contexts: ${why}`));
    if ((tenant === undefined) === (contexts.length === 0)) fail(`${where} needs either a tenant or contexts, not both`);
    return { name, passwordHash: Buffer.from(hash, 'hex'), ...(typeof tenant === 'string' ? { tenant } : {}), contexts };
  });
}

function parseContexts(raw: unknown, tenants: ReadonlySet<string>, fail: (why: string) => never): ContextRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return fail('must be a list of {<context field>: <value>, …, "tenant": <tenant>}');
  return raw.map((rule: unknown, i) => {
    if (!isObject(rule)) return fail(`[${i}] must be an object`);
    const { tenant, ...match } = rule;
    if (typeof tenant !== 'string' || !tenants.has(tenant)) fail(`[${i}].tenant must name a tenant of this file`);
    if (Object.keys(match).length === 0) fail(`[${i}] must match at least one of ${CONTEXT_FIELDS.join(', ')}`);
    for (const [field, value] of Object.entries(match)) {
      if (!CONTEXT_FIELDS.includes(field)) fail(`[${i}]: unknown context field "${field}"; known: ${CONTEXT_FIELDS.join(', ')}`);
      if (typeof value !== 'string' || value === '') fail(`[${i}].${field} must be a non-empty string`);
    }
    return { match: match as Record<string, string>, tenant: tenant };
  });
}

/** The platform these HTTP Basic credentials belong to, if any. */
export function authenticatePlatform(platforms: readonly Platform[], user: string, password: string): Platform | undefined {
  const platform = platforms.find((p) => p.name === user);
  return platform && matchesDigest(password, platform.passwordHash) ? platform : undefined;
}

/** Every tenant the platform acts for: where it may look an instance up. */
export function platformTenants(platform: Platform): string[] {
  return platform.tenant !== undefined ? [platform.tenant] : [...new Set(platform.contexts.map((rule) => rule.tenant))];
}

/** The tenant a request with this context acts for. */
export function tenantForContext(platform: Platform, context: unknown): string {
  if (platform.tenant !== undefined) return platform.tenant;
  const given = isObject(context) ? context : {};
  const rule = platform.contexts.find((r) => Object.entries(r.match).every(([field, value]) => given[field] === value));
  if (!rule) throw new NotPermitted(`Platform ${platform.name} acts for no tenant in this context.`);
  return rule.tenant;
}
