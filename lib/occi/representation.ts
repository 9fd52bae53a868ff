import type { Action, Entity, Kind } from './model.js';
import type { Negotiated } from './negotiate.js';
import { entityJson, queryInterfaceJson } from './render-json.js';
import { pyssfEntity, pyssfQueryInterface } from './render-pyssf-json.js';
import { EMPTY_TEXT, renderAction, renderEntity, renderKind, toOcciHeaders, toPlainBody, toUriList, type TextRendering } from './render-text.js';

/** A response body with the headers that belong to its rendering. */
export interface Representation {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Compact: a listing of thousands of instances is read by programs, and indentation would double its size. */
function json(negotiated: Negotiated, document: unknown): Representation {
  return { headers: { 'Content-Type': negotiated.contentType }, body: `${JSON.stringify(document)}\n` };
}

function text(negotiated: Negotiated, rendering: TextRendering): Representation {
  const contentType = { 'Content-Type': negotiated.contentType };
  switch (negotiated.rendering) {
    case 'text/occi':
      return { headers: { ...contentType, ...toOcciHeaders(rendering) }, body: 'OK' };
    case 'text/uri-list':
      return { headers: contentType, body: toUriList(rendering.locations) };
    default:
      return { headers: contentType, body: toPlainBody(rendering) };
  }
}

const pyssf = (negotiated: Negotiated): boolean => negotiated.dialect === 'pyssf';

export function entityRepresentation(negotiated: Negotiated, entity: Entity): Representation {
  if (negotiated.rendering === 'application/occi+json') return json(negotiated, pyssf(negotiated) ? pyssfEntity(entity) : entityJson(entity));
  return text(negotiated, renderEntity(entity));
}

export function collectionRepresentation(negotiated: Negotiated, entities: readonly Entity[], baseUrl: string): Representation {
  if (negotiated.rendering === 'application/occi+json')
    return jsonCollectionRepresentation(
      negotiated,
      entities.map((e) => entityJsonText(negotiated, e)),
    );
  return locationsRepresentation(
    negotiated,
    entities.map((e) => e.location),
    baseUrl,
  );
}

/** One entity as a member of a JSON collection: what a cache of rendered members keeps. */
export function entityJsonText(negotiated: Negotiated, entity: Entity): string {
  return JSON.stringify(pyssf(negotiated) ? pyssfEntity(entity) : entityJson(entity));
}

/** A JSON collection of members rendered by entityJsonText: GFD.225's {"resources": [...]}, or pyssf's plain list. */
export function jsonCollectionRepresentation(negotiated: Negotiated, members: readonly string[]): Representation {
  const list = `[${members.join(',')}]`;
  return { headers: { 'Content-Type': negotiated.contentType }, body: `${pyssf(negotiated) ? list : `{"resources":${list}}`}\n` };
}

/** A collection in a text rendering, which names only where its members are: no member need be read whole for it. */
export function locationsRepresentation(negotiated: Negotiated, paths: readonly string[], baseUrl: string): Representation {
  return text(negotiated, { ...EMPTY_TEXT, locations: paths.map((path) => baseUrl + path) });
}

export function queryInterfaceRepresentation(negotiated: Negotiated, kinds: readonly Kind[], actions: readonly Action[]): Representation {
  if (negotiated.rendering === 'application/occi+json') {
    return json(negotiated, pyssf(negotiated) ? pyssfQueryInterface(kinds, actions) : queryInterfaceJson(kinds, actions));
  }
  return text(negotiated, {
    ...EMPTY_TEXT,
    categories: [...kinds.map(renderKind), ...actions.map(renderAction)],
  });
}

/**
 * The answer to a create: `OK` in the text renderings (the location travels
 * in the Location header, and in X-OCCI-Location for text/occi), the new
 * resource in JSON.
 */
export function createdRepresentation(negotiated: Negotiated, entity: Entity, url: string): Representation {
  const location = { Location: url };
  if (negotiated.rendering === 'application/occi+json') {
    const rendered = entityRepresentation(negotiated, entity);
    return { headers: { ...rendered.headers, ...location }, body: rendered.body };
  }
  if (negotiated.rendering === 'text/uri-list') {
    return { headers: { 'Content-Type': negotiated.contentType, ...location }, body: toUriList([url]) };
  }
  const headers = { 'Content-Type': negotiated.contentType, ...location };
  if (negotiated.rendering === 'text/occi') return { headers: { ...headers, 'X-OCCI-Location': url }, body: 'OK' };
  return { headers, body: 'OK' };
}

/** `OK` for the text renderings, the resource itself for JSON (which cannot say OK). */
export function okRepresentation(negotiated: Negotiated, entity: Entity): Representation {
  if (negotiated.rendering === 'application/occi+json') return entityRepresentation(negotiated, entity);
  return { headers: { 'Content-Type': negotiated.contentType }, body: 'OK' };
}
