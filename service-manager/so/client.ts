import { Agent as HttpAgent } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { HEALTH_ATTRIBUTE, isClusterHealth } from '../../lib/cluster/health.js';
import type { AttributeValue } from '../../lib/occi/model.js';
import {
  isSoAction,
  isStackState,
  ORCHESTRATOR_PATH,
  ORCHESTRATOR_TERM,
  SO_SCHEME,
  STACK_MESSAGE_ATTRIBUTE,
  STACK_STATE_ATTRIBUTE,
  type SoAction,
  type StackView,
} from '../../lib/hurtle/protocol.js';
import { SIGNATURE_HEADER, signRequest, verifyResponse } from '../../lib/orchestrator-auth.js';
import { isObject } from '../../lib/objects.js';

/** The hurtle SO protocol (lib/hurtle) as a service manager speaks it. */

const PATH = ORCHESTRATOR_PATH;

/** Where one orchestrator answers, and the key it shares with this service manager. */
export interface SoEndpoint {
  readonly url: string;
  readonly tenant: string;
  readonly key: string;
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

/** Something answered where the orchestrator should, without proving it is the one this service manager started. */
export class SoUnproven extends SoUnavailable {
  constructor(readonly url: string) {
    super(`the service orchestrator at ${url.replace(/^http:\/\//, '')} could not prove its identity`);
    this.name = 'SoUnproven';
  }
}

export interface SoClientTimeouts {
  /** Reads and actions. */
  readonly requestMs: number;
  /** PUT, which designs the cluster and may ask CloudStack several questions. */
  readonly initMs: number;
}

/** Hears of each call to an orchestrator: which, how it ended (ok, rejected, unavailable, unproven) and how long it took. */
export type SoCallObserver = (call: string, outcome: string, seconds: number) => void;

export class SoClient {
  private readonly http: AxiosInstance;

  constructor(
    private readonly timeouts: SoClientTimeouts = { requestMs: 5_000, initMs: 90_000 },
    private readonly observe: SoCallObserver = () => undefined,
  ) {
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
    const reply = await this.send('read', endpoint, 'GET', PATH, '', this.timeouts.requestMs, true);
    return reply === undefined ? undefined : entityOf(reply);
  }

  /** PUT: initialise with the instance's parameters (201 the first time, 200 after). */
  async init(endpoint: SoEndpoint, parameters: Readonly<Record<string, AttributeValue>>): Promise<void> {
    await this.send('init', endpoint, 'PUT', PATH, JSON.stringify({ kind: SO_SCHEME + ORCHESTRATOR_TERM, attributes: parameters }), this.timeouts.initMs);
  }

  async act(endpoint: SoEndpoint, action: SoAction): Promise<void> {
    await this.send(action, endpoint, 'POST', `${PATH}?action=${action}`, JSON.stringify({ action: SO_SCHEME + action }), this.timeouts.requestMs);
  }

  /** POST with attributes: the orchestrator applies the changed parameters. */
  async update(endpoint: SoEndpoint, parameters: Readonly<Record<string, AttributeValue>>): Promise<void> {
    await this.send('update', endpoint, 'POST', PATH, JSON.stringify({ attributes: parameters }), this.timeouts.requestMs);
  }

  /** DELETE: the orchestrator removes every VM of the instance. */
  async dispose(endpoint: SoEndpoint): Promise<void> {
    await this.send('dispose', endpoint, 'DELETE', PATH, '', this.timeouts.requestMs);
  }

  /**
   * Sends one signed request and takes its answer only when it is signed
   * back by the orchestrator's key: whatever else answers there is refused.
   */
  private async send(
    call: string,
    endpoint: SoEndpoint,
    method: string,
    path: string,
    body: string,
    timeoutMs: number,
    missingIsUndefined = false,
  ): Promise<string | undefined> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await this.exchange(endpoint, method, path, body, timeoutMs, missingIsUndefined);
    } catch (error) {
      outcome = error instanceof SoUnproven ? 'unproven' : error instanceof SoRejected ? 'rejected' : 'unavailable';
      throw error;
    } finally {
      this.observe(call, outcome, (performance.now() - started) / 1000);
    }
  }

  private async exchange(
    endpoint: SoEndpoint,
    method: string,
    path: string,
    body: string,
    timeoutMs: number,
    missingIsUndefined: boolean,
  ): Promise<string | undefined> {
    // Attributes travel as a JSON body: typed, and any Unicode arrives byte-exact, which header values do not.
    const headers: Record<string, string> = {
      Host: new URL(endpoint.url).host,
      'X-Tenant-Name': endpoint.tenant,
      Accept: 'application/occi+json',
      ...(body === '' ? {} : { 'Content-Type': 'application/occi+json' }),
    };
    const { authorization, nonce } = signRequest(endpoint.key, { method, path, header: (name) => lookup(headers, name), body }, Date.now());
    let reply;
    try {
      reply = await this.http.request<string>({
        method,
        url: endpoint.url + path,
        timeout: timeoutMs,
        headers: { ...headers, Authorization: authorization },
        ...(body === '' ? {} : { data: body }),
      });
    } catch (error) {
      throw new SoUnavailable(transportReason(error));
    }
    const data: unknown = reply.data;
    const text = typeof data === 'string' ? data : '';
    const signature: unknown = reply.headers[SIGNATURE_HEADER];
    if (!verifyResponse(endpoint.key, nonce, reply.status, text, typeof signature === 'string' ? signature : undefined)) throw new SoUnproven(endpoint.url);
    if (reply.status === 404 && missingIsUndefined) return undefined;
    if (reply.status >= 500) throw new SoUnavailable(`HTTP ${reply.status}: ${errorMessage(text)}`);
    if (reply.status >= 400) throw new SoRejected(reply.status, errorMessage(text) || `HTTP ${reply.status}`);
    return text;
  }
}

function lookup(headers: Record<string, string>, name: string): string | undefined {
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

function entityOf(body: string): SoEntity {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new SoUnavailable('the orchestrator answered with something other than an OCCI JSON entity');
  }
  if (!isObject(doc) || !isObject(doc['attributes'])) throw new SoUnavailable("the orchestrator's entity has no attributes");
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(doc['attributes'])) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
  }
  const actions = Array.isArray(doc['actions']) ? doc['actions'].filter((a): a is string => typeof a === 'string') : [];
  const state = String(attributes[STACK_STATE_ATTRIBUTE] ?? '');
  if (!isStackState(state)) throw new SoUnavailable(`the orchestrator reports a stack state the protocol does not have: "${state.slice(0, 40)}"`);
  return {
    attributes,
    stack: {
      state,
      message: String(attributes[STACK_MESSAGE_ATTRIBUTE] ?? ''),
      actions: actions.map((id) => id.slice(id.lastIndexOf('#') + 1)).filter(isSoAction),
      ...(isClusterHealth(attributes[HEALTH_ATTRIBUTE]) ? { health: attributes[HEALTH_ATTRIBUTE] } : {}),
    },
  };
}

/** The message of an error answer: a JSON object's `message` (it was asked for JSON), else its first line. */
function errorMessage(text: string): string {
  try {
    const doc: unknown = JSON.parse(text);
    if (isObject(doc) && typeof doc['message'] === 'string') return firstLine(doc['message']);
  } catch {
    // Not JSON: a plain message.
  }
  return firstLine(text);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0].slice(0, 500);
}

function transportReason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return 'no answer in time';
  return e.code ?? e.message ?? String(error);
}
