import { InvalidInput, ConflictingState, UnknownResource } from '../../lib/errors.js';
import { typeId } from '../../lib/occi/model.js';
import type { AttributeInput, CategoryRef } from '../../lib/occi/parse.js';
import type { OcciRequest } from '../../lib/occi/request.js';
import type { Orchestration } from '../lifecycle/orchestration.js';
import { touchesOrchestrator } from '../lifecycle/parameters.js';
import { isServing, type ActionRule } from '../model/states.js';
import type { EventPage, InstanceKey, InstanceRecord, InstanceRegistry, ListingCursor } from '../registry/registry.js';
import { createInputs, effectiveInputs, replaceInputs, updateInputs, type Attributes, type Changes } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';
import type { AccountCapacity } from '../../lib/cloudstack/account.js';
import type { Admission } from '../admission/admission.js';

export interface InstanceServiceDeps {
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly orchestration: Orchestration;
  /** Quotas and the cloud's limits, checked before anything is recorded. */
  readonly admission: Admission;
  /** Makes ids for instances created without a client-chosen one. */
  readonly newId: () => string;
  readonly newUid: () => string;
}

/** Who asks, and what else must be written (and committed) together with the instance. */
export interface WriteOptions {
  /** Recorded in the history; the tenant by default. */
  readonly actor?: string;
  /** Called with the instance as written, before the commit, so its own writes join the same commit. */
  readonly also?: (instance: InstanceRecord) => void;
}

export interface CreateResult {
  readonly instance: InstanceRecord;
  /** False when a PUT repeated an earlier identical create. */
  readonly created: boolean;
}

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CORE_ID = 'occi.core.id';

export const INITIAL_MESSAGE = 'Accepted; waiting for the service orchestrator to start.';

/**
 * The service manager's operations on instances, scoped to the calling
 * tenant: another tenant's instance is indistinguishable from a missing one.
 * Every accepted change is recorded with its event, and committed, before the
 * orchestration hears of it and before it is acknowledged.
 */
export class InstanceService {
  constructor(private readonly deps: InstanceServiceDeps) {}

  async create(tenant: string, request: OcciRequest, clientId?: string, options: WriteOptions = {}): Promise<CreateResult> {
    this.requireKind(request.categories, true);
    rejectLinks(request);
    if (clientId !== undefined && !CLIENT_ID.test(clientId)) {
      throw new InvalidInput(`Instance id "${clientId}" is not allowed; use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.`);
    }
    const given = withoutCoreId(request.attributes, clientId, 'create');
    const cloud = await this.deps.admission.cloud(tenant);
    // From here to the write nothing waits, so the registry the admission counts is the one written to.
    const found = clientId === undefined ? undefined : this.deps.registry.find(tenant, clientId);
    if (found) return { instance: await this.replace(tenant, found, given, cloud, options), created: false };
    const attributes = createInputs(this.deps.type, given);
    this.deps.admission.create(tenant, attributes, cloud);
    const instance = this.deps.registry.insert(
      {
        uid: this.deps.newUid(),
        id: clientId ?? this.deps.newId(),
        tenant,
        kind: this.deps.type.kind.term,
        attributes,
        outputs: {},
        state: 'initialise',
        stateMessage: INITIAL_MESSAGE,
      },
      { actor: options.actor ?? tenant, type: 'created', state: 'initialise', message: INITIAL_MESSAGE, changes: asChanges(attributes) },
    );
    options.also?.(instance);
    await this.deps.registry.committed();
    this.deps.orchestration.created(instance);
    return { instance, created: true };
  }

  /**
   * A PUT of an instance that exists is a full replace (GFD.223): the same
   * representation again changes nothing; changed updatable attributes are
   * an update; changed fixed ones are refused.
   */
  private async replace(
    tenant: string,
    existing: InstanceRecord,
    given: readonly AttributeInput[],
    cloud: AccountCapacity | undefined,
    options: WriteOptions,
  ): Promise<InstanceRecord> {
    if (isDeleting(existing)) throw new ConflictingState(`Instance ${existing.id} is being deleted; choose another id or wait.`);
    const { next, changes } = replaceInputs(this.deps.type, existing.attributes, given);
    if (Object.keys(changes).length === 0) return existing;
    this.refuseAutoscaledResize(existing, next, changes);
    this.deps.admission.update(existing, next, cloud);
    return applyUpdate(this.deps, existing, next, changes, options.actor ?? tenant, `Updating: ${describeChanges(changes)}.`, options.also);
  }

  list(tenant: string): InstanceRecord[] {
    return this.deps.registry.list(tenant);
  }

  /** A page of a tenant's instances, oldest first (all of them without a limit), as keys: where each is and its version. */
  keyPage(tenant: string, after: ListingCursor | undefined, limit: number | undefined): { keys: InstanceKey[]; more: boolean } {
    return this.deps.registry.keyPage(tenant, after, limit);
  }

  /** The tenant's instances among these uids. */
  records(tenant: string, uids: readonly string[]): InstanceRecord[] {
    return this.deps.registry.byUids(uids).filter((record) => record.tenant === tenant);
  }

  get(tenant: string, id: string): InstanceRecord {
    const instance = this.deps.registry.find(tenant, id);
    if (!instance) throw new UnknownResource(`No instance ${id}.`);
    return instance;
  }

  /** The instance with its orchestrator's latest news, asked for (and read again) only if what is known is not recent. */
  async read(tenant: string, id: string): Promise<InstanceRecord> {
    const instance = this.get(tenant, id);
    if (!(await this.deps.orchestration.refresh(instance))) return instance;
    const latest = this.deps.registry.byUid(instance.uid);
    if (!latest) throw new UnknownResource(`No instance ${id}.`);
    return latest;
  }

  async update(tenant: string, id: string, request: OcciRequest, options: WriteOptions = {}): Promise<InstanceRecord> {
    this.requireKind(request.categories, false);
    rejectLinks(request);
    const given = withoutCoreId(request.attributes, id, 'update');
    const cloud = await this.deps.admission.cloud(tenant);
    const instance = this.get(tenant, id);
    if (isDeleting(instance)) throw new ConflictingState(`Instance ${id} is being deleted and can no longer be updated.`);
    const { next, changes } = updateInputs(this.deps.type, instance.attributes, given);
    if (Object.keys(changes).length === 0) return instance;
    this.refuseAutoscaledResize(instance, next, changes);
    this.deps.admission.update(instance, next, cloud);
    return applyUpdate(this.deps, instance, next, changes, options.actor ?? tenant, `Updating: ${describeChanges(changes)}.`, options.also);
  }

  async act(tenant: string, id: string, term: string, request: OcciRequest): Promise<InstanceRecord> {
    const rule = this.actionRule(term);
    this.requireAction(request.categories, rule);
    rejectLinks(request);
    const cloud = await this.deps.admission.cloud(tenant);
    const instance = this.get(tenant, id);
    if (request.attributes.length > 0) {
      throw new InvalidInput(`Action ${term} takes no attributes; got ${request.attributes.map((a) => a.name).join(', ')}.`);
    }
    if (!rule.applies(instance.state)) {
      throw new InvalidInput(`Action ${term} does not apply to an instance in state ${instance.state}; it applies ${rule.when}.`);
    }
    this.deps.admission.retry(instance, cloud);
    return this.retry(tenant, instance);
  }

  private async retry(tenant: string, instance: InstanceRecord): Promise<InstanceRecord> {
    const phase = instance.failedPhase ?? 'initialise';
    const message = `Retrying ${phase}.`;
    const retried = this.deps.registry.change(
      instance.uid,
      instance.version,
      { state: phase, stateMessage: message, failedPhase: null },
      { actor: tenant, type: 'action', state: phase, message },
    );
    await this.deps.registry.committed();
    if (phase === 'destroy') this.deps.orchestration.deleteRequested(retried);
    else this.deps.orchestration.retried(retried);
    return retried;
  }

  /** Starts the teardown; the instance stays visible in `destroy` until it is confirmed. */
  async delete(tenant: string, id: string, options: WriteOptions = {}): Promise<InstanceRecord> {
    const instance = this.get(tenant, id);
    if (instance.state === 'destroy') return instance;
    const message = 'Deletion requested; tearing the instance down.';
    const deleting = this.deps.registry.change(
      instance.uid,
      instance.version,
      { state: 'destroy', stateMessage: message, failedPhase: null },
      { actor: options.actor ?? tenant, type: 'delete_requested', state: 'destroy', message },
    );
    options.also?.(deleting);
    await this.deps.registry.committed();
    this.deps.orchestration.deleteRequested(deleting);
    return deleting;
  }

  async deleteAll(tenant: string): Promise<InstanceRecord[]> {
    return Promise.all(this.list(tenant).map((instance) => this.delete(tenant, instance.id)));
  }

  /** A page of the instance's history: up to `limit` events numbered after `after`. */
  events(tenant: string, id: string, after: number, limit: number): EventPage {
    return this.deps.registry.eventPage(this.get(tenant, id).uid, after, limit);
  }

  private refuseAutoscaledResize(instance: InstanceRecord, next: Attributes, changes: Changes): void {
    if (changes[AGENTS] && autoscaled(this.deps.type, instance.attributes) && autoscaled(this.deps.type, next)) {
      throw new ConflictingState(`Instance ${instance.id} is autoscaled, so the autoscaler sets ${AGENTS}; send ${AUTOSCALE}=false with it to take over.`);
    }
  }

  private actionRule(term: string): ActionRule {
    const rule = this.deps.type.actionRules.find((r) => r.action.term === term);
    if (rule) return rule;
    const offered = this.deps.type.actionRules.map((r) => r.action.term).join(', ');
    throw new InvalidInput(`Unknown action "${term}"; the ${this.deps.type.kind.term} kind offers: ${offered}.`);
  }

  /** Create needs the service kind; an update may repeat it; nothing else is registered. */
  private requireKind(categories: readonly CategoryRef[], needed: boolean): void {
    const kind = this.deps.type.kind;
    for (const category of categories) {
      if (category.scheme + category.term === typeId(kind) && (category.class ?? 'kind') === 'kind') continue;
      throw notRegistered(category);
    }
    if (needed && categories.length === 0) {
      throw new InvalidInput(`No kind given; send Category: ${kind.term}; scheme="${kind.scheme}"; class="kind" (see the query interface /-/).`);
    }
  }

  private requireAction(categories: readonly CategoryRef[], rule: ActionRule): void {
    for (const category of categories) {
      if (category.scheme + category.term === typeId(rule.action) && (category.class ?? 'action') === 'action') continue;
      throw new InvalidInput(`Category ${category.scheme}${category.term} does not name the action ${rule.action.term}.`);
    }
  }
}

const AGENTS = 'mesos.agents';
const AUTOSCALE = 'mesos.autoscale';

function autoscaled(type: ServiceType, attributes: Attributes): boolean {
  return effectiveInputs(type, attributes)[AUTOSCALE] === true;
}

/**
 * Records an accepted change of an instance's inputs with its event, then,
 * once it is committed, tells the orchestration: a ready (or degraded) cluster
 * starts updating at once; in any other state the pipeline applies the change
 * when it can.
 */
export async function applyUpdate(
  deps: Pick<InstanceServiceDeps, 'registry' | 'orchestration'>,
  instance: InstanceRecord,
  next: Attributes,
  changes: Changes,
  actor: string,
  message: string,
  also?: (instance: InstanceRecord) => void,
): Promise<InstanceRecord> {
  const updating = isServing(instance.state) && touchesOrchestrator(changes);
  const updated = deps.registry.change(
    instance.uid,
    instance.version,
    { attributes: next, ...(updating ? { state: 'update' as const, stateMessage: message } : {}) },
    { actor, type: 'updated', changes, ...(updating ? { state: 'update' as const, message } : {}) },
  );
  also?.(updated);
  await deps.registry.committed();
  deps.orchestration.reconfigured(updated, changes);
  return updated;
}

function notRegistered(category: CategoryRef): InvalidInput {
  return new InvalidInput(
    `The category ${category.scheme}${category.term}${category.class ? ` (${category.class})` : ''} ` +
      'is not registered with this service; see the query interface /-/.',
  );
}

function rejectLinks(request: OcciRequest): void {
  if (request.links.length > 0 || request.locations.length > 0) {
    throw new InvalidInput('Links and X-OCCI-Location are not accepted on service instances.');
  }
}

/** occi.core.id may only repeat the id of the URL; the service assigns ids otherwise. */
function withoutCoreId(attributes: readonly AttributeInput[], id: string | undefined, what: string): AttributeInput[] {
  const rest: AttributeInput[] = [];
  for (const attribute of attributes) {
    if (attribute.name !== CORE_ID) {
      rest.push(attribute);
      continue;
    }
    if (id === undefined) {
      throw new InvalidInput('occi.core.id is assigned by the service; to choose an id, PUT the instance at /<kind>/<id>.');
    }
    if (attribute.value.value !== id) {
      throw new InvalidInput(`occi.core.id "${String(attribute.value.value)}" does not match the instance id "${id}" of this ${what}.`);
    }
  }
  return rest;
}

function isDeleting(instance: InstanceRecord): boolean {
  return instance.state === 'destroy' || (instance.state === 'failed' && instance.failedPhase === 'destroy');
}

function describeChanges(changes: Changes): string {
  return Object.entries(changes)
    .map(
      ([name, change]) =>
        `${name} ${change.from === undefined ? '(default)' : String(change.from)} → ${change.to === undefined ? '(default)' : String(change.to)}`,
    )
    .join(', ');
}

function asChanges(attributes: Attributes): Record<string, { to: Attributes[string] }> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { to: value }]));
}
