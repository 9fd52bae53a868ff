import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import { stringify } from './json.js';

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Handler = (request: Request) => Reply | Promise<Reply>;

export function json(status: number, value: unknown): Reply {
  return { status, headers: { 'Content-Type': 'application/json' }, body: stringify(value) };
}

export function text(status: number, body: string, type = 'text/plain; charset=utf-8'): Reply {
  return { status, headers: { 'Content-Type': type }, body };
}

export function redirect(location: string): Reply {
  return { status: 307, headers: { Location: location }, body: '' };
}

/** An HTTP server for one daemon, bound to its VM's address. */
export function serve(address: string, port: number, handler: Handler): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
      Promise.resolve()
        .then(() => handler({ method: req.method ?? 'GET', path, query: query ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }))
        .catch((error: unknown) => text(500, String(error)))
        .then((reply) => {
          const body = Buffer.from(reply.body ?? '', 'utf8');
          res.writeHead(reply.status, { ...reply.headers, 'Content-Length': body.length });
          res.end(body);
        });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops a daemon's server and drops its connections, as a dying process does. */
export function shutdown(server: Server | TcpServer | undefined): void {
  if (!server) return;
  server.close();
  if ('closeAllConnections' in server) server.closeAllConnections();
}
