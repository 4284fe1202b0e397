import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NightshiftError } from '../../core/errors.ts';
import { startEgressProxy } from './server.ts';
import {
  allowlist,
  connectTo,
  openConnect,
  rawRequest,
  readUntil,
  startEcho,
  startUpstream,
} from './testing.ts';
import type { EgressDecision, EgressProxyOptions } from './types.ts';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  upstream = await startUpstream();
  echo = await startEcho();
  dir = await mkdtemp(join(tmpdir(), 'nightshift-egress-'));
});
afterAll(async () => {
  await upstream.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A proxy where `upstream.test` is the test servers on 127.0.0.1, reachable via allowAddresses. */
async function testProxy(options: Partial<EgressProxyOptions> = {}) {
  const decisions: EgressDecision[] = [];
  const proxy = await startEgressProxy({
    port: 0,
    decide: allowlist([{ host: 'upstream.test', ports: [upstream.port, echo.port, 1] }]),
    resolve: async () => ['127.0.0.1'],
    allowAddresses: ['127.0.0.1/32'],
    onDecision: (decision) => decisions.push(decision),
    ...options,
  });
  cleanups.push(() => proxy.close());
  return { proxy, decisions };
}

/** A GET through the proxy with node's own HTTP client, as a tool in the sandbox would send it. */
function getThrough(
  proxyPort: number,
  url: string,
): Promise<{ status: number; body: string; headers: object }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: proxyPort, path: url, headers: { host: new URL(url).host } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('egress proxy forwarding', () => {
  it('forwards an absolute-URI GET to an allowed destination and reports it with its bytes', async () => {
    const { proxy, decisions } = await testProxy();

    const response = await getThrough(proxy.port!, `http://upstream.test:${upstream.port}/hello?x=1`);

    expect(response).toMatchObject({
      status: 200,
      body: 'hello from upstream',
      headers: { 'x-upstream': 'yes' },
    });
    expect(upstream.seen.at(-1)).toMatchObject({ method: 'GET', url: '/hello?x=1' });
    await vi.waitFor(() => expect(decisions).toHaveLength(1));
    expect(decisions[0]).toMatchObject({
      host: 'upstream.test',
      port: upstream.port,
      method: 'GET',
      allowed: true,
      rule: `upstream.test:${upstream.port},${echo.port},1`,
      address: '127.0.0.1',
      status: 200,
      bytesOut: 0,
      bytesIn: 'hello from upstream'.length,
    });
  });

  it('forwards a request body and keeps the client connection for the next request', async () => {
    const { proxy, decisions } = await testProxy();
    const socket = await connectTo(proxy.port!);
    const target = `http://upstream.test:${upstream.port}/upload`;

    socket.write(`POST ${target} HTTP/1.1\r\nHost: upstream.test\r\nContent-Length: 5\r\n\r\nabcde`);
    const first = await readUntil(socket, 'hello from upstream');
    socket.write(`GET ${target} HTTP/1.1\r\nHost: upstream.test\r\n\r\n`);
    const second = await readUntil(socket, 'hello from upstream');
    socket.destroy();

    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(second).toMatch(/^HTTP\/1\.1 200 /);
    expect(upstream.seen.at(-2)).toMatchObject({ method: 'POST', body: 'abcde' });
    await vi.waitFor(() => expect(decisions).toHaveLength(2));
    expect(decisions[0]).toMatchObject({ method: 'POST', bytesOut: 5 });
  });

  it('tunnels CONNECT bytes both ways and reports the bytes when the tunnel closes', async () => {
    const { proxy, decisions } = await testProxy();

    const { socket, head } = await openConnect(proxy.port!, `upstream.test:${echo.port}`);
    socket.write('ping through the tunnel');
    const echoed = await readUntil(socket, 'ping through the tunnel');
    socket.end();

    expect(head).toBe('HTTP/1.1 200 Connection Established\r\n\r\n');
    expect(echoed).toBe('ping through the tunnel');
    await vi.waitFor(() => expect(decisions).toHaveLength(1));
    expect(decisions[0]).toMatchObject({
      host: 'upstream.test',
      port: echo.port,
      method: 'CONNECT',
      allowed: true,
      address: '127.0.0.1',
      status: 200,
      bytesOut: 23,
      bytesIn: 23,
    });
  });

  it('answers 502 when the destination refuses the connection, and reports the error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const deadPort = typeof address === 'object' && address ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const { proxy, decisions } = await testProxy({ decide: () => ({ allowed: true }) });

    const response = await rawRequest(
      proxy.port!,
      `GET http://upstream.test:${deadPort}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    const { socket, head } = await openConnect(proxy.port!, `upstream.test:${deadPort}`);
    socket.destroy();

    expect(response).toMatch(/^HTTP\/1\.1 502 /);
    expect(head).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    await vi.waitFor(() => expect(decisions).toHaveLength(2));
    expect(decisions[0]).toMatchObject({
      allowed: true,
      status: 502,
      error: expect.stringContaining('ECONNREFUSED'),
    });
    expect(decisions[1]).toMatchObject({
      allowed: true,
      status: 502,
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('answers 502 when an allowed name cannot be resolved', async () => {
    const { proxy, decisions } = await testProxy({
      resolve: async () => {
        throw new Error('getaddrinfo ENOTFOUND upstream.test');
      },
    });

    const response = await rawRequest(
      proxy.port!,
      `GET http://upstream.test:${upstream.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
    );

    expect(response).toMatch(/^HTTP\/1\.1 502 /);
    expect(decisions).toEqual([expect.objectContaining({ allowed: false, status: 502 })]);
  });

  it('closes a tunnel that stays idle longer than the idle timeout', async () => {
    const { proxy, decisions } = await testProxy({ idleTimeoutMs: 200 });

    const { socket } = await openConnect(proxy.port!, `upstream.test:${echo.port}`);
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3_000);
    });

    expect(closed).toBe(true);
    await vi.waitFor(() => expect(decisions).toEqual([expect.objectContaining({ error: 'idle timeout' })]));
  });

  it('destroys open tunnels on close()', async () => {
    const { proxy, decisions } = await testProxy();
    const { socket } = await openConnect(proxy.port!, `upstream.test:${echo.port}`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    await proxy.close();

    await closed;
    expect(decisions).toEqual([expect.objectContaining({ method: 'CONNECT', allowed: true, status: 200 })]);
  });

  it('reports a client that hangs up in the middle of a tunnel', async () => {
    const { proxy, decisions } = await testProxy();

    const { socket } = await openConnect(proxy.port!, `upstream.test:${echo.port}`);
    socket.write('half');
    await readUntil(socket, 'half');
    socket.resetAndDestroy();

    await vi.waitFor(() => expect(decisions).toHaveLength(1));
    expect(decisions[0]).toMatchObject({ method: 'CONNECT', allowed: true, bytesOut: 4 });
  });

  it('listens on a Unix socket with owner-only permissions', async () => {
    const socketPath = join(dir, 'egress.sock');
    const { proxy, decisions } = await testProxy({ port: undefined, socketPath });

    const response = await rawRequest(
      socketPath,
      `GET http://upstream.test:${upstream.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );

    expect(proxy.port).toBeUndefined();
    expect(response).toContain('hello from upstream');
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    await vi.waitFor(() => expect(decisions).toHaveLength(1));
  });

  it('replaces a stale socket file but refuses to take over a live proxy', async () => {
    const socketPath = join(dir, 'stale.sock');
    // A proxy killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await testProxy({ port: undefined, socketPath });

    const second = testProxy({ port: undefined, socketPath });

    await expect(second).rejects.toBeInstanceOf(NightshiftError);
    await expect(second).rejects.toMatchObject({ code: 'EGRESS_UNAVAILABLE' });
  });

  it('keeps serving when onDecision throws, and hands the error to onError', async () => {
    const errors: unknown[] = [];
    const { proxy } = await testProxy({
      onDecision: () => {
        throw new Error('audit log full');
      },
      onError: (error) => errors.push(error),
    });

    const first = await rawRequest(proxy.port!, 'GET http://evil.test/ HTTP/1.1\r\nHost: x\r\n\r\n');
    const second = await rawRequest(proxy.port!, 'GET http://evil.test/ HTTP/1.1\r\nHost: x\r\n\r\n');

    expect(first).toMatch(/^HTTP\/1\.1 403 /);
    expect(second).toMatch(/^HTTP\/1\.1 403 /);
    expect(errors).toHaveLength(2);
  });
});
