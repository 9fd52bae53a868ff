/**
 * Instances rendered as JSON collection members, each kept for the version
 * it was rendered at: every change of an instance a client can see bumps its
 * version, so a listing renders only the instances that changed since they
 * were last listed. Bounded: the least recently used are dropped first.
 */
export class RenderedMembers {
  private readonly entries = new Map<string, { readonly version: number; readonly text: string }>();

  constructor(private readonly capacity: number) {}

  /** The member as rendered at this version, if it was. */
  get(uid: string, version: number): string | undefined {
    const entry = this.entries.get(uid);
    if (entry?.version !== version) return undefined;
    this.entries.delete(uid);
    this.entries.set(uid, entry);
    return entry.text;
  }

  set(uid: string, version: number, text: string): void {
    this.entries.delete(uid);
    this.entries.set(uid, { version, text });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
