/**
 * The egress proxy's added latency per request: sequential HTTP GETs to a local upstream
 * directly, through the proxy on TCP, and through the in-sandbox bridge (loopback port ->
 * Unix socket -> proxy), interleaved so drift in machine load hits every variant alike.
 * Clients keep their connections alive, so the figures are per request, not per connection.
 *
 *   node --import tsx bench/egress-proxy.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BRIDGE_SCRIPT } from '../src/egress/bridge/index.ts';
import { startEgressProxy } from '../src/egress/proxy/index.ts';
import { median, percentile, round } from './support/stats.ts';

const N = 500;
const WARMUP = 50;

function get(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, headers: { host: 'upstream.test' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-egress-'));
  const upstream = createServer((_req, res) => res.end('x'.repeat(1024)));
  let upstreamConnections = 0;
  upstream.on('connection', () => {
    upstreamConnections++;
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as { port: number }).port;
  let decisions = 0;
  const proxy = await startEgressProxy({
    port: 0,
    socketPath: join(dir, 'egress.sock'),
    decide: (host) => ({ allowed: host === 'upstream.test', rule: 'upstream.test' }),
    resolve: async () => ['127.0.0.1'],
    allowAddresses: ['127.0.0.1/32'],
    onDecision: () => {
      decisions++;
    },
  });
  const bridge = spawn(process.execPath, [BRIDGE_SCRIPT, `127.0.0.1:0=${proxy.socketPath}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const agents: Agent[] = [];
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      bridge.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      bridge.once('exit', (code) => reject(new Error(`bridge exited with ${code}`)));
    });
    const bridgePort = Number(ready.split(':').at(-1));
    const url = `http://upstream.test:${upstreamPort}/`;
    const variants = {
      direct: { port: upstreamPort, path: '/' },
      proxy: { port: proxy.port!, path: url },
      bridge: { port: bridgePort, path: url },
    };
    const samples: Record<keyof typeof variants, number[]> = { direct: [], proxy: [], bridge: [] };
    const clients = Object.fromEntries(
      Object.keys(variants).map((name) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        agents.push(agent);
        return [name, agent];
      }),
    ) as Record<keyof typeof variants, Agent>;

    for (let i = 0; i < WARMUP + N; i++) {
      for (const [name, { port, path }] of Object.entries(variants) as [
        keyof typeof variants,
        typeof variants.direct,
      ][]) {
        const ms = await time(() => get(clients[name], port, path));
        if (i >= WARMUP) samples[name].push(ms);
      }
    }

    const base = median(samples.direct);
    console.log(
      `egress proxy: ${N} sequential keep-alive GETs (1 KiB body) per variant, after ${WARMUP} warm-up`,
    );
    for (const [name, values] of Object.entries(samples)) {
      const med = median(values);
      console.log(
        `  ${name.padEnd(7)} median ${round(med).toFixed(1).padStart(5)} ms (${(med * 1000).toFixed(0)} µs)` +
          `  p99 ${round(percentile(values, 99)).toFixed(1).padStart(5)} ms` +
          `  ratio to direct ${(med / base).toFixed(2)}x  added ${((med - base) * 1000).toFixed(0)} µs`,
      );
    }
    console.log(`  decisions reported: ${decisions}, upstream connections opened: ${upstreamConnections}`);
  } finally {
    bridge.stdin.end();
    for (const agent of agents) agent.destroy();
    await proxy.close();
    await new Promise((resolve) => upstream.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
