import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, type Timers } from '../../lib/clock.js';
import { parseFixtures, type Fixtures } from '../../simulator/fixtures.js';
import type { Guest } from '../../simulator/guests.js';
import { Simulator, type RunningSimulator } from '../../simulator/simulator.js';
import { call, type Reply } from './http.js';
import { claimNetwork, type RunNetwork } from './networks.js';
import { signedQuery } from './minimal-signer.js';
import { ETC } from './sm.js';

export interface Keys {
  readonly apikey: string;
  readonly secret: string;
}

export const DEMO_KEYS: Keys = { apikey: 'demo-api-key', secret: 'demo-secret-key' };
export const OTHER_KEYS: Keys = { apikey: 'other-api-key', secret: 'other-secret-key' };
export const ADMIN_KEYS: Keys = { apikey: 'admin-api-key', secret: 'admin-secret-key' };

export const ZONE_1 = 'f7f6fabe-b32a-4cb0-85d3-9cdac97788c1';
export const ZONE_2 = '25fe74ab-be7b-4c6e-996b-a12b57dada36';
export const NET_1 = '8c7dec3e-aecb-4a9d-b8c1-c3cb966af9f6';
export const MESOS_TEMPLATE = '7d47e665-a945-44bc-8389-7c295a6e4db9';
export const PLAIN_TEMPLATE = '1d0882ba-4e2d-475e-a7d2-0d4944fe1a6c';
export const MEDIUM = '595ccb84-d508-41e1-9fdb-68193fb8712e';

/** The shipped fixtures, as a mutable JSON document to adjust per test. */
export function shippedFixtures(): Record<string, any> {
  return JSON.parse(readFileSync(join(ETC, 'simulator.json'), 'utf8'));
}

export interface ApiCallOptions {
  readonly method?: 'GET' | 'POST';
  /** Signature version 3 with expires this far from now (default 5 minutes); null for none. */
  readonly expiresInMs?: number | null;
  readonly secret?: string;
  readonly json?: boolean;
}

export interface ApiReply extends Reply {
  /** The body inside the single-key envelope. */
  readonly inner: Record<string, any>;
  readonly key: string;
}

export interface TestSimulator {
  readonly running: RunningSimulator;
  readonly simulator: Simulator;
  readonly url: string;
  /** The /16 its VMs get addresses from, claimed for this simulator alone. */
  readonly network: RunNetwork;
  api(keys: Keys, command: string, params?: Record<string, string>, options?: ApiCallOptions): Promise<ApiReply>;
  control(method: string, path: string, body?: unknown): Promise<Reply>;
  close(): Promise<void>;
}

export interface TestSimulatorOptions {
  readonly fixtures?: Fixtures;
  readonly timers?: Timers;
  readonly seed?: number;
  readonly guests?: ReadonlyMap<string, Guest>;
}

/**
 * A simulator on an ephemeral port, called through the independent signer;
 * its networks are moved onto a /16 of its own.
 */
export async function startTestSimulator(options: TestSimulatorOptions = {}): Promise<TestSimulator> {
  const timers = options.timers ?? new ManualClock(Date.UTC(2026, 5, 1));
  const network = claimNetwork();
  const fixtures = options.fixtures ?? parseFixtures(shippedFixtures());
  let running: RunningSimulator;
  try {
    const simulator = new Simulator({
      fixtures: { ...fixtures, networks: fixtures.networks.map((n, i) => ({ ...n, cidr: network.cidrs[i] ?? n.cidr })) },
      timers,
      seed: options.seed ?? 7,
      control: true,
      ...(options.guests ? { guests: options.guests } : {}),
    });
    running = await simulator.listen('127.0.0.1', 0);
  } catch (error) {
    network.release();
    throw error;
  }
  const { simulator } = running;
  return {
    running,
    simulator,
    url: running.url,
    network,
    async api(keys, command, params = {}, opts = {}) {
      const pairs: Array<[string, string]> = [['command', command], ...Object.entries(params), ['apikey', keys.apikey]];
      if (opts.json !== false) pairs.push(['response', 'json']);
      const expiresIn = opts.expiresInMs === undefined ? 300_000 : opts.expiresInMs;
      if (expiresIn !== null) {
        pairs.push(['signatureversion', '3'], ['expires', new Date(timers.now() + expiresIn).toISOString().replace(/\.\d{3}Z$/, '+0000')]);
      }
      const query = signedQuery(pairs, opts.secret ?? keys.secret);
      const method = opts.method ?? (/^(list|query|get)/.test(command) ? 'GET' : 'POST');
      const reply =
        method === 'GET'
          ? await call('GET', `${running.url}/client/api?${query}`)
          : await call('POST', `${running.url}/client/api`, {
              headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
              body: query,
            });
      let key = '';
      let inner: Record<string, any> = {};
      if (opts.json !== false) {
        const doc = reply.json<Record<string, any>>();
        key = Object.keys(doc)[0]!;
        inner = doc[key];
      }
      return { ...reply, key, inner };
    },
    control: (method, path, body) =>
      call(method, `${running.url}/sim${path}`, body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    close: async () => {
      await running.close();
      network.release();
    },
  };
}
