import Docker from 'dockerode';
import { ConfigError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { SmConfig } from '../config/load.js';
import { DockerRuntime } from './docker.js';
import { ProcessRuntime } from './process.js';
import type { SoRuntime } from './runtime.js';
import { SwarmRuntime } from './swarm.js';

/** How long the engine may take to answer the start-up probe. */
const PROBE_MS = 3000;

/**
 * The runtime sm.cfg asks for. `auto` takes Docker when an engine answers
 * and holds the orchestrator image, and child processes otherwise, saying
 * which and why.
 */
export async function chooseRuntime(settings: SmConfig['soRuntime'], managerId: string, logger: Logger): Promise<SoRuntime> {
  if (settings.type === 'process') return new ProcessRuntime(settings.processDir);
  const docker = connectDocker(settings.dockerHost);
  const containers = { docker, image: settings.image, managerId, limits: { memoryMb: settings.memoryMb, cpus: settings.cpus } };
  const problem = await dockerProblem(docker, settings.image, settings.type === 'swarm');
  if (settings.type === 'auto') {
    if (problem === undefined) return new DockerRuntime(containers);
    logger.info('service orchestrators run as processes', { why: problem });
    return new ProcessRuntime(settings.processDir);
  }
  if (problem !== undefined) logger.warn(`service orchestrators cannot start until this is fixed: ${problem}`, { runtime: settings.type });
  return settings.type === 'swarm' ? new SwarmRuntime(containers) : new DockerRuntime(containers);
}

/** `unix:///path`, `tcp://host:port` (or `http://`), or empty for DOCKER_HOST and the local socket. */
export function connectDocker(dockerHost: string): Docker {
  if (dockerHost === '') return new Docker();
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const match = /^(?:tcp|http):\/\/([^:/]+):(\d{1,5})\/?$/.exec(dockerHost);
  if (match) return new Docker({ host: match[1], port: Number(match[2]), protocol: 'http' });
  throw new ConfigError(`[so_runtime] docker_host = "${dockerHost}": must be unix:///path or tcp://host:port`);
}

/** Why Docker cannot run orchestrators now, or undefined if it can. */
async function dockerProblem(docker: Docker, image: string, swarm: boolean): Promise<string | undefined> {
  try {
    await withTimeout(docker.ping(), PROBE_MS);
  } catch (error) {
    return `no Docker engine answers (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  try {
    await withTimeout(docker.getImage(image).inspect(), PROBE_MS);
  } catch {
    return `the Docker engine has no image ${image}; build it with npm run image`;
  }
  if (!swarm || (await withTimeout(isSwarmManager(docker), PROBE_MS))) return undefined;
  return 'this Docker engine is not a Swarm manager';
}

/** Whether the engine is a manager of an active swarm, which can create services. */
export async function isSwarmManager(docker: Docker): Promise<boolean> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  return info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable === true;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
