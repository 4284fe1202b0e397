import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** How long shutdown waits for requests in flight before cutting their connections. */
const DRAIN_MS = 10_000;
/** How often shutdown closes the connections that went idle since it began. */
const IDLE_CHECK_MS = 50;

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
  /** `drainMs`: how long `close` waits for requests in flight (default 10 s). */
  options: { drainMs?: number } = {},
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
        const force = setTimeout(() => server.closeAllConnections(), options.drainMs ?? DRAIN_MS);
        // A kept-alive connection whose request ends during the drain (a stream that `closing`
        // ended) goes idle then: close it too, or `close` waits for the keep-alive timeout or the
        // drain (`nightshift serve` took 11 s to stop with an SSE client, its runs going on).
        const idle = setInterval(() => server.closeIdleConnections(), IDLE_CHECK_MS);
        server.close(() => {
          clearTimeout(force);
          clearInterval(idle);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
