/**
 * Pipeline benchmark: the service manager with its embedded simulator (50x
 * faster than the wall clock) drives clusters of 1 master and 2 agents on
 * each runtime that is available here, and prints: wall time from create to
 * ready and from delete to gone, with the time spent in each state; ten
 * clusters at once; the memory of one orchestrator; and GET throughput and
 * latency while many clients poll one ready instance, with how many of those
 * GETs reached its orchestrator. Prints figures; asserts nothing.
 *
 *   npm run bench:pipeline
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { createLogger } from '../lib/logger.js';
import type { RuntimeKind } from '../service-manager/runtime/runtime.js';
import { startServiceManager, type ServiceManager } from '../service-manager/start.js';
import { shippedConfig } from './shipped-config.js';

const SCALE = 50;
const DEMO = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' };
const KIND = 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"; class="kind"';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function call(url: string, method: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...DEMO, ...headers }, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function state(base: string, id: string): Promise<string | undefined> {
  const reply = await call(`${base}/mesos/${id}`, 'GET', { Accept: 'application/occi+json' });
  if (reply.status === 404) return undefined;
  return String((JSON.parse(reply.body) as { attributes: Record<string, unknown> }).attributes['mcn.service.state']);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function create(base: string, id: string): Promise<void> {
  const reply = await call(`${base}/mesos/${id}`, 'PUT', { Category: KIND, 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=2' });
  if (reply.status !== 201) throw new Error(`create ${id}: ${reply.status} ${reply.body}`);
}

async function ready(base: string, id: string): Promise<void> {
  await until(async () => {
    const now = await state(base, id);
    if (now === 'failed') throw new Error(`${id} failed`);
    return now === 'ready';
  });
}

async function remove(base: string, id: string): Promise<void> {
  await call(`${base}/mesos/${id}`, 'DELETE');
  await until(async () => (await state(base, id)) === undefined);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function dockerAvailable(): Promise<boolean> {
  try {
    await new Docker().ping();
    await new Docker().getImage('mesos-so:latest').inspect();
    return true;
  } catch {
    return false;
  }
}

async function rssMb(runtime: RuntimeKind, dir: string, uid: string): Promise<number> {
  if (runtime === 'docker') {
    const stats = (await new Docker().getContainer(`mesos-so-${uid}`).stats({ stream: false })) as { memory_stats: { usage: number } };
    return stats.memory_stats.usage / 1e6;
  }
  const pid = readFileSync(join(dir, 'so', `mesos-so-${uid}.pid`), 'utf8').trim();
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1000;
}

function soReads(runtime: RuntimeKind, dir: string, sm: ServiceManager): Promise<number> | number {
  const count = (text: string): number => text.split('\n').filter((l) => l.includes('"path":"/orchestrator/default"') && l.includes('"method":"GET"')).length;
  if (runtime === 'process') {
    return readdirSync(join(dir, 'so'))
      .filter((f) => f.endsWith('.log'))
      .reduce((sum, f) => sum + count(readFileSync(join(dir, 'so', f), 'utf8')), 0);
  }
  const uid = sm.registry.listAll()[0].uid;
  return sm.pipeline!.runtime.logs(uid, 1_000_000).then(count);
}

async function bench(runtime: RuntimeKind): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pipeline-'));
  const config = shippedConfig(dir, {
    SM_SO_RUNTIME_TYPE: runtime,
    // Reads are logged at debug: the orchestrators' logs count the GETs that reach them.
    SM_SO_RUNTIME_ENVIRONMENT: 'SO_LOG_LEVEL=debug',
    SM_CLOUDSTACK_TIME_SCALE: String(SCALE),
  });
  const logger = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, done) => done() }) });
  const sm = await startServiceManager(config, { logger });
  try {
    console.log(`\n${runtime} runtime`);
    let start = Date.now();
    await create(sm.url, 'one');
    await ready(sm.url, 'one');
    const toReady = Date.now() - start;
    const uid = sm.registry.find('demo', 'one')!.uid;
    const events = sm.registry.events(uid).filter((e) => e.type === 'created' || e.type === 'state_changed');
    const phases = events.slice(1).map((e, i) => `${events[i].state} ${e.time - events[i].time} ms`);
    console.log(`  create to ready: ${toReady} ms (${phases.join(', ')})`);
    console.log(`  one orchestrator's memory: ${(await rssMb(runtime, dir, uid)).toFixed(0)} MB`);

    const before = await soReads(runtime, dir, sm);
    await new Promise((resolve) => setTimeout(resolve, config.pipeline.refreshMs + 100));
    const latencies: number[] = [];
    start = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 200; i++) {
          const t0 = process.hrtime.bigint();
          await call(`${sm.url}/mesos/one`, 'GET', { Accept: 'text/occi' });
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = (Date.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const reads = (await soReads(runtime, dir, sm)) - before;
    console.log(
      `  16 clients polling one ready instance: ${(latencies.length / seconds).toFixed(0)} GET/s, ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms; ` +
        `${reads} of ${latencies.length} reached the orchestrator (${(reads / seconds).toFixed(1)}/s)`,
    );

    start = Date.now();
    await remove(sm.url, 'one');
    console.log(`  delete to gone: ${Date.now() - start} ms`);

    const ids = Array.from({ length: 10 }, (_, i) => `many-${i}`);
    start = Date.now();
    await Promise.all(ids.map((id) => create(sm.url, id)));
    await Promise.all(ids.map((id) => ready(sm.url, id)));
    console.log(`  10 clusters created at once, all ready: ${Date.now() - start} ms`);
    start = Date.now();
    await Promise.all(ids.map((id) => remove(sm.url, id)));
    console.log(`  ... and all gone: ${Date.now() - start} ms`);
  } finally {
    for (const so of (await sm.pipeline?.runtime.list()) ?? []) await sm.pipeline!.runtime.remove(so.uid);
    await sm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`clusters of 1 master and 2 agents; the simulator runs ${SCALE}x faster than the wall clock`);
  await bench('process');
  if (await dockerAvailable()) await bench('docker');
  else console.log('\ndocker runtime: no engine with the image mesos-so:latest here (npm run image)');
  agent.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
