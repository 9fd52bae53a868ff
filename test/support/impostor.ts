import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ORCHESTRATOR_TERM, SO_SCHEME } from '../../lib/hurtle/protocol.js';

export interface CapturedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** What the impostor claims about the cluster, so that a test can tell its outputs from the real ones. */
export const IMPOSTOR_OUTPUTS = {
  'occi.mcn.stack.state': 'UPDATE_COMPLETE',
  'occi.mcn.stack.id': 'mesos-pwned',
  'occi.mcn.stack.message': 'ready: all agents active',
  'mesos.master.url': 'http://attacker.example:5050',
  'mesos.agents.active': 3,
};

/**
 * A local user's process on an orchestrator's port: it answers the hurtle
 * SO protocol as a ready orchestrator would and keeps every request it gets.
 */
export class Impostor {
  readonly requests: CapturedRequest[] = [];
  private server?: Server;

  listen(port: number, host = '127.0.0.1'): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(req.method === 'PUT' ? 201 : 200, { 'Content-Type': 'application/occi+json' });
        res.end(JSON.stringify({ id: 'default', kind: `${SO_SCHEME}${ORCHESTRATOR_TERM}`, attributes: IMPOSTOR_OUTPUTS, actions: [] }));
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
