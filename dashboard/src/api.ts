/** The service manager's OCCI API as the signed-in tenant uses it from the page. */

const JSON_TYPE = 'application/occi+json';

export interface Credentials {
  readonly tenant: string;
  readonly token: string;
}

export interface AttributeInfo {
  readonly mutable: boolean;
  readonly required: boolean;
  readonly type: 'string' | 'number' | 'boolean';
  readonly default?: string | number | boolean;
  readonly description?: string;
  readonly pattern?: {
    readonly type?: string;
    readonly enum?: readonly unknown[];
    readonly minimum?: number;
    readonly maximum?: number;
    readonly maxLength?: number;
  };
}

export interface Kind {
  readonly term: string;
  readonly scheme: string;
  readonly location: string;
  readonly attributes: Readonly<Record<string, AttributeInfo>>;
}

export interface Instance {
  readonly id: string;
  readonly title?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly actions: readonly string[];
}

export interface InstanceEvent {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly type: string;
  readonly state?: string;
  readonly message?: string;
}

/** The service manager refused; `status` 0 when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly credentials: Credentials) {}

  /** The kind instances are made of, with its attributes; also proves the credentials. */
  async kind(term = 'mesos'): Promise<Kind> {
    const doc = (await this.send('GET', '/-/')) as { kinds?: Kind[] };
    const kind = doc.kinds?.find((k) => k.term === term && typeof k.location === 'string');
    if (!kind) throw new ApiError(404, `The service manager offers no ${term} kind.`);
    return { ...kind, location: new URL(kind.location, location.href).pathname };
  }

  async list(kind: Kind): Promise<Instance[]> {
    return ((await this.send('GET', kind.location)) as { resources?: Instance[] }).resources ?? [];
  }

  async create(kind: Kind, name: string, attributes: Record<string, unknown>): Promise<void> {
    const body = { kind: kind.scheme + kind.term, attributes };
    if (name === '') await this.send('POST', kind.location, body);
    else await this.send('PUT', kind.location + encodeURIComponent(name), body);
  }

  async update(kind: Kind, id: string, attributes: Record<string, unknown>): Promise<void> {
    await this.send('POST', kind.location + encodeURIComponent(id), { attributes });
  }

  async act(kind: Kind, id: string, action: string): Promise<void> {
    await this.send('POST', `${kind.location}${encodeURIComponent(id)}?action=${encodeURIComponent(action)}`);
  }

  async remove(kind: Kind, id: string): Promise<void> {
    await this.send('DELETE', kind.location + encodeURIComponent(id));
  }

  async events(kind: Kind, id: string, after: number): Promise<InstanceEvent[]> {
    return (await this.send('GET', `${kind.location}${encodeURIComponent(id)}/events?limit=1000${after > 0 ? `&after=${after}` : ''}`)) as InstanceEvent[];
  }

  private async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'X-Tenant-Name': this.credentials.tenant, 'X-Auth-Token': this.credentials.token, Accept: JSON_TYPE };
    if (body !== undefined) headers['Content-Type'] = JSON_TYPE;
    let reply: Response;
    try {
      reply = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch {
      throw new ApiError(0, 'The service manager cannot be reached.');
    }
    const text = await reply.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    if (!reply.ok) {
      const message = (doc as { message?: unknown } | undefined)?.message;
      throw new ApiError(reply.status, typeof message === 'string' ? message : text.trim() || `HTTP ${reply.status}`);
    }
    return doc;
  }
}
