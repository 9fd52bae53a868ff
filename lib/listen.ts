export interface ListenAddress {
  readonly host: string;
  /** Absent when the caller has a default. */
  readonly port?: number;
}

/** Reads `host`, `host:port` or `[ipv6]:port`; undefined when malformed. */
export function parseListen(text: string): ListenAddress | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const host = match[1].replace(/^\[|\]$/g, '');
  if (match[2] === undefined) return { host };
  const port = Number(match[2]);
  return port <= 65535 ? { host, port } : undefined;
}
