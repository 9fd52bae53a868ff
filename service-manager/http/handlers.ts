import type { Request, Response } from 'express';
import { BadRequest, NotAcceptable } from '../../lib/http-errors.js';
import { baseUrlOf, send } from '../../lib/http/context.js';
import { byMethod } from '../../lib/http/middleware.js';
import { CORE_KINDS, typeId, type Kind } from '../../lib/occi/model.js';
import { negotiate, type JsonDialect, type Negotiated } from '../../lib/occi/negotiate.js';
import type { CategoryRef } from '../../lib/occi/parse.js';
import {
  collectionRepresentation,
  createdRepresentation,
  entityJsonText,
  entityRepresentation,
  jsonCollectionRepresentation,
  locationsRepresentation,
  okRepresentation,
  queryInterfaceRepresentation,
} from '../../lib/occi/representation.js';
import { readOcciRequest, type OcciRequest } from '../../lib/occi/request.js';
import type { Representation } from '../../lib/occi/representation.js';
import { instancePath, toEntity, type SecretOutputs } from '../instances/entity.js';
import type { InstanceService } from '../instances/service.js';
import type { InstanceEvent, InstanceKey, InstanceRecord, ListingCursor } from '../registry/registry.js';
import { RenderedCache } from './rendered-cache.js';
import type { ServiceType } from '../service-type/manifest.js';
import { tenantOf } from './auth.js';

export interface HandlerDeps {
  readonly service: InstanceService;
  readonly type: ServiceType;
  readonly publicUrl?: string;
  /** host:port used for absolute URLs when a request has no usable Host header. */
  readonly fallbackHost: string;
  /** Secret outputs, derived for the owner's eyes when an instance is rendered. */
  readonly secrets?: SecretOutputs;
  /** The shape of application/occi+json; GFD.225 unless the operator serves hurtle's code. */
  readonly jsonDialect?: JsonDialect;
}

function occiRequest(req: Request): OcciRequest {
  return readOcciRequest({
    contentType: req.get('content-type'),
    header: (name) => req.get(name),
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  });
}

/** Only `?action=` means anything on a write; anything else is most likely a mistake. */
function actionOf(req: Request): string | undefined {
  const query = req.query as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    if (key !== 'action') throw new BadRequest(`Unknown query parameter "${key}"; only ?action=<term> is understood.`);
  }
  const action = query['action'];
  if (action === undefined) return undefined;
  if (typeof action !== 'string') throw new BadRequest('Give exactly one ?action=<term>.');
  return action;
}

export function handlers(deps: HandlerDeps) {
  const { service, type } = deps;
  const baseUrl = (req: Request): string => baseUrlOf(req, deps.publicUrl, deps.fallbackHost);
  const entityOf = (record: Parameters<typeof toEntity>[1]) => toEntity(type, record, deps.secrets);
  const kinds: readonly Kind[] = [type.kind, ...CORE_KINDS];
  const rendered = new RenderedCache<string>(RENDERED_MEMBERS);
  const renderedEntities = new RenderedCache<Representation>(RENDERED_ENTITIES);
  /** An instance as one entity: polled instances are rendered once a version. */
  const entityRendering = (negotiated: Negotiated, record: InstanceRecord): Representation => {
    const key = `${record.uid} ${negotiated.contentType}`;
    const cached = renderedEntities.get(key, record.version);
    if (cached) return cached;
    const representation = entityRepresentation(negotiated, entityOf(record));
    renderedEntities.set(key, record.version, representation);
    return representation;
  };

  const queryInterface = byMethod({
    GET: (req, res) => {
      const negotiated = negotiate(req.get('accept'), false, deps.jsonDialect);
      const filter = occiRequest(req).categories;
      const matches = (category: { scheme: string; term: string }, parent?: string): boolean =>
        filter.length === 0 || filter.some((f) => related(f, typeId(category), parent));
      const shownKinds = kinds.filter((kind) => matches(kind, kind.parent));
      const shownActions = type.kind.actions.filter((action) => matches(action));
      send(res, 200, queryInterfaceRepresentation(negotiated, shownKinds, shownActions));
    },
  });

  const create = async (req: Request, res: Response): Promise<void> => {
    if (actionOf(req) !== undefined) throw new BadRequest('Actions apply to single instances, not to the collection.');
    const negotiated = negotiate(req.get('accept'), true, deps.jsonDialect);
    const { instance } = await service.create(tenantOf(res), occiRequest(req));
    const entity = entityOf(instance);
    send(res, 201, createdRepresentation(negotiated, entity, baseUrl(req) + entity.location));
  };

  /** A listing, whole or (with ?limit) one page of it with a Link to the next; text renderings read no instance whole. */
  const list = (req: Request, res: Response): void => {
    const negotiated = negotiate(req.get('accept'), true, deps.jsonDialect);
    const tenant = tenantOf(res);
    const { after, limit } = listingPageOf(req);
    const next = (last: ListingCursor | undefined, more: boolean): Record<string, string> =>
      more && last && limit !== undefined ? { Link: `<${baseUrl(req)}${req.path}?limit=${limit}&after=${cursorText(last)}>; rel="next"` } : {};
    const page = service.keyPage(tenant, after, limit);
    const rendered =
      negotiated.rendering === 'application/occi+json'
        ? jsonCollectionRepresentation(negotiated, members(tenant, negotiated, page.keys))
        : locationsRepresentation(
            negotiated,
            page.keys.map((key) => instancePath(type, key.id)),
            baseUrl(req),
          );
    send(res, 200, withHeaders(rendered, next(page.keys.at(-1), page.more)));
  };

  /** The listed instances in JSON: those rendered at their current version come from the cache, the others are read and rendered. */
  const members = (tenant: string, negotiated: Negotiated, keys: readonly InstanceKey[]): string[] => {
    const cached = keys.map((key) => rendered.get(key.uid, key.version));
    const fresh = new Map<string, string>();
    for (const record of service.records(
      tenant,
      keys.filter((_, i) => cached[i] === undefined).map((key) => key.uid),
    )) {
      const text = entityJsonText(negotiated, entityOf(record));
      rendered.set(record.uid, record.version, text);
      fresh.set(record.uid, text);
    }
    // An instance removed between the two reads is left out; one changed in between shows as it is now.
    return keys.flatMap((key, i) => cached[i] ?? fresh.get(key.uid) ?? []);
  };

  const collection = byMethod({
    GET: list,
    POST: create,
    DELETE: async (req, res) => {
      if (actionOf(req) !== undefined) throw new BadRequest('Actions apply to single instances, not to the collection.');
      const negotiated = negotiate(req.get('accept'), true, deps.jsonDialect);
      const entities = (await service.deleteAll(tenantOf(res))).map(entityOf);
      send(res, 200, collectionRepresentation(negotiated, entities, baseUrl(req)));
    },
  });

  const root = byMethod({ GET: list, POST: create });

  const links = byMethod({
    GET: (req, res) => send(res, 200, collectionRepresentation(negotiate(req.get('accept'), true, deps.jsonDialect), [], baseUrl(req))),
  });

  const entity = byMethod({
    GET: async (req, res) => {
      const negotiated = negotiate(req.get('accept'), false, deps.jsonDialect);
      send(res, 200, entityRendering(negotiated, await service.read(tenantOf(res), idOf(req))));
    },
    PUT: async (req, res) => {
      actionOf(req);
      const negotiated = negotiate(req.get('accept'), false, deps.jsonDialect);
      const { instance, created } = await service.create(tenantOf(res), occiRequest(req), idOf(req));
      const rendered = entityOf(instance);
      if (created) send(res, 201, createdRepresentation(negotiated, rendered, baseUrl(req) + rendered.location));
      else send(res, 200, entityRepresentation(negotiated, rendered));
    },
    POST: async (req, res) => {
      const action = actionOf(req);
      const negotiated = negotiate(req.get('accept'), false, deps.jsonDialect);
      const tenant = tenantOf(res);
      const request = occiRequest(req);
      const record = action === undefined ? await service.update(tenant, idOf(req), request) : await service.act(tenant, idOf(req), action, request);
      send(res, 200, entityRepresentation(negotiated, entityOf(record)));
    },
    DELETE: async (req, res) => {
      actionOf(req);
      const negotiated = negotiate(req.get('accept'), false, deps.jsonDialect);
      send(res, 200, okRepresentation(negotiated, entityOf(await service.delete(tenantOf(res), idOf(req)))));
    },
  });

  const events = byMethod({
    GET: (req, res) => {
      const contentType = eventsContentType(req.get('accept'));
      const { after, limit } = pageOf(req);
      const page = service.events(tenantOf(res), idOf(req), after, limit);
      const last = page.events.at(-1);
      // The next page, as a Link a client follows until there is none (RFC 8288).
      const next: Record<string, string> = page.more && last ? { Link: `<${baseUrl(req)}${req.path}?after=${last.seq}&limit=${limit}>; rel="next"` } : {};
      send(res, 200, { headers: { 'Content-Type': contentType, ...next }, body: `${JSON.stringify(page.events.map(eventJson), null, 2)}\n` });
    },
  });

  return { queryInterface, collection, root, links, entity, events };
}

function idOf(req: Request): string {
  return String(req.params['id']);
}

/** A filter category selects itself and the categories whose parent it is. */
function related(filter: CategoryRef, id: string, parent: string | undefined): boolean {
  const wanted = filter.scheme + filter.term;
  return wanted === id || wanted === parent;
}

function eventsContentType(accept: string | undefined): string {
  if (accept === undefined || accept.trim() === '') return 'application/json';
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  if (types.some((t) => ['application/json', 'application/*', '*/*'].includes(t))) return 'application/json';
  if (types.includes('application/occi+json')) return 'application/occi+json';
  throw new NotAcceptable('The event history is JSON; ask for application/json.');
}

function eventJson(event: InstanceEvent): Record<string, unknown> {
  return { ...event, time: new Date(event.time).toISOString() };
}

const EVENTS_PAGE = { default: 100, max: 1000 } as const;
/** Instances whose JSON is kept between listings: more than any tenant lists at once. */
const RENDERED_MEMBERS = 50_000;
/** Instances kept as read one by one: as many as the registry keeps in memory. */
const RENDERED_ENTITIES = 4096;
/** Listings are whole unless a client asks for pages, as clients written before pages expect. */
const LISTING_PAGE_MAX = 1000;

function withHeaders(rendered: Representation, headers: Record<string, string>): Representation {
  return { ...rendered, headers: { ...rendered.headers, ...headers } };
}

/** A listing page's end as a client sends it back: when the last instance was made, and its id. */
function cursorText(cursor: ListingCursor): string {
  return `${cursor.createdAt}.${cursor.id}`;
}

function listingPageOf(req: Request): { after?: ListingCursor; limit?: number } {
  const query = req.query as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    if (key !== 'after' && key !== 'limit')
      throw new BadRequest(`Unknown query parameter "${key}"; a listing takes ?limit=<1-${LISTING_PAGE_MAX}> and ?after=<the marker of a next link>.`);
  }
  const { limit: rawLimit, after: rawAfter } = query;
  let limit: number | undefined;
  if (rawLimit !== undefined) {
    limit = typeof rawLimit === 'string' && /^\d{1,9}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= LISTING_PAGE_MAX)) throw new BadRequest(`?limit must be a whole number from 1 to ${LISTING_PAGE_MAX}.`);
  }
  if (rawAfter === undefined) return limit === undefined ? {} : { limit };
  const marker = typeof rawAfter === 'string' ? /^(\d{1,15})\.([A-Za-z0-9._-]{1,64})$/.exec(rawAfter) : null;
  if (!marker) throw new BadRequest("?after must be the marker a listing's next link gave.");
  const after = { createdAt: Number(marker[1]), id: marker[2] };
  return limit === undefined ? { after } : { after, limit };
}

/** `?after=<event number>&limit=<1…1000>`, both optional; anything else is a mistake worth saying. */
function pageOf(req: Request): { after: number; limit: number } {
  const query = req.query as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    if (key !== 'after' && key !== 'limit')
      throw new BadRequest(`Unknown query parameter "${key}"; the history takes ?after=<event number> and ?limit=<1-${EVENTS_PAGE.max}>.`);
  }
  const whole = (name: string, min: number, max: number, fallback: number): number => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw new BadRequest(`?${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
  return { after: whole('after', 0, Number.MAX_SAFE_INTEGER, 0), limit: whole('limit', 1, EVENTS_PAGE.max, EVENTS_PAGE.default) };
}
