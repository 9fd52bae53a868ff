import type { CloudStackClient } from './client.js';
import { CloudResourceNotFound } from './errors.js';
import type { Capabilities, Network, ServiceOffering, Template, Zone } from './types.js';

interface Cached {
  readonly at: number;
  readonly value: Promise<unknown>;
}

/**
 * Finds zones, templates, offerings and networks by name or id, and reads the
 * cloud's capabilities, remembering answers for a short while so a
 * provisioning run does not ask the same question for every VM.
 */
export class Discovery {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly client: CloudStackClient,
    private readonly ttlMs = 60_000,
  ) {}

  async zone(wanted: string, signal?: AbortSignal): Promise<Zone> {
    const zones = await this.listed<Zone>('listZones', 'zone', { available: true }, signal);
    const usable = zones.filter((z) => z.allocationstate === undefined || z.allocationstate === 'Enabled');
    return pick('zone', wanted, usable);
  }

  async template(wanted: string, zoneId: string, signal?: AbortSignal): Promise<Template> {
    const templates = await this.listed<Template>('listTemplates', 'template', { templatefilter: 'executable', zoneid: zoneId }, signal);
    return pick(
      'template',
      wanted,
      templates.filter((t) => t.isready && t.zoneid === zoneId),
    );
  }

  async serviceOffering(wanted: string, signal?: AbortSignal): Promise<ServiceOffering> {
    return pick('service offering', wanted, await this.listed<ServiceOffering>('listServiceOfferings', 'serviceoffering', {}, signal));
  }

  /** The named network, or with no name the zone's default (or only) deployable one. */
  async network(wanted: string | undefined, zoneId: string, signal?: AbortSignal): Promise<Network> {
    const networks = await this.listed<Network>('listNetworks', 'network', { zoneid: zoneId, canusefordeploy: true }, signal);
    if (wanted !== undefined) return pick('network', wanted, networks);
    const fallback = networks.find((n) => n.isdefault) ?? (networks.length === 1 ? networks[0] : undefined);
    if (!fallback)
      throw new CloudResourceNotFound(
        'default network of zone',
        zoneId,
        networks.map((n) => n.name),
      );
    return fallback;
  }

  async capabilities(signal?: AbortSignal): Promise<Capabilities> {
    return this.remembered('listCapabilities', async () => {
      const body = await this.client.request<{ capability: Capabilities }>('listCapabilities', {}, signal ? { signal } : {});
      return body.capability;
    });
  }

  private listed<T>(command: string, key: string, params: Record<string, string | boolean>, signal?: AbortSignal): Promise<T[]> {
    return this.remembered(`${command} ${JSON.stringify(params)}`, () => this.client.list<T>(command, key, params, signal ? { signal } : {}));
  }

  private remembered<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.client.timers.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: now, value });
    value.catch(() => this.cache.delete(key));
    return value;
  }
}

function pick<T extends { id: string; name: string }>(kind: string, wanted: string, items: readonly T[]): T {
  const found = items.find((item) => item.id === wanted) ?? items.find((item) => item.name === wanted);
  if (!found) throw new CloudResourceNotFound(kind, wanted, [...new Set(items.map((item) => item.name))]);
  return found;
}
