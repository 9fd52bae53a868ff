import { BadRequest, UnsupportedMediaType } from '../http-errors.js';
import { fromHeaderBytes } from './lexer.js';
import { parseAttributes, parseCategories, parseUriList, type AttributeInput, type CategoryRef, type WireValue } from './parse.js';
import { isObject } from '../objects.js';

/** What an OCCI request carries, whichever rendering it came in. */
export interface OcciRequest {
  readonly categories: CategoryRef[];
  readonly attributes: AttributeInput[];
  readonly links: string[];
  readonly locations: string[];
}

export interface RawRequest {
  /** The Content-Type header, if any. */
  readonly contentType: string | undefined;
  readonly header: (name: string) => string | undefined;
  readonly body: Buffer;
}

const PLAIN_TYPES = new Set(['text/plain', 'text/occi+plain']);
const JSON_TYPES = new Set(['application/occi+json', 'application/json']);

export const EMPTY_REQUEST: OcciRequest = { categories: [], attributes: [], links: [], locations: [] };

/**
 * Reads categories and attributes from headers (`text/occi`), body lines
 * (`text/plain`) or a JSON document (`application/occi+json`). A request with
 * no Content-Type and no body is read from its headers, as curl sends it.
 */
export function readOcciRequest(raw: RawRequest): OcciRequest {
  const media = mediaType(raw.contentType);
  const body = decodeBody(raw.body);
  if (media === 'text/occi') return fromHeaders(raw.header);
  if (JSON_TYPES.has(media)) return fromJson(body);
  if (PLAIN_TYPES.has(media) || media === '') {
    return body.trim() === '' ? fromHeaders(raw.header) : fromPlainBody(body);
  }
  throw new UnsupportedMediaType(
    `Content-Type ${media} is not understood; send text/occi (attributes in headers), ` + 'text/plain (header lines in the body) or application/occi+json.',
  );
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function decodeBody(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new BadRequest('The request body is not valid UTF-8.');
  }
}

function fromHeaders(header: (name: string) => string | undefined): OcciRequest {
  const read = (name: string): string | undefined => {
    const value = header(name);
    return value === undefined ? undefined : fromHeaderBytes(value);
  };
  return collect({
    category: read('category'),
    attribute: read('x-occi-attribute'),
    link: read('link'),
    location: read('x-occi-location'),
  });
}

const PLAIN_LINES: Record<string, keyof Sections> = {
  category: 'category',
  'x-occi-attribute': 'attribute',
  link: 'link',
  'x-occi-location': 'location',
};

interface Sections {
  category?: string;
  attribute?: string;
  link?: string;
  location?: string;
}

function fromPlainBody(body: string): OcciRequest {
  const sections: Sections = {};
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const section = colon > 0 ? PLAIN_LINES[line.slice(0, colon).trim().toLowerCase()] : undefined;
    if (section === undefined) {
      throw new BadRequest(`Body line "${line}" is not a Category, X-OCCI-Attribute, Link or X-OCCI-Location line.`);
    }
    const value = line.slice(colon + 1).trim();
    sections[section] = sections[section] === undefined ? value : `${sections[section]}, ${value}`;
  }
  return collect(sections);
}

function collect(sections: Sections): OcciRequest {
  return {
    categories: sections.category === undefined ? [] : parseCategories(sections.category),
    attributes: sections.attribute === undefined ? [] : parseAttributes(sections.attribute),
    links: sections.link === undefined ? [] : parseUriList(sections.link, 'Link'),
    locations: sections.location === undefined ? [] : parseUriList(sections.location, 'X-OCCI-Location'),
  };
}

const RESOURCE_MEMBERS = new Set(['kind', 'mixins', 'attributes', 'actions', 'id', 'title', 'summary', 'links']);

function fromJson(body: string): OcciRequest {
  if (body.trim() === '') return EMPTY_REQUEST;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (error) {
    throw new BadRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(doc)) throw new BadRequest('The JSON request body must be an object.');
  if ('resources' in doc) return fromJsonCollection(doc);
  if ('action' in doc) return fromJsonAction(doc);
  return fromJsonResource(doc);
}

function fromJsonCollection(doc: Record<string, unknown>): OcciRequest {
  const resources = doc['resources'];
  if (!Array.isArray(resources) || resources.length !== 1 || Object.keys(doc).length !== 1) {
    throw new BadRequest('A JSON "resources" request must hold exactly one resource and nothing else.');
  }
  const resource: unknown = resources[0];
  if (!isObject(resource)) throw new BadRequest('The JSON resource must be an object.');
  return fromJsonResource(resource);
}

function fromJsonAction(doc: Record<string, unknown>): OcciRequest {
  for (const key of Object.keys(doc)) {
    if (key !== 'action' && key !== 'attributes') {
      throw new BadRequest(`The JSON action invocation has an unknown member "${key}".`);
    }
  }
  return {
    ...EMPTY_REQUEST,
    categories: [{ ...categoryFromTypeId(doc['action'], 'action'), class: 'action' }],
    attributes: jsonAttributes(doc['attributes']),
  };
}

function fromJsonResource(doc: Record<string, unknown>): OcciRequest {
  for (const key of Object.keys(doc)) {
    if (!RESOURCE_MEMBERS.has(key)) throw new BadRequest(`The JSON resource has an unknown member "${key}".`);
  }
  const categories: CategoryRef[] = [];
  if (doc['kind'] !== undefined) categories.push({ ...categoryFromTypeId(doc['kind'], 'kind'), class: 'kind' });
  for (const mixin of jsonArray(doc['mixins'], 'mixins')) {
    categories.push({ ...categoryFromTypeId(mixin, 'mixins entry'), class: 'mixin' });
  }
  const attributes = jsonAttributes(doc['attributes']);
  for (const [member, name] of [
    ['id', 'occi.core.id'],
    ['title', 'occi.core.title'],
    ['summary', 'occi.core.summary'],
  ] as const) {
    const value = doc[member];
    if (value === undefined) continue;
    attributes.push({ name, value: jsonValue(name, value) });
  }
  const links = jsonArray(doc['links'], 'links').map((link) => JSON.stringify(link));
  return { categories, attributes, links, locations: [] };
}

function categoryFromTypeId(value: unknown, what: string): CategoryRef {
  if (typeof value !== 'string') throw new BadRequest(`The JSON ${what} must be a type identifier string.`);
  const hash = value.lastIndexOf('#');
  const term = value.slice(hash + 1);
  if (hash <= 0 || term === '') {
    throw new BadRequest(`The JSON ${what} "${value}" is not of the form <scheme>#<term>.`);
  }
  return { scheme: value.slice(0, hash + 1), term };
}

function jsonAttributes(value: unknown): AttributeInput[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw new BadRequest('The JSON "attributes" member must be an object.');
  return Object.entries(value).map(([name, v]) => ({ name, value: jsonValue(name, v) }));
}

function jsonValue(name: string, value: unknown): WireValue {
  if (typeof value === 'string' || typeof value === 'boolean') return { lexical: 'json', value };
  if (typeof value === 'number' && Number.isFinite(value)) return { lexical: 'json', value };
  throw new BadRequest(`Attribute ${name} must be a string, number or boolean in JSON.`);
}

function jsonArray(value: unknown, what: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BadRequest(`The JSON "${what}" member must be an array.`);
  return value;
}
