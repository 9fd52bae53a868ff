import type Docker from 'dockerode';
import { labelsFor, LABELS, lastWords, SoStartFailed, soName, type SoLaunch, type SoListing, type SoRuntime, type SoStatus } from './runtime.js';

export interface ContainerLimits {
  readonly memoryMb: number;
  readonly cpus: number;
}

export interface DockerRuntimeOptions {
  readonly docker: Docker;
  readonly image: string;
  readonly managerId: string;
  readonly limits: ContainerLimits;
}

/**
 * One container per instance from the SO image, on the host's network (the
 * orchestrator binds the loopback port the SM gave it), with memory and CPU
 * limits, a read-only root and no capabilities. Its logs stay readable with
 * `docker logs mesos-so-<uid>` until the instance is removed.
 */
export class DockerRuntime implements SoRuntime {
  readonly kind = 'docker' as const;

  constructor(private readonly options: DockerRuntimeOptions) {}

  async ping(): Promise<void> {
    await this.options.docker.ping();
  }

  async start(launch: SoLaunch): Promise<void> {
    const name = soName(launch.uid);
    const existing = await engine(() => this.inspect(name));
    if (existing?.State.Running) {
      this.requireOwn(existing.Config.Labels, name);
      return;
    }
    if (existing) {
      this.requireOwn(existing.Config.Labels, name);
      await this.remove(launch.uid);
    }
    let container: Docker.Container;
    try {
      container = await this.options.docker.createContainer(this.spec(launch));
    } catch (error) {
      if (statusOf(error) === 409) return this.adoptRacing(name);
      if (statusOf(error) === 404) {
        throw new SoStartFailed(`the service orchestrator image ${this.options.image} does not exist; build it with npm run image`, false);
      }
      throw startFailure(error);
    }
    try {
      await container.start();
    } catch (error) {
      if (statusOf(error) !== 304) throw startFailure(error);
    }
  }

  /** Another request created the container first: fine if it runs, to be retried if not yet. */
  private async adoptRacing(name: string): Promise<void> {
    const info = await engine(() => this.inspect(name));
    if (info?.State.Running) return this.requireOwn(info.Config.Labels, name);
    throw new SoStartFailed(`the container ${name} is being created or removed by another request`, true);
  }

  async status(uid: string): Promise<SoStatus> {
    const info = await engine(() => this.inspect(soName(uid)));
    if (!info) return { state: 'missing' };
    if (info.State.Running || info.State.Restarting) return { state: 'running' };
    const words = lastWords(await this.logs(uid, 5));
    const oom = info.State.OOMKilled ? ' (out of memory)' : '';
    return { state: 'stopped', exit: `exit code ${info.State.ExitCode}${oom}${words ? `: ${words}` : ''}` };
  }

  async remove(uid: string): Promise<void> {
    await engine(async () => {
      try {
        await this.options.docker.getContainer(soName(uid)).remove({ force: true });
      } catch (error) {
        // Gone already, or another request is removing it.
        if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
      }
    });
  }

  async list(): Promise<SoListing[]> {
    const containers = await engine(() =>
      this.options.docker.listContainers({ all: true, filters: { label: [`${LABELS.manager}=${this.options.managerId}`] } }),
    );
    return containers
      .filter((c) => c.Labels[LABELS.uid])
      .map((c) => ({ uid: c.Labels[LABELS.uid], running: c.State === 'running' || c.State === 'restarting' }));
  }

  async logs(uid: string, lines: number): Promise<string> {
    try {
      const raw = await this.options.docker.getContainer(soName(uid)).logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return demultiplex(raw);
    } catch {
      return '';
    }
  }

  private spec(launch: SoLaunch): Docker.ContainerCreateOptions {
    const { limits, image, managerId } = this.options;
    const memory = limits.memoryMb * 1024 * 1024;
    return {
      name: soName(launch.uid),
      Image: image,
      Env: Object.entries({ ...launch.env, ...launch.secrets }).map(([key, value]) => `${key}=${value}`),
      Labels: labelsFor(managerId, launch),
      StopTimeout: 10,
      HostConfig: {
        NetworkMode: 'host',
        Memory: memory,
        MemorySwap: memory,
        NanoCpus: Math.round(limits.cpus * 1e9),
        PidsLimit: 256,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      },
    };
  }

  private async inspect(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.options.docker.getContainer(name).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  private requireOwn(labels: Record<string, string> | undefined, name: string): void {
    if (labels?.[LABELS.manager] === this.options.managerId) return;
    throw new SoStartFailed(`a container named ${name} exists but belongs to another service manager`, false);
  }
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Runs an engine request; an engine that cannot be reached becomes a retryable start failure. */
export async function engine<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (statusOf(error) === undefined) throw startFailure(error);
    throw error;
  }
}

function startFailure(error: unknown): SoStartFailed {
  if (error instanceof SoStartFailed) return error;
  const status = statusOf(error);
  if (status === undefined) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return new SoStartFailed(`the Docker engine cannot be reached (${code})`, true);
  }
  const message = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
  return new SoStartFailed(`the Docker engine refused: ${message}`, status >= 500);
}

/**
 * Splits the engine's multiplexed log stream (8-byte frame headers: stream,
 * three zero bytes, big-endian length) back into text.
 */
export function demultiplex(raw: Buffer): string {
  if (!Buffer.isBuffer(raw)) return String(raw ?? '');
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw[offset];
    if (stream > 2 || raw[offset + 1] !== 0 || raw[offset + 2] !== 0 || raw[offset + 3] !== 0) return raw.toString('utf8');
    const length = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}
