/** One injected fault and how many more times it applies (unlimited when absent). */
export interface FaultEntry<F> {
  readonly id: number;
  fault: F;
  remaining?: number;
}

/**
 * The faults injected through a control API: each applies `count` times, or,
 * without a count, as the kind decides (until removed, or once).
 */
export class FaultBook<F extends { readonly kind: string }> {
  protected entries: Array<FaultEntry<F>> = [];
  private nextId = 1;

  /** `lasting` says whether a fault given without a count stays until removed. */
  constructor(private readonly lasting: (fault: F) => boolean) {}

  add(fault: F): number {
    const id = this.nextId++;
    const count = 'count' in fault && typeof fault.count === 'number' ? fault.count : undefined;
    this.entries.push({ id, fault, ...(count === undefined ? {} : { remaining: count }) });
    return id;
  }

  list(): Array<F & { id: number; remaining?: number }> {
    return this.entries.map((e) => ({ ...e.fault, id: e.id, ...(e.remaining === undefined ? {} : { remaining: e.remaining }) }));
  }

  remove(id: number): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.id !== id);
    return this.entries.length < before;
  }

  clear(): void {
    this.entries = [];
  }

  /** Uses up one occasion of an entry and returns its fault. */
  protected spend(entry: FaultEntry<F>): F {
    if (entry.remaining !== undefined) {
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.entries = this.entries.filter((e) => e !== entry);
    } else if (!this.lasting(entry.fault)) {
      this.entries = this.entries.filter((e) => e !== entry);
    }
    return entry.fault;
  }
}
