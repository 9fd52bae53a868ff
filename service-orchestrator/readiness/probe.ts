import { AGENT_PORT, MARATHON_PORT, MASTER_PORT } from '../cluster/plan.js';
import { findLeader, masterAt, type Expected } from './assess.js';
import type { DaemonHttp } from './daemon-http.js';
import { isAnswer, jsonOf, type Answer, type Observation } from './observation.js';

const MAX_REDIRECTS = 2;

/**
 * Asks the cluster's daemons over HTTP what they see: each master's health,
 * metrics and redirect, the leader's agents and frameworks (following 307s
 * to the master they name), and each Marathon's ping and info. Every request
 * has a short timeout; a refusal or timeout is an answer too.
 */
export class Probe {
  constructor(private readonly http: DaemonHttp) {}

  get(url: string): Promise<Answer> {
    return this.http.get(url);
  }

  async observe(expected: Expected): Promise<Observation> {
    const masters = await Promise.all(
      expected.masters.map(async ({ address }) => {
        const base = `http://${address}:${MASTER_PORT}`;
        const [health, metrics, redirect] = await Promise.all([
          this.get(`${base}/master/health`),
          this.get(`${base}/metrics/snapshot`),
          this.get(`${base}/master/redirect`),
        ]);
        return { address, health, metrics, redirect };
      }),
    );
    const partial: Observation = { masters, marathons: [] };
    const leader = findLeader(partial, expected);
    const [slaves, frameworks, marathons] = await Promise.all([
      leader ? this.following(leader, '/master/slaves', expected) : undefined,
      leader && expected.marathon ? this.following(leader, '/master/frameworks', expected) : undefined,
      expected.marathon
        ? Promise.all(
            expected.masters.map(async ({ address }) => {
              const base = `http://${address}:${MARATHON_PORT}`;
              const [ping, info] = await Promise.all([this.get(`${base}/ping`), this.get(`${base}/v2/info`)]);
              return { address, ping, info };
            }),
          )
        : [],
    ]);
    const elected = marathons.find((m) => (jsonOf(m.info) as { elected?: unknown } | undefined)?.elected === true);
    const queue = elected ? await this.get(`http://${elected.address}:${MARATHON_PORT}/v2/queue`) : undefined;
    return { masters, marathons, ...(slaves ? { slaves } : {}), ...(frameworks ? { frameworks } : {}), ...(queue ? { queue } : {}) };
  }

  /** Asks a master, following a leader change (307) to the known master it names. */
  private async following(address: string, path: string, expected: Expected): Promise<{ from: string; answer: Answer }> {
    let from = address;
    for (let hop = 0; ; hop++) {
      const answer = await this.get(`http://${from}:${MASTER_PORT}${path}`);
      const next = isAnswer(answer) && answer.status === 307 ? masterAt(answer.location, expected.masters) : undefined;
      if (!next || next === from || hop >= MAX_REDIRECTS) return { from, answer };
      from = next;
    }
  }

  /** Whether an agent's own health endpoint answers, for diagnosis. */
  async agentHealth(address: string): Promise<Answer> {
    return this.get(`http://${address}:${AGENT_PORT}/health`);
  }
}
