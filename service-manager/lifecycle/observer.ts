import type { Timers } from '../../lib/clock.js';
import { messageOf } from '../../lib/errors.js';
import type { InstanceRecord } from '../registry/registry.js';
import { soUrl } from '../runtime/launch.js';
import type { SoRuntime, SoStatus } from '../runtime/runtime.js';
import { SoRejected, SoUnavailable, SoUnproven, type SoClient, type SoEndpoint, type SoEntity } from '../so/client.js';
import type { SoObservation } from './pipeline.js';

/** What one look at an instance's orchestrator found. */
export interface Seen {
  readonly so: SoObservation;
  /** The orchestrator's entity, when it answered with one. */
  readonly entity?: SoEntity;
}

export interface ObserverDeps {
  readonly client: SoClient;
  readonly runtime: SoRuntime;
  readonly timers: Timers;
  /** Where orchestrators listen. */
  readonly host: string;
  readonly keyFor: (uid: string, generation: number) => string;
}

/**
 * Looks at an instance's orchestrator: its entity when it answers; when it
 * does not, the runtime says whether it runs at all. An orchestrator that
 * runs but does not answer is silent since the first look that found it so.
 */
export class SoObserver {
  private readonly silentSince = new Map<string, number>();
  private readonly lastLook = new Map<string, number>();

  constructor(private readonly deps: ObserverDeps) {}

  async observe(instance: InstanceRecord): Promise<Seen> {
    const seen = await this.look(instance);
    this.lastLook.set(instance.uid, this.deps.timers.now());
    return seen;
  }

  /** When the instance's orchestrator was last looked at. */
  lastObserved(uid: string): number | undefined {
    return this.lastLook.get(uid);
  }

  /** The instance is gone: nothing about it is kept. */
  forget(uid: string): void {
    this.silentSince.delete(uid);
    this.lastLook.delete(uid);
  }

  endpoint(instance: InstanceRecord): SoEndpoint | undefined {
    const { port, running } = instance.memo;
    if (port === undefined) return undefined;
    return { url: soUrl(this.deps.host, port), tenant: instance.tenant, key: this.deps.keyFor(instance.uid, running ?? 1) };
  }

  private async look(instance: InstanceRecord): Promise<Seen> {
    const endpoint = this.endpoint(instance);
    if (!endpoint) return { so: { kind: 'absent' } };
    try {
      const entity = await this.deps.client.read(endpoint);
      this.silentSince.delete(instance.uid);
      return entity ? { so: { kind: 'stack', stack: entity.stack }, entity } : { so: { kind: 'fresh' } };
    } catch (error) {
      if (!(error instanceof SoUnavailable || error instanceof SoRejected)) throw error;
      const reason = error instanceof SoRejected ? `it refused the service manager: ${error.message}` : error.message;
      const unproven = error instanceof SoUnproven;
      let status: SoStatus;
      try {
        status = await this.deps.runtime.status(instance.uid);
      } catch (failure) {
        return { so: this.silent(instance.uid, `${reason}; its runtime does not say why: ${messageOf(failure)}`, unproven) };
      }
      if (status.state !== 'running') this.silentSince.delete(instance.uid);
      // Whatever answers on the port of an orchestrator that does not run is someone else.
      const taken = unproven ? { taken: reason } : {};
      if (status.state === 'missing') return { so: { kind: 'absent', ...taken } };
      if (status.state === 'stopped') return { so: { kind: 'absent', exit: status.exit, ...taken } };
      return { so: this.silent(instance.uid, reason, unproven) };
    }
  }

  private silent(uid: string, reason: string, unproven = false): SoObservation {
    const since = this.silentSince.get(uid) ?? this.deps.timers.now();
    this.silentSince.set(uid, since);
    return { kind: 'silent', reason, since, ...(unproven ? { unproven } : {}) };
  }
}
