import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplySummary, applyFleet } from '../src/fleets/apply.ts';
import { parseFleetSpec, specOrThrow } from '../src/fleets/parse.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { Store } from '../src/store/index.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { makeRepo } from './support/repos.ts';

/**
 * Two processes on one PostgreSQL database (two servers, or a CLI beside a server) applying the
 * same fleet: each process here is a store of its own, with its own connections.
 */
describe('fleet applies in two processes', () => {
  let dir: string;
  let first: Store;
  let second: Store;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-fleet-processes-'));
    await makeRepo(join(dir, 'svc-0'), { 'README.md': '# svc\n' });
    // 12 repos: the apply writes a first page of 10, then one of 2.
    for (let i = 1; i < 12; i++) await cp(join(dir, 'svc-0'), join(dir, `svc-${i}`), { recursive: true });
    const url = await newPostgresDatabase();
    first = await Store.open({ url });
    second = await Store.open({ url });
  }, 60_000);

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('one after the other: the second plans from what the first wrote, so no repo gets two runs', async () => {
    const spec = specOrThrow(
      parseFleetSpec,
      'name: tidy\ntargets:\n  - glob: "svc-*"\nscript: "true"\n',
      'tidy.yml',
    );
    const scm = new LocalScmProvider({
      mirrorsDir: join(dir, 'home/mirrors'),
      basesDir: join(dir, 'home/bases'),
    });
    const options = { cwd: dir, defaultTimeoutMs: 60_000 };
    let firstPageQueued = () => {};
    const paused = new Promise<void>((resolve) => (firstPageQueued = resolve));
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let pages = 0;
    const applying = applyFleet({ store: first, scm }, spec, {
      ...options,
      onQueued: async () => {
        if (++pages > 1) return;
        firstPageQueued();
        await resumed;
      },
    });
    await paused;
    let waiting = () => {};
    const waited = new Promise<'waited'>((resolve) => (waiting = () => resolve('waited')));

    const again = applyFleet({ store: second, scm }, spec, { ...options, onWait: waiting });
    const seen = await Promise.race([waited, again.then(() => 'finished without waiting')]);
    resume();
    const summaries: ApplySummary[] = await Promise.all([applying, again]);

    expect(seen).toBe('waited');
    expect(summaries[0]).toMatchObject({ repos: 12, create: 12, unchanged: 0 });
    expect(summaries[1]).toMatchObject({ repos: 12, create: 0, update: 0, unchanged: 12 });
    const runs = await first.db.query<{ repo_id: string; runs: number }>(
      'SELECT repo_id, count(*)::integer AS runs FROM runs GROUP BY repo_id',
    );
    expect(runs).toHaveLength(12);
    expect(runs.every((row) => row.runs === 1)).toBe(true);
  });
});
