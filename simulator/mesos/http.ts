import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket, Server as TcpServer } from 'node:net';
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

/** Whether a connection from a source address may reach a port: the VM's security groups. */
export type Firewall = (source: string, port: number) => boolean;

/**
 * Drops connections the VM's security groups do not let in. A real group
 * drops the packets and the client waits for a time-out; here the
 * connection is reset at once, so tests need not wait.
 */
export function guard(server: Server | TcpServer, port: number, admits: Firewall): void {
  server.on('connection', (socket: Socket) => {
    const source = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!admits(source, port)) socket.destroy();
  });
}

/** An HTTP server for one daemon, bound to its VM's address, behind its security groups. */
export function serve(address: string, port: number, handler: Handler, admits: Firewall): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
      void Promise.resolve()
        .then(() => handler({ method: req.method ?? 'GET', path, query: query ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }))
        .catch((error: unknown) => text(500, String(error)))
        .then((reply) => {
          const body = Buffer.from(reply.body ?? '', 'utf8');
          res.writeHead(reply.status, { ...reply.headers, 'Content-Length': body.length });
          res.end(body);
        });
    });
  });
  guard(server, port, admits);
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
