import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';

/** Every method the services answer anywhere. */
const ALLOWED = 'GET, HEAD, PUT, POST, DELETE';

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request head; a larger one is answered 413. */
  readonly maxHeaderBytes: number;
}

export interface RunningServer {
  readonly server: Server;
  /** http://host:port the server really listens on. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the app over HTTP. Requests Node cannot even parse never reach the
 * app; they still get a plain answer (413 for an oversized head) instead of a
 * dropped connection.
 */
export function listen(app: Express, options: ListenOptions): Promise<RunningServer> {
  const server = createServer({ maxHeaderSize: options.maxHeaderBytes }, app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = tooLarge ? `Request headers are larger than ${options.maxHeaderBytes} bytes.\n` : 'Malformed HTTP request.\n';
    const status = tooLarge ? '413 Payload Too Large' : '400 Bad Request';
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // Node hands CONNECT (a proxy's tunnel) to a listener of its own and drops it without one; it gets a 405 like any method served nowhere.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const body = `Method ${req.method ?? 'CONNECT'} is not allowed here; allowed: ${ALLOWED}.\n`;
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${ALLOWED}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
