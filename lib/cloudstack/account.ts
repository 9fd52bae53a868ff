import type { CloudStackClient } from './client.js';

/** What the caller's account may still make, as listAccounts reports it. */
export interface AccountCapacity {
  /** VMs it may still make; undefined when its limit is unlimited. */
  readonly vmsAvailable?: number;
}

interface AccountRow {
  readonly vmavailable?: string | number;
}

/**
 * The capacity left in the account whose keys the client signs with: a
 * user's keys list only their own account (cloudstack.md, listAccounts).
 */
export async function accountCapacity(client: CloudStackClient, signal?: AbortSignal): Promise<AccountCapacity> {
  const [account] = await client.list<AccountRow>('listAccounts', 'account', {}, signal ? { signal } : {});
  const available = account?.vmavailable;
  if (available === undefined || String(available).toLowerCase() === 'unlimited') return {};
  const n = Number(available);
  return Number.isFinite(n) ? { vmsAvailable: Math.max(0, n) } : {};
}
