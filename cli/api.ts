import axios, { type AxiosInstance } from 'axios';
import { isObject } from '../lib/objects.js';
import { ApiError } from './errors.js';
import type { Settings } from './settings.js';

const JSON_TYPE = 'application/occi+json';

/** An instance as the service manager renders it in JSON (GFD.225). */
export interface Instance {
  readonly id: string;
  readonly title?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly actions: readonly string[];
}

/** An attribute's value as text: empty when it is not there. */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** One entry of an instance's history. */
export interface InstanceEvent {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly type: string;
  readonly state?: string;
  readonly message?: string;
}

interface Kind {
  readonly scheme: string;
  readonly term: string;
  readonly location: string;
}

/** The service manager's OCCI interface, as one tenant uses it. */
export class SmApi {
  private readonly http: AxiosInstance;
  private kind: Kind | undefined;

  constructor(
    settings: Settings,
    private readonly kindTerm = 'mesos',
  ) {
    this.http = axios.create({
      baseURL: settings.url.replace(/\/+$/, ''),
      headers: { 'X-Auth-Token': settings.token, 'X-Tenant-Name': settings.tenant, Accept: JSON_TYPE },
      timeout: 30_000,
      validateStatus: () => true,
      transformResponse: (data: unknown) => data,
      responseType: 'text',
    });
  }

  async get(name: string): Promise<Instance> {
    return instanceOf(await this.send('GET', await this.path(name)));
  }

  /** The instance, or undefined when there is none of that name. */
  async find(name: string): Promise<Instance | undefined> {
    try {
      return await this.get(name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list(): Promise<Instance[]> {
    const doc = await this.send('GET', (await this.kindOf()).location);
    const resources = isObject(doc) && Array.isArray(doc['resources']) ? (doc['resources'] as unknown[]) : [];
    return resources.map(instanceOf);
  }

  async create(name: string, attributes: Record<string, unknown>): Promise<Instance> {
    const kind = await this.kindOf();
    return instanceOf(await this.send('PUT', await this.path(name), { kind: `${kind.scheme}${kind.term}`, attributes }));
  }

  /** A partial update: only the attributes given change. */
  async update(name: string, attributes: Record<string, unknown>): Promise<Instance> {
    return instanceOf(await this.send('POST', await this.path(name), { attributes }));
  }

  async remove(name: string): Promise<void> {
    await this.send('DELETE', await this.path(name));
  }

  async act(name: string, action: string): Promise<void> {
    await this.send('POST', `${await this.path(name)}?action=${encodeURIComponent(action)}`);
  }

  /** Events after `after` (a seq), oldest first, at most 1000. */
  async events(name: string, after = 0): Promise<InstanceEvent[]> {
    const doc = await this.send('GET', `${await this.path(name)}/events?limit=1000${after > 0 ? `&after=${after}` : ''}`);
    return Array.isArray(doc) ? (doc as InstanceEvent[]) : [];
  }

  private async path(name: string): Promise<string> {
    return `${(await this.kindOf()).location}${encodeURIComponent(name)}`;
  }

  /** Where instances of the kind live, from the query interface (asked once). */
  private async kindOf(): Promise<Kind> {
    if (this.kind) return this.kind;
    const doc = await this.send('GET', '/-/');
    const kinds = isObject(doc) && Array.isArray(doc['kinds']) ? (doc['kinds'] as unknown[]) : [];
    const kind = kinds.find((k): k is Kind => isObject(k) && k['term'] === this.kindTerm && typeof k['location'] === 'string');
    if (!kind) throw new ApiError(404, `The service manager offers no ${this.kindTerm} kind.`);
    this.kind = { scheme: kind.scheme, term: kind.term, location: new URL(kind.location, 'http://sm').pathname };
    return this.kind;
  }

  private async send(method: string, path: string, body?: unknown): Promise<unknown> {
    let reply;
    try {
      reply = await this.http.request<string>({
        method,
        url: path,
        // Without a body, no Content-Type (axios would otherwise claim a form).
        ...(body === undefined ? { headers: { 'Content-Type': false } } : { data: JSON.stringify(body), headers: { 'Content-Type': JSON_TYPE } }),
      });
    } catch (error) {
      throw new ApiError(0, `The service manager at ${this.http.defaults.baseURL} cannot be reached (${reasonOf(error)}).`);
    }
    const text = reply.data ?? '';
    const doc = parse(text);
    if (reply.status >= 400) throw new ApiError(reply.status, messageOf(doc, text, reply.status));
    return doc;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(doc: unknown, text: string, status: number): string {
  if (isObject(doc) && typeof doc['message'] === 'string') return doc['message'];
  const trimmed = text.trim();
  return trimmed === '' ? `HTTP ${status}` : trimmed;
}

function reasonOf(error: unknown): string {
  const code = isObject(error) ? error['code'] : undefined;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function instanceOf(doc: unknown): Instance {
  if (!isObject(doc) || typeof doc['id'] !== 'string' || !isObject(doc['attributes']))
    throw new ApiError(502, 'The service manager answered with something that is not an instance.');
  return {
    id: doc['id'],
    ...(typeof doc['title'] === 'string' ? { title: doc['title'] } : {}),
    attributes: doc['attributes'],
    actions: Array.isArray(doc['actions']) ? doc['actions'].filter((a): a is string => typeof a === 'string') : [],
  };
}
