import { BadRequest } from '../http-errors.js';

/**
 * Splits an OCCI header value at a separator that is not inside a quoted
 * string. Quoted strings may contain the separator and escaped quotes (`\"`).
 */
export function splitOutsideQuotes(input: string, separator: ',' | ';', what: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (quoted && ch === '\\' && i + 1 < input.length) {
      current += ch + input[i + 1];
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  if (quoted) throw new BadRequest(`${what} has an unterminated quoted string: ${input}`);
  parts.push(current);
  return parts;
}

/**
 * Reads a quoted string that must make up the whole of `text` and returns its
 * content with `\"` and `\\` unescaped; undefined when `text` is not quoted.
 */
export function unquote(text: string, what: string): string | undefined {
  if (!text.startsWith('"')) return undefined;
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined) break;
      value += next;
      i++;
      continue;
    }
    if (ch === '"') {
      if (i !== text.length - 1) {
        throw new BadRequest(`${what} has text after its closing quote: ${text}`);
      }
      return value;
    }
    value += ch;
  }
  throw new BadRequest(`${what} has an unterminated quoted string: ${text}`);
}

export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * HTTP carries header bytes, which Node hands over as latin1 text. OCCI values
 * are UTF-8, so a header is re-read as UTF-8 when it arrives and written as
 * UTF-8 bytes when it leaves.
 */
export function fromHeaderBytes(raw: string): string {
  if (/^[\x00-\x7f]*$/.test(raw)) return raw;
  return Buffer.from(raw, 'latin1').toString('utf8');
}

export function toHeaderBytes(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return Buffer.from(text, 'utf8').toString('latin1');
}
