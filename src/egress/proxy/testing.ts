/**
 * Test helpers for the egress proxy: upstream servers on 127.0.0.1 port 0, a raw client that
 * writes exactly the bytes an attacker would, and a small allowlist decider.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import type { EgressDecider } from './types.ts';

/** Where a raw client connects: a TCP port on 127.0.0.1 or a Unix socket path. */
export type Endpoint = number | string;

/** A request as an upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server on 127.0.0.1 that answers `hello from upstream` and records what it got. */
export async function startUpstream(): Promise<{
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive', 'x-upstream': 'yes' });
      res.end('hello from upstream');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server on 127.0.0.1 that echoes every byte back; counts the connections it accepted. */
export async function startEcho(): Promise<{
  port: number;
  connections: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    connections: () => accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects to the endpoint. */
export function connectTo(endpoint: Endpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof endpoint === 'number'
        ? connect({ host: '127.0.0.1', port: endpoint })
        : connect({ path: endpoint });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `text` as is and returns everything the server sends until it closes the connection. */
export async function rawRequest(endpoint: Endpoint, text: string): Promise<string> {
  const socket = await connectTo(endpoint);
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(text);
  });
}

/** Reads from the socket until `marker` has arrived; returns everything read. */
export function readUntil(socket: Socket, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes(marker)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(received);
      }
    };
    const onClose = () =>
      reject(new Error(`connection closed before ${JSON.stringify(marker)}: ${received}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', reject);
  });
}

/** Sends `CONNECT target` and returns the socket with the proxy's answer head (or whole answer). */
export async function openConnect(
  endpoint: Endpoint,
  target: string,
): Promise<{ socket: Socket; head: string }> {
  const socket = await connectTo(endpoint);
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const head = await readUntil(socket, '\r\n\r\n');
  return { socket, head };
}

/** An allowlist of `host` (or `*.suffix`) and ports, as the policy's matcher would be. */
export function allowlist(rules: ReadonlyArray<{ host: string; ports: number[] }>): EgressDecider {
  return (host, port) => {
    for (const rule of rules) {
      const hostMatches = rule.host.startsWith('*.')
        ? host.endsWith(rule.host.slice(1)) || host === rule.host.slice(2)
        : host === rule.host;
      if (!hostMatches) continue;
      const name = `${rule.host}:${rule.ports.join(',')}`;
      if (rule.ports.includes(port)) return { allowed: true, rule: name };
      return { allowed: false, rule: name, reason: `port ${port} is not allowed for ${host}` };
    }
    return { allowed: false, reason: `${host} is not on the allowlist` };
  };
}

/** A decider that allows everything, to show what the address checks refuse on their own. */
export const allowEverything: EgressDecider = () => ({ allowed: true, rule: '*' });
