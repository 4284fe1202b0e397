import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunEventPayload } from '../src/core/events.ts';
import { EventFeed } from '../src/server/event-feed.ts';
import { createToken } from '../src/server/tokens.ts';
import { Store } from '../src/store/index.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { DATABASE_KINDS } from './support/databases.ts';
import { makeRepo } from './support/repos.ts';

const output = (text: string): RunEventPayload => ({
  type: 'step.output',
  data: { step: 'script', stream: 'stdout', text },
});

/** The `id:`s of an SSE response's messages until it ends, and whether it ended with `end`. */
async function ids(res: Response): Promise<{ seqs: number[]; end: boolean }> {
  const text = await res.text();
  const seqs = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  return { seqs, end: /^event: end$/m.test(text) };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(DATABASE_KINDS)('the shared event feed behind SSE on %s', (kind) => {
  let api: TestApi;
  let repo: string;
  let token: string;

  beforeAll(async () => {
    api = await startTestApi(kind);
    repo = join(api.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# feed\n' });
    token = (await createToken(api.engine.store, { name: 'reader', scopes: ['runs:read'] })).token;
  }, 240_000);

  afterAll(async () => {
    await api?.close();
  });

  const stream = (runId: string, after = 0) =>
    api.fetch(`/api/runs/${runId}/events/stream`, { token, headers: { 'last-event-id': String(after) } });

  async function lastSeq(runId: string): Promise<number> {
    return (await api.engine.store.events(runId, 0, 100_000)).at(-1)?.seq ?? 0;
  }

  it('gives each of 25 streams on 20 busy runs every event once, in order, then ends them', async () => {
    const { store } = api.engine;
    const runs = await Promise.all(range(1, 20).map(() => api.engine.submit({ repo, script: 'true' })));
    const readers = runs.map((run) => stream(run.id).then((res) => ids(res as unknown as Response)));
    // More readers of the first run, joining at other positions while it is being written.
    const late: Promise<{ seqs: number[]; end: boolean }>[] = [];

    for (let round = 0; round < 15; round++) {
      await Promise.all(
        runs.map((run, i) =>
          store.appendEvents(
            run.id,
            range(0, i % 3).map((n) => output(`${round}.${n}\n`)),
          ),
        ),
      );
      if (round % 3 === 0)
        late.push(stream(runs[0]!.id, round).then((res) => ids(res as unknown as Response)));
    }
    for (const run of runs) await store.completeRun(run.id, 'success', null);
    const seen = await Promise.all(readers);
    const seenLate = await Promise.all(late);

    for (const [i, run] of runs.entries()) {
      expect(seen[i]).toEqual({ seqs: range(1, await lastSeq(run.id)), end: true });
    }
    for (const [j, reader] of seenLate.entries()) {
      expect(reader).toEqual({ seqs: range(j * 3 + 1, await lastSeq(runs[0]!.id)), end: true });
    }
    await vi.waitFor(() => expect(EventFeed.of(store).size).toBe(0));
  });

  it('brings a reader thousands of events behind up to date beside a live one', async () => {
    const { store } = api.engine;
    const run = await api.engine.submit({ repo, script: 'true' });
    for (let i = 0; i < 6; i++) {
      await store.appendEvents(
        run.id,
        range(1, 1000).map((n) => output(`${i}.${n}\n`)),
      );
    }
    const behind = stream(run.id, 0).then((res) => ids(res as unknown as Response));
    const live = stream(run.id, await lastSeq(run.id)).then((res) => ids(res as unknown as Response));

    await store.appendEvents(run.id, [output('last\n')]);
    await store.completeRun(run.id, 'success', null);
    const last = await lastSeq(run.id);

    expect(await behind).toEqual({ seqs: range(1, last), end: true });
    expect(await live).toEqual({ seqs: range(last - 2, last), end: true });
  });

  it('frees a reader that disconnects mid-stream', async () => {
    const { store } = api.engine;
    const run = await api.engine.submit({ repo, script: 'true' });
    const gone = new AbortController();
    const res = await api.fetch(`/api/runs/${run.id}/events/stream`, { token, signal: gone.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await vi.waitFor(() => expect(EventFeed.of(store).size).toBe(1));

    gone.abort();
    await store.appendEvents(run.id, [output('nobody listens\n')]);

    await vi.waitFor(() => expect(EventFeed.of(store).size).toBe(0), { timeout: 10_000 });
  });

  it.runIf(kind === 'postgres')('sees events written by another process (by polling)', async () => {
    const run = await api.engine.submit({ repo, script: 'true' });
    const other = await Store.open({ url: api.engine.config.databaseUrl! });
    try {
      const reading = stream(run.id).then((res) => ids(res as unknown as Response));

      for (let i = 0; i < 5; i++) await other.appendEvents(run.id, [output(`elsewhere ${i}\n`)]);
      await other.completeRun(run.id, 'success', null);

      expect(await reading).toEqual({ seqs: range(1, await lastSeq(run.id)), end: true });
    } finally {
      await other.close();
    }
  });
});
