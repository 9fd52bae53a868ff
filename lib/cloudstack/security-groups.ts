import type { CloudStackClient } from './client.js';
import { CloudStackError } from './errors.js';
import { retryingWrite, type OperationOptions } from './retry.js';
import type { Tag } from './types.js';

export interface IngressRule {
  readonly ruleid: string;
  readonly protocol: string;
  readonly startport?: number;
  readonly endport?: number;
  readonly cidr?: string;
  readonly securitygroupname?: string;
  readonly account?: string;
}

export interface SecurityGroup {
  readonly id: string;
  readonly name: string;
  readonly account: string;
  readonly ingressrule?: readonly IngressRule[];
  readonly tags?: readonly Tag[];
  readonly virtualmachinecount?: number;
}

/** One ingress rule wanted: TCP ports (or every protocol) from CIDRs or from the VMs of the group itself. */
export interface WantedRule {
  readonly ports?: readonly [start: number, end: number];
  readonly cidr?: string;
  /** From the group's own members. */
  readonly members?: true;
}

/** Between two tries of deleting a group its VMs still hold (they are being expunged). */
const IN_USE_WAIT_MS = 5000;

/**
 * Security groups as a cluster needs them: made once under a deterministic
 * name (a lost answer is found by that name), tagged, given exactly the
 * rules asked for, and deleted once no VM holds them any more.
 */
export class SecurityGroups {
  constructor(private readonly client: CloudStackClient) {}

  async find(name: string, signal?: AbortSignal): Promise<SecurityGroup | undefined> {
    const groups = await this.client.list<SecurityGroup>('listSecurityGroups', 'securitygroup', { securitygroupname: name }, signal ? { signal } : {});
    return groups.find((g) => g.name === name);
  }

  /** Every group carrying the tag, for sweeps. */
  async tagged(key: string, value: string, signal?: AbortSignal): Promise<SecurityGroup[]> {
    return this.client.list<SecurityGroup>('listSecurityGroups', 'securitygroup', { tags: { [key]: value } }, signal ? { signal } : {});
  }

  /**
   * The group by its name, made if missing, and its tags and the wanted
   * rules it lacks under way: VMs may join the group at once, while
   * `granted` settles once the tags and rules are in place.
   */
  async ensure(
    name: string,
    tags: Readonly<Record<string, string>>,
    rules: readonly WantedRule[],
    options: OperationOptions,
  ): Promise<{ group: SecurityGroup; granted: Promise<void> }> {
    const group = (await this.find(name, options.signal)) ?? (await this.create(name, options));
    const missing = rules.filter((rule) => !(group.ingressrule ?? []).some((have) => matches(have, rule, group)));
    // Each is a job of its own on the server; they need not wait for each other.
    const granted = Promise.all([this.tag(group, tags, options), ...missing.map((rule) => this.authorize(group, rule, options))]).then(() => undefined);
    return { group, granted };
  }

  private async create(name: string, options: OperationOptions): Promise<SecurityGroup> {
    return retryingWrite(
      this.client,
      options,
      false,
      async () => (await this.client.request<{ securitygroup: SecurityGroup }>('createSecurityGroup', { name, description: name }, options)).securitygroup,
      // A create whose answer was lost made the group; so did whoever raced us to the name.
      async () => this.find(name, options.signal),
    );
  }

  private async tag(group: SecurityGroup, tags: Readonly<Record<string, string>>, options: OperationOptions): Promise<void> {
    const present = new Map((group.tags ?? []).map((t) => [t.key, t.value]));
    const missing = Object.fromEntries(Object.entries(tags).filter(([key]) => !present.has(key)));
    if (Object.keys(missing).length === 0) return;
    await retryingWrite(this.client, options, true, async () => {
      const { jobid } = await this.client.request<{ jobid: string }>(
        'createTags',
        { resourcetype: 'SecurityGroup', resourceids: [group.id], tags: missing },
        options,
      );
      await this.client.waitForJob('createTags', jobid, options);
    });
  }

  private async authorize(group: SecurityGroup, rule: WantedRule, options: OperationOptions): Promise<void> {
    const params = {
      securitygroupid: group.id,
      protocol: rule.ports ? 'tcp' : 'all',
      startport: rule.ports?.[0],
      endport: rule.ports?.[1],
      cidrlist: rule.cidr === undefined ? undefined : [rule.cidr],
      usersecuritygrouplist: rule.members ? [{ account: group.account, group: group.name }] : undefined,
    };
    await retryingWrite(this.client, options, true, async () => {
      const { jobid } = await this.client.request<{ jobid: string }>('authorizeSecurityGroupIngress', params, options);
      try {
        await this.client.waitForJob('authorizeSecurityGroupIngress', jobid, options);
      } catch (error) {
        // The server fails the job when every rule asked for exists already (an earlier try took effect): that is what was wanted.
        if (error instanceof CloudStackError && error.errorcode === 530 && /Failed to authorize/.test(error.errortext)) return;
        throw error;
      }
    });
  }

  /**
   * Deletes the group. While VMs still hold it (destroyed ones wait for
   * their expunge) it is tried again until the deadline; a group already
   * gone is done.
   */
  async remove(name: string, options: OperationOptions): Promise<void> {
    const deadline = this.client.timers.now() + options.deadlineMs;
    for (;;) {
      const group = await this.find(name, options.signal);
      if (!group) return;
      try {
        await retryingWrite(this.client, { ...options, deadlineMs: Math.max(1, deadline - this.client.timers.now()) }, false, () =>
          this.client.request('deleteSecurityGroup', { id: group.id }, options),
        );
        return;
      } catch (error) {
        const inUse = error instanceof CloudStackError && error.errorcode === 536;
        if (!inUse || this.client.timers.now() + IN_USE_WAIT_MS >= deadline) throw error;
      }
      await this.client.timers.sleep(IN_USE_WAIT_MS, options.signal);
    }
  }
}

function matches(have: IngressRule, want: WantedRule, group: SecurityGroup): boolean {
  const protocol = want.ports ? 'tcp' : 'all';
  if (have.protocol !== protocol) return false;
  if (want.ports && (have.startport !== want.ports[0] || have.endport !== want.ports[1])) return false;
  if (want.members) return have.securitygroupname === group.name && (have.account ?? group.account) === group.account;
  return have.cidr === want.cidr;
}
