import { createHmac } from 'node:crypto';

/**
 * A second, deliberately separate implementation of CloudStack request
 * signing, written from the server's rules, so that a bug shared by the
 * client and the simulator cannot make them agree with each other.
 */
const UNRESERVED = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-*_'.split(''));

function javaEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.has(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function compareCodeUnits(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

export function minimalSignature(params: ReadonlyArray<readonly [string, string]>, secret: string): string {
  const sorted = [...params].sort(([a], [b]) => compareCodeUnits(a, b));
  const text = sorted
    .map(([name, value]) => `${name}=${javaEncode(value)}`)
    .join('&')
    .toLowerCase();
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(Buffer.from(text, 'utf8')).digest('base64');
}

/** The request's query string or form body, signature appended, everything percent-encoded. */
export function signedQuery(params: ReadonlyArray<readonly [string, string]>, secret: string): string {
  const all: Array<readonly [string, string]> = [...params, ['signature', minimalSignature(params, secret)]];
  return all.map(([name, value]) => `${javaEncode(name)}=${javaEncode(value)}`).join('&');
}
