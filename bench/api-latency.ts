/**
 * API latency while runs stream events (issue 5: "API p99 latency while 20 runs stream
 * events"). 20 runs each emit an output event every 50 ms (400 events/s in all) through the
 * engine's `EventWriter`, as executing runs do, and a client follows each run over SSE, while
 * `GET /api/runs/:id` is timed. Beside it, in the same invocation: the same requests with nothing going on
 * (the baseline) and with the runs writing but no stream open (what the
 * writes alone cost). It also prints how many events the streams delivered and how late.
 *
 * Phases are interleaved over rounds (nothing, writes, writes + streams; streams opened at
 * the runs' current end and closed each round).
 *
 *   node --import tsx bench/api-latency.ts [--requests 200] [--rounds 3] [--streams 20] [--rate 20] [--postgres] [--json]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Run } from '../src/core/run.ts';
import { EventWriter } from '../src/engine/event-writer.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { createApp } from '../src/server/app.ts';
import { listen } from '../src/server/listen.ts';
import { createToken } from '../src/server/tokens.ts';
import { createDatabase, type PostgresServer, startPostgres } from '../test/support/postgres.ts';
import { followAll } from './support/sse.ts';
import { median, percentile, round } from './support/stats.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    streams: { type: 'string', default: '20' },
    rate: { type: 'string', default: '20' },
    postgres: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.requests);
const ROUNDS = Number(args.rounds);
const STREAMS = Number(args.streams);
const RATE = Number(args.rate);

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

/**
 * Each run emits one output chunk every 1000/RATE ms (staggered) through the engine's own
 * `EventWriter`, as a run's executor does: batched every 100 ms into one transaction.
 * stdout and stderr alternate, so no two chunks coalesce: every chunk is one event.
 */
function startWriters(engine: Engine, runs: readonly Run[]): { stop(): Promise<void>; written(): number } {
  let written = 0;
  const writers = runs.map((run) => new EventWriter(engine.store, run.id, run.attempt));
  const timers: NodeJS.Timeout[] = [];
  runs.forEach((_, i) => {
    let n = 0;
    const tick = () => {
      writers[i]!.push({
        type: 'step.output',
        data: { step: 'script', stream: n++ % 2 ? 'stderr' : 'stdout', text: `${'x'.repeat(79)}\n` },
      });
      written++;
    };
    const stagger = (i * 1000) / RATE / runs.length;
    timers.push(setTimeout(() => timers.push(setInterval(tick, 1000 / RATE)), stagger));
  });
  return {
    async stop() {
      // clearInterval clears timeouts too (Node shares one timer type).
      for (const timer of timers) clearInterval(timer);
      await Promise.all(writers.map((w) => w.flush()));
    },
    written: () => written,
  };
}

const stats = (times: number[]) => ({ p50: round(median(times)), p99: round(percentile(times, 99)) });

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-api-'));
  const postgres: PostgresServer | null = args.postgres ? await startPostgres() : null;
  const repo = join(dir, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  await writeFile(join(repo, 'README.md'), '# bench\n');
  execFileSync('git', ['-C', repo, 'add', '.']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'init']);
  const databaseUrl = postgres ? await createDatabase(postgres.url) : '';
  const engine = await Engine.open(
    engineConfig(join(dir, 'home'), { ...process.env, DATABASE_URL: databaseUrl }),
  );
  const closing = new AbortController();
  const server = await listen(createApp({ engine, auth: 'tokens', closing: closing.signal }), {
    host: '127.0.0.1',
    port: 0,
  });
  let writers: ReturnType<typeof startWriters> | null = null;
  try {
    const { token } = await createToken(engine.store, { name: 'bench', scopes: ['runs:read'] });
    const runs: Run[] = [];
    for (let i = 0; i < STREAMS; i++) runs.push(await engine.submit({ repo, script: 'true' }));
    const runIds = runs.map((run) => run.id);
    const url = new URL(`/api/runs/${runIds[0]}`, server.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await sample(agent, url, token); // warm up
    // Phases interleaved over rounds, so drift in the machine's load hits them all alike.
    const baseline: number[] = [];
    const writing: number[] = [];
    const streaming: number[] = [];
    const lags: number[] = [];
    let writtenDuring = 0;
    let deliveredDuring = 0;
    let seconds = 0;
    let complete = true;
    for (let round = 0; round < ROUNDS; round++) {
      baseline.push(...(await sample(agent, url, token)));
      writers = startWriters(engine, runs);
      await new Promise((resolve) => setTimeout(resolve, 500));
      writing.push(...(await sample(agent, url, token)));
      const writtenAtStart = writers.written();
      const streams = await followAll(server.url, token, runIds, engine.store);
      const started = performance.now();
      streaming.push(...(await sample(agent, url, token)));
      seconds += (performance.now() - started) / 1000;
      writtenDuring += writers.written() - writtenAtStart;
      deliveredDuring += streams.delivered();
      await writers.stop();
      complete = (await streams.drain(30_000)) && complete;
      lags.push(...streams.lags());
      streams.close();
    }
    agent.destroy();

    const result = {
      database: postgres ? 'PostgreSQL' : 'PGlite',
      requests: N * ROUNDS,
      streams: STREAMS,
      eventsPerSecondWritten: STREAMS * RATE,
      baseline: stats(baseline),
      writesOnly: stats(writing),
      withStreams: stats(streaming),
      sse: {
        written: writtenDuring,
        delivered: deliveredDuring,
        perSecond: round(deliveredDuring / seconds),
        lagMs: stats(lags),
        allDeliveredExactlyOnce: complete,
      },
    };
    if (args.json) return console.log(JSON.stringify(result, null, 2));
    const row = (name: string, s: { p50: number; p99: number }) =>
      `${name.padEnd(34)} p50 ${String(s.p50).padStart(7)} ms  p99 ${String(s.p99).padStart(7)} ms` +
      `   x${round(s.p50 / result.baseline.p50)} p50, x${round(s.p99 / result.baseline.p99)} p99 vs baseline`;
    console.log(
      `GET /api/runs/:id, ${N} sequential keep-alive requests per phase x ${ROUNDS} rounds, ${result.database}, ${STREAMS} runs writing ${RATE} events/s each`,
    );
    console.log(row('baseline (nothing going on)', result.baseline));
    console.log(row('runs writing, no stream', result.writesOnly));
    console.log(row(`runs writing, ${STREAMS} SSE streams`, result.withStreams));
    console.log(
      `SSE during that phase: ${deliveredDuring} of ${writtenDuring} events written delivered (${result.sse.perSecond}/s), ` +
        `lag p50 ${result.sse.lagMs.p50} ms p99 ${result.sse.lagMs.p99} ms; ` +
        `every event delivered exactly once in order by the end: ${complete ? 'yes' : 'NO'}`,
    );
  } finally {
    await writers?.stop();
    closing.abort();
    await server.close();
    await engine.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
