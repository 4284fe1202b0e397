/**
 * API latency of `GET /api/runs/:id` while 20 runs stream events over SSE (a writer appends
 * an output event to every run each 50 ms, 400 events/s in all), beside the same request with
 * no streams open as baseline, measured before and after the loaded phase in the same run.
 *
 *   node --import tsx bench/api-latency.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { createApp } from '../src/server/app.ts';
import { listen } from '../src/server/listen.ts';
import { createToken } from '../src/server/tokens.ts';
import { median, percentile, round } from './support/stats.ts';

const N = 300;
const STREAMS = 20;

function get(agent: Agent, url: URL, token: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function sample(agent: Agent, url: URL, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < N; i++) times.push(await get(agent, url, token));
  return times;
}

function line(name: string, times: number[], base?: number[]): string {
  const ratio = base
    ? `  x${round(median(times) / median(base))} median, x${round(percentile(times, 99) / percentile(base, 99))} p99`
    : '';
  return `${name.padEnd(28)} p50 ${round(median(times))} ms  p99 ${round(percentile(times, 99))} ms${ratio}`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-api-'));
  const repo = join(dir, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  await writeFile(join(repo, 'README.md'), '# bench\n');
  execFileSync('git', ['-C', repo, 'add', '.']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'init']);
  const engine = await Engine.open(engineConfig(join(dir, 'home'), { ...process.env, DATABASE_URL: '' }));
  const closing = new AbortController();
  const server = await listen(createApp({ engine, auth: 'tokens', closing: closing.signal }), {
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const { token } = await createToken(engine.store, { name: 'bench', scopes: ['runs:read'] });
    const runs = [];
    for (let i = 0; i < STREAMS; i++) runs.push(await engine.submit({ repo, script: 'true' }));
    const url = new URL(`/api/runs/${runs[0]!.id}`, server.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await sample(agent, url, token); // warm up

    const before = await sample(agent, url, token);

    let delivered = 0;
    const streams = runs.map(async (run) => {
      const res = await fetch(`${server.url}/api/runs/${run.id}/events/stream`, {
        headers: { authorization: `Bearer ${token}` },
        signal: closing.signal,
      });
      const reader = res.body!.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          delivered += new TextDecoder().decode(value).split('\nid: ').length - 1;
        }
      } catch {
        // aborted at the end of the phase
      }
    });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await Promise.all(
          runs.map((run) =>
            engine.store.appendEvents(run.id, [
              { type: 'step.output', data: { step: 'script', stream: 'stdout', text: 'x'.repeat(80) } },
            ]),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const loadedStart = performance.now();
    const loaded = await sample(agent, url, token);
    const seconds = (performance.now() - loadedStart) / 1000;
    writing = false;
    await writer;
    closing.abort();
    await Promise.allSettled(streams);

    const after = await sample(agent, url, token);
    const baseline = [...before, ...after];
    console.log(`GET /api/runs/:id, ${N} sequential requests per phase (PGlite, keep-alive)`);
    console.log(line('baseline (no streams)', baseline));
    console.log(line(`with ${STREAMS} SSE streams`, loaded, baseline));
    console.log(
      `events delivered over SSE during the loaded phase: ${delivered} (${round(delivered / seconds)}/s)`,
    );
    agent.destroy();
  } finally {
    closing.abort();
    await server.close();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
