import { isRead } from '../lib/cloudstack/commands.js';
import type { Logger } from '../lib/logger.js';
import { ApiError, authFailure, CS } from './api-error.js';
import type { Authenticator } from './auth.js';
import type { Cloud } from './cloud.js';
import { responseName, type Command } from './commands/command.js';
import { CLOUDSTACK_VERSION } from './commands/account.js';
import type { Faults } from './faults.js';
import type { JobEngine } from './jobs.js';
import { validateParams } from './params.js';
import type { VmLifecycle } from './vm-lifecycle.js';
import { paramIgnoringCase } from './wire.js';

export interface ApiReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface ManagementServerParts {
  readonly cloud: Cloud;
  readonly jobs: JobEngine;
  readonly faults: Faults;
  readonly vms: VmLifecycle;
  readonly commands: ReadonlyMap<string, Command>;
  readonly auth: Authenticator;
  readonly logger?: Logger;
}

/**
 * One /client/api call, from parameters to the reply: command lookup,
 * authentication, parameter checks, injected call failures, the command,
 * and the envelope (JSON, or an XML stub when response=json is missing).
 */
export class ManagementServer {
  constructor(private readonly parts: ManagementServerParts) {}

  handle(params: ReadonlyMap<string, string>, method: 'GET' | 'POST'): ApiReply {
    const name = params.get('command');
    const command = name === undefined ? undefined : this.parts.commands.get(name);
    const json = (paramIgnoringCase(params, 'response') ?? '').toLowerCase() === 'json';
    const key = command ? responseName(command.name) : 'errorresponse';
    try {
      if (!command) throw authFailure(`The given command '${name ?? ''}' either does not exist, is not available for user.`);
      const { cloud, jobs, faults, vms } = this.parts;
      const account = this.parts.auth.verify(params, isRead(command.name), method);
      cloud.countCall(account.name, command.name);
      const typed = validateParams(command.name, command.params, params, { cloud, jobs, account });
      const injected = faults.take('fail-call', command.name);
      if (injected) throw new ApiError(injected.errorcode, injected.errortext, injected.cserrorcode);
      const body = command.handle({ cloud, jobs, faults, vms, account, params: typed, method, command: command.name });
      return success(json, key, body);
    } catch (error) {
      if (error instanceof ApiError) return failure(json, key, error);
      this.parts.logger?.error('simulated command crashed', { command: name, error: error instanceof Error ? error.stack : String(error) });
      return failure(json, key, new ApiError(530, 'Command failed due to Internal Server Error', CS.cloudRuntime));
    }
  }
}

export const MAINTENANCE = new ApiError(503, 'Maintenance or Shutdown has been initiated on this management server. Can not accept new jobs');

function success(json: boolean, key: string, body: Record<string, unknown>): ApiReply {
  if (!json) return xml(200, key, '<notice>this server answers JSON; add response=json</notice>');
  return { status: 200, headers: { 'Content-Type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ [key]: body }) };
}

export function failure(json: boolean, key: string, error: ApiError): ApiReply {
  const headers: Record<string, string> = error.described ? { 'X-Description': error.errortext.replace(/[^\x20-\x7e]/g, '?') } : {};
  const envelope = {
    uuidList: [],
    errorcode: error.errorcode,
    ...(error.cserrorcode === undefined ? {} : { cserrorcode: error.cserrorcode }),
    errortext: error.errortext,
  };
  if (!json) {
    const reply = xml(error.errorcode, key, `<errorcode>${error.errorcode}</errorcode><errortext>${escapeXml(error.errortext)}</errortext>`);
    return { ...reply, headers: { ...reply.headers, ...headers } };
  }
  return {
    status: error.errorcode,
    headers: { ...headers, 'Content-Type': 'application/json; charset=UTF-8' },
    body: JSON.stringify({ [key]: envelope }),
  };
}

function xml(status: number, key: string, inner: string): ApiReply {
  return {
    status,
    headers: { 'Content-Type': 'text/xml; charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8"?><${key} cloud-stack-version="${CLOUDSTACK_VERSION}">${inner}</${key}>`,
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
