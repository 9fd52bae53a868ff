/**
 * Service manager API benchmark. A registry holding many instances (10 000
 * by default) is served by the service manager in a process of its own;
 * GET of one instance (16 and 64 connections) and of the listing (1, 16 and
 * 64) run side by side with a bare express app serving the very same bytes,
 * warmed up and in alternating rounds; then the service manager's CPU is
 * read while it sits idle. Create runs against a bare Node server answering
 * 201. Prints figures and ratios; asserts nothing.
 *
 *   npm run bench [-- --instances 10000 --idle-s 60 --reference <checkout>]
 *
 * --reference runs the same against another built checkout of the project
 * (its own registry code fills its registry) and prints both side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/logger.js';
import { parseConfig } from '../service-manager/config/load.js';
import type { Orchestration } from '../service-manager/lifecycle/orchestration.js';
import { startServiceManager } from '../service-manager/start.js';
import { writeUnlimitedCopy } from '../simulator/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ETC = join(ROOT, 'etc');
const AUTH = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' };
const KIND = 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"; class="kind"';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function call(url: string, method: string, headers: Record<string, string>, agent: Agent): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const kept = Object.entries(res.headers).filter(
          ([name]) => !['date', 'connection', 'keep-alive', 'x-request-id', 'content-length', 'transfer-encoding'].includes(name),
        );
        done({ status: res.statusCode ?? 0, headers: Object.fromEntries(kept.map(([n, v]) => [n, String(v)])), body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', fail);
    req.end();
  });
}

interface Figures {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Requests that got no answer (reset, refused): counted, not timed. */
  readonly failed: number;
}

async function measure(total: number, connections: number, op: (i: number, agent: Agent) => Promise<unknown>): Promise<Figures> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i, agent);
        latencies.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), failed };
}

const fmt = (f: Figures): string =>
  `${f.perSecond.toFixed(0).padStart(6)} req/s p50 ${f.p50.toFixed(1).padStart(6)} ms p99 ${f.p99.toFixed(1).padStart(7)} ms${f.failed > 0 ? ` (${f.failed} failed)` : ''}`;

/** Fills a registry with the checkout's own registry code: failed instances whose VMs are kept, which the pipeline leaves alone. */
async function fill(root: string, path: string, count: number): Promise<string[]> {
  const { InstanceRegistry } = (await import(
    join(root, 'dist/service-manager/registry/registry.js')
  )) as typeof import('../service-manager/registry/registry.js');
  const registry = new InstanceRegistry(path, { now: () => Date.now() });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-${String(i).padStart(6, '0')}`;
    registry.insert(
      {
        uid: `uid-${id}`,
        id,
        tenant: 'demo',
        kind: 'mesos',
        attributes: { 'mesos.agents': 3, 'occi.core.title': `bench ${i}` },
        outputs: {},
        state: 'failed',
        stateMessage: 'deploy failed: no capacity. Its VMs are kept for debugging (on_failure=keep).',
      },
      { actor: 'demo', type: 'created', state: 'failed' },
    );
    registry.setMemo(`uid-${id}`, { failure: { cause: 'deploy failed: no capacity', vms: 'kept' } });
    ids.push(id);
  }
  registry.close();
  return ids;
}

function configText(dir: string): string {
  return [
    '[service_manager]',
    `manifest = ${join(ETC, 'service_manifest.json')}`,
    'listen = 127.0.0.1:0',
    `registry = ${join(dir, 'registry.db')}`,
    `key_file = ${join(dir, 'manager.key')}`,
    'secret_files = warn',
    '[authentication]',
    `tenants_file = ${join(ETC, 'tenants.json')}`,
    '[so_runtime]',
    'type = process',
    `process_dir = ${join(dir, 'so')}`,
    '[general]',
    'log_format = json',
    '[simulator]',
    `fixtures = ${writeUnlimitedCopy(join(ETC, 'simulator.json'), dir)}`,
    'listen = 127.0.0.1:0',
  ].join('\n');
}

/** Starts a process and resolves with the first stdout line that `found` accepts; later output is read and dropped. */
function startProcess(args: string[], env: NodeJS.ProcessEnv, found: (line: string) => string | undefined): Promise<{ child: ChildProcess; value: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let partial = '';
  let settled = false;
  return new Promise((done, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      const value = lines.map(found).find((v) => v !== undefined);
      if (value === undefined) return;
      settled = true;
      done({ child, value });
    });
    child.once('exit', (code) => {
      if (!settled) fail(new Error(`${args[0]} exited with ${code}`));
    });
  });
}

/** CPU seconds a process used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface ReadRun {
  readonly figures: Map<string, { sm: Figures; bare: Figures }>;
  readonly idleCore: number;
}

async function reads(root: string, count: number, idleS: number): Promise<ReadRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-bench-'));
  const stop: ChildProcess[] = [];
  try {
    const ids = await fill(root, join(dir, 'registry.db'), count);
    writeFileSync(join(dir, 'sm.cfg'), configText(dir));
    const sm = await startProcess([join(root, 'dist/service-manager/main.js')], { PATH: process.env['PATH'], SM_CONFIG_PATH: join(dir, 'sm.cfg') }, (line) => {
      try {
        const entry = JSON.parse(line) as { message?: string; url?: string };
        return entry.message === 'service manager listening' ? entry.url : undefined;
      } catch {
        return undefined;
      }
    });
    stop.push(sm.child);
    // One connection shows how long a listing takes; 16 and 64 how the service holds up under load.
    const cases = [
      { name: 'GET one (text/occi)', path: `/mesos/${ids[Math.floor(count / 2)]}`, accept: 'text/occi', total: 10_000, connections: [16, 64] },
      { name: `GET list of ${count} (text/uri-list)`, path: '/mesos/', accept: 'text/uri-list', total: 50, connections: [1, 16, 64] },
      { name: `GET list of ${count} (occi+json)`, path: '/mesos/', accept: 'application/occi+json', total: 20, connections: [1, 16, 64] },
    ];
    const warm = new Agent({ keepAlive: true });
    const recorded = [];
    for (const c of cases) recorded.push({ path: c.path, accept: c.accept, ...(await call(sm.value + c.path, 'GET', { ...AUTH, Accept: c.accept }, warm)) });
    warm.destroy();
    writeFileSync(join(dir, 'answers.json'), JSON.stringify(recorded));
    const bare = await startProcess([join(ROOT, 'dist/bench/bare-server.js'), join(dir, 'answers.json')], { PATH: process.env['PATH'] }, (line) =>
      line.startsWith('http://') ? line.trim() : undefined,
    );
    stop.push(bare.child);
    const figures = new Map<string, { sm: Figures; bare: Figures }>();
    for (const c of cases) {
      for (const connections of c.connections) {
        process.stderr.write(`${root === ROOT ? 'this' : 'reference'}: ${c.name}, ${connections} connection${connections === 1 ? '' : 's'}\n`);
        const load = (base: string, total: number) =>
          measure(total, connections, (_i, agent) => call(base + c.path, 'GET', { ...AUTH, Accept: c.accept }, agent));
        figures.set(
          `${c.name}, ${connections} connection${connections === 1 ? '' : 's'}`,
          await sideBySide(
            (total) => load(sm.value, total),
            (total) => load(bare.value, total),
            c.total,
          ),
        );
      }
    }
    await new Promise((wait) => setTimeout(wait, 3000));
    const before = cpuSeconds(sm.child.pid!);
    await new Promise((wait) => setTimeout(wait, idleS * 1000));
    const idleCore = (cpuSeconds(sm.child.pid!) - before) / idleS;
    return { figures, idleCore };
  } finally {
    for (const child of stop) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const ROUNDS = 5;

/** The round of median throughput. */
function median(rounds: readonly Figures[]): Figures {
  return [...rounds].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rounds.length / 2)];
}

/**
 * The service manager and its yardstick, each warmed up first, then in
 * alternating rounds so a passing disturbance of the machine weighs on both
 * alike; the median round of each.
 */
async function sideBySide(
  sm: (total: number) => Promise<Figures>,
  bare: (total: number) => Promise<Figures>,
  total: number,
): Promise<{ sm: Figures; bare: Figures }> {
  const warmUp = Math.max(1, Math.floor(total / 4));
  await bare(warmUp);
  await sm(warmUp);
  const rounds: Array<{ sm: Figures; bare: Figures }> = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ bare: await bare(total), sm: await sm(total) });
  return { sm: median(rounds.map((r) => r.sm)), bare: median(rounds.map((r) => r.bare)) };
}

/** Create through the service manager (no orchestrator started) against a bare Node server answering 201, in this process. */
async function creates(): Promise<{ sm: Figures; bare: Figures }> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-bench-'));
  const text = `${configText(dir)}\n[quota]\ninstances = 1000000\nvms = 10000000\nwrites_per_minute = 1000000\nwrite_burst = 1000000\n`;
  const config = parseConfig(text, join(dir, 'sm.cfg'), {}, dir);
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const idle: Orchestration = {
    created: () => undefined,
    reconfigured: () => undefined,
    retried: () => undefined,
    deleteRequested: () => undefined,
    refresh: () => Promise.resolve(false),
  };
  const sm = await startServiceManager(config, { logger: createLogger({ level: 'error', format: 'json', stream: silent }), orchestration: () => idle });
  const bareServer = createServer((_req, res) => {
    res.writeHead(201, { Location: 'http://127.0.0.1/mesos/x', 'Content-Type': 'text/plain' }).end('OK');
  });
  await new Promise<void>((ready) => bareServer.listen(0, '127.0.0.1', ready));
  const address = bareServer.address();
  const bareUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
  const headers = { ...AUTH, 'Content-Type': 'text/occi', Category: KIND, 'X-OCCI-Attribute': 'mesos.agents=3, occi.core.title="bench"' };
  const smRound = async (total: number): Promise<Figures> =>
    measure(total, 16, async (_i, agent) => {
      const reply = await call(`${sm.url}/mesos/`, 'POST', headers, agent);
      if (reply.status !== 201) throw new Error(`create answered ${reply.status}: ${reply.body}`);
    });
  try {
    return await sideBySide(smRound, (total) => measure(total, 16, (_i, agent) => call(`${bareUrl}/mesos/`, 'POST', headers, agent)), 2000);
  } finally {
    bareServer.close();
    await sm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { instances: { type: 'string', default: '10000' }, 'idle-s': { type: 'string', default: '60' }, reference: { type: 'string' } },
  });
  const count = Number(values.instances);
  const idleS = Number(values['idle-s']);
  const runs: Array<[string, string]> = [['this', ROOT], ...(values.reference ? [['reference', resolve(values.reference)] as [string, string]] : [])];
  const results = new Map<string, ReadRun>();
  for (const [name, root] of runs) results.set(name, await reads(root, count, idleS));
  console.log(
    `${count} instances in the registry; ratio = service manager / bare express serving the same bytes; each the median of ${ROUNDS} alternating rounds`,
  );
  for (const key of results.get('this')!.figures.keys()) {
    console.log(key);
    for (const [name, run] of results) {
      const { sm, bare } = run.figures.get(key)!;
      console.log(`  ${name.padEnd(9)} sm ${fmt(sm)}   bare ${fmt(bare)}   ratio ${(sm.perSecond / bare.perSecond).toFixed(2)}`);
    }
  }
  for (const [name, run] of results) console.log(`idle service manager (${name}), ${idleS} s: ${(run.idleCore * 100).toFixed(2)} % of a core`);
  const create = await creates();
  console.log(
    `create, 16 connections: sm ${fmt(create.sm)}   bare node ${fmt(create.bare)}   ratio ${(create.sm.perSecond / create.bare.perSecond).toFixed(2)}`,
  );
}

await main();
