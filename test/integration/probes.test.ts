import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { probes, type ReadinessCheck } from '../../lib/http/probes.js';
import { listen } from '../../lib/http/server.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { call } from '../support/http.js';
import { hurtleEnvironment } from '../support/hurtle-sequence.js';
import { startSoWorld, type SoWorld } from '../support/orchestrator.js';
import { removeDir, startTestSm } from '../support/sm.js';

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

describe('Health and readiness probes', () => {
  it('run every check at once and answer 503 naming those that fail or do not answer in time, telling why only the log', async () => {
    const { logger, lines } = createMemoryLogger();
    const never: ReadinessCheck = () => new Promise(() => undefined);
    const checks: Record<string, ReadinessCheck> = { store: async () => undefined, engine: never, cloud: async () => Promise.reject(new Error('refused at 10.1.2.3')) };
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

  it('SM: answer without credentials; ready while its registry takes writes and CloudStack answers', async () => {
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

  it('SM: is not ready while its CloudStack endpoint does not answer, and says so without naming the endpoint', async () => {
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

  describe('SO', function () {
    this.timeout(60_000);
    let world: SoWorld;
    before(async () => {
      world = await startSoWorld();
    });
    after(async () => world.close());

    it('answers without credentials, and the image\'s healthcheck finds it where its environment says it listens', async () => {
      const env = hurtleEnvironment(world, 'so-probed');
      const so = await world.startUnderHurtle(env);
      expect((await call('GET', `${so.url}/healthz`)).status).to.equal(200);
      const ready = await call('GET', `${so.url}/readyz`);
      expect([ready.status, ready.body]).to.deep.equal([200, 'ready: cloudstack ok\n']);
      const port = new URL(so.url).port;
      expect(await exitCodeOf(HEALTHCHECK, { ...env, PORT: port }), 'healthy').to.equal(0);
      expect(await exitCodeOf(HEALTHCHECK, { ...env, PORT: new URL(world.sim.url).port }), 'another server answers 404 there').to.equal(1);
    });
  });
});
