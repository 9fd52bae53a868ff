/**
 * Renderings of instances, each kept for the version it was rendered at:
 * every change of an instance a client can see bumps its version, so a read
 * or a listing renders only the instances that changed since they were last
 * rendered. Keyed by the instance's uid and what the rendering depends on
 * besides (its media type, say). Bounded: the least recently used go first.
 */
export class RenderedCache<T> {
  private readonly entries = new Map<string, { readonly version: number; readonly value: T }>();

  constructor(private readonly capacity: number) {}

  /** The rendering as made at this version, if it was. */
  get(key: string, version: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry?.version !== version) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, version: number, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { version, value });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
