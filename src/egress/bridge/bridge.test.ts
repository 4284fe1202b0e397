import { type ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEgressProxy } from '../proxy/server.ts';
import { allowlist, openConnect, rawRequest, readUntil, startEcho, startUpstream } from '../proxy/testing.ts';
import type { EgressDecision, EgressProxy } from '../proxy/types.ts';
import { BRIDGE_SCRIPT, bridgeCommand, egressEnv } from './index.ts';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let dir: string;
let proxy: EgressProxy;
const decisions: EgressDecision[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  echo = await startEcho();
  dir = await mkdtemp(join(tmpdir(), 'nightshift-bridge-'));
  proxy = await startEgressProxy({
    socketPath: join(dir, 'egress.sock'),
    decide: allowlist([{ host: 'upstream.test', ports: [upstream.port, echo.port] }]),
    resolve: async () => ['127.0.0.1'],
    allowAddresses: ['127.0.0.1/32'],
    onDecision: (decision) => decisions.push(decision),
  });
});
afterEach(() => {
  decisions.length = 0;
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts the bridge as the sandbox would (node bridge.mjs ...) and waits for its ready line. */
async function startBridge(
  ...routes: string[]
): Promise<{ child: ChildProcessWithoutNullStreams; ports: number[] }> {
  const child = spawn(process.execPath, [BRIDGE_SCRIPT, ...routes]);
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
  });
  expect(line).toMatch(/^ready /);
  return {
    child,
    ports: line
      .split(' ')
      .slice(1)
      .map((bound) => Number(bound.split(':').at(-1))),
  };
}

function exited(child: ChildProcessWithoutNullStreams, ms = 5_000): Promise<number | null | 'running'> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('running'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('egress bridge', () => {
  it('carries an HTTP request from a loopback port to the proxy on its Unix socket', async () => {
    const { ports } = await startBridge(`127.0.0.1:0=${proxy.socketPath}`);

    const response = await rawRequest(
      ports[0]!,
      `GET http://upstream.test:${upstream.port}/via-bridge HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );

    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain('hello from upstream');
    expect(upstream.seen.at(-1)?.url).toBe('/via-bridge');
    await vi.waitFor(() =>
      expect(decisions).toEqual([expect.objectContaining({ allowed: true, status: 200 })]),
    );
  });

  it('carries a CONNECT tunnel, and the proxy still refuses cloud metadata behind it', async () => {
    const { ports } = await startBridge(`127.0.0.1:0=${proxy.socketPath}`);

    const tunnel = await openConnect(ports[0]!, `upstream.test:${echo.port}`);
    tunnel.socket.write('over the bridge');
    const echoed = await readUntil(tunnel.socket, 'over the bridge');
    tunnel.socket.end();
    const refused = await openConnect(ports[0]!, '169.254.169.254:80');
    refused.socket.destroy();

    expect(tunnel.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(echoed).toBe('over the bridge');
    expect(refused.head).toMatch(/^HTTP\/1\.1 403 /);
    await vi.waitFor(() => expect(decisions).toHaveLength(2));
    expect(decisions).toContainEqual(
      expect.objectContaining({ host: '169.254.169.254', method: 'CONNECT', allowed: false, status: 403 }),
    );
  });

  it('lets curl reach an allowed host with only the environment egressEnv builds', async () => {
    const { ports } = await startBridge(`127.0.0.1:0=${proxy.socketPath}`);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...egressEnv(ports[0]!) };

    const body = await new Promise<string>((resolve, reject) =>
      execFile(
        'curl',
        ['-sS', '--max-time', '10', `http://upstream.test:${upstream.port}/curl`],
        { env },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );

    expect(body).toBe('hello from upstream');
    expect(upstream.seen.at(-1)?.headers['user-agent']).toMatch(/^curl\//);
  });

  it('runs a command behind the bridge and exits with its status (exec mode)', async () => {
    const port = 20_000 + (process.pid % 20_000);
    const argv = [
      ...bridgeCommand(process.execPath, [{ port, socketPath: proxy.socketPath! }]),
      '--',
      'sh',
      '-c',
      `curl -sS --max-time 10 http://upstream.test:${upstream.port}/exec; exit 7`,
    ];

    const result = await new Promise<{ code: number | null; out: string }>((resolve) =>
      execFile(
        argv[0]!,
        argv.slice(1),
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...egressEnv(port) } },
        (error, out) => resolve({ code: error ? (error.code as number) : 0, out }),
      ),
    );

    expect(result).toEqual({ code: 7, out: 'hello from upstream' });
  });

  it('serves several routes and prints their ports in argument order', async () => {
    const other = await startEgressProxy({
      socketPath: join(dir, 'other.sock'),
      decide: () => ({ allowed: false, reason: 'the other proxy refuses everything' }),
    });

    const { ports } = await startBridge(`127.0.0.1:0=${proxy.socketPath}`, `127.0.0.1:0=${other.socketPath}`);
    const second = await rawRequest(ports[1]!, 'GET http://upstream.test/ HTTP/1.1\r\nHost: x\r\n\r\n');
    await other.close();

    expect(ports).toHaveLength(2);
    expect(ports[0]).not.toBe(ports[1]);
    expect(second).toContain('the other proxy refuses everything');
  });

  it('closes a connection whose socket is missing and keeps running', async () => {
    const { child, ports } = await startBridge(`127.0.0.1:0=${join(dir, 'missing.sock')}`);

    const response = await rawRequest(
      ports[0]!,
      'GET http://upstream.test/ HTTP/1.1\r\nHost: x\r\n\r\n',
    ).catch((error: Error) => error.message);

    expect(response).toMatch(/^$|ECONNRESET/);
    expect(child.exitCode).toBeNull();
  });

  it('exits when its stdin closes', async () => {
    const { child } = await startBridge(`127.0.0.1:0=${proxy.socketPath}`);

    child.stdin.end();

    expect(await exited(child)).toBe(0);
  });

  it('exits when its parent dies, even with its stdin still open', async () => {
    // The bridge's stdin is a FIFO it also holds open for writing, so it never reaches EOF:
    // only noticing that its parent died can stop it. The parent prints the bridge's pid once
    // the bridge is ready, then gets killed.
    const fifo = join(dir, 'stdin.fifo');
    execFileSync('mkfifo', [fifo]);
    const parent = spawn(process.execPath, [
      '-e',
      `const { spawn } = require('node:child_process');
       const stdin = require('node:fs').openSync(${JSON.stringify(fifo)}, 'r+');
       const bridge = spawn(process.execPath, ${JSON.stringify([BRIDGE_SCRIPT, `127.0.0.1:0=${proxy.socketPath}`])},
         { stdio: [stdin, 'pipe', 'inherit'] });
       bridge.stdout.once('data', () => console.log(bridge.pid));`,
    ]);
    children.push(parent);
    const pid = Number(
      await new Promise<string>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      ),
    );
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);

    parent.kill('SIGKILL');

    try {
      await vi.waitFor(() => expect(alive()).toBe(false), { timeout: 5_000, interval: 50 });
    } finally {
      if (alive()) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses arguments that are not loopback HOST:PORT=/socket routes', async () => {
    for (const bad of ['0.0.0.0:3128=/tmp/x.sock', '127.0.0.1:3128', '127.0.0.1:3128=relative.sock']) {
      const child = spawn(process.execPath, [BRIDGE_SCRIPT, bad]);
      children.push(child);

      expect(await exited(child)).toBe(2);
    }
  });
});

describe('sandbox egress environment', () => {
  it('points every proxy variable at the bridge and keeps loopback direct', () => {
    const env = egressEnv(3128);

    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) {
      expect(env[name]).toBe('http://127.0.0.1:3128');
    }
    expect(env.NO_PROXY).toBe('localhost,127.0.0.1,::1');
    expect(env.no_proxy).toBe(env.NO_PROXY);
  });

  it('builds the bridge command line for the sandbox', () => {
    expect(existsSync(BRIDGE_SCRIPT)).toBe(true);
    expect(
      bridgeCommand('/usr/bin/node', [
        { port: 3128, socketPath: '/run/nightshift/egress.sock' },
        { port: 4000, socketPath: '/run/nightshift/model.sock' },
      ]),
    ).toEqual([
      '/usr/bin/node',
      BRIDGE_SCRIPT,
      '127.0.0.1:3128=/run/nightshift/egress.sock',
      '127.0.0.1:4000=/run/nightshift/model.sock',
    ]);
  });
});
