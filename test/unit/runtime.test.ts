import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { ConfigError } from '../../lib/errors.js';
import { connectDocker } from '../../service-manager/runtime/choose.js';
import { demultiplex } from '../../service-manager/runtime/docker.js';
import { launchFor, soUrl, type LaunchSettings } from '../../service-manager/runtime/launch.js';
import { PortPool } from '../../service-manager/runtime/ports.js';
import { lastWords, SoStartFailed } from '../../service-manager/runtime/runtime.js';
import type { InstanceRecord } from '../../service-manager/registry/registry.js';
import { thrownBy } from '../support/expect.js';

function frame(stream: number, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

const INSTANCE = { uid: 'u-1', id: 'analytics', tenant: 'demo', memo: {} } as unknown as InstanceRecord;

const SETTINGS: LaunchSettings = {
  host: '127.0.0.1',
  cloudstackUrl: 'http://127.0.0.1:8080',
  managerId: 'sm1',
  credentials: (tenant) => (tenant === 'demo' ? { apiKey: 'demo-api-key', secretKey: 'demo-secret-key' } : undefined),
  keyFor: (uid, generation) => `key-${uid}-${generation}`,
  clusterSecretFor: (uid) => `cluster-${uid}`,
  environment: { SO_DEADLINE_DEPLOY_S: '1800', SO_LOG_LEVEL: 'debug' },
  logLevel: 'info',
};

describe('SO runtimes', () => {
  it("reads the Docker engine's multiplexed log stream back into text", () => {
    const raw = Buffer.concat([frame(1, 'listening\n'), frame(2, 'warning\n'), frame(1, 'done\n')]);
    expect(demultiplex(raw)).to.equal('listening\nwarning\ndone\n');
    expect(demultiplex(Buffer.from('plain text from a TTY'))).to.equal('plain text from a TTY');
  });

  it('keeps the last non-empty line of a crashed process as its last words, shortened', () => {
    expect(lastWords('starting\nservice-orchestrator: SO_LISTEN is required\n\n')).to.equal('service-orchestrator: SO_LISTEN is required');
    expect(lastWords('x'.repeat(400))).to.have.length(301);
    expect(lastWords('')).to.equal('');
  });

  it("gives an orchestrator its identity, its tenant's account and parameters, keeping secrets apart", () => {
    const launch = launchFor(SETTINGS, INSTANCE, { 'mesos.agents': 3 }, { port: 18001, generation: 2 });
    expect(launch.env).to.deep.equal({
      SO_LOG_LEVEL: 'debug',
      SO_LOG_FORMAT: 'json',
      SO_DEADLINE_DEPLOY_S: '1800',
      SO_INSTANCE_ID: 'u-1',
      SO_TENANT: 'demo',
      SO_MANAGER_ID: 'sm1',
      SO_LISTEN: '127.0.0.1:18001',
      SO_CLOUDSTACK_ENDPOINT: 'http://127.0.0.1:8080',
      SO_CLOUDSTACK_API_KEY: 'demo-api-key',
      SO_PARAMETERS: '{"mesos.agents":3}',
    });
    expect(launch.secrets).to.deep.equal({ SO_CLOUDSTACK_SECRET_KEY: 'demo-secret-key', SO_AUTH_KEY: 'key-u-1-2', SO_CLUSTER_SECRET: 'cluster-u-1' });
    expect(soUrl('::1', 18001)).to.equal('http://[::1]:18001');
  });

  it('refuses for good to start an orchestrator for a tenant without a CloudStack account', () => {
    const error = thrownBy(() => launchFor(SETTINGS, { ...INSTANCE, tenant: 'nobody' }, {}, { port: 1, generation: 1 }), SoStartFailed);
    expect(error.retryable).to.equal(false);
    expect(error.message).to.equal("tenant nobody has no CloudStack account in the service manager's tenants file");
  });

  it('hands out ports no instance holds and nothing else is bound to, until released', async () => {
    // Four consecutive ports held by this test, so no other process on the machine can take one of them.
    const [busy, held, ...mine] = await consecutivePorts(4);
    const port = busy.port;
    try {
      const pool = new PortPool({ from: port, to: port + 3 }, '127.0.0.1');
      await Promise.all(mine.map((p) => p.release()));
      await held.release();
      const first = await pool.allocate(new Set([port + 1]));
      expect(first, 'skips the bound port and the held one').to.equal(port + 2);
      expect(await pool.allocate(new Set([port + 1]))).to.equal(port + 3);
      const full = await pool.allocate(new Set([port + 1])).then(
        () => undefined,
        (error: Error) => error.message,
      );
      expect(full).to.match(/no free port for a service orchestrator in \d+-\d+ on 127.0.0.1/);
      pool.release(first);
      expect(await pool.allocate(new Set([port + 1]))).to.equal(first);
    } finally {
      await busy.release();
    }
  });

  it('connects to the engine named by docker_host, and refuses other forms', () => {
    const modem = (dockerHost: string): Record<string, unknown> => connectDocker(dockerHost).modem as unknown as Record<string, unknown>;
    expect(modem('unix:///run/user/1000/docker.sock')['socketPath']).to.equal('/run/user/1000/docker.sock');
    expect(modem('tcp://10.0.0.5:2375')).to.include({ host: '10.0.0.5', port: 2375 });
    expect(() => connectDocker('ssh://host')).to.throw(ConfigError, /docker_host = "ssh:\/\/host"/);
  });
});

interface HeldPort {
  readonly port: number;
  release(): Promise<void>;
}

function hold(port: number): Promise<HeldPort | undefined> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port }, () =>
      resolve({ port: (server.address() as { port: number }).port, release: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

/** Binds `count` consecutive loopback ports, starting from a free one the system picks, trying again where a neighbour is taken. */
async function consecutivePorts(count: number): Promise<HeldPort[]> {
  for (;;) {
    const first = (await hold(0))!;
    const rest: HeldPort[] = [];
    for (let i = 1; i < count; i++) {
      const next = first.port + i <= 65_535 ? await hold(first.port + i) : undefined;
      if (!next) break;
      rest.push(next);
    }
    if (rest.length === count - 1) return [first, ...rest];
    await Promise.all([first, ...rest].map((p) => p.release()));
  }
}
