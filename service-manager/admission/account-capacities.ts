import type { Clock } from '../../lib/clock.js';
import { accountCapacity, type AccountCapacity } from '../../lib/cloudstack/account.js';
import type { CloudStack, CloudStackCredentials } from '../../lib/cloudstack/index.js';

export interface AccountCapacitiesDeps {
  readonly credentials: (tenant: string) => CloudStackCredentials | undefined;
  readonly connect: (account: CloudStackCredentials) => CloudStack;
  readonly clock: Clock;
  /** How long one look at an account is reused. */
  readonly ttlMs: number;
  /** How long admission waits for CloudStack before it goes by the quota alone. */
  readonly timeoutMs: number;
}

interface Look {
  readonly at: number;
  readonly capacity: Promise<AccountCapacity>;
}

/**
 * What each tenant's CloudStack account has left, looked up at most once
 * per `ttlMs` per account (a burst of creates asks once).
 */
export class AccountCapacities {
  private readonly looks = new Map<string, Look>();
  private readonly clients = new Map<string, CloudStack>();

  constructor(private readonly deps: AccountCapacitiesDeps) {}

  of = async (tenant: string): Promise<AccountCapacity> => {
    const account = this.deps.credentials(tenant);
    if (!account) return {};
    const now = this.deps.clock.now();
    const cached = this.looks.get(account.apiKey);
    if (cached && now - cached.at < this.deps.ttlMs) return cached.capacity;
    const capacity = accountCapacity(this.client(account).client, AbortSignal.timeout(this.deps.timeoutMs));
    this.looks.set(account.apiKey, { at: now, capacity });
    capacity.catch(() => this.looks.delete(account.apiKey));
    return capacity;
  };

  private client(account: CloudStackCredentials): CloudStack {
    let client = this.clients.get(account.apiKey);
    if (!client) {
      client = this.deps.connect(account);
      this.clients.set(account.apiKey, client);
    }
    return client;
  }
}
