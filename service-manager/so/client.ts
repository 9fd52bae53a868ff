import { Agent as HttpAgent } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { HEALTH_ATTRIBUTE, isClusterHealth } from '../../lib/cluster/health.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import { formatValue } from '../../lib/occi/render-text.js';
import { isObject } from '../../lib/objects.js';
import type { StackView } from '../lifecycle/pipeline.js';

/** The hurtle SO protocol as a service manager speaks it (hurtle.md §4, §5.1). */

const SO_SCHEME = 'http://schemas.mobile-cloud-networking.eu/occi/service#';
const PATH = '/orchestrator/default';

/** Where one orchestrator answers, and the credentials it accepts. */
export interface SoEndpoint {
  readonly url: string;
  readonly tenant: string;
  readonly token: string;
}

/** The orchestrator's resource: its stack state and every attribute it renders. */
export interface SoEntity {
  readonly stack: StackView;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** The orchestrator refused the request (4xx); its answer says why. */
export class SoRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SoRejected';
  }
}

/** No usable answer: refused connection, timeout, 5xx or a reply that is not an entity. */
export class SoUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoUnavailable';
  }
}

export interface SoClientTimeouts {
  /** Reads and actions. */
  readonly requestMs: number;
  /** PUT, which designs the cluster and may ask CloudStack several questions. */
  readonly initMs: number;
}

export class SoClient {
  private readonly http: AxiosInstance;

  constructor(private readonly timeouts: SoClientTimeouts = { requestMs: 5_000, initMs: 90_000 }) {
    this.http = axios.create({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 4 }),
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxRedirects: 0,
      proxy: false,
    });
  }

  /** The orchestrator's entity, or undefined while it is not initialised (404). */
  async read(endpoint: SoEndpoint): Promise<SoEntity | undefined> {
    const reply = await this.send(endpoint, 'GET', PATH, {}, this.timeouts.requestMs, true);
    return reply === undefined ? undefined : entityOf(reply);
  }

  /** PUT: initialise with the instance's parameters (201 the first time, 200 after). */
  async init(endpoint: SoEndpoint, parameters: Readonly<Record<string, AttributeValue>>): Promise<void> {
    await this.send(endpoint, 'PUT', PATH, { Category: category('orchestrator', 'kind'), ...attributeHeader(parameters) }, this.timeouts.initMs);
  }

  async act(endpoint: SoEndpoint, action: 'deploy' | 'provision'): Promise<void> {
    await this.send(endpoint, 'POST', `${PATH}?action=${action}`, { Category: category(action, 'action') }, this.timeouts.requestMs);
  }

  /** POST with attributes: the orchestrator applies the changed parameters. */
  async update(endpoint: SoEndpoint, parameters: Readonly<Record<string, AttributeValue>>): Promise<void> {
    await this.send(endpoint, 'POST', PATH, attributeHeader(parameters), this.timeouts.requestMs);
  }

  /** DELETE: the orchestrator removes every VM of the instance. */
  async dispose(endpoint: SoEndpoint): Promise<void> {
    await this.send(endpoint, 'DELETE', PATH, {}, this.timeouts.requestMs);
  }

  private async send(
    endpoint: SoEndpoint,
    method: string,
    path: string,
    headers: Record<string, string>,
    timeoutMs: number,
    missingIsUndefined = false,
  ): Promise<string | undefined> {
    let reply;
    try {
      reply = await this.http.request<string>({
        method,
        url: endpoint.url + path,
        timeout: timeoutMs,
        headers: {
          'X-Auth-Token': endpoint.token,
          'X-Tenant-Name': endpoint.tenant,
          'Content-Type': 'text/occi',
          Accept: 'application/occi+json',
          ...headers,
        },
      });
    } catch (error) {
      throw new SoUnavailable(transportReason(error));
    }
    const body = typeof reply.data === 'string' ? reply.data : '';
    if (reply.status === 404 && missingIsUndefined) return undefined;
    if (reply.status >= 500) throw new SoUnavailable(`HTTP ${reply.status}: ${firstLine(body)}`);
    if (reply.status >= 400) throw new SoRejected(reply.status, firstLine(body) || `HTTP ${reply.status}`);
    return body;
  }
}

function category(term: string, cls: 'kind' | 'action'): string {
  return `${term}; scheme="${SO_SCHEME}"; class="${cls}"`;
}

function attributeHeader(parameters: Readonly<Record<string, AttributeValue>>): Record<string, string> {
  const entries = Object.entries(parameters);
  if (entries.length === 0) return {};
  return { 'X-OCCI-Attribute': entries.map(([name, value]) => `${name}=${formatValue(value)}`).join(', ') };
}

function entityOf(body: string): SoEntity {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new SoUnavailable('the orchestrator answered with something other than an OCCI JSON entity');
  }
  if (!isObject(doc) || !isObject(doc['attributes'])) throw new SoUnavailable('the orchestrator\'s entity has no attributes');
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(doc['attributes'])) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
  }
  const actions = Array.isArray(doc['actions']) ? doc['actions'].filter((a): a is string => typeof a === 'string') : [];
  return {
    attributes,
    stack: {
      state: String(attributes['occi.mcn.stack.state'] ?? 'unknown'),
      message: String(attributes['occi.mcn.stack.message'] ?? ''),
      actions: actions.map((id) => id.slice(id.lastIndexOf('#') + 1)),
      ...(isClusterHealth(attributes[HEALTH_ATTRIBUTE]) ? { health: attributes[HEALTH_ATTRIBUTE] } : {}),
    },
  };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]!.slice(0, 500);
}

function transportReason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return 'no answer in time';
  return e.code ?? e.message ?? String(error);
}
