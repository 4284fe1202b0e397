import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { checkTarget, endsBeforeConnect, type ProxyContext } from './check.ts';
import { parseConnectTarget } from './target.ts';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** Answers a CONNECT with an error status and a short plain-text reason, then closes. */
function refuse(socket: Socket, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'X-Nightshift-Egress: refused\r\n' +
      `Connection: close\r\n\r\n${body}`,
  );
}

/**
 * Handles `CONNECT host:port`: checks the destination, connects to the checked address and pipes
 * bytes both ways (TLS passes through untouched). Reports one decision when the tunnel closes.
 */
export async function openTunnel(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  ctx: ProxyContext,
): Promise<void> {
  const started = performance.now();
  const durationMs = () => Math.round(performance.now() - started);
  socket.on('error', () => socket.destroy());
  const target = parseConnectTarget(req.url ?? '');
  if (!target) {
    const reason = 'CONNECT needs host:port';
    refuse(socket, 400, reason);
    ctx.report({
      host: '',
      port: 0,
      method: 'CONNECT',
      allowed: false,
      reason,
      status: 400,
      durationMs: durationMs(),
    });
    return;
  }
  const checked = await checkTarget(target, ctx);
  const base = {
    host: target.host,
    port: target.port,
    method: 'CONNECT',
    rule: checked.rule,
    address: checked.address,
  };
  if (
    endsBeforeConnect(
      ctx,
      base,
      checked,
      socket.destroyed,
      (code, reason) => refuse(socket, code, reason),
      durationMs(),
    )
  ) {
    return;
  }

  let status = 502;
  let error: string | undefined;
  const upstream = connect({ host: checked.address, port: target.port, allowHalfOpen: true });
  ctx.upstreams.add(upstream);
  upstream.setTimeout(ctx.connectTimeoutMs, () => upstream.destroy(new Error('connect timed out')));
  upstream.once('connect', () => {
    status = 200;
    upstream.setTimeout(0);
    socket.setTimeout(ctx.idleTimeoutMs, () => {
      error ??= 'idle timeout';
      socket.destroy();
    });
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.on('error', (cause) => {
    error ??= cause.message;
    if (status === 200) {
      socket.destroy();
      return;
    }
    status = cause.message === 'connect timed out' ? 504 : 502;
    refuse(socket, status, `upstream ${target.host}:${target.port} failed: ${cause.message}`);
  });
  upstream.on('close', () => {
    ctx.upstreams.delete(upstream);
    if (!socket.destroyed) socket.end();
  });
  socket.once('close', () => {
    upstream.destroy();
    if (status !== 200 && error === undefined) {
      status = 499;
      error = 'client hung up';
    }
    ctx.report({
      ...base,
      allowed: true,
      reason: checked.reason,
      status,
      bytesOut: upstream.bytesWritten,
      bytesIn: upstream.bytesRead,
      error,
      durationMs: durationMs(),
    });
  });
}
