import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { Refusal } from '../../lib/errors.js';
import { httpErrorOf } from '../../lib/http-errors.js';
import type { Logger } from '../../lib/logger.js';
import { isObject } from '../../lib/objects.js';
import { authenticatePlatform, type Platform } from '../auth/platforms.js';
import type { Answer, Broker, Caller } from '../broker/broker.js';

export interface BrokerApiDeps {
  readonly broker: Broker;
  readonly platforms: readonly Platform[];
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** This service manager's URL as clients reach it, for the dashboard's link. */
  readonly baseUrl: (req: Request) => string;
}

const REQUEST_IDENTITY = 'X-Broker-API-Request-Identity';
/** Actors are recorded in histories; an originating identity is cut to this. */
const MAX_ACTOR = 200;

/** An answer in the broker protocol's own shape: `{"error": …, "description": …}` for failures. */
function fail(res: Response, status: number, description: string, error?: string, headers: Record<string, string> = {}): void {
  res
    .status(status)
    .set(headers)
    .json({ ...(error === undefined ? {} : { error }), description });
}

function answer(res: Response, result: Answer): void {
  res.status(result.status).json(result.body);
}

/** `Basic <base64(user:password)>` → the platform, or undefined. */
function platformOf(req: Request, platforms: readonly Platform[]): Platform | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!match) return undefined;
  const pair = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  return colon < 0 ? undefined : authenticatePlatform(platforms, pair.slice(0, colon), pair.slice(colon + 1));
}

/** `<platform> <base64(JSON)>` names the person behind a request; the history records it with the platform's name. */
export function actorOf(platform: Platform, header: string | undefined): string {
  const match = /^([a-z0-9_-]+) ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return platform.name;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(match[2], 'base64').toString('utf8'));
  } catch {
    return platform.name;
  }
  const who = isObject(doc) ? (doc['user_id'] ?? doc['username']) : undefined;
  const text = typeof who === 'string' && who !== '' ? `${platform.name} (${match[1]} user ${who})` : platform.name;
  return text.replace(/[\x00-\x1f\x7f]/g, '').slice(0, MAX_ACTOR);
}

/**
 * The Open Service Broker API at /v2, before the OCCI gate: platforms
 * authenticate with HTTP Basic and name the API version; everything else
 * under /v2 is theirs.
 */
export function brokerApi(deps: BrokerApiDeps): Router {
  const router = express.Router({ caseSensitive: true, strict: false });
  const v2 = express.Router({ caseSensitive: true });
  router.use('/v2', v2);

  v2.use((req, res, next) => {
    const identity = req.get(REQUEST_IDENTITY);
    if (identity) res.set(REQUEST_IDENTITY, identity.slice(0, 256));
    const platform = platformOf(req, deps.platforms);
    if (!platform)
      return fail(res, 401, 'Authenticate with the platform credentials (HTTP Basic).', undefined, { 'WWW-Authenticate': 'Basic realm="service-broker"' });
    const version = /^(\d+)\.(\d+)$/.exec(req.get('x-broker-api-version') ?? '');
    if (!version || version[1] !== '2') return fail(res, 412, 'This broker speaks Open Service Broker API 2.x: send X-Broker-API-Version: 2.17.');
    res.locals['caller'] = {
      platform,
      actor: actorOf(platform, req.get('x-broker-api-originating-identity')),
      dashboardUrl: `${deps.baseUrl(req)}/dashboard/`,
    } satisfies Caller;
    next();
  });
  v2.use(express.json({ limit: deps.maxBodyBytes, type: () => true }));

  const caller = (res: Response): Caller => res.locals['caller'] as Caller;
  const accepts = (req: Request): boolean => req.query['accepts_incomplete'] === 'true';
  const query = (req: Request): Record<string, unknown> => req.query;
  const instance = '/service_instances/:instance_id';
  const binding = `${instance}/service_bindings/:binding_id`;

  v2.get('/catalog', (_req, res) => void res.json(deps.broker.catalog()));
  v2.put(instance, async (req, res) => answer(res, await deps.broker.provision(caller(res), req.params['instance_id'], req.body, accepts(req))));
  v2.patch(instance, async (req, res) => answer(res, await deps.broker.update(caller(res), req.params['instance_id'], req.body, accepts(req))));
  v2.delete(instance, async (req, res) => answer(res, await deps.broker.deprovision(caller(res), req.params['instance_id'], query(req), accepts(req))));
  v2.get(instance, (req, res) => void res.json(deps.broker.fetch(caller(res), req.params['instance_id'])));
  v2.get(`${instance}/last_operation`, (req, res) => {
    const state = deps.broker.lastOperation(caller(res), req.params['instance_id']);
    if (state.state === 'in progress') res.set('Retry-After', '5');
    res.json(state);
  });
  v2.put(binding, async (req, res) => answer(res, await deps.broker.bind(caller(res), req.params['instance_id'], req.params['binding_id'], req.body)));
  v2.get(binding, (req, res) => void res.json(deps.broker.fetchBinding(caller(res), req.params['instance_id'], req.params['binding_id'])));
  v2.delete(binding, async (req, res) => answer(res, await deps.broker.unbind(caller(res), req.params['instance_id'], req.params['binding_id'], query(req))));
  v2.use((req, res) => fail(res, 404, `Nothing at ${req.originalUrl} in this service broker.`));

  v2.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = httpErrorOf(error);
    if (known) return fail(res, known.status, known.message, error instanceof Refusal ? error.code : undefined, known.headers);
    const parser = error as { status?: unknown; message?: unknown };
    if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500)
      return fail(res, parser.status, `The request could not be read: ${String(parser.message)}`);
    deps.logger.error('service broker: internal error', { error: error instanceof Error ? error.stack : String(error) });
    fail(res, 500, 'Internal error.');
  });
  return router;
}
