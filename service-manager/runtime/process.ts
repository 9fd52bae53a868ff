import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { access, constants, open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ownedPrivateDir, privateFile } from '../../lib/private-files.js';
import { lastWords, SoStartFailed, soName, type SoLaunch, type SoListing, type SoRuntime, type SoStatus } from './runtime.js';

const SO_MAIN = fileURLToPath(new URL('../../service-orchestrator/main.js', import.meta.url));

/**
 * Orchestrators as child processes, for machines without a Docker engine.
 * Each runs detached with its output in `<dir>/mesos-so-<uid>.log` and its
 * pid in `<dir>/mesos-so-<uid>.pid`, so it outlives a crashed service
 * manager and the next one adopts it, as it would a container.
 */
export class ProcessRuntime implements SoRuntime {
  readonly kind = 'process' as const;
  /** Exit codes of the children this process started and saw end. */
  private readonly exits = new Map<string, string>();

  constructor(private readonly dir: string) {
    // Other local users must not read the orchestrators' logs or learn their pids.
    ownedPrivateDir(dir);
  }

  async ping(): Promise<void> {
    await access(this.dir, constants.W_OK | constants.X_OK);
  }

  async start(launch: SoLaunch): Promise<void> {
    if ((await this.status(launch.uid)).state === 'running') return;
    privateFile(this.file(launch.uid, 'log'));
    const log = openSync(this.file(launch.uid, 'log'), 'a');
    try {
      const child = spawn(process.execPath, [SO_MAIN], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...launch.env, ...launch.secrets },
        detached: true,
        stdio: ['ignore', log, log],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', (error) => reject(new SoStartFailed(`cannot start ${SO_MAIN}: ${error.message}`, false)));
      });
      this.exits.delete(launch.uid);
      child.once('exit', (code, signal) => this.exits.set(launch.uid, signal ? `killed by ${signal}` : `exit code ${code}`));
      child.unref();
      writeFileSync(this.file(launch.uid, 'pid'), `${pid}\n`, { mode: 0o600 });
    } finally {
      closeSync(log);
    }
  }

  async status(uid: string): Promise<SoStatus> {
    const pid = this.readPid(uid);
    if (pid === undefined) return { state: 'missing' };
    if (isOurs(pid, uid)) return { state: 'running' };
    const words = lastWords(await this.logs(uid, 5));
    return { state: 'stopped', exit: `${this.exits.get(uid) ?? 'exited'}${words ? `: ${words}` : ''}` };
  }

  async remove(uid: string): Promise<void> {
    const pid = this.readPid(uid);
    if (pid !== undefined && isOurs(pid, uid)) await this.stop(pid, uid);
    rmSync(this.file(uid, 'pid'), { force: true });
    rmSync(this.file(uid, 'log'), { force: true });
    this.exits.delete(uid);
  }

  async list(): Promise<SoListing[]> {
    const prefix = soName('');
    const uids = readdirSync(this.dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.pid'))
      .map((name) => name.slice(prefix.length, -'.pid'.length));
    return Promise.all(uids.map(async (uid) => ({ uid, running: (await this.status(uid)).state === 'running' })));
  }

  async logs(uid: string, lines: number): Promise<string> {
    let handle;
    try {
      handle = await open(this.file(uid, 'log'), 'r');
    } catch {
      return '';
    }
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } finally {
      await handle.close();
    }
  }

  /** SIGTERM, then SIGKILL if it has not ended after a grace period. */
  private async stop(pid: number, uid: string): Promise<void> {
    signal(pid, 'SIGTERM');
    for (let waited = 0; waited < 5_000; waited += 50) {
      if (!isOurs(pid, uid)) return;
      await sleep(50);
    }
    signal(pid, 'SIGKILL');
  }

  private readPid(uid: string): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(uid, 'pid'), 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(text.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  }

  private file(uid: string, kind: 'pid' | 'log'): string {
    return join(this.dir, `${soName(uid)}.${kind}`);
  }
}

/** Alive, and really this instance's orchestrator rather than a process that reused the pid. */
function isOurs(pid: number, uid: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    if (!environ.split('\0').includes(`SO_INSTANCE_ID=${uid}`)) return false;
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch (error) {
    // Without /proc (not Linux) a live pid is the best evidence there is.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && !existsProc();
  }
}

function existsProc(): boolean {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
