import { CannotProcess, ConflictingState, InvalidInput, NoLongerExists, UnknownResource } from '../../lib/errors.js';
import { isObject } from '../../lib/objects.js';
import type { AttributeInput } from '../../lib/occi/parse.js';
import type { OcciRequest } from '../../lib/occi/request.js';
import { platformTenants, tenantForContext, type Platform } from '../auth/platforms.js';
import type { SecretOutputs } from '../instances/entity.js';
import type { InstanceService } from '../instances/service.js';
import { isServing } from '../model/states.js';
import type { BrokerRecord, InstanceRecord, InstanceRegistry } from '../registry/registry.js';
import type { ServiceType } from '../service-type/manifest.js';
import { catalogDocument, requestedAttributes, type BrokerCatalog, type Plan } from './catalog.js';
import { busy, operationState, type OperationState } from './operations.js';

export interface BrokerDeps {
  readonly instances: InstanceService;
  readonly registry: InstanceRegistry;
  readonly type: ServiceType;
  readonly catalog: BrokerCatalog;
  /** Outputs only an owner sees (Marathon's password), for binding credentials. */
  readonly secrets: SecretOutputs;
  /** Counts a write against the tenant's allowance, refusing it past the limit (as the OCCI gate does). */
  readonly spendWrite: (tenant: string) => void;
}

/** Who asks: the platform, and the person it names as the originator, for the history. */
export interface Caller {
  readonly platform: Platform;
  readonly actor: string;
  /** The page its users may open for an instance, as the platform reaches this service manager. */
  readonly dashboardUrl: string;
}

/** An answer: its status and body. */
export interface Answer {
  readonly status: 200 | 201 | 202;
  readonly body: Record<string, unknown>;
}

const CONCURRENCY = 'ConcurrencyError';

/**
 * The Open Service Broker API 2.17 over the service manager's instances: a
 * broker instance is an instance of the platform's tenant with the
 * platform's instance id, so OCCI clients see the same one. What only the
 * broker knows (plan, parameters, last operation, bindings) is kept with it
 * in the registry and written in the same commit as the instance.
 */
export class Broker {
  constructor(private readonly deps: BrokerDeps) {}

  catalog(): Record<string, unknown> {
    return catalogDocument(this.deps.catalog, this.deps.type);
  }

  async provision(caller: Caller, id: string, body: unknown, acceptsIncomplete: boolean): Promise<Answer> {
    requireAsync(acceptsIncomplete);
    const tenant = tenantForContext(caller.platform, isObject(body) ? body['context'] : undefined);
    this.deps.spendWrite(tenant);
    const request = this.request(body, true);
    const plan = request.plan!;
    const wanted: BrokerRecord = { serviceId: this.deps.catalog.serviceId, planId: plan.id, parameters: request.parameters, operation: 'provision' };
    const existing = this.find(caller, id);
    if (existing) {
      const record = this.deps.registry.brokerRecord(existing.uid);
      if (record?.operation === 'deprovision') throw concurrency(`Instance ${id} is being deprovisioned.`);
      if (!record || record.planId !== wanted.planId || !sameParameters(record.parameters, wanted.parameters)) {
        throw new ConflictingState(`Instance ${id} exists with other attributes.`);
      }
      return isServing(existing.state) ? { status: 200, body: provisioned(caller) } : { status: 202, body: provisioned(caller, 'provision') };
    }
    const attributes = requestedAttributes(this.deps.catalog, plan, request.parameters);
    await this.deps.instances.create(tenant, this.occi(attributes, true), id, {
      actor: caller.actor,
      also: (instance) => this.deps.registry.setBrokerRecord(instance.uid, wanted),
    });
    return { status: 202, body: provisioned(caller, 'provision') };
  }

  lastOperation(caller: Caller, id: string): OperationState {
    const instance = this.find(caller, id);
    if (!instance) throw this.missing(caller, id);
    return operationState(this.recordOf(instance).operation, instance);
  }

  fetch(caller: Caller, id: string): Record<string, unknown> {
    const instance = this.find(caller, id);
    const record = instance && this.deps.registry.brokerRecord(instance.uid);
    if (!instance || !record || (record.operation === 'provision' && !isServing(instance.state)))
      throw new UnknownResource(`No instance ${id}, or it is still being provisioned.`);
    if (instance.state === 'update') throw concurrency('The instance is being updated.');
    return { service_id: record.serviceId, plan_id: record.planId, parameters: record.parameters, dashboard_url: caller.dashboardUrl };
  }

  async update(caller: Caller, id: string, body: unknown, acceptsIncomplete: boolean): Promise<Answer> {
    requireAsync(acceptsIncomplete);
    const instance = this.find(caller, id);
    if (!instance) throw new UnknownResource(`No instance ${id}.`);
    this.deps.spendWrite(instance.tenant);
    const record = this.recordOf(instance);
    if (busy(instance)) throw concurrency(`Another operation for instance ${id} is in progress (${instance.state}).`);
    const request = this.request(body, false);
    const plan = request.plan ?? this.planOf(record);
    const parameters = { ...record.parameters, ...request.parameters };
    const next: BrokerRecord = { ...record, planId: plan.id, parameters, operation: 'update' };
    // Only what differs: a partial update that names a fixed attribute is refused even with its current value.
    const changed = Object.fromEntries(
      Object.entries(requestedAttributes(this.deps.catalog, plan, parameters)).filter(([name, value]) => instance.attributes[name] !== value),
    );
    let recorded = false;
    const updated = await this.deps.instances.update(instance.tenant, id, this.occi(changed, false), {
      actor: caller.actor,
      also: (changed) => {
        this.deps.registry.setBrokerRecord(changed.uid, next);
        recorded = true;
      },
    });
    if (!recorded) this.deps.registry.setBrokerRecord(updated.uid, next);
    await this.deps.registry.committed();
    return updated.state === 'update' ? { status: 202, body: { operation: 'update' } } : { status: 200, body: {} };
  }

  async deprovision(caller: Caller, id: string, query: Readonly<Record<string, unknown>>, acceptsIncomplete: boolean): Promise<Answer> {
    this.requireIds(query);
    requireAsync(acceptsIncomplete);
    const instance = this.find(caller, id);
    if (!instance || !this.deps.registry.brokerRecord(instance.uid)) throw new NoLongerExists(`No instance ${id}.`);
    this.deps.spendWrite(instance.tenant);
    const record = this.recordOf(instance);
    await this.deps.instances.delete(instance.tenant, id, {
      actor: caller.actor,
      also: (deleting) => this.deps.registry.setBrokerRecord(deleting.uid, { ...record, operation: 'deprovision' }),
    });
    return { status: 202, body: { operation: 'deprovision' } };
  }

  async bind(caller: Caller, id: string, bindingId: string, body: unknown): Promise<Answer> {
    const instance = this.find(caller, id);
    if (!instance) throw new UnknownResource(`No instance ${id}.`);
    this.deps.spendWrite(instance.tenant);
    this.recordOf(instance);
    const request = this.request(body, true);
    if (Object.keys(request.parameters).length > 0) throw new InvalidInput('Bindings take no parameters.');
    const existing = this.deps.registry.binding(instance.uid, bindingId);
    if (existing) return { status: 200, body: { credentials: this.credentials(instance) } };
    if (!isServing(instance.state)) throw concurrency(`Instance ${id} is ${instance.state}; bind it once it is ready.`);
    this.deps.registry.addBinding(instance.uid, { bindingId, parameters: {} });
    this.deps.registry.addEvent(instance.uid, { actor: caller.actor, type: 'progress', message: `Bound as ${bindingId}.` });
    await this.deps.registry.committed();
    return { status: 201, body: { credentials: this.credentials(instance) } };
  }

  fetchBinding(caller: Caller, id: string, bindingId: string): Record<string, unknown> {
    const instance = this.find(caller, id);
    const binding = instance && this.deps.registry.binding(instance.uid, bindingId);
    if (!instance || !binding) throw new UnknownResource(`No binding ${bindingId} of instance ${id}.`);
    return { credentials: this.credentials(instance), parameters: binding.parameters };
  }

  async unbind(caller: Caller, id: string, bindingId: string, query: Readonly<Record<string, unknown>>): Promise<Answer> {
    this.requireIds(query);
    const instance = this.find(caller, id);
    if (instance) this.deps.spendWrite(instance.tenant);
    if (!instance || !this.deps.registry.removeBinding(instance.uid, bindingId)) throw new NoLongerExists(`No binding ${bindingId} of instance ${id}.`);
    this.deps.registry.addEvent(instance.uid, { actor: caller.actor, type: 'progress', message: `Binding ${bindingId} removed.` });
    await this.deps.registry.committed();
    return { status: 200, body: {} };
  }

  /** The live instance with this id among the platform's tenants. */
  private find(caller: Caller, id: string): InstanceRecord | undefined {
    for (const tenant of platformTenants(caller.platform)) {
      const instance = this.deps.registry.find(tenant, id);
      if (instance) return instance;
    }
    return undefined;
  }

  /** 410 for an instance the platform deprovisioned, 404 for one it never had. */
  private missing(caller: Caller, id: string): Error {
    const removed = platformTenants(caller.platform).some((tenant) => this.deps.registry.removedBrokerInstance(tenant, id));
    return removed ? new NoLongerExists(`Instance ${id} is deprovisioned.`) : new UnknownResource(`No instance ${id}.`);
  }

  private recordOf(instance: InstanceRecord): BrokerRecord {
    const record = this.deps.registry.brokerRecord(instance.uid);
    if (!record) throw new UnknownResource(`No instance ${instance.id} made through the service broker.`);
    return record;
  }

  private planOf(record: BrokerRecord): Plan {
    const plan = this.deps.catalog.plans.find((p) => p.id === record.planId);
    if (!plan) throw new CannotProcess('PlanGone', `The instance's plan ${record.planId} is no longer offered; choose another with plan_id.`);
    return plan;
  }

  /** The request body's service, plan and parameters, checked against the catalog. */
  private request(body: unknown, planRequired: boolean): { body: Record<string, unknown>; plan?: Plan; parameters: Record<string, unknown> } {
    if (!isObject(body)) throw new InvalidInput('The request body must be a JSON object.');
    this.requireIds(body, planRequired);
    const planId = body['plan_id'];
    const plan = planId === undefined ? undefined : this.deps.catalog.plans.find((p) => p.id === planId);
    const parameters = body['parameters'] ?? {};
    if (!isObject(parameters)) throw new InvalidInput('parameters must be a JSON object.');
    return { body, ...(plan ? { plan } : {}), parameters };
  }

  private requireIds(given: Readonly<Record<string, unknown>>, planRequired = true): void {
    if (given['service_id'] !== this.deps.catalog.serviceId)
      throw new InvalidInput(`service_id must be ${this.deps.catalog.serviceId}, the service in the catalog.`);
    const planId = given['plan_id'];
    if (planId === undefined && !planRequired) return;
    if (!this.deps.catalog.plans.some((p) => p.id === planId)) {
      throw new InvalidInput(`plan_id must be one of the catalog's plans: ${this.deps.catalog.plans.map((p) => `${p.id} (${p.name})`).join(', ')}.`);
    }
  }

  private occi(attributes: Readonly<Record<string, unknown>>, withKind: boolean): OcciRequest {
    const inputs: AttributeInput[] = Object.entries(attributes).map(([name, value]) => {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
        throw new InvalidInput(`${name} must be a string, a number or a boolean.`);
      return { name, value: { lexical: 'json', value } };
    });
    const { scheme, term } = this.deps.type.kind;
    return { categories: withKind ? [{ scheme, term, class: 'kind' }] : [], attributes: inputs, links: [], locations: [] };
  }

  private credentials(instance: InstanceRecord): Record<string, unknown> {
    const outputs = { ...instance.outputs, ...this.deps.secrets(instance) };
    const pick = (name: string): Record<string, unknown> => (outputs[name] === undefined ? {} : { [name]: outputs[name] });
    const credentials: Record<string, unknown> = {
      mesos_master_url: outputs['mesos.master.url'],
      zookeeper: outputs['mesos.zk'],
      ...rename(pick('mesos.marathon.url'), 'marathon_url'),
      ...rename(pick('mesos.marathon.user'), 'marathon_user'),
      ...rename(pick('mesos.marathon.password'), 'marathon_password'),
    };
    return credentials;
  }
}

function provisioned(caller: Caller, operation?: string): Record<string, unknown> {
  return { dashboard_url: caller.dashboardUrl, ...(operation ? { operation } : {}) };
}

function rename(picked: Record<string, unknown>, name: string): Record<string, unknown> {
  const values = Object.values(picked);
  return values.length === 0 ? {} : { [name]: values[0] };
}

function requireAsync(acceptsIncomplete: boolean): void {
  if (!acceptsIncomplete) throw new CannotProcess('AsyncRequired', 'This service plan requires client support for asynchronous service operations.');
}

function concurrency(message: string): CannotProcess {
  return new CannotProcess(CONCURRENCY, message);
}

function sameParameters(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}
