import { NotPermitted, messageOf } from '../../lib/errors.js';
import type { AccountCapacity } from '../../lib/cloudstack/account.js';
import type { Logger } from '../../lib/logger.js';
import type { InstanceRecord, InstanceRegistry } from '../registry/registry.js';
import { effectiveInputs, type Attributes } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';
import { addTo, admit, NO_TOTALS, vmsOf, type Footprint, type Held, type Quota, type Request, type Totals } from './quota.js';

export interface AdmissionDeps {
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly quotaOf: (tenant: string) => Quota;
  /** What the tenant's CloudStack account has left. */
  readonly capacity: (tenant: string) => Promise<AccountCapacity>;
  readonly logger: Logger;
}

/** States whose VMs may not all exist yet. */
const BUILDING = new Set(['initialise', 'activate', 'deploy']);
const NONE: Footprint = { masters: 0, agents: 0 };

/** An instance as admission weighs it, as the registry's holdings give it. */
type Holding = Omit<ReturnType<InstanceRegistry['holdings']>[number], 'uid'>;

function holdingOf(record: InstanceRecord): Holding {
  const vms = record.memo.failure?.vms;
  return { attributes: record.attributes, state: record.state, ...(vms === undefined ? {} : { failedVms: vms }) };
}

/** A tenant's totals and each of its instances' part in them. */
interface Ledger {
  totals: Totals;
  readonly parts: Map<string, Held>;
}

/**
 * Checks a create, a resize or a retry against the tenant's quota and its
 * CloudStack account before anything is started, refusing with 403 and the
 * figures. Asking the cloud takes time, so callers ask first (`cloud`) and
 * then check and write with no wait in between: two requests at once can
 * never both take the last place.
 */
export class Admission {
  /**
   * Each tenant's totals, read from the registry once and then kept by
   * every write the registry reports, so a check costs the same for a tenant
   * with ten thousand instances as for one with none.
   */
  private readonly ledgers = new Map<string, Ledger>();
  private readonly tenantOf = new Map<string, string>();

  constructor(private readonly deps: AdmissionDeps) {
    deps.registry.onWrite((uid, record) => this.wrote(uid, record));
  }

  /** What the tenant's account has left, or undefined (admission then goes by the quota alone) when it cannot be asked. */
  async cloud(tenant: string): Promise<AccountCapacity | undefined> {
    try {
      return await this.deps.capacity(tenant);
    } catch (error) {
      this.deps.logger.warn('admission: the CloudStack account could not be asked; admitting on the quota alone', { tenant, reason: messageOf(error) });
      return undefined;
    }
  }

  create(tenant: string, attributes: Attributes, cloud: AccountCapacity | undefined): void {
    this.check(tenant, { kind: 'create', footprint: this.footprint(attributes) }, cloud);
  }

  /** A change of an instance's inputs: checked only when it asks for more agents or VMs. */
  update(instance: InstanceRecord, next: Attributes, cloud: AccountCapacity | undefined): void {
    const before = this.footprint(instance.attributes);
    const after = this.footprint(next);
    if (vmsOf(after) <= vmsOf(before)) return;
    this.check(instance.tenant, { kind: 'update', before: this.held(holdingOf(instance)).empty ? NONE : before, footprint: after }, cloud);
  }

  /** A retry builds the VMs again when a failure removed them. */
  retry(instance: InstanceRecord, cloud: AccountCapacity | undefined): void {
    if (!this.held(holdingOf(instance)).empty) return;
    this.check(instance.tenant, { kind: 'update', before: NONE, footprint: this.footprint(instance.attributes) }, cloud);
  }

  private check(tenant: string, request: Request, cloud: AccountCapacity | undefined): void {
    const verdict = admit(request, this.ledger(tenant).totals, this.deps.quotaOf(tenant), cloud);
    if (!verdict.ok) throw new NotPermitted(verdict.message);
  }

  private ledger(tenant: string): Ledger {
    const known = this.ledgers.get(tenant);
    if (known) return known;
    const ledger: Ledger = { totals: NO_TOTALS, parts: new Map() };
    for (const { uid, ...holding } of this.deps.registry.holdings(tenant)) this.enter(ledger, tenant, uid, this.held(holding));
    this.ledgers.set(tenant, ledger);
    return ledger;
  }

  private wrote(uid: string, record: InstanceRecord | undefined): void {
    const tenant = record?.tenant ?? this.tenantOf.get(uid);
    const ledger = tenant === undefined ? undefined : this.ledgers.get(tenant);
    // A tenant not asked about yet is read whole when it first is.
    if (!ledger || tenant === undefined) return;
    const before = ledger.parts.get(uid);
    if (before) ledger.totals = addTo(ledger.totals, before, -1);
    ledger.parts.delete(uid);
    this.tenantOf.delete(uid);
    if (record) this.enter(ledger, tenant, uid, this.held(holdingOf(record)));
  }

  private enter(ledger: Ledger, tenant: string, uid: string, held: Held): void {
    ledger.parts.set(uid, held);
    ledger.totals = addTo(ledger.totals, held);
    this.tenantOf.set(uid, tenant);
  }

  private held(instance: Holding): Held {
    const vms = instance.failedVms;
    return {
      footprint: this.footprint(instance.attributes),
      building: BUILDING.has(instance.state),
      empty: instance.state === 'failed' && (vms === 'removed' || vms === 'none'),
    };
  }

  private footprint(attributes: Attributes): Footprint {
    const inputs = effectiveInputs(this.deps.type, attributes);
    const count = (name: string): number => (typeof inputs[name] === 'number' ? inputs[name] : 0);
    const reserve = inputs['mesos.autoscale'] === true ? count('mesos.autoscale.max') : 0;
    return { masters: count('mesos.masters'), agents: count('mesos.agents'), ...(reserve > 0 ? { reserve } : {}) };
  }
}
