import { BadRequest } from '../http-errors.js';
import { splitOutsideQuotes, unquote } from './lexer.js';

/** A category as a client names it in a request. */
export interface CategoryRef {
  readonly term: string;
  readonly scheme: string;
  readonly class?: 'kind' | 'mixin' | 'action';
}

/**
 * An attribute value as written on the wire. OCCI 1.2 types values lexically:
 * quoted is a string, digits a number, true/false a boolean, any other bare
 * word a token. JSON values keep their JSON type.
 */
export type WireValue =
  | { readonly lexical: 'string'; readonly value: string }
  | { readonly lexical: 'number'; readonly value: number; readonly text: string }
  | { readonly lexical: 'boolean'; readonly value: boolean }
  | { readonly lexical: 'token'; readonly value: string }
  | { readonly lexical: 'json'; readonly value: string | number | boolean };

export interface AttributeInput {
  readonly name: string;
  readonly value: WireValue;
}

const TERM = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** Unquoted text, inner spaces included: hurtle's service manager forwards every client value with its quotes removed. */
const TOKEN = /^[^\s",;\\](?:[^",;\\\r\n\t]*[^\s",;\\])?$/;
const CATEGORY_PARAMS = new Set(['scheme', 'class', 'title', 'rel', 'location', 'attributes', 'actions']);

/** Parses a `Category` header value (one or more comma-separated categories). */
export function parseCategories(header: string): CategoryRef[] {
  return splitOutsideQuotes(header, ',', 'Category')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseCategory);
}

function parseCategory(text: string): CategoryRef {
  const [rawTerm, ...rawParams] = splitOutsideQuotes(text, ';', 'Category');
  const term = (rawTerm ?? '').trim();
  if (!TERM.test(term)) {
    throw new BadRequest(`Category "${text}" does not start with a valid term.`);
  }
  const params = new Map<string, string>();
  for (const raw of rawParams) {
    const param = raw.trim();
    if (param === '') continue;
    const eq = param.indexOf('=');
    if (eq <= 0) throw new BadRequest(`Category "${term}" has a malformed parameter: ${param}`);
    const key = param.slice(0, eq).trim().toLowerCase();
    if (!CATEGORY_PARAMS.has(key)) {
      throw new BadRequest(`Category "${term}" has an unknown parameter "${key}".`);
    }
    if (params.has(key)) throw new BadRequest(`Category "${term}" gives ${key} twice.`);
    const rawValue = param.slice(eq + 1).trim();
    params.set(key, unquote(rawValue, `Category "${term}" ${key}`) ?? rawValue);
  }
  const scheme = params.get('scheme');
  if (!scheme) throw new BadRequest(`Category "${term}" has no scheme.`);
  const cls = params.get('class');
  if (cls === undefined) return { term, scheme };
  if (cls !== 'kind' && cls !== 'mixin' && cls !== 'action') {
    throw new BadRequest(`Category "${term}" has class "${cls}"; expected kind, mixin or action.`);
  }
  return { term, scheme, class: cls };
}

/** Parses an `X-OCCI-Attribute` header value (comma-separated `name=value` pairs). */
export function parseAttributes(header: string): AttributeInput[] {
  return splitOutsideQuotes(header, ',', 'X-OCCI-Attribute')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseAttribute);
}

function parseAttribute(text: string): AttributeInput {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new BadRequest(`X-OCCI-Attribute "${text}" is not of the form name=value.`);
  const name = text.slice(0, eq).trim();
  if (!ATTRIBUTE_NAME.test(name)) {
    throw new BadRequest(`X-OCCI-Attribute name "${name}" is not a valid attribute name.`);
  }
  return { name, value: parseValue(name, text.slice(eq + 1).trim()) };
}

function parseValue(name: string, raw: string): WireValue {
  if (raw === '') {
    throw new BadRequest(`Attribute ${name} has no value; write ${name}="" for an empty string.`);
  }
  const quoted = unquote(raw, `Attribute ${name}`);
  if (quoted !== undefined) return { lexical: 'string', value: quoted };
  if (raw === 'true' || raw === 'false') return { lexical: 'boolean', value: raw === 'true' };
  if (NUMBER.test(raw)) {
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new BadRequest(`Attribute ${name} is out of range: ${raw}`);
    return { lexical: 'number', value, text: raw };
  }
  if (TOKEN.test(raw)) return { lexical: 'token', value: raw };
  throw new BadRequest(`Attribute ${name} has a malformed value ${raw}; quote strings with "".`);
}

/** Parses a comma-separated list of URIs (`X-OCCI-Location`, `Link`). */
export function parseUriList(header: string, what: string): string[] {
  return splitOutsideQuotes(header, ',', what)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
