import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4, verified as AWS services verify it: the request
 * is put in canonical form again here and signed with the secret of the
 * access key it names; the signatures must match. Only the Authorization
 * header form is taken (the AWS tools and SDKs send it); temporary
 * credentials (X-Amz-Security-Token) are refused, as no tenant has any.
 */

/** A request as it arrived: the raw path and query, the headers with lower-case names, the raw body. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Buffer;
}

export interface SigV4Policy {
  readonly service: string;
  /** How far the request's time may be from ours. */
  readonly skewMs: number;
}

export type SigV4Failure = 'MissingAuthenticationToken' | 'IncompleteSignature' | 'InvalidClientTokenId' | 'SignatureDoesNotMatch';

export type SigV4Verdict =
  | { readonly ok: true; readonly accessKeyId: string; readonly region: string }
  | { readonly ok: false; readonly code: SigV4Failure; readonly status: 400 | 403; readonly message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{8})T(\d{6})Z$/;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const refuse = (code: SigV4Failure, message: string): SigV4Verdict => ({ ok: false, code, status: code === 'IncompleteSignature' ? 400 : 403, message });

/** RFC 3986 encoding as SigV4 wants it: unreserved characters as they are, everything else %XX in upper case. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

/** The path with `.`, `..` and empty segments resolved, each segment encoded once. */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(decode(segment)));
  }
  const trailing = path.length > 1 && path.endsWith('/') && segments.length > 0 ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

export function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const name = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function headerValue(value: string | readonly string[] | undefined): string {
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

export function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[]): string {
  const headers = signedHeaders.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join('');
  const payload = createHash('sha256').update(request.body).digest('hex');
  return [request.method.toUpperCase(), canonicalUri(request.path), canonicalQuery(request.query), headers, signedHeaders.join(';'), payload].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function parseAuthorization(header: string): Authorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) return `Unsupported AWS 'algorithm': "${header.split(' ')[0]}"`;
  const parts = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  const missing = [
    ['Credential', credential],
    ['SignedHeaders', signedHeaders],
    ['Signature', signature],
  ]
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) return `Authorization header requires ${missing.map((m) => `'${m}'`).join(', ')} parameter${missing.length > 1 ? 's' : ''}.`;
  const scope = credential!.split('/');
  if (scope.length !== 5) return `Credential should be of the form AKID/yyyymmdd/region/service/aws4_request; got '${credential!}'.`;
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator, signedHeaders: signedHeaders!.split(';'), signature: signature! };
}

function amzTime(text: string): number | undefined {
  const match = AMZ_DATE.exec(text);
  if (!match) return undefined;
  const [d, t] = [match[1], match[2]];
  const ms = Date.UTC(
    Number(d.slice(0, 4)),
    Number(d.slice(4, 6)) - 1,
    Number(d.slice(6, 8)),
    Number(t.slice(0, 2)),
    Number(t.slice(2, 4)),
    Number(t.slice(4, 6)),
  );
  return Number.isFinite(ms) ? ms : undefined;
}

function amzText(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Verifies a request's signature with the secret of the access key it names. */
export function verifySigV4(request: SignedRequest, secretOf: (accessKeyId: string) => string | undefined, now: number, policy: SigV4Policy): SigV4Verdict {
  const header = headerValue(request.headers['authorization']);
  if (header === '') return refuse('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return refuse('IncompleteSignature', auth);
  if (request.headers['x-amz-security-token'] !== undefined) {
    return refuse('InvalidClientTokenId', 'Temporary credentials (X-Amz-Security-Token) are not accepted here; sign with your tenant access key.');
  }
  const amzDate = headerValue(request.headers['x-amz-date']);
  const time = amzTime(amzDate);
  if (time === undefined) return refuse('IncompleteSignature', 'Authorization requires an X-Amz-Date header of the form yyyyMMddTHHmmssZ.');
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
    return refuse('SignatureDoesNotMatch', "The Host and X-Amz-Date headers must be signed (SignedHeaders must name 'host' and 'x-amz-date').");
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    return refuse(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'.`,
    );
  }
  if (auth.service !== policy.service) return refuse('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${policy.service}'.`);
  if (auth.terminator !== 'aws4_request') return refuse('SignatureDoesNotMatch', "Credential should be scoped with a valid terminator: 'aws4_request'.");
  if (time < now - policy.skewMs) {
    return refuse(
      'SignatureDoesNotMatch',
      `Signature expired: ${amzDate} is now earlier than ${amzText(now - policy.skewMs)} (${amzText(now)} - ${policy.skewMs / 60_000} min.)`,
    );
  }
  if (time > now + policy.skewMs) {
    return refuse(
      'SignatureDoesNotMatch',
      `Signature not yet current: ${amzDate} is still later than ${amzText(now + policy.skewMs)} (${amzText(now)} + ${policy.skewMs / 60_000} min.)`,
    );
  }
  const secret = secretOf(auth.accessKeyId);
  if (secret === undefined) return refuse('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const expected = createHmac('sha256', signingKey(secret, auth.date, auth.region, auth.service))
    .update(stringToSign(amzDate, scope, canonicalRequest(request, auth.signedHeaders)))
    .digest();
  const given = /^[0-9a-f]{64}$/.test(auth.signature) ? Buffer.from(auth.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse('SignatureDoesNotMatch', MISMATCH);
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region };
}
