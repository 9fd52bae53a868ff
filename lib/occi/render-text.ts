import { readableByHurtle } from './text-values.js';
import { quote, toHeaderBytes } from './lexer.js';
import { typeId, type Action, type AttributeValue, type Entity, type Kind } from './model.js';

/**
 * The header-like lines of a text rendering (GFD.229). `text/occi` puts them
 * in HTTP headers, `text/plain` one per line in the body.
 */
export interface TextRendering {
  readonly categories: readonly string[];
  readonly links: readonly string[];
  readonly attributes: readonly string[];
  readonly locations: readonly string[];
}

export const EMPTY_TEXT: TextRendering = { categories: [], links: [], attributes: [], locations: [] };

export function renderKind(kind: Kind): string {
  let text = `${kind.term}; scheme="${kind.scheme}"; class="kind"`;
  if (kind.title) text += `; title=${quote(kind.title)}`;
  if (kind.parent) text += `; rel="${kind.parent}"`;
  // GFD.223 names the collection by its path, as pyssf and rOCCI send it.
  if (kind.location) text += `; location="${kind.location}"`;
  if (kind.attributes.length > 0) {
    const names = kind.attributes.map((a) => {
      const flags = [...(a.mutable ? [] : ['immutable']), ...(a.required ? ['required'] : [])];
      return flags.length > 0 ? `${a.name}{${flags.join(' ')}}` : a.name;
    });
    text += `; attributes="${names.join(' ')}"`;
  }
  if (kind.actions.length > 0) text += `; actions="${kind.actions.map(typeId).join(' ')}"`;
  return text;
}

export function renderAction(action: Action): string {
  let text = `${action.term}; scheme="${action.scheme}"; class="action"`;
  if (action.title) text += `; title=${quote(action.title)}`;
  if (action.attributes.length > 0) text += `; attributes="${action.attributes.map((a) => a.name).join(' ')}"`;
  return text;
}

export function formatValue(value: AttributeValue): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

/** A value as the text renderings show it: structured values in their text form, every string readable by hurtle's parsers. */
function textValue(entity: Entity, name: string, value: AttributeValue): string {
  const shown = entity.textForms?.[name] ?? value;
  return typeof shown === 'string' ? quote(readableByHurtle(shown)) : String(shown);
}

export function renderEntity(entity: Entity): TextRendering {
  const kind = entity.kind;
  const category = `${kind.term}; scheme="${kind.scheme}"; class="kind"${kind.title ? `; title=${quote(kind.title)}` : ''}`;
  return {
    categories: [category],
    links: entity.actions.map((a) => `<${entity.location}?action=${a.term}>; rel="${typeId(a)}"`),
    attributes: entity.attributes.map(([name, value]) => `${name}=${textValue(entity, name, value)}`),
    locations: [],
  };
}

/** `text/occi`: everything in headers, comma-joined; the body is `OK`. */
export function toOcciHeaders(rendering: TextRendering): Record<string, string> {
  const headers: Record<string, string> = {};
  const put = (name: string, values: readonly string[]): void => {
    if (values.length > 0) headers[name] = toHeaderBytes(values.join(', '));
  };
  put('Category', rendering.categories);
  put('Link', rendering.links);
  put('X-OCCI-Attribute', rendering.attributes);
  put('X-OCCI-Location', rendering.locations);
  return headers;
}

/** `text/plain`: one `Name: value` line per item in the body. */
export function toPlainBody(rendering: TextRendering): string {
  const lines = [
    ...rendering.categories.map((v) => `Category: ${v}`),
    ...rendering.links.map((v) => `Link: ${v}`),
    ...rendering.attributes.map((v) => `X-OCCI-Attribute: ${v}`),
    ...rendering.locations.map((v) => `X-OCCI-Location: ${v}`),
  ];
  return lines.map((line) => `${line}\n`).join('');
}

/** `text/uri-list` (RFC 2483): one URI per CRLF-terminated line. */
export function toUriList(locations: readonly string[]): string {
  return locations.map((location) => `${location}\r\n`).join('');
}
