/**
 * GitHub webhook ingest: signed deliveries per second accepted and durably enqueued (signature
 * check, delivery-id claim with dedup, payload stored) on the embedded database and on
 * PostgreSQL, with p50/p99 latency, beside a plain Hono endpoint on the same server that
 * reads the body and answers 200 (the baseline). Every tenth delivery is a redelivery of an
 * earlier id. Variants are interleaved over rounds so drift in machine load hits all alike.
 *
 *   node --import tsx bench/webhook-ingest.ts [--n 1000] [--concurrency 8] [--rounds 2] [--json]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pino from 'pino';
import { Store } from '../src/store/index.ts';
import { githubWebhookRoutes } from '../src/triggers/github/routes.ts';
import { signBody } from '../src/triggers/github/verify.ts';
import { createDatabase, startPostgres } from '../test/support/postgres.ts';
import { percentile, round } from './support/stats.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const SECRET = 'bench-secret';

interface Sample {
  ms: number[];
  seconds: number;
  statuses: Record<number, number>;
}

/** A real issue_comment payload (about 12 KB), as GitHub sends it. */
async function examplePayload(): Promise<string> {
  const { createRequire } = await import('node:module');
  const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
    name: string;
    examples: unknown[];
  }[];
  return JSON.stringify(examples.find((e) => e.name === 'issue_comment')!.examples[0]);
}

async function load(url: string, body: string): Promise<Sample> {
  const signature = signBody(body, SECRET);
  const ids: string[] = [];
  const ms: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = performance.now();
  async function client() {
    for (;;) {
      const i = next++;
      if (i >= N) return;
      const id = i % 10 === 9 && ids.length > 0 ? ids[Math.floor(ids.length / 2)]! : randomUUID();
      ids.push(id);
      const t = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issue_comment',
          'x-github-delivery': id,
          'x-hub-signature-256': signature,
        },
      });
      await response.arrayBuffer();
      ms.push(performance.now() - t);
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return { ms, seconds: (performance.now() - started) / 1000, statuses };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-ingest-'));
  const postgres = await startPostgres();
  const stores = {
    'embedded (PGlite)': await Store.open({ dir: join(dir, 'pglite') }),
    PostgreSQL: await Store.open({ url: await createDatabase(postgres.url) }),
  };
  const log = pino({ level: 'silent' });
  const app = new Hono();
  app.post('/plain', async (c) => {
    await c.req.arrayBuffer();
    return c.json({ ok: true }, 200);
  });
  const paths: Record<string, string> = { 'baseline: plain 200': '/plain' };
  for (const [i, [name, store]] of Object.entries(stores).entries()) {
    app.route(`/webhooks/github/${i}`, githubWebhookRoutes({ db: store.db, secrets: [SECRET], log }));
    paths[name] = `/webhooks/github/${i}`;
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const body = await examplePayload();

  const results: Record<string, Sample[]> = {};
  try {
    for (const path of Object.values(paths)) await load(`${base}${path}`, body); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, path] of Object.entries(paths)) {
        const sample = await load(`${base}${path}`, body);
        results[name] = [...(results[name] ?? []), sample];
      }
    }
    const enqueued: Record<string, number> = {};
    for (const [name, store] of Object.entries(stores)) {
      const rows = await store.db.query<{ n: string }>(
        "SELECT count(*) AS n FROM webhook_deliveries WHERE outcome = 'accepted'",
      );
      enqueued[name] = Number(rows[0]!.n);
    }
    const rows = Object.entries(results).map(([name, samples]) => {
      const ms = samples.flatMap((s) => s.ms);
      const rate = ms.length / samples.reduce((sum, s) => sum + s.seconds, 0);
      const statuses: Record<number, number> = {};
      for (const s of samples)
        for (const [k, v] of Object.entries(s.statuses)) statuses[Number(k)] = (statuses[Number(k)] ?? 0) + v;
      return {
        name,
        perSecond: round(rate),
        p50: round(percentile(ms, 50)),
        p99: round(percentile(ms, 99)),
        statuses,
      };
    });
    const baseline = rows[0]!;
    if (args.json) {
      console.log(
        JSON.stringify({ n: N, concurrency: CONCURRENCY, rounds: ROUNDS, rows, enqueued }, null, 2),
      );
    } else {
      console.log(
        `${N} deliveries x ${ROUNDS} rounds per variant, ${CONCURRENCY} concurrent clients, ${body.length} byte payload, 10% redeliveries`,
      );
      console.log(
        'variant                 deliveries/s   p50 ms   p99 ms   rate vs baseline   p50 vs baseline   answers',
      );
      for (const row of rows) {
        const answers = Object.entries(row.statuses)
          .map(([s, n]) => `${s}x${n}`)
          .join(' ');
        console.log(
          `${row.name.padEnd(22)} ${String(row.perSecond).padStart(13)} ${String(row.p50).padStart(8)} ${String(row.p99).padStart(8)} ${`${round(row.perSecond / baseline.perSecond)}x`.padStart(18)} ${`${round(row.p50 / baseline.p50)}x`.padStart(17)}   ${answers}`,
        );
      }
      for (const [name, n] of Object.entries(enqueued))
        console.log(`${name}: ${n} deliveries enqueued (each id once)`);
    }
  } finally {
    server.close();
    for (const store of Object.values(stores)) await store.close();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
