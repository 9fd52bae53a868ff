import type { Account, Cloud } from '../cloud.js';
import type { Faults } from '../faults.js';
import type { JobEngine, JobSpec, JobWork } from '../jobs.js';
import type { ParamSpec, Params } from '../params.js';
import type { VmLifecycle } from '../vm-lifecycle.js';

export interface CommandContext {
  readonly cloud: Cloud;
  readonly jobs: JobEngine;
  readonly faults: Faults;
  readonly vms: VmLifecycle;
  readonly account: Account;
  readonly params: Params;
  readonly method: 'GET' | 'POST';
  readonly command: string;
}

/** One API command: its declared parameters, whether it is async, and what it does. */
export interface Command {
  readonly name: string;
  readonly description: string;
  readonly async: boolean;
  readonly params: readonly ParamSpec[];
  /** The body inside the envelope; async commands return { jobid } (deploy: { id, jobid }). */
  handle(context: CommandContext): Record<string, unknown>;
}

export function responseName(command: string): string {
  return `${command.toLowerCase()}response`;
}

export const PAGING: readonly ParamSpec[] = [
  { name: 'page', type: 'integer', description: 'page number, from 1' },
  { name: 'pagesize', type: 'integer', description: 'items per page' },
  { name: 'keyword', type: 'string', description: 'search text' },
  { name: 'listall', type: 'boolean', description: 'admins: every account' },
];

/** Queues a job and answers as an async command does. */
export function submit(context: CommandContext, spec: Omit<JobSpec, 'account' | 'command'>, work: JobWork): { jobid: string } {
  const job = context.jobs.submit({ ...spec, account: context.account, command: context.command }, work);
  return { jobid: job.id };
}

/** Whether the caller sees what an account owns: its own, or everything for an admin asking for all. */
export function visible(context: CommandContext, owner: Account): boolean {
  return owner === context.account || (context.account.admin && context.params['listall'] === true);
}

export function str(params: Params, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

export function keyword(params: Params, ...fields: Array<string | undefined>): boolean {
  const wanted = str(params, 'keyword')?.toLowerCase();
  return wanted === undefined || fields.some((f) => f !== undefined && f.toLowerCase().includes(wanted));
}
