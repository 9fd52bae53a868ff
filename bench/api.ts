/**
 * Service manager API benchmark: create, get and list throughput and latency
 * over real HTTP against a registry on disk, and what each instance costs in
 * registry bytes and memory. Prints figures; asserts nothing.
 *
 *   npm run bench
 *
 * Memory figures need --expose-gc, which the npm script passes.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../lib/logger.js';
import { Writable } from 'node:stream';
import { parseConfig } from '../service-manager/config/load.js';
import { startServiceManager } from '../service-manager/start.js';

const ETC = fileURLToPath(new URL('../../etc/', import.meta.url));
const AUTH = { 'X-Auth-Token': 'demo-token', 'X-Tenant-Name': 'demo' };
const KIND = 'mesos; scheme="http://schemas.mobile-cloud-networking.eu/occi/sm#"; class="kind"';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function call(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Heap in use after a full collection (run with --expose-gc). */
function retainedHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

interface Figures {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

async function measure(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSecond: total / elapsed, p50: at(0.5), p99: at(0.99) };
}

function show(name: string, f: Figures): void {
  console.log(`${name.padEnd(34)} ${f.perSecond.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2)} ms   p99 ${f.p99.toFixed(2)} ms`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-bench-'));
  // One tenant makes thousands of instances here: its quota, its write rate and its account's VM limit are lifted.
  const fixtures = JSON.parse(readFileSync(join(ETC, 'simulator.json'), 'utf8')) as { accounts: Array<{ name: string; limits?: unknown }> };
  for (const account of fixtures.accounts) delete account.limits;
  writeFileSync(join(dir, 'simulator.json'), JSON.stringify(fixtures));
  const text = `[service_manager]\nmanifest = ${join(ETC, 'service_manifest.json')}\nlisten = 127.0.0.1:0\nregistry = ${join(dir, 'registry.db')}\nkey_file = ${join(dir, 'manager.key')}\nsecret_files = warn\n[quota]\ninstances = 1000000\nvms = 10000000\nwrites_per_minute = 1000000\nwrite_burst = 1000000\n[authentication]\ntenants_file = ${join(ETC, 'tenants.json')}\n[simulator]\nfixtures = ${join(dir, 'simulator.json')}\nlisten = 127.0.0.1:0\n`;
  const config = parseConfig(text, join(dir, 'sm.cfg'), {}, dir);
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const sm = await startServiceManager(config, { logger: createLogger({ level: 'error', format: 'json', stream: silent }) });
  const ids: string[] = [];
  const create = async (): Promise<void> => {
    const reply = await call(`${sm.url}/mesos/`, 'POST', {
      ...AUTH,
      'Content-Type': 'text/occi',
      Category: KIND,
      'X-OCCI-Attribute': 'mesos.agents=3, occi.core.title="bench"',
    });
    if (reply.status !== 201) throw new Error(`create answered ${reply.status}`);
    ids.push(reply.location!.split('/').pop()!);
  };
  try {
    show('create, 1 client', await measure(500, 1, create));
    const heapBefore = retainedHeap();
    show('create, 16 clients', await measure(1500, 16, create));
    const heapAfter = retainedHeap();
    const count = ids.length;
    const get = async (i: number) => {
      await call(`${sm.url}/mesos/${ids[i % count]}`, 'GET', { ...AUTH, Accept: 'text/occi' });
    };
    show('get (text/occi), 16 clients', await measure(5000, 16, get));
    const listAt = (accept: string) => async () => {
      await call(`${sm.url}/mesos/`, 'GET', { ...AUTH, Accept: accept });
    };
    const list = await measure(50, 4, listAt('text/uri-list'));
    show(`list ${count} (uri-list), 4 clients`, list);
    show(`list ${count} (occi+json), 4 clients`, await measure(50, 4, listAt('application/occi+json')));
    const small = await measure(500, 4, async () => {
      await call(`${sm.url}/mesos/`, 'GET', { 'X-Auth-Token': 'other-token', 'X-Tenant-Name': 'other', Accept: 'text/uri-list' });
    });
    show('list 0 (other tenant), 4 clients', small);
    console.log(`list cost ratio, ${count} instances vs none: ${(list.p50 / small.p50).toFixed(1)}x at p50`);
    const bytes = statSync(join(dir, 'registry.db')).size + statSync(join(dir, 'registry.db-wal')).size;
    console.log(`registry on disk: ${(bytes / count).toFixed(0)} bytes per instance (${count} instances with events)`);
    console.log(`heap retained after GC: ${((heapAfter - heapBefore) / 1500).toFixed(0)} bytes per instance created (warm)`);
  } finally {
    await sm.close();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
