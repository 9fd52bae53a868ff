import { createHmac } from 'node:crypto';

/**
 * CloudStack request signing, exactly as the management server checks it
 * (ApiServer.verifyRequest): every parameter but `signature`, sorted by name
 * as sent (UTF-16 code-unit order), `name=value` with the value encoded like
 * Java's URLEncoder (space as %20), joined with `&`, the whole string
 * lower-cased, HMAC-SHA1 with the secret key, standard base64.
 */

/** java.net.URLEncoder.encode(v, "UTF-8") with `+` turned into `%20`: only A-Z a-z 0-9 . - * _ stay as they are. */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type SignedParams = Readonly<Record<string, string>>;

/** The string that is signed. Names stay raw (map keys keep their brackets). */
export function canonicalString(params: SignedParams): string {
  return Object.keys(params)
    .filter((name) => name.toLowerCase() !== 'signature')
    .sort(byCodeUnit)
    .map((name) => `${name}=${javaUrlEncode(params[name])}`)
    .join('&')
    .toLowerCase();
}

export function sign(params: SignedParams, secretKey: string): string {
  return createHmac('sha1', secretKey).update(canonicalString(params), 'utf8').digest('base64');
}

/** `expires` for signature version 3: UTC as YYYY-MM-DDTHH:mm:ss+0000, the one format every server version reads. */
export function formatExpires(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** A query string or form body: both names and values percent-encoded, so `+` and `/` survive. */
export function encodeParams(params: SignedParams): string {
  return Object.entries(params)
    .map(([name, value]) => `${javaUrlEncode(name)}=${javaUrlEncode(value)}`)
    .join('&');
}
