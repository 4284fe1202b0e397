import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** How long shutdown waits for requests in flight before cutting their connections. */
const DRAIN_MS = 10_000;

/** A listening server; `close` stops accepting, answers requests in flight, then resolves. */
export interface Listening {
  /** `http://host:port`, or `unix:PATH` for a socket. */
  url: string;
  port: number | null;
  close(): Promise<void>;
}

/**
 * Serves `app` on a TCP address or a Unix socket (made 0600: only its owner can connect).
 * Before `close`, abort the app's `closing` signal so live streams end and clients reconnect.
 */
export async function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  where: { host: string; port: number } | { socket: string },
): Promise<Listening> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  if ('socket' in where) rmSync(where.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('socket' in where) server.listen(where.socket, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
  let url: string;
  let port: number | null = null;
  if ('socket' in where) {
    chmodSync(where.socket, 0o600);
    url = `unix:${where.socket}`;
  } else {
    port = (server.address() as AddressInfo).port;
    const host = where.host.includes(':') ? `[${where.host}]` : where.host;
    url = `http://${host}:${port}`;
  }
  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        if ('socket' in where) rmSync(where.socket, { force: true });
        const force = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
