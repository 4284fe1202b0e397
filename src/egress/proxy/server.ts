import { promises as dns } from 'node:dns';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { Agent, createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { NightshiftError } from '../../core/errors.ts';
import { parseCidr } from './address.ts';
import type { ProxyContext } from './check.ts';
import { forwardHttp, sendPlain } from './forward.ts';
import { openTunnel } from './tunnel.ts';
import type { EgressDecision, EgressProxy, EgressProxyOptions, EgressResolver } from './types.ts';

/** Resolves with the system resolver, every address, in the resolver's order. */
export const systemResolver: EgressResolver = async (host) => {
  const results = await dns.lookup(host, { all: true, verbatim: true });
  return results.map((result) => result.address);
};

function rawResponse(status: number, text: string, body: string): string {
  return (
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function makeServer(ctx: ProxyContext, options: EgressProxyOptions, sockets: Set<Socket>): Server {
  const server = createServer({
    maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
    headersTimeout: Math.min(ctx.idleTimeoutMs, 60_000),
    requestTimeout: 0,
    keepAliveTimeout: Math.min(ctx.idleTimeoutMs, 5_000),
  });
  server.timeout = ctx.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (req, res) => {
    forwardHttp(req, res, ctx).catch((error: unknown) => {
      if (!res.headersSent) sendPlain(res, 502, `proxy error: ${String(error)}`);
      else res.destroy();
    });
  });
  server.on('connect', (req, socket: Socket, head: Buffer) => {
    openTunnel(req, socket, head, ctx).catch(() => socket.destroy());
  });
  server.on('upgrade', (req, socket: Socket) => {
    const reason = 'protocol upgrades are not forwarded; use CONNECT';
    socket.end(rawResponse(501, 'Not Implemented', `${reason}\n`));
    ctx.report({
      host: '',
      port: 0,
      method: req.method ?? '',
      allowed: false,
      reason,
      status: 501,
      durationMs: 0,
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end(rawResponse(408, 'Request Timeout', 'request timed out\n'));
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const reason = tooLarge
      ? 'request headers too large'
      : `malformed request (${error.code ?? 'parse error'})`;
    socket.end(
      rawResponse(status, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request', `${reason}\n`),
    );
    ctx.report({ host: '', port: 0, method: '', allowed: false, reason, status, durationMs: 0 });
  });
  return server;
}

function listen(server: Server, where: string | number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof where === 'string') server.listen(where, done);
    else server.listen(where, '127.0.0.1', done);
  });
}

/** Removes a socket file left by a proxy that died, but never one a live proxy still serves. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat?.isSocket()) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!live) await unlink(path);
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts the egress proxy: an HTTP forward proxy (absolute-form requests and CONNECT tunnels)
 * that checks every connection against `decide`, resolves names itself, refuses loopback,
 * private, link-local (cloud metadata), CGNAT, multicast and reserved addresses, connects to
 * the address it checked, and reports every decision through `onDecision`.
 *
 * @example
 * const proxy = await startEgressProxy({
 *   socketPath: join(stateDir, 'egress.sock'),
 *   decide: (host, port) => policy.network.allows(host, port),
 *   onDecision: (decision) => audit.append({ kind: 'egress', runId, ...decision }),
 * });
 * // ... run the sandbox ...
 * await proxy.close();
 */
export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  if (options.socketPath === undefined && options.port === undefined) {
    throw new NightshiftError('INVALID_INPUT', 'the egress proxy needs a socketPath, a port or both');
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const report = (decision: EgressDecision): void => {
    try {
      options.onDecision?.(decision);
    } catch (error) {
      options.onError?.(error);
    }
  };
  const ctx: ProxyContext = {
    decide: options.decide,
    resolve: options.resolve ?? systemResolver,
    allowRanges: (options.allowAddresses ?? []).map(parseCidr),
    report,
    idleTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    agent: new Agent({ keepAlive: true, maxFreeSockets: 32, timeout: idleTimeoutMs }),
    upstreams: new Set(),
  };
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const proxy: EgressProxy = {
    async close() {
      const closing = servers.map(close);
      for (const socket of [...sockets, ...ctx.upstreams]) socket.destroy();
      ctx.agent.destroy();
      await Promise.all(closing);
    },
  };
  try {
    if (options.socketPath !== undefined) {
      await removeStaleSocket(options.socketPath);
      const server = makeServer(ctx, options, sockets);
      await listen(server, options.socketPath);
      servers.push(server);
      await chmod(options.socketPath, options.socketMode ?? 0o600);
      proxy.socketPath = options.socketPath;
    }
    if (options.port !== undefined) {
      const server = makeServer(ctx, options, sockets);
      await listen(server, options.port);
      servers.push(server);
      const address = server.address();
      proxy.port = typeof address === 'object' && address ? address.port : options.port;
    }
  } catch (error) {
    await proxy.close();
    const where = options.socketPath ?? `127.0.0.1:${options.port}`;
    throw new NightshiftError(
      'EGRESS_UNAVAILABLE',
      `the egress proxy cannot listen on ${where}: ${String(error)}`,
      {
        hint: 'check that the directory exists and nothing else listens there',
        cause: error,
      },
    );
  }
  return proxy;
}
