import { createServer } from 'node:net';
import type { PortRange } from '../config/load.js';

/**
 * Hands out the ports orchestrators listen on (they share the host's network).
 * A port is free when no live instance holds it, this pool has not just given
 * it out, and it can be bound right now.
 */
export class PortPool {
  private readonly reserved = new Set<number>();

  constructor(
    private readonly range: PortRange,
    private readonly host: string,
  ) {}

  async allocate(held: ReadonlySet<number>): Promise<number> {
    for (let port = this.range.from; port <= this.range.to; port++) {
      if (held.has(port) || this.reserved.has(port)) continue;
      this.reserved.add(port);
      if (await bindable(this.host, port)) return port;
      this.reserved.delete(port);
    }
    throw new Error(`no free port for a service orchestrator in ${this.range.from}-${this.range.to} on ${this.host}`);
  }

  release(port: number): void {
    this.reserved.delete(port);
  }
}

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
