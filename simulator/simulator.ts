import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import { SystemTimers, type Timers } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Authenticator } from './auth.js';
import { Cloud } from './cloud.js';
import { commandTable } from './commands/index.js';
import { controlRoutes } from './control.js';
import { Faults } from './faults.js';
import type { Fixtures } from './fixtures.js';
import { Guests, NO_GUEST, type Guest } from './guests.js';
import { uuidSource } from './ids.js';
import { JobEngine } from './jobs.js';
import { mesosControlRoutes } from './mesos/control.js';
import { MesosFaults } from './mesos/faults.js';
import { MesosGuest } from './mesos/guest.js';
import { MesosWorld } from './mesos/world.js';
import { failure, MAINTENANCE, ManagementServer, type ApiReply } from './management-server.js';
import { VmLifecycle } from './vm-lifecycle.js';
import { readParams } from './wire.js';

export interface SimulatorOptions {
  readonly fixtures: Fixtures;
  /** Virtual or scaled time; real time by default. */
  readonly timers?: Timers;
  /** Seeds the uuids, so a run is repeatable. */
  readonly seed?: number;
  /** More guests by kind, as templates name them; `none` and `mesos` are always there. */
  readonly guests?: ReadonlyMap<string, Guest>;
  readonly logger?: Logger;
  /**
   * Serve the control API at /sim. It can stop, destroy and partition any
   * VM of any account, so it is for local trials and tests only.
   */
  readonly control?: boolean;
}

export interface RunningSimulator {
  readonly simulator: Simulator;
  /** The base URL; the API is <url>/client/api. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A CloudStack management server in-process: the API at /client/api, the
 * control API at /sim. See simulator/README.md.
 */
export class Simulator {
  readonly cloud: Cloud;
  readonly jobs: JobEngine;
  readonly faults = new Faults();
  readonly guests: Guests;
  /** The emulated Mesos daemons that run in VMs of templates with the `mesos` guest. */
  readonly mesos: MesosWorld;
  readonly timers: Timers;
  readonly app: Express;
  private readonly server: ManagementServer;

  constructor(options: SimulatorOptions) {
    this.timers = options.timers ?? new SystemTimers();
    this.mesos = new MesosWorld(this.timers, options.fixtures.mesos, new MesosFaults(), options.logger);
    this.guests = new Guests(new Map<string, Guest>([['none', NO_GUEST], ['mesos', new MesosGuest(this.mesos)], ...(options.guests ?? [])]), options.logger);
    for (const template of options.fixtures.templates) {
      if (!this.guests.has(template.guest)) {
        throw new ConfigError(`template ${template.name} wants guest "${template.guest}"; known: ${this.guests.kindNames().join(', ')}`);
      }
    }
    this.cloud = new Cloud(options.fixtures, uuidSource(options.seed), this.timers);
    this.jobs = new JobEngine(this.cloud, this.faults, options.logger);
    const vms = new VmLifecycle(this.cloud, this.guests, this.faults);
    this.server = new ManagementServer({
      cloud: this.cloud,
      jobs: this.jobs,
      faults: this.faults,
      vms,
      commands: commandTable(),
      auth: new Authenticator(this.cloud),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.app = express();
    this.app.disable('x-powered-by');
    this.app.set('etag', false);
    this.app.all('/client/api', express.text({ type: () => true, limit: '4mb' }), (req, res) => this.api(req, res));
    if (options.control) {
      this.app.use('/sim/mesos', express.json({ limit: '64kb' }), mesosControlRoutes(this.mesos));
      this.app.use('/sim', controlRoutes(this.cloud, this.faults, this.timers, vms));
    }
  }

  private async api(req: Request, res: Response): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.status(405).set('Allow', 'GET, POST').end();
      return;
    }
    const method = req.method;
    const form = method === 'POST' && /x-www-form-urlencoded/i.test(req.get('content-type') ?? '') ? String(req.body ?? '') : undefined;
    const params = readParams(req.originalUrl.split('?')[1] ?? '', form);
    const command = params.get('command') ?? '';
    if (this.faults.take('reset', command)) {
      req.socket.resetAndDestroy();
      return;
    }
    const proxy = this.faults.take('proxy-error', command);
    if (proxy) {
      send(res, { status: proxy.status, headers: { 'Content-Type': 'text/html' }, body: `<html><body><h1>${proxy.status} Bad Gateway</h1></body></html>` });
      return;
    }
    const latency = this.faults.take('latency', command);
    if (latency) await this.timers.sleep(latency.ms);
    const reply = this.faults.take('maintenance') ? failure(true, 'errorresponse', MAINTENANCE) : this.server.handle(params, method);
    if (this.faults.take('drop-response', command)) {
      req.socket.destroy();
      return;
    }
    send(res, reply);
  }

  listen(host: string, port: number): Promise<RunningSimulator> {
    return new Promise((resolve, reject) => {
      const server: Server = this.app.listen(port, host);
      server.once('error', reject);
      server.once('listening', () => {
        const address = server.address() as AddressInfo;
        resolve({
          simulator: this,
          url: `http://${host}:${address.port}`,
          close: () =>
            new Promise<void>((done) => {
              this.guests.stopAll();
              server.close(() => done());
              server.closeAllConnections();
            }),
        });
      });
    });
  }
}

function send(res: Response, reply: ApiReply): void {
  const body = Buffer.from(reply.body, 'utf8');
  res.status(reply.status);
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

export async function startSimulator(options: SimulatorOptions & { readonly host?: string; readonly port?: number }): Promise<RunningSimulator> {
  return new Simulator(options).listen(options.host ?? '127.0.0.1', options.port ?? 8080);
}
