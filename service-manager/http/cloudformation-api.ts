import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Clock } from '../../lib/clock.js';
import { Refusal } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { verifySigV4 } from '../cloudformation/sigv4.js';
import type { CreateStackInput, StackService } from '../cloudformation/stacks.js';
import { members, xml, type XmlNode } from '../cloudformation/xml.js';
import type { OnFailure, StackRecord } from '../registry/stacks.js';

export interface CloudFormationApiDeps {
  readonly stacks: StackService;
  /** The tenant an access key belongs to, and its secret. */
  readonly awsKey: (accessKeyId: string) => { readonly tenant: string; readonly secret: string } | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
}

export const CLOUDFORMATION_PATH = '/cloudformation';
const NAMESPACE = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const VERSION = '2010-05-15';
const SKEW_MS = 5 * 60_000;
/** A template may be 51 200 bytes, which form encoding can make about three times larger. */
const FORM_LIMIT = 256 * 1024;

/** A refusal with CloudFormation's code and HTTP status. */
class QueryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Call {
  readonly tenant: string;
  readonly region: string;
  readonly params: URLSearchParams;
}

function param(params: URLSearchParams, name: string): string | undefined {
  return params.get(name) ?? undefined;
}

function required(params: URLSearchParams, name: string): string {
  const value = param(params, name);
  if (value === undefined || value === '')
    throw new QueryError(
      400,
      'ValidationError',
      `1 validation error detected: Value null at '${name[0].toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

/** `Name.member.N.Field` lists, N from 1, as maps of their fields. */
function memberList(params: URLSearchParams, name: string): Array<Record<string, string>> {
  const items: Array<Record<string, string>> = [];
  for (let n = 1; ; n++) {
    const prefix = `${name}.member.${n}`;
    const fields: Record<string, string> = {};
    for (const [key, value] of params) {
      if (key === prefix) fields[''] = value;
      else if (key.startsWith(`${prefix}.`)) fields[key.slice(prefix.length + 1)] = value;
    }
    if (Object.keys(fields).length === 0) return items;
    items.push(fields);
  }
}

function stackInput(call: Call, update: boolean): CreateStackInput {
  const { params } = call;
  const parameters: Record<string, string> = {};
  const previous: string[] = [];
  for (const p of memberList(params, 'Parameters')) {
    if (p['ParameterKey'] === undefined) continue;
    if (p['UsePreviousValue'] === 'true') previous.push(p['ParameterKey']);
    else parameters[p['ParameterKey']] = p['ParameterValue'] ?? '';
  }
  const tags = Object.fromEntries(memberList(params, 'Tags').map((t) => [t['Key'] ?? '', t['Value'] ?? '']));
  const onFailure = param(params, 'OnFailure') ?? (param(params, 'DisableRollback') === 'true' ? 'DO_NOTHING' : 'ROLLBACK');
  if (!['ROLLBACK', 'DELETE', 'DO_NOTHING'].includes(onFailure))
    throw new QueryError(400, 'ValidationError', `OnFailure must be ROLLBACK, DELETE or DO_NOTHING; got ${onFailure}`);
  const timeout = param(params, 'TimeoutInMinutes');
  if (timeout !== undefined && !/^[1-9]\d{0,4}$/.test(timeout))
    throw new QueryError(400, 'ValidationError', 'TimeoutInMinutes must be a whole number of at least 1');
  if (param(params, 'TemplateURL') !== undefined) throw new QueryError(400, 'ValidationError', 'TemplateURL is not supported here; send TemplateBody.');
  const usePrevious = update && param(params, 'UsePreviousTemplate') === 'true';
  const body = usePrevious ? undefined : required(params, 'TemplateBody');
  const clientToken = param(params, 'ClientRequestToken');
  return {
    name: required(params, 'StackName'),
    templateBody: body ?? '',
    parameters,
    previous,
    tags,
    onFailure: onFailure as OnFailure,
    ...(timeout === undefined ? {} : { timeoutMinutes: Number(timeout) }),
    ...(clientToken === undefined ? {} : { clientToken }),
    region: call.region,
  };
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function stackXml(stacks: StackService, stack: StackRecord): XmlNode {
  const template = stacks.validate(stack.template);
  return {
    StackId: stack.stackId,
    StackName: stack.name,
    Description: template.description,
    Parameters: members(stacks.shownParameters(stack).map(([key, value]) => ({ ParameterKey: key, ParameterValue: value }))),
    CreationTime: iso(stack.createdAt),
    LastUpdatedTime: iso(stack.updatedAt),
    DeletionTime: iso(stack.deletedAt),
    StackStatus: stack.status,
    StackStatusReason: stack.reason === '' ? undefined : stack.reason,
    DisableRollback: stack.onFailure === 'DO_NOTHING',
    TimeoutInMinutes: stack.timeoutMs === undefined ? undefined : stack.timeoutMs / 60_000,
    Outputs: members(stacks.outputs(stack).map((o) => ({ OutputKey: o.key, OutputValue: o.value, Description: o.description }))),
    Tags: members(Object.entries(stack.tags).map(([key, value]) => ({ Key: key, Value: value }))),
  };
}

/** What events and resource listings say of a resource. */
function resourceFields(r: { logicalId: string; physicalId?: string; type: string; status: string; reason: string }): Record<string, XmlNode> {
  return {
    LogicalResourceId: r.logicalId,
    PhysicalResourceId: r.physicalId,
    ResourceType: r.type,
    ResourceStatus: r.status,
    ResourceStatusReason: r.reason === '' ? undefined : r.reason,
  };
}

/** Each action: what it does and the XML of its result (undefined: no result element). */
function actions(stacks: StackService): Record<string, (call: Call) => Promise<XmlNode> | XmlNode> {
  return {
    CreateStack: async (call) => ({ StackId: (await stacks.create(call.tenant, stackInput(call, false))).stackId }),
    UpdateStack: async (call) => {
      const input = stackInput(call, true);
      const body = input.templateBody === '' ? stacks.find(call.tenant, input.name).template : input.templateBody;
      return { StackId: (await stacks.update(call.tenant, { ...input, templateBody: body })).stackId };
    },
    DeleteStack: async (call) => {
      await stacks.delete(call.tenant, required(call.params, 'StackName'));
      return undefined;
    },
    DescribeStacks: (call) => {
      const name = param(call.params, 'StackName');
      const list = name === undefined ? stacks.list(call.tenant).filter((s) => s.status !== 'DELETE_COMPLETE') : [stacks.find(call.tenant, name)];
      return { Stacks: members(list.map((s) => stackXml(stacks, s))) };
    },
    ListStacks: (call) => {
      const filter = memberList(call.params, 'StackStatusFilter').map((f) => f['']);
      const list = stacks.list(call.tenant).filter((s) => filter.length === 0 || filter.includes(s.status));
      return {
        StackSummaries: members(
          list.map((s) => ({
            StackId: s.stackId,
            StackName: s.name,
            TemplateDescription: stacks.validate(s.template).description,
            CreationTime: iso(s.createdAt),
            LastUpdatedTime: iso(s.updatedAt),
            DeletionTime: iso(s.deletedAt),
            StackStatus: s.status,
            StackStatusReason: s.reason === '' ? undefined : s.reason,
          })),
        ),
      };
    },
    DescribeStackEvents: (call) => {
      const stack = stacks.find(call.tenant, required(call.params, 'StackName'));
      return {
        StackEvents: members(
          stacks.events(stack).map((e) => ({
            StackId: stack.stackId,
            EventId: e.eventId,
            StackName: stack.name,
            ...resourceFields(e),
            Timestamp: iso(e.time),
          })),
        ),
      };
    },
    DescribeStackResources: (call) => {
      const stack = stacks.find(call.tenant, required(call.params, 'StackName'));
      const only = param(call.params, 'LogicalResourceId');
      return {
        StackResources: members(
          stacks
            .resources(stack)
            .filter((r) => only === undefined || r.logicalId === only)
            .map((r) => ({
              StackName: stack.name,
              StackId: stack.stackId,
              ...resourceFields(r),
              Timestamp: iso(r.updatedAt),
            })),
        ),
      };
    },
    ListStackResources: (call) => {
      const stack = stacks.find(call.tenant, required(call.params, 'StackName'));
      return {
        StackResourceSummaries: members(
          stacks.resources(stack).map((r) => ({
            ...resourceFields(r),
            LastUpdatedTimestamp: iso(r.updatedAt),
          })),
        ),
      };
    },
    GetTemplate: (call) => ({
      TemplateBody: stacks.find(call.tenant, required(call.params, 'StackName')).template,
      StagesAvailable: members(['Original', 'Processed']),
    }),
    ValidateTemplate: (call) => {
      const template = stacks.validate(required(call.params, 'TemplateBody'));
      return {
        Parameters: members(
          [...template.parameters].map(([key, p]) => ({ ParameterKey: key, DefaultValue: p.default, NoEcho: p.noEcho, Description: p.description })),
        ),
        Description: template.description,
        Capabilities: members([]),
      };
    },
  };
}

function send(res: Response, status: number, body: string, requestId: string): void {
  res.status(status).set({ 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId }).send(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function sendError(res: Response, error: QueryError, requestId: string): void {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  send(
    res,
    error.status,
    `<ErrorResponse xmlns="${NAMESPACE}">${xml({ Error: { Type: type, Code: error.code, Message: error.message }, RequestId: requestId })}</ErrorResponse>`,
    requestId,
  );
}

/** Domain refusals in CloudFormation's terms. */
function queryErrorOf(error: unknown): QueryError | undefined {
  if (error instanceof QueryError) return error;
  if (!(error instanceof Refusal)) return undefined;
  const code = error.code ?? (error.kind === 'forbidden' ? 'LimitExceededException' : error.kind === 'throttled' ? 'Throttling' : 'ValidationError');
  return new QueryError(400, code, error.message);
}

/**
 * The AWS CloudFormation Query API (form-encoded POST or GET, XML answers)
 * at /cloudformation/, before the OCCI gate: requests are signed with
 * Signature Version 4 by a tenant's access key, and see that tenant's
 * stacks only.
 */
export function cloudFormationApi(deps: CloudFormationApiDeps): Router {
  const router = express.Router({ caseSensitive: true, strict: false });
  const handlers = actions(deps.stacks);
  router.use(CLOUDFORMATION_PATH, express.raw({ type: () => true, limit: Math.max(deps.maxBodyBytes, FORM_LIMIT) }), async (req: Request, res: Response) => {
    const requestId = randomUUID();
    try {
      const [path, query = ''] = req.originalUrl.split('?') as [string, string | undefined];
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verdict = verifySigV4({ method: req.method, path, query, headers: req.headers, body }, (id) => deps.awsKey(id)?.secret, deps.clock.now(), {
        service: 'cloudformation',
        skewMs: SKEW_MS,
      });
      if (!verdict.ok) throw new QueryError(verdict.status, verdict.code, verdict.message);
      const tenant = deps.awsKey(verdict.accessKeyId)!.tenant;
      const params = new URLSearchParams(req.method === 'POST' ? body.toString('utf8') : query);
      const action = param(params, 'Action') ?? '';
      const handler = Object.hasOwn(handlers, action) ? handlers[action] : undefined;
      if (!handler) throw new QueryError(400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
      if (param(params, 'Version') !== VERSION) throw new QueryError(400, 'InvalidParameterValue', `Version must be ${VERSION}.`);
      const result = await handler({ tenant, region: verdict.region, params });
      const inner = result === undefined ? '' : `<${action}Result>${xml(result)}</${action}Result>`;
      send(res, 200, `<${action}Response xmlns="${NAMESPACE}">${inner}${xml({ ResponseMetadata: { RequestId: requestId } })}</${action}Response>`, requestId);
    } catch (error) {
      const known = queryErrorOf(error);
      if (known) return sendError(res, known, requestId);
      deps.logger.error('cloudformation: internal error', { error: error instanceof Error ? error.stack : String(error) });
      sendError(res, new QueryError(500, 'InternalFailure', 'The request processing has failed because of an unknown error.'), requestId);
    }
  });
  router.use(CLOUDFORMATION_PATH, (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    sendError(res, new QueryError(typeof status === 'number' ? status : 400, 'ValidationError', 'The request could not be read.'), randomUUID());
  });
  return router;
}
