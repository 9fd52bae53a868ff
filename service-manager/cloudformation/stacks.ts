import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Timers } from '../../lib/clock.js';
import { InvalidInput, messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AttributeInput } from '../../lib/occi/parse.js';
import type { InstanceService } from '../instances/service.js';
import type { InstanceRecord, InstanceRegistry } from '../registry/registry.js';
import { SETTLED, type OnFailure, type StackEventRecord, type StackRecord, type StackResourceRecord, type StackStatus } from '../registry/stacks.js';
import type { ServiceType } from '../service-type/manifest.js';
import { decideStack, type StackStep, type StackView } from './decide.js';
import type { ResourceType } from './resources/resource-type.js';
import { evaluate, parseTemplate, resolveParameters, TemplateError, type Scope, type Template } from './template.js';

export interface StackServiceDeps {
  readonly registry: InstanceRegistry;
  readonly instances: InstanceService;
  readonly type: ServiceType;
  readonly resourceTypes: ReadonlyMap<string, ResourceType>;
  readonly timers: Timers;
  readonly logger: Logger;
}

export interface CreateStackInput {
  readonly name: string;
  readonly templateBody: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** Parameters that keep their previous value in an update. */
  readonly previous: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly onFailure: OnFailure;
  readonly timeoutMinutes?: number;
  readonly clientToken?: string;
  readonly region: string;
}

export interface StackOutput {
  readonly key: string;
  readonly value: string;
  readonly description?: string;
}

const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;
const STACK_TYPE = 'AWS::CloudFormation::Stack';
/** How often stacks with an operation under way are looked at. */
const TICK_MS = 500;

/** Refusals worded and coded as CloudFormation's. */
function refusal(code: string, message: string): InvalidInput {
  const error = new InvalidInput(message);
  error.code = code;
  return error;
}

const noStack = (name: string): InvalidInput => refusal('ValidationError', `Stack with id ${name} does not exist`);

/** A tenant's account number in stack ARNs: stable, and telling nothing of other tenants. */
function accountOf(tenant: string): string {
  return BigInt(`0x${createHash('sha256').update(tenant).digest('hex').slice(0, 12)}`)
    .toString()
    .padStart(12, '0')
    .slice(-12);
}

/**
 * The CloudFormation-compatible stacks: each resource is an instance of this
 * service manager, made, changed and removed through the same operations as
 * OCCI requests; the stack's status follows its instances. Operations run
 * in the background, looked at every half second and after each request.
 */
export class StackService {
  private timer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: StackServiceDeps) {}

  start(): void {
    this.kick();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.timer?.();
    return this.running ?? Promise.resolve();
  }

  /** Looks at every stack with an operation under way, now. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.();
    this.running = this.pass()
      .catch((error: unknown) => {
        this.deps.logger.error('stacks: a pass failed', { error: messageOf(error) });
      })
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        } else if (this.deps.registry.stacks.unsettled().length > 0) {
          this.timer = this.deps.timers.schedule(TICK_MS, () => this.kick());
        }
      });
  }

  validate(templateBody: string): Template {
    return parseTemplate(templateBody, this.deps.resourceTypes);
  }

  async create(tenant: string, input: CreateStackInput): Promise<StackRecord> {
    const { stacks } = this.deps.registry;
    if (!STACK_NAME.test(input.name)) {
      throw refusal(
        'ValidationError',
        `1 validation error detected: Value '${input.name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
      );
    }
    if (input.clientToken !== undefined) {
      const earlier = stacks.byToken(tenant, input.clientToken);
      if (earlier && earlier.name === input.name) return earlier;
      if (earlier) throw refusal('TokenAlreadyExistsException', `Another stack was created with the client request token ${input.clientToken}`);
    }
    if (stacks.live(tenant, input.name)) throw refusal('AlreadyExistsException', `Stack [${input.name}] already exists`);
    const template = this.validate(input.templateBody);
    const parameters = resolveParameters(template, input.parameters);
    const now = this.deps.timers.now();
    const stackId = `arn:aws:cloudformation:${input.region}:${accountOf(tenant)}:stack/${input.name}/${randomUUID()}`;
    const stack = stacks.insert({
      stackId,
      tenant,
      name: input.name,
      template: input.templateBody,
      parameters,
      tags: input.tags,
      status: 'CREATE_IN_PROGRESS',
      reason: 'User Initiated',
      onFailure: input.onFailure,
      ...(input.timeoutMinutes === undefined ? {} : { timeoutMs: input.timeoutMinutes * 60_000 }),
      ...(input.clientToken === undefined ? {} : { clientToken: input.clientToken }),
      createdAt: now,
      since: now,
    });
    this.stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
    await this.deps.registry.committed();
    this.kick();
    return stack;
  }

  /** A stack by name (not deleted) or by id (deleted ones too). */
  find(tenant: string, nameOrId: string): StackRecord {
    const { stacks } = this.deps.registry;
    const stack = nameOrId.startsWith('arn:') ? stacks.byId(tenant, nameOrId) : stacks.live(tenant, nameOrId);
    if (!stack) throw noStack(nameOrId);
    return stack;
  }

  list(tenant: string): StackRecord[] {
    return this.deps.registry.stacks.list(tenant);
  }

  events(stack: StackRecord): StackEventRecord[] {
    return this.deps.registry.stacks.events(stack.stackId);
  }

  resources(stack: StackRecord): StackResourceRecord[] {
    return this.deps.registry.stacks.resources(stack.stackId);
  }

  /** The template's outputs, once the stack is complete. */
  outputs(stack: StackRecord): StackOutput[] {
    if (stack.status !== 'CREATE_COMPLETE' && stack.status !== 'UPDATE_COMPLETE') return [];
    const template = this.validate(stack.template);
    const scope = this.scope(stack, template);
    return [...template.outputs].map(([key, output]) => {
      const value = evaluate(output.value, scope);
      return {
        key,
        value: value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value),
        ...(output.description ? { description: output.description } : {}),
      };
    });
  }

  /** Parameters as DescribeStacks shows them: NoEcho ones masked. */
  shownParameters(stack: StackRecord): Array<[string, string]> {
    const template = this.validate(stack.template);
    return Object.entries(stack.parameters).map(([key, value]) => [key, template.parameters.get(key)?.noEcho ? '****' : value]);
  }

  async update(tenant: string, input: CreateStackInput): Promise<StackRecord> {
    const stack = this.find(tenant, input.name);
    if (!SETTLED.includes(stack.status) || stack.status.startsWith('ROLLBACK') || stack.status.startsWith('DELETE') || stack.status === 'CREATE_FAILED') {
      throw refusal('ValidationError', `Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
    }
    const template = this.validate(input.templateBody);
    const before = this.validate(stack.template);
    const given = { ...Object.fromEntries(input.previous.map((name) => [name, stack.parameters[name] ?? ''])), ...input.parameters };
    const parameters = resolveParameters(template, given);
    const added = [...template.resources.keys()].filter((name) => !before.resources.has(name));
    const removed = [...before.resources.keys()].filter((name) => !template.resources.has(name));
    if (added.length > 0 || removed.length > 0) {
      throw refusal(
        'ValidationError',
        `An update cannot add or remove resources (added: [${added.join(', ')}], removed: [${removed.join(', ')}]); create another stack.`,
      );
    }
    const records = new Map(this.resources(stack).map((r) => [r.logicalId, r]));
    const scope = this.scope({ ...stack, parameters }, template);
    const changes = new Map<string, Record<string, unknown>>();
    for (const name of template.order) {
      const def = template.resources.get(name)!;
      const where = `Resources.${name}.Properties`;
      if (def.type.name !== before.resources.get(name)!.type.name) throw refusal('ValidationError', `Resources.${name}.Type cannot change in an update.`);
      const instance = this.instanceOf(records.get(name));
      if (!instance) throw refusal('ValidationError', `Resources.${name} has no instance to update.`);
      const wanted = def.type.attributes(evaluate(def.properties, scope) as Record<string, unknown>, where);
      const changed = Object.entries(wanted).filter(([attribute, value]) => instance.attributes[attribute] !== value);
      for (const property of Object.keys(def.properties)) {
        const attribute = def.type.attributeOf(property);
        if (changed.some(([name]) => name === attribute) && !def.type.updatable(property)) {
          throw refusal('ValidationError', `${where}.${property} cannot change on an existing resource (it is fixed at creation).`);
        }
      }
      if (changed.length > 0) changes.set(name, Object.fromEntries(changed));
    }
    const sameParameters = JSON.stringify(parameters) === JSON.stringify(stack.parameters);
    if (changes.size === 0 && sameParameters && input.templateBody === stack.template) throw refusal('ValidationError', 'No updates are to be performed.');
    const { stacks } = this.deps.registry;
    stacks.setDefinition(stack.stackId, input.templateBody, parameters);
    stacks.setStatus(stack.stackId, 'UPDATE_IN_PROGRESS', 'User Initiated', true);
    this.stackEvent(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
    for (const [name, attributes] of changes) {
      const record = records.get(name)!;
      await this.deps.instances.update(tenant, record.physicalId!, occi(attributes), { actor: actorOf(stack) });
      this.resourceStep(stack, { ...record, status: 'UPDATE_IN_PROGRESS', reason: '' });
    }
    await this.deps.registry.committed();
    this.kick();
    return this.find(tenant, stack.stackId);
  }

  async delete(tenant: string, nameOrId: string): Promise<void> {
    const { stacks } = this.deps.registry;
    const stack = nameOrId.startsWith('arn:') ? stacks.byId(tenant, nameOrId) : stacks.live(tenant, nameOrId);
    if (!stack || stack.status === 'DELETE_COMPLETE' || stack.status === 'DELETE_IN_PROGRESS') return;
    stacks.setStatus(stack.stackId, 'DELETE_IN_PROGRESS', 'User Initiated', true);
    this.stackEvent(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    await this.deps.registry.committed();
    this.kick();
  }

  private async pass(): Promise<void> {
    for (const stack of this.deps.registry.stacks.unsettled()) {
      try {
        await this.advance(stack);
      } catch (error) {
        this.deps.logger.error('stacks: could not advance a stack', { stack: stack.stackId, error: messageOf(error) });
      }
    }
    await this.deps.registry.committed();
  }

  private async advance(stack: StackRecord): Promise<void> {
    const template = this.validate(stack.template);
    const records = new Map(this.resources(stack).map((r) => [r.logicalId, r]));
    const view: StackView = {
      stack,
      resources: template.order.map((logicalId) => {
        const record = records.get(logicalId);
        const instance = this.instanceOf(record);
        return {
          logicalId,
          needs: template.resources.get(logicalId)!.needs,
          ...(record ? { record } : {}),
          ...(instance ? { instance: { state: instance.state, stateMessage: instance.stateMessage, deleting: deleting(instance) } } : {}),
        };
      }),
    };
    for (const step of decideStack(view, this.deps.timers.now())) await this.act(stack, template, records, step);
  }

  private async act(stack: StackRecord, template: Template, records: Map<string, StackResourceRecord>, step: StackStep): Promise<void> {
    const { stacks } = this.deps.registry;
    if (step.kind === 'stack') {
      stacks.setStatus(stack.stackId, step.status, step.reason, step.begins === true);
      this.stackEvent(stack, step.status, step.reason);
      return;
    }
    const def = template.resources.get(step.logicalId)!;
    const record = records.get(step.logicalId) ?? {
      logicalId: step.logicalId,
      type: def.type.name,
      status: 'CREATE_IN_PROGRESS' as const,
      reason: '',
      updatedAt: 0,
    };
    if (step.kind === 'resource') {
      this.resourceStep(stack, { ...record, status: step.status, reason: step.reason });
      return;
    }
    if (step.kind === 'delete') {
      await this.deps.instances.delete(stack.tenant, record.physicalId!, { actor: actorOf(stack) });
      return;
    }
    const physicalId = `${stack.name.slice(0, 30)}-${step.logicalId.slice(0, 20)}-${randomBytes(4).toString('hex')}`;
    try {
      const where = `Resources.${step.logicalId}.Properties`;
      const attributes = def.type.attributes(evaluate(def.properties, this.scope(stack, template)) as Record<string, unknown>, where);
      // The resource and its instance are recorded in one commit: a restart finds both or neither.
      await this.deps.instances.create(stack.tenant, occi(attributes, this.deps.type), physicalId, {
        actor: actorOf(stack),
        also: (instance) => this.resourceStep(stack, { ...record, physicalId, uid: instance.uid, status: 'CREATE_IN_PROGRESS', reason: '' }),
      });
    } catch (error) {
      this.resourceStep(stack, { ...record, status: 'CREATE_FAILED', reason: messageOf(error) });
    }
  }

  /** What the template's functions read, for this stack now. */
  private scope(stack: StackRecord, template: Template): Scope {
    const records = new Map(this.resources(stack).map((r) => [r.logicalId, r]));
    return {
      parameters: stack.parameters,
      pseudo: {
        'AWS::StackName': stack.name,
        'AWS::StackId': stack.stackId,
        'AWS::Region': stack.stackId.split(':')[3],
        'AWS::AccountId': stack.stackId.split(':')[4],
        'AWS::Partition': 'aws',
        'AWS::URLSuffix': 'amazonaws.com',
      },
      ref: (resource) => records.get(resource)?.physicalId,
      attribute: (resource, attribute) => {
        const type = template.resources.get(resource)?.type;
        const name = type?.outputs.get(attribute);
        if (!name) throw new TemplateError(`Template error: resource ${resource} does not support attribute type ${attribute} in Fn::GetAtt`);
        const instance = this.instanceOf(records.get(resource));
        return instance?.outputs[name] ?? instance?.attributes[name];
      },
    };
  }

  private instanceOf(record: StackResourceRecord | undefined): InstanceRecord | undefined {
    return record?.uid === undefined ? undefined : this.deps.registry.byUid(record.uid);
  }

  private stackEvent(stack: StackRecord, status: StackStatus, reason: string): void {
    this.deps.registry.stacks.addEvent(stack.stackId, {
      eventId: randomUUID(),
      logicalId: stack.name,
      physicalId: stack.stackId,
      type: STACK_TYPE,
      status,
      reason,
    });
  }

  private resourceStep(stack: StackRecord, resource: Omit<StackResourceRecord, 'updatedAt'>): void {
    const { stacks } = this.deps.registry;
    stacks.putResource(stack.stackId, resource);
    stacks.addEvent(stack.stackId, {
      eventId: `${resource.logicalId}-${resource.status}-${new Date(this.deps.timers.now()).toISOString()}`,
      logicalId: resource.logicalId,
      physicalId: resource.physicalId ?? '',
      type: resource.type,
      status: resource.status,
      reason: resource.reason,
    });
  }
}

function deleting(instance: InstanceRecord): boolean {
  return instance.state === 'destroy' || (instance.state === 'failed' && instance.failedPhase === 'destroy');
}

function actorOf(stack: StackRecord): string {
  return `cloudformation:${stack.name}`;
}

function occi(attributes: Readonly<Record<string, unknown>>, type?: ServiceType) {
  const inputs: AttributeInput[] = Object.entries(attributes).map(([name, value]) => ({
    name,
    value: { lexical: 'json', value: value as string | number | boolean },
  }));
  return { categories: type ? [{ scheme: type.kind.scheme, term: type.kind.term, class: 'kind' as const }] : [], attributes: inputs, links: [], locations: [] };
}
