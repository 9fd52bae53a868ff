import { paged } from '../params.js';
import { jobJson } from '../render.js';
import { PAGING, str, visible, type Command } from './command.js';

const query: Command = {
  name: 'queryAsyncJobResult',
  description: 'Retrieves the current status of an asynchronous job.',
  async: false,
  params: [{ name: 'jobid', type: 'uuid', entity: 'job', acl: true, required: true, description: 'the job' }],
  handle(context) {
    return jobJson(context.jobs.find(context.params['jobid'] as string)!);
  },
};

const list: Command = {
  name: 'listAsyncJobs',
  description: 'Lists the asynchronous jobs of the account.',
  async: false,
  params: [{ name: 'startdate', type: 'string', description: 'jobs created from this date (yyyy-MM-dd[ HH:mm:ss])' }, ...PAGING],
  handle(context) {
    const since = str(context.params, 'startdate');
    const from = since === undefined ? 0 : Date.parse(since.includes(' ') ? `${since.replace(' ', 'T')}Z` : `${since}T00:00:00Z`);
    const jobs = [...context.cloud.jobs.keys()]
      .map((id) => context.jobs.find(id))
      .filter((job) => job !== undefined && visible(context, job.account) && job.created >= (Number.isNaN(from) ? 0 : from))
      .map((job) => jobJson(job!));
    return paged(jobs, context.params, context.cloud.settings.pageSize, 'asyncjobs');
  },
};

export const JOB_COMMANDS: readonly Command[] = [query, list];
