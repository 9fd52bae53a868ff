import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { probes, type ReadinessCheck } from '../../lib/http/probes.js';
import { listen } from '../../lib/http/server.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { call } from '../support/http.js';
import { hurtleEnvironment } from '../support/hurtle-sequence.js';
import { startSoWorld, type SoWorld } from '../support/orchestrator.js';
import { DEMO, removeDir, startTestSm, useTestSm, type TestSm } from '../support/sm.js';

/** The value of one series in Prometheus's text format, or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const HEALTHCHECK = fileURLToPath(new URL('../../service-orchestrator/healthcheck.js', import.meta.url));

/** A server that takes every connection and drops it at once: an endpoint that does not answer, on a port of this run's own. */
async function hangingUp(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/client/api`, close: () => new Promise((done) => server.close(() => done())) };
}

function exitCodeOf(script: string, env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, [script], { env: { PATH: process.env['PATH'], ...env }, stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('Probes and metrics', () => {
  it('readiness runs every check at once and answers 503 naming those that fail or do not answer in time, telling why only the log', async () => {
    const { logger, lines } = createMemoryLogger();
    const never: ReadinessCheck = () => new Promise(() => undefined);
    const checks: Record<string, ReadinessCheck> = {
      store: async () => undefined,
      engine: never,
      cloud: async () => Promise.reject(new Error('refused at 10.1.2.3')),
    };
    const app = express();
    app.use(probes(checks, logger, 50));
    app.use((_req, res) => res.status(418).end());
    const server = await listen(app, { host: '127.0.0.1', port: 0, maxHeaderBytes: 16_384 });
    try {
      expect(await call('GET', `${server.url}/healthz`).then((r) => [r.status, r.body])).to.deep.equal([200, 'ok\n']);
      const ready = await call('GET', `${server.url}/readyz`);
      expect([ready.status, ready.body]).to.deep.equal([503, 'not ready: engine, cloud failing\n']);
      expect(lines.join('\n')).to.include('refused at 10.1.2.3').and.include('no answer within 50 ms');
      expect((await call('POST', `${server.url}/readyz`)).status, 'only reads are probes').to.equal(418);
      expect((await call('GET', `${server.url}/other`)).status).to.equal(418);
    } finally {
      await server.close();
    }
  });

  it('SM probes answer without credentials; ready while its registry takes writes and CloudStack answers', async () => {
    const sm = await startTestSm();
    try {
      expect((await sm.call('GET', '/healthz')).status).to.equal(200);
      const ready = await sm.call('GET', '/readyz');
      expect([ready.status, ready.body]).to.deep.equal([200, 'ready: registry, cloudstack ok\n']);
      expect((await sm.call('GET', '/mesos/')).status, 'everything else still wants a token').to.equal(400);
    } finally {
      await sm.stop();
      removeDir(sm.dir);
    }
  });

  it('SM readiness fails while its CloudStack endpoint does not answer, and says so without naming the endpoint', async () => {
    const cloud = await hangingUp();
    const sm = await startTestSm({ endpoint: cloud.url });
    try {
      expect((await sm.call('GET', '/healthz')).status).to.equal(200);
      const ready = await sm.call('GET', '/readyz');
      expect([ready.status, ready.body]).to.deep.equal([503, 'not ready: cloudstack failing\n']);
      expect(sm.logLines.some((line) => line.includes('readiness check failing') && line.includes('cloudstack'))).to.equal(true);
    } finally {
      await sm.stop();
      await cloud.close();
      removeDir(sm.dir);
    }
  });

  describe('metrics', () => {
    let sm: TestSm | undefined;
    afterEach(async () => {
      if (!sm) return;
      await sm.stop();
      removeDir(sm.dir);
      sm = undefined;
    });

    it("SM: serves instances by state and tenant and its HTTP requests by route, without credentials and without an instance's id", async () => {
      sm = await startTestSm();
      const id = await sm.create(DEMO, 'mesos.agents=2');
      await sm.create(DEMO);
      expect((await sm.call('GET', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
      const scraped = await sm.call('GET', '/metrics');
      expect(scraped.status).to.equal(200);
      expect(scraped.header('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      expect(sample(scraped.body, 'sm_instances{state="initialise",tenant="demo"}')).to.equal(2);
      expect(sample(scraped.body, 'http_requests_total{route="/mesos/",method="POST",status="201"}')).to.equal(2);
      expect(sample(scraped.body, 'http_requests_total{route="/mesos/:id",method="GET",status="200"}')).to.equal(1);
      expect(sample(scraped.body, 'http_request_duration_seconds_count{route="/mesos/:id",method="GET"}')).to.equal(1);
      for (const name of ['sm_instance_state_duration_seconds', 'sm_orchestrator_calls_total', 'sm_cloudstack_calls_total', 'sm_reconciler_runs_total']) {
        expect(scraped.body, name).to.include(`# TYPE ${name}`);
      }
      expect(scraped.body, 'no label names an instance').to.not.include(id);
    });

    it('SM: wants the bearer token kept in the configured file, when there is one', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sm-metrics-'));
      writeFileSync(join(dir, 'metrics.token'), 'scrape-secret\n', { mode: 0o600 });
      sm = await startTestSm({ dir, extraConfig: `[metrics]\ntoken_file = ${join(dir, 'metrics.token')}` });
      const refused = await sm.call('GET', '/metrics');
      expect([refused.status, refused.header('www-authenticate')]).to.deep.equal([401, 'Bearer']);
      expect((await sm.call('GET', '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status).to.equal(401);
      expect((await sm.call('GET', '/metrics', { headers: { Authorization: 'Bearer scrape-secret' } })).status).to.equal(200);
      expect((await sm.call('GET', '/healthz')).status, 'the probes stay open').to.equal(200);
    });

    it('SM: times each state an instance leaves, and counts the change', async () => {
      sm = await startTestSm();
      const id = await sm.create(DEMO);
      const record = sm.sm.registry.find('demo', id)!;
      sm.clock.advance(4_000);
      sm.sm.registry.change(record.uid, record.version, { state: 'activate' }, { actor: 'service-manager', type: 'state_changed', state: 'activate' });
      const text = (await sm.call('GET', '/metrics')).body;
      expect(sample(text, 'sm_instance_transitions_total{from="initialise",to="activate"}')).to.equal(1);
      expect(sample(text, 'sm_instance_state_duration_seconds_sum{state="initialise"}')).to.equal(4);
      expect(sample(text, 'sm_instance_state_duration_seconds_bucket{le="5",state="initialise"}')).to.equal(1);
    });
  });

  describe('SO', function () {
    this.timeout(60_000);
    let world: SoWorld;
    before(async () => {
      world = await startSoWorld();
    });
    after(async () => world.close());

    it("answers without credentials, and the image's healthcheck finds it where its environment says it listens", async () => {
      const env = hurtleEnvironment(world, 'so-probed');
      const so = await world.startUnderHurtle(env);
      expect((await call('GET', `${so.url}/healthz`)).status).to.equal(200);
      const ready = await call('GET', `${so.url}/readyz`);
      expect([ready.status, ready.body]).to.deep.equal([200, 'ready: cloudstack ok\n']);
      const port = new URL(so.url).port;
      expect(await exitCodeOf(HEALTHCHECK, { ...env, PORT: port }), 'healthy').to.equal(0);
      expect(await exitCodeOf(HEALTHCHECK, { ...env, PORT: new URL(world.sim.url).port }), 'another server answers 404 there').to.equal(1);
    });

    it('serves its own: its requests, its CloudStack calls and its process', async () => {
      const so = await world.startUnderHurtle(hurtleEnvironment(world, 'so-metered'));
      expect((await call('GET', `${so.url}/healthz`)).status).to.equal(200);
      const text = (await call('GET', `${so.url}/metrics`)).body;
      expect(sample(text, 'http_requests_total{route="/healthz",method="GET",status="200"}')).to.equal(1);
      for (const name of [
        'so_cloudstack_calls_total',
        'so_cloudstack_call_duration_seconds',
        'process_cpu_user_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ]) {
        expect(text, name).to.include(`# TYPE ${name}`);
      }
    });
  });
});

describe('Dashboard files', () => {
  const sm = useTestSm();

  it('serves the page and its scripts without credentials, locked to its own origin', async () => {
    const moved = await sm().call('GET', '/dashboard');
    expect([moved.status, moved.header('location')]).to.deep.equal([301, '/dashboard/']);
    const page = await sm().call('GET', '/dashboard/');
    expect(page.status).to.equal(200);
    expect(page.header('content-type')).to.match(/^text\/html/);
    expect(page.body).to.include('<script type="module" src="app.js"></script>');
    expect(page.header('content-security-policy')).to.include("default-src 'none'").and.include("script-src 'self'").and.include("connect-src 'self'");
    const script = await sm().call('GET', '/dashboard/app.js');
    expect([script.status, script.header('content-type')]).to.deep.equal([200, 'text/javascript; charset=utf-8']);
  });

  it('answers 404 for anything else under it, and holds no data: the API still wants a token', async () => {
    const missing = await sm().call('GET', '/dashboard/nothing.js');
    expect([missing.status, missing.body]).to.deep.equal([404, 'The dashboard has no /dashboard/nothing.js.\n']);
    expect((await sm().call('GET', '/dashboard/../mesos/')).status).to.equal(400);
  });
});
