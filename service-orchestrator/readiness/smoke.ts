import type { DaemonHttp } from './daemon-http.js';
import { describeAnswer, isAnswer } from './observation.js';

/**
 * The proof that work runs, before a new cluster is called ready: a
 * one-task Marathon app, small enough for any agent, that must reach
 * TASK_RUNNING; then it is removed. What the SO saw of it is a SmokeSighting.
 */

export const SMOKE_APP = '/mesos-so-smoke';

export interface SmokeSighting {
  /** The agent's host its task runs on, once it runs. */
  readonly runningOn?: string;
  /** Why it does not run yet, in words. */
  readonly waiting?: string;
}

const DEFINITION = {
  id: SMOKE_APP,
  cmd: 'sleep 3600',
  cpus: 0.01,
  mem: 16,
  disk: 0,
  instances: 1,
  portDefinitions: [],
  labels: { purpose: 'readiness smoke test of the service orchestrator' },
};

export class SmokeTest {
  constructor(private readonly http: DaemonHttp) {}

  /** Creates the app; one left from an earlier attempt counts as launched. */
  async launch(marathon: string): Promise<void> {
    const reply = await this.send('POST', `${marathon}/v2/apps`, DEFINITION);
    if (reply.status !== 201 && reply.status !== 409) throw new Error(`Marathon answered the smoke app with HTTP ${reply.status} ${reply.body.slice(0, 120)}`);
  }

  async look(marathon: string): Promise<SmokeSighting> {
    const app = await this.send('GET', `${marathon}/v2/apps${SMOKE_APP}`);
    if (app.status !== 200) return { waiting: `Marathon answers its app with HTTP ${app.status}` };
    const parsed = JSON.parse(app.body) as {
      app?: { tasks?: Array<{ state?: string; host?: string }>; lastTaskFailure?: { message?: string; state?: string } };
    };
    const tasks = parsed.app?.tasks ?? [];
    const running = tasks.find((t) => t.state === 'TASK_RUNNING');
    if (running?.host) return { runningOn: running.host };
    const staging = tasks.find((t) => t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING');
    if (staging) return { waiting: `its task is staging on ${staging.host ?? 'an agent'}` };
    const failure = parsed.app?.lastTaskFailure;
    if (failure) return { waiting: `its last task ended ${failure.state ?? ''}: ${failure.message ?? ''}`.trim() };
    return { waiting: await this.queued(marathon) };
  }

  /** Removes the app and its task, whatever deployment is under way. */
  async remove(marathon: string): Promise<void> {
    const reply = await this.send('DELETE', `${marathon}/v2/apps${SMOKE_APP}?force=true`);
    if (reply.status !== 200 && reply.status !== 404) throw new Error(`Marathon answered the smoke app's removal with HTTP ${reply.status}`);
  }

  private async queued(marathon: string): Promise<string> {
    const reply = await this.send('GET', `${marathon}/v2/queue`);
    if (reply.status !== 200) return 'no task launched yet';
    const queue =
      (
        JSON.parse(reply.body) as {
          queue?: Array<{ app?: { id?: string }; processedOffersSummary?: { rejectSummaryLastOffers?: Array<{ reason?: string; declined?: number }> } }>;
        }
      ).queue ?? [];
    const mine = queue.find((q) => q.app?.id === SMOKE_APP);
    const reasons = (mine?.processedOffersSummary?.rejectSummaryLastOffers ?? []).filter((r) => (r.declined ?? 0) > 0).map((r) => r.reason);
    return reasons.length > 0 ? `its task waits for an offer that fits (offers declined: ${reasons.join(', ')})` : 'its task waits for an offer';
  }

  /** A Marathon answer; no answer at all is an error. */
  private async send(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; body: string }> {
    const answer = await this.http.request(method, url, body);
    if (!isAnswer(answer)) throw new Error(`Marathon did not answer: ${describeAnswer(answer)}`);
    return answer;
  }
}
