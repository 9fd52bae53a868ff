import { BadRequest, NotAcceptable, NotImplemented } from '../http-errors.js';

/** The renderings an OCCI server produces. */
export type Rendering = 'text/plain' | 'text/occi' | 'text/uri-list' | 'application/occi+json';

/** The shape of `application/occi+json`: GFD.225, or pyssf's older one that hurtle's code reads. */
export type JsonDialect = 'gfd225' | 'pyssf';

export interface Negotiated {
  readonly rendering: Rendering;
  /** The Content-Type to answer with: the rendering, or the alias the client asked for. */
  readonly contentType: string;
  /** Set when JSON is to be rendered in pyssf's shape rather than GFD.225's. */
  readonly dialect?: JsonDialect;
}

/** Media types clients send that name one of our renderings. */
const ALIASES: Record<string, Rendering> = {
  'text/plain': 'text/plain',
  'text/occi+plain': 'text/plain',
  'text/occi': 'text/occi',
  'text/uri-list': 'text/uri-list',
  'application/occi+json': 'application/occi+json',
  'application/json': 'application/occi+json',
};

const WILDCARDS: Record<string, Rendering> = {
  '*/*': 'text/plain',
  'text/*': 'text/plain',
  'application/*': 'application/occi+json',
};

interface AcceptEntry {
  readonly type: string;
  readonly q: number;
}

function parseAccept(accept: string): AcceptEntry[] {
  return accept
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [type, ...params] = part.split(';').map((p) => p.trim());
      const qParam = params.find((p) => /^q=/i.test(p));
      const q = qParam === undefined ? 1 : Number(qParam.slice(2));
      return { type: (type ?? '').toLowerCase(), q: Number.isFinite(q) ? q : 0 };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q);
}

/**
 * Picks the rendering for a response from the Accept header. A missing Accept
 * or `*\/*` gives text/plain, as pyssf-based OCCI servers do. `text/uri-list`
 * is offered only for collections; asking for it alone on an entity is a bad
 * request (GFD.229).
 */
export function negotiate(accept: string | undefined, listing: boolean, dialect: JsonDialect = 'gfd225'): Negotiated {
  const chosen = pick(accept, listing);
  return dialect === 'pyssf' && chosen.rendering === 'application/occi+json' ? { ...chosen, dialect } : chosen;
}

function pick(accept: string | undefined, listing: boolean): Negotiated {
  if (accept === undefined || accept.trim() === '') {
    return { rendering: 'text/plain', contentType: 'text/plain' };
  }
  const entries = parseAccept(accept);
  for (const { type } of entries) {
    const rendering = ALIASES[type];
    if (rendering === 'text/uri-list' && !listing) continue;
    if (rendering !== undefined) return { rendering, contentType: type };
    const wildcard = WILDCARDS[type];
    if (wildcard !== undefined) return { rendering: wildcard, contentType: wildcard };
  }
  if (!listing && entries.some((entry) => entry.type === 'text/uri-list')) {
    throw new BadRequest('text/uri-list renders collections only; ask for text/plain, text/occi or application/occi+json.');
  }
  throw new NotAcceptable(
    `This service cannot produce ${accept}; it renders text/plain, text/occi, ` + `${listing ? 'text/uri-list, ' : ''}application/occi+json.`,
  );
}

export const OCCI_VERSION = { major: 1, minor: 2 } as const;

/**
 * A client announces its OCCI version in User-Agent (`OCCI/1.2`); one newer
 * than ours must be answered 501 (GFD.223).
 */
export function checkClientVersion(userAgent: string | undefined): void {
  if (userAgent === undefined) return;
  for (const match of userAgent.matchAll(/OCCI\/(\d+)\.(\d+)/g)) {
    const major = Number(match[1]);
    const minor = Number(match[2]);
    const newer = major > OCCI_VERSION.major || (major === OCCI_VERSION.major && minor > OCCI_VERSION.minor);
    if (newer) {
      throw new NotImplemented(`The client speaks OCCI/${major}.${minor}; this server implements OCCI/${OCCI_VERSION.major}.${OCCI_VERSION.minor}.`);
    }
  }
}
