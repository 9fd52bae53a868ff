import { SO_ENV } from '../../lib/hurtle/environment.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { demultiplex, engine, statusOf, type DockerRuntimeOptions } from './docker.js';
import { labelsFor, LABELS, lastWords, SoStartFailed, soName, type SoLaunch, type SoListing, type SoRuntime, type SoStatus } from './runtime.js';

/** Task states in which the orchestrator runs or is on its way to running. */
const LIVE_TASK_STATES = new Set(['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

/** The image's user, so it can read the secret files Swarm mounts. */
const SO_USER = '65534';

/** What the engine reports of a service's task (dockerode leaves it untyped). */
interface SwarmTask {
  readonly Version?: { readonly Index?: number };
  readonly Status?: { readonly State?: string; readonly Err?: string; readonly ContainerStatus?: { readonly ExitCode?: number } };
}

/**
 * One Docker Swarm service per instance (one replica, host network), for
 * operators whose orchestrators spread over many hosts. Secrets travel as
 * Swarm secrets, mounted as files the orchestrator reads (`SO_*_FILE`), so
 * they never appear in the service's definition. Swarm does not restart a
 * stopped orchestrator: the service manager does, as with containers.
 */
export class SwarmRuntime implements SoRuntime {
  readonly kind = 'swarm' as const;

  constructor(private readonly options: DockerRuntimeOptions) {}

  /** The engine answers and is a Swarm manager, the only kind of node that makes services. */
  async ping(): Promise<void> {
    await this.options.docker.swarmInspect();
  }

  async start(launch: SoLaunch): Promise<void> {
    const name = soName(launch.uid);
    const service = await engine(() => this.inspect(name));
    if (service) {
      if (service.Spec?.Labels?.[LABELS.manager] !== this.options.managerId) {
        throw new SoStartFailed(`a Swarm service named ${name} exists but belongs to another service manager`, false);
      }
      if ((await this.status(launch.uid)).state === 'running') return;
      await this.remove(launch.uid);
    }
    const secrets = await this.createSecrets(launch);
    try {
      await this.options.docker.createService(this.spec(launch, secrets));
    } catch (error) {
      if (statusOf(error) === 409) throw new SoStartFailed(`the Swarm service ${name} is being created by another request`, true);
      throw refusal(error, `Swarm refused the service ${name}`);
    }
  }

  async status(uid: string): Promise<SoStatus> {
    const name = soName(uid);
    if (!(await engine(() => this.inspect(name)))) return { state: 'missing' };
    const tasks = (await engine(() => this.options.docker.listTasks({ filters: { service: [name] } }))) as SwarmTask[];
    const latest = tasks.sort((a, b) => (b.Version?.Index ?? 0) - (a.Version?.Index ?? 0))[0];
    if (!latest || LIVE_TASK_STATES.has(String(latest.Status?.State))) return { state: 'running' };
    const status = latest.Status ?? {};
    const code = status.ContainerStatus?.ExitCode;
    const words = lastWords(await this.logs(uid, 5)) || status.Err || '';
    return { state: 'stopped', exit: `task ${status.State}${code === undefined ? '' : `, exit code ${code}`}${words ? `: ${words}` : ''}` };
  }

  async remove(uid: string): Promise<void> {
    const name = soName(uid);
    await engine(async () => {
      try {
        await this.options.docker.getService(name).remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
    await this.removeSecrets(uid);
  }

  async list(): Promise<SoListing[]> {
    const services = await engine(() => this.options.docker.listServices({ filters: { label: [`${LABELS.manager}=${this.options.managerId}`] } }));
    const uids = services.map((s) => s.Spec?.Labels?.[LABELS.uid]).filter((uid): uid is string => uid !== undefined);
    return Promise.all(uids.map(async (uid) => ({ uid, running: (await this.status(uid)).state === 'running' })));
  }

  async logs(uid: string, lines: number): Promise<string> {
    try {
      const raw = (await this.options.docker.getService(soName(uid)).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return demultiplex(raw);
    } catch {
      return '';
    }
  }

  private spec(launch: SoLaunch, secrets: Array<{ id: string; name: string; variable: string }>): Record<string, unknown> {
    const { limits, image, managerId } = this.options;
    const labels = labelsFor(managerId, launch);
    const env = { ...launch.env, ...Object.fromEntries(secrets.map((s) => [`${s.variable}_FILE`, `/run/secrets/${s.name}`])) };
    return {
      Name: soName(launch.uid),
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
          Labels: labels,
          ReadOnly: true,
          Mounts: [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16 * 1024 * 1024 } }],
          StopGracePeriod: 10e9,
          Secrets: secrets.map((s) => ({ SecretID: s.id, SecretName: s.name, File: { Name: s.name, UID: SO_USER, GID: SO_USER, Mode: 0o400 } })),
        },
        Resources: { Limits: { MemoryBytes: limits.memoryMb * 1024 * 1024, NanoCPUs: Math.round(limits.cpus * 1e9) } },
        RestartPolicy: { Condition: 'none' },
        Networks: [{ Target: 'host' }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    };
  }

  /** One Swarm secret per secret variable, named after the instance and the variable. */
  private async createSecrets(launch: SoLaunch): Promise<Array<{ id: string; name: string; variable: string }>> {
    await this.removeSecrets(launch.uid);
    const created = [];
    for (const [variable, value] of Object.entries(launch.secrets)) {
      const name = secretName(launch.uid, variable);
      const secret: unknown = await engine(() =>
        this.options.docker.createSecret({ Name: name, Labels: labelsFor(this.options.managerId, launch), Data: Buffer.from(value).toString('base64') }),
      ).catch((error: unknown) => {
        throw refusal(error, `Swarm refused the secret ${name}`);
      });
      created.push({ id: (secret as { id: string }).id, name, variable });
    }
    return created;
  }

  /** A secret stays in use until the service's tasks are gone, so removal is retried for a while. */
  private async removeSecrets(uid: string): Promise<void> {
    const secrets = await engine(() => this.options.docker.listSecrets({ filters: { label: [`${LABELS.uid}=${uid}`] } }));
    for (const secret of secrets) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.options.docker.getSecret(secret.ID).remove();
          break;
        } catch (error) {
          if (statusOf(error) === 404) break;
          if (statusOf(error) !== 400 || attempt >= 100)
            throw new SoStartFailed(`cannot remove the Swarm secret ${secret.Spec?.Name}: ${(error as Error).message}`, true);
          await sleep(100);
        }
      }
    }
  }

  private async inspect(name: string): Promise<Docker.Service | undefined> {
    try {
      return (await this.options.docker.getService(name).inspect()) as Docker.Service;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

/** Short, because Swarm names are at most 64 characters and the uid takes 36 of them. */
const SECRET_SUFFIXES: Readonly<Record<string, string>> = {
  [SO_ENV.cloudstackSecretKey]: 'cs-key',
  [SO_ENV.authKey]: 'key',
  [SO_ENV.clusterSecret]: 'cluster',
};

function secretName(uid: string, variable: string): string {
  const suffix = SECRET_SUFFIXES[variable];
  if (!suffix) throw new SoStartFailed(`no Swarm secret name for ${variable}`, false);
  return `${soName(uid)}-${suffix}`;
}

function refusal(error: unknown, what: string): SoStartFailed {
  if (error instanceof SoStartFailed) return error;
  const message = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
  return new SoStartFailed(`${what}: ${message}`, (statusOf(error) ?? 500) >= 500);
}
