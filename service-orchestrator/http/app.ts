import type { Registry } from 'prom-client';
import { metricsEndpoint } from '../../lib/metrics/http.js';
import { probes, type ReadinessCheck } from '../../lib/http/probes.js';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { BadRequest, Forbidden, NotFound } from '../../lib/http-errors.js';
import { clusterTextForms } from '../../lib/cluster/text-forms.js';
import { baseUrlOf, send } from '../../lib/http/context.js';
import { byMethod, errorHandler, occiVersion, requestContext, sendError, type RequestObserver } from '../../lib/http/middleware.js';
import type { Logger } from '../../lib/logger.js';
import {
  ORCHESTRATOR_LOCATION,
  ORCHESTRATOR_PATH,
  ORCHESTRATOR_TERM,
  SO_SCHEME,
  STACK_ID_ATTRIBUTE,
  STACK_MESSAGE_ATTRIBUTE,
  STACK_STATE_ATTRIBUTE,
} from '../../lib/hurtle/protocol.js';
import { NonceBook, SIGNATURE_HEADER, signResponse, verifyRequest } from '../../lib/orchestrator-auth.js';
import { CORE_KINDS, RESOURCE_TYPE, typeId, type Action, type AttributeValue, type Entity, type Kind } from '../../lib/occi/model.js';
import { negotiate } from '../../lib/occi/negotiate.js';
import type { CategoryRef } from '../../lib/occi/parse.js';
import {
  collectionRepresentation,
  createdRepresentation,
  entityRepresentation,
  okRepresentation,
  queryInterfaceRepresentation,
} from '../../lib/occi/representation.js';
import { readOcciRequest, type OcciRequest } from '../../lib/occi/request.js';
import type { RawValue } from '../cluster/parameters.js';
import type { Orchestrator } from '../orchestrator.js';

const DEPLOY: Action = { scheme: SO_SCHEME, term: 'deploy', title: "Deploy the cluster's VMs", attributes: [] };
const PROVISION: Action = { scheme: SO_SCHEME, term: 'provision', title: 'Wait until the cluster works', attributes: [] };

export const ORCHESTRATOR_KIND: Kind = {
  scheme: SO_SCHEME,
  term: ORCHESTRATOR_TERM,
  title: 'Service orchestrator of one Mesos cluster',
  parent: RESOURCE_TYPE,
  location: ORCHESTRATOR_LOCATION,
  attributes: [
    { name: STACK_STATE_ATTRIBUTE, type: 'string', required: false, mutable: false },
    { name: STACK_ID_ATTRIBUTE, type: 'string', required: false, mutable: false },
  ],
  actions: [DEPLOY, PROVISION],
};

export interface SoAppDeps {
  readonly orchestrator: Orchestrator;
  /** What `/readyz` checks, by name. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** What `/metrics` serves. */
  readonly metrics: Registry;
  /** Hears of every request that ended. */
  readonly observe: RequestObserver;
  /** The instance's tenant; unset, the tenant whose PUT initialises the orchestrator is the one it serves from then on. */
  readonly tenant?: string;
  /**
   * The key shared with the service manager that started this orchestrator:
   * when set, only requests it signed are served, and every answer to them
   * is signed back. Without it, hurtle's X-Auth-Token is required but any
   * token is accepted, as in hurtle.
   */
  readonly authKey?: string;
  /** The host's wall clock, which signed requests are timed by. */
  readonly wallClock: () => number;
  readonly defaults: ReadonlyMap<string, RawValue>;
  readonly logger: Logger;
  readonly serverName: string;
  readonly fallbackHost: string;
}

/**
 * The hurtle SO protocol: the single resource /orchestrator/default, PUT to
 * initialise, POST ?action=deploy|provision, POST with attributes to update,
 * DELETE to dispose, GET for the stack state and the cluster's outputs.
 */
export function createSoApp(deps: SoAppDeps): Express {
  const { orchestrator } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The service manager polls; its reads are logged at debug.
  app.use(requestContext(deps.logger, deps.serverName, true, deps.observe));
  app.use(probes(deps.readiness, deps.logger));
  app.use(metricsEndpoint(deps.metrics));
  app.use(occiVersion());
  app.use(express.raw({ type: () => true, limit: 65_536 }));
  app.use(deps.authKey === undefined ? hurtleGate : signedOnly(deps.authKey, deps.wallClock));
  const tenancy = new Tenancy(deps.tenant);
  app.use(tenancy.gate);

  const exists = (): boolean => orchestrator.initialised || orchestrator.disposing;
  const baseUrl = (req: Request): string => baseUrlOf(req, undefined, deps.fallbackHost);
  const entities = (): Entity[] => (exists() ? [entity(orchestrator)] : []);

  const list: RequestHandler = (req, res) => {
    send(res, 200, collectionRepresentation(negotiate(req.get('accept'), true), entities(), baseUrl(req)));
  };

  app.all(
    ['/-/', '/.well-known/org/ogf/occi/-/'],
    byMethod({
      GET: (req, res) =>
        send(res, 200, queryInterfaceRepresentation(negotiate(req.get('accept'), false), [ORCHESTRATOR_KIND, ...CORE_KINDS], [DEPLOY, PROVISION])),
    }),
  );
  app.all(['/', ORCHESTRATOR_LOCATION], byMethod({ GET: list }));
  app.all(
    ORCHESTRATOR_PATH,
    byMethod({
      GET: (req, res) => {
        const negotiated = negotiate(req.get('accept'), false);
        if (!exists()) throw new NotFound(`Resource not found: '${ORCHESTRATOR_PATH}'`);
        send(res, 200, entityRepresentation(negotiated, entity(orchestrator)));
      },
      PUT: async (req, res) => {
        const negotiated = negotiate(req.get('accept'), false);
        const request = occiRequest(req);
        requireCategory(request.categories, ORCHESTRATOR_KIND, true);
        const claim = tenancy.claim(req.get('x-tenant-name')!);
        const outcome = await orchestrator.initialise(attributesOf(request), deps.defaults).catch((error: unknown) => {
          if (!exists()) claim.release();
          throw error;
        });
        const rendered = entity(orchestrator);
        if (outcome === 'created') send(res, 201, createdRepresentation(negotiated, rendered, baseUrl(req) + ORCHESTRATOR_PATH));
        else send(res, 200, entityRepresentation(negotiated, rendered));
      },
      POST: (req, res) => {
        const negotiated = negotiate(req.get('accept'), false);
        if (!exists()) throw new NotFound(`Resource not found: '${ORCHESTRATOR_PATH}'`);
        const request = occiRequest(req);
        const action = actionOf(req);
        if (action === undefined) {
          requireCategory(request.categories, ORCHESTRATOR_KIND, false);
          orchestrator.update(attributesOf(request));
        } else {
          const known = action === 'deploy' ? DEPLOY : action === 'provision' ? PROVISION : undefined;
          if (!known) throw new BadRequest(`Unknown action "${action}"; the orchestrator offers deploy and provision.`);
          requireCategory(request.categories, known, false);
          orchestrator.act(action, attributesOf(request));
        }
        send(res, 200, entityRepresentation(negotiated, entity(orchestrator)));
      },
      DELETE: (req, res) => {
        const negotiated = negotiate(req.get('accept'), false);
        orchestrator.dispose();
        send(res, 200, okRepresentation(negotiated, entity(orchestrator)));
      },
    }),
  );
  app.use((req) => {
    throw new NotFound(`Resource not found: '${req.path}'`);
  });
  app.use(errorHandler(65_536));
  return app;
}

/** hurtle's gate: an X-Auth-Token must be present, whatever it is. */
const hurtleGate: RequestHandler = (req, res, next) => {
  if (!req.get('x-auth-token')) return sendError(req, res, 403, 'X-Auth-Token required...');
  next();
};

/**
 * Serves only requests the service manager signed with this orchestrator's
 * key, and signs every answer to them, so the manager knows it talks to the
 * orchestrator it started.
 */
function signedOnly(key: string, wallClock: () => number): RequestHandler {
  const nonces = new NonceBook(wallClock);
  return (req, res, next) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request = { method: req.method, path: req.originalUrl, header: (name: string) => req.get(name), body };
    const verdict = verifyRequest(key, request, authority(req.socket.localAddress, req.socket.localPort), wallClock(), nonces.fresh);
    if (!verdict.ok) {
      sendError(req, res, 401, `This orchestrator serves only the service manager that started it: ${verdict.reason}.`, {
        'WWW-Authenticate': 'SO-HMAC-SHA256',
      });
      return;
    }
    signAnswer(res, key, verdict.nonce);
    next();
  };
}

/** The address a request reached, as a Host header names it. */
function authority(address: string | undefined, port: number | undefined): string {
  const host = address?.startsWith('::ffff:') ? address.slice('::ffff:'.length) : (address ?? '');
  return `${host.includes(':') ? `[${host}]` : host}:${port ?? ''}`;
}

/** Adds the answer's signature just before it is sent; every answer here is sent whole by one end(). */
function signAnswer(res: Response, key: string, nonce: string): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    const [chunk, encoding] = args;
    const body =
      chunk === undefined || typeof chunk === 'function'
        ? ''
        : Buffer.isBuffer(chunk)
          ? chunk
          : typeof chunk === 'string'
            ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
            : Buffer.from(chunk as Uint8Array);
    const sent = res.req.method === 'HEAD' ? '' : body;
    if (!res.headersSent) res.setHeader(SIGNATURE_HEADER, signResponse(key, nonce, res.statusCode, sent));
    return end(...args);
  }) as Response['end'];
}

/**
 * hurtle's tenant check: the orchestrator serves its instance's tenant only.
 * Started without one (as hurtle's cloud controller starts an SO), it serves
 * the tenant whose PUT initialises it; before that any tenant may look.
 */
class Tenancy {
  constructor(private tenant?: string) {}

  readonly gate: RequestHandler = (req, res, next) => {
    const given = req.get('x-tenant-name');
    if (!given) return sendError(req, res, 403, 'X-Tenant-Name required...');
    if (this.tenant !== undefined && given !== this.tenant) return sendError(req, res, 403, 'This orchestrator serves another tenant.');
    next();
  };

  /** Binds an unbound orchestrator to the tenant initialising it; released when that fails before anything exists. */
  claim(tenant: string): { release(): void } {
    if (this.tenant !== undefined && this.tenant !== tenant) throw new Forbidden('This orchestrator serves another tenant.');
    if (this.tenant !== undefined) return { release: () => undefined };
    this.tenant = tenant;
    return {
      release: () => {
        if (this.tenant === tenant) this.tenant = undefined;
      },
    };
  }
}

function occiRequest(req: Request): OcciRequest {
  return readOcciRequest({
    contentType: req.get('content-type'),
    header: (name) => req.get(name),
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  });
}

function actionOf(req: Request): string | undefined {
  const action = (req.query as Record<string, unknown>)['action'];
  if (action === undefined) return undefined;
  if (typeof action !== 'string') throw new BadRequest('Give exactly one ?action=<term>.');
  return action;
}

function requireCategory(categories: readonly CategoryRef[], expected: Kind | Action, needed: boolean): void {
  for (const category of categories) {
    if (category.scheme + category.term !== typeId(expected)) {
      throw new BadRequest(`The following category is not registered within this service (See Query interfaces): ${category.scheme}${category.term}`);
    }
  }
  if (needed && categories.length === 0) throw new BadRequest('Could not find a valid kind.');
}

function attributesOf(request: OcciRequest): Map<string, RawValue> {
  return new Map(request.attributes.map((a) => [a.name, a.value.value]));
}

/** /orchestrator/default as clients see it: stack state, id and message, the parameters, then the outputs. */
export function entity(orchestrator: Orchestrator): Entity {
  const attributes: Array<readonly [string, AttributeValue]> = [
    ['occi.core.id', 'default'],
    [STACK_STATE_ATTRIBUTE, orchestrator.state],
    [STACK_ID_ATTRIBUTE, orchestrator.stackId],
    [STACK_MESSAGE_ATTRIBUTE, orchestrator.message],
    ...[...orchestrator.parameters()].filter(([name]) => !name.startsWith('occi.')),
    ...Object.entries(orchestrator.outputs),
  ];
  const actions = orchestrator.actions.map((term) => (term === 'deploy' ? DEPLOY : PROVISION));
  return { id: 'default', location: ORCHESTRATOR_PATH, kind: ORCHESTRATOR_KIND, attributes, actions, textForms: clusterTextForms(orchestrator.outputs) };
}
