import type { RequestHandler, Response } from 'express';
import { BadRequest, Unauthorized } from '../../lib/http-errors.js';
import { context } from '../../lib/http/context.js';
import type { WriteLimit } from '../admission/write-limit.js';
import type { TokenValidator } from '../auth/validator.js';

const MAX_TENANT_NAME = 64;

/** hurtle's gate: both headers on every request, then the token checked for that tenant. */
export function authenticate(validator: TokenValidator): RequestHandler {
  return async (req, res, next) => {
    const token = req.get('x-auth-token');
    if (token === undefined || token === '') throw new BadRequest('No X-Auth-Token header supplied.');
    const tenant = req.get('x-tenant-name');
    if (tenant === undefined || tenant === '') throw new BadRequest('No X-Tenant-Name header supplied.');
    const shown = tenant.length > MAX_TENANT_NAME ? `${tenant.slice(0, MAX_TENANT_NAME)}…` : tenant;
    if (!(await validator.validate(tenant, token))) {
      throw new Unauthorized(`Token is not valid for tenant ${shown}.`);
    }
    context(res).tenant = tenant;
    next();
  };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Spends one of the tenant's writes on every request that may change something (429 past its allowance). */
export function limitWrites(writes: WriteLimit): RequestHandler {
  return (req, res, next) => {
    if (!READS.has(req.method)) writes.spend(tenantOf(res));
    next();
  };
}

/** The tenant the gate authenticated. */
export function tenantOf(res: Response): string {
  const tenant = context(res).tenant;
  if (tenant === undefined) throw new Error('request reached a handler without authentication');
  return tenant;
}
