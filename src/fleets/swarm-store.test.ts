import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, newPostgresDatabase } from '../../test/support/databases.ts';
import { openDatabase } from '../store/db.ts';
import { Store } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { MIGRATIONS } from '../store/migrations/index.ts';
import type { SwarmSpec } from './schema.ts';
import { swarmQueries } from './swarm-store.ts';

/**
 * Swarm records: those from before migration 13 (one row per name, no planner or roles) upgrade
 * with their runs; each execution is kept apart, and driven by one process at a time.
 */
describe.each(DATABASE_KINDS)('swarm records (%s)', (kind) => {
  /** Runs `fn` on a new store with a repo, its swarm records and a one-facet spec; closes the store. */
  async function withSwarms(
    fn: (given: {
      store: Store;
      repo: { id: string };
      swarms: ReturnType<typeof swarmQueries>;
      spec: SwarmSpec;
    }) => Promise<void>,
  ): Promise<void> {
    const store = await Store.open({ url: kind === 'postgres' ? await newPostgresDatabase() : undefined });
    try {
      const repo = await store.repos.upsert({ name: 'app', url: '/srv/app', defaultBranch: 'main' });
      const spec = { name: 'colors', repo: '/srv/app', goal: 'g', facets: [{ id: 'red', script: 'true' }] };
      await fn({ store, repo, swarms: swarmQueries(store.db), spec });
    } finally {
      await store.close();
    }
  }

  it('keeps an earlier swarm’s facets and converge run, each showing its role', async () => {
    const url = kind === 'postgres' ? await newPostgresDatabase() : undefined;
    const db = await openDatabase({ url });
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version < 13),
      );
      await db.exec(`
        INSERT INTO repos (id, name, url, default_branch) VALUES ('repo_1', 'app', '/srv/app', 'main');
        INSERT INTO runs (id, repo_id, blueprint, blueprint_spec, inputs, status, conclusion, timeout_ms, trigger)
        VALUES ('run_a', 'repo_1', 'script', '{}', '{}', 'completed', 'success', 1000, 'swarm:colors'),
               ('run_b', 'repo_1', 'script', '{}', '{}', 'completed', 'success', 1000, 'swarm:colors'),
               ('run_c', 'repo_1', 'swarm-converge', '{}', '{}', 'completed', 'success', 1000, 'swarm:colors');
        INSERT INTO swarms (name, repo_id, spec, state, facets, converge_run_id)
        VALUES ('colors', 'repo_1', '{}', 'completed',
          '[{"id": "red", "runId": "run_a", "conclusion": "success"}, {"id": "blue", "runId": "run_b"}, {"id": "gone", "runId": "run_x"}]',
          'run_c');
      `);

      expect(await migrate(db)).toEqual(MIGRATIONS.filter((m) => m.version >= 13).map((m) => m.version));
      const swarm = await swarmQueries(db).forRun('run_b');

      expect(swarm).toMatchObject({ name: 'colors', state: 'completed', role: 'facet', facet: 'blue' });
      expect(swarm!.id).toMatch(/^swm_/);
      expect(swarm!.runs.map((r) => [r.id, r.role, r.facet])).toEqual([
        ['run_a', 'facet', 'red'],
        ['run_b', 'facet', 'blue'],
        ['run_c', 'converge', null],
      ]);
    } finally {
      await db.close();
    }
  });

  it('keeps every execution of a swarm name apart', async () => {
    await withSwarms(async ({ store, repo, swarms, spec }) => {
      const runs = [];
      for (let i = 0; i < 2; i++) {
        const id = (await swarms.create(spec, repo.id, 'facets', {
          driver: 'wrk_t',
          ms: 30_000,
          exclusive: true,
        }))!;
        const run = await store.createRun({
          repoId: repo.id,
          blueprint: 'script',
          blueprintSpec: {},
          inputs: {},
          timeoutMs: 1000,
        });
        await swarms.addRun(id, run.id, 'facet', 'red');
        await swarms.update(id, { state: 'completed', facets: [], convergeRunId: null, reason: null });
        runs.push({ id, run: run.id });
      }

      const [first, second] = await Promise.all(runs.map((r) => swarms.forRun(r.run)));

      expect(first!.id).toBe(runs[0]!.id);
      expect(second!.id).toBe(runs[1]!.id);
      expect(first!.runs.map((r) => r.id)).toEqual([runs[0]!.run]);
      expect(second!.runs.map((r) => r.id)).toEqual([runs[1]!.run]);
    });
  });

  it('cancels an unfinished execution once, naming its unfinished runs; then records no run or state on it', async () => {
    await withSwarms(async ({ store, repo, swarms, spec }) => {
      const lease = { driver: 'wrk_a', ms: 60_000, exclusive: false };
      const id = (await swarms.create(spec, repo.id, 'facets', lease))!;
      const newRun = () =>
        store.createRun({
          repoId: repo.id,
          blueprint: 'script',
          blueprintSpec: {},
          inputs: {},
          timeoutMs: 1000,
        });
      const [done, going, late] = [await newRun(), await newRun(), await newRun()];
      await swarms.addRun(id, done.id, 'facet', 'red');
      await swarms.addRun(id, going.id, 'facet', 'blue');
      await store.completeRun(done.id, 'success', null);

      const cancelled = await swarms.cancel(id, 'cancelled by ana');
      const again = await swarms.cancel(id, 'cancelled by bo');
      const recorded = await swarms.addRun(id, late.id, 'converge');
      const saved = await swarms.update(id, {
        state: 'converging',
        facets: [],
        convergeRunId: null,
        reason: null,
      });
      const renewed = await swarms.claim(id, lease);
      const next = await swarms.create(spec, repo.id, 'facets', lease);

      expect(cancelled).toEqual([going.id]);
      expect(again).toBeNull();
      expect(recorded).toBe(false);
      expect(saved).toBe(false);
      expect(renewed).toBe(false);
      expect(await swarms.get(id)).toMatchObject({ state: 'cancelled', reason: 'cancelled by ana' });
      expect((await swarms.forRun(done.id))!.runs.map((r) => r.id)).toEqual([done.id, going.id]);
      expect(await swarms.forRun(late.id)).toBeNull();
      // A cancelled execution is over: the swarm starts anew.
      expect(next).toMatch(/^swm_/);
    });
  });

  it('lists the latest execution of each swarm with its runs and change, and any execution by id', async () => {
    await withSwarms(async ({ store, repo, swarms, spec }) => {
      const lease = { driver: 'wrk_a', ms: 60_000, exclusive: false };
      const other = await store.repos.upsert({ name: 'web', url: '/srv/web', defaultBranch: 'main' });
      const old = (await swarms.create(spec, repo.id, 'facets', lease))!;
      await swarms.abandon(old, 'stopped');
      const latest = (await swarms.create(spec, repo.id, 'facets', lease))!;
      const elsewhere = (await swarms.create(spec, other.id, 'facets', lease))!;
      const converge = await store.createRun({
        repoId: repo.id,
        blueprint: 'swarm-converge',
        blueprintSpec: {},
        inputs: {},
        timeoutMs: 1000,
      });
      await swarms.addRun(latest, converge.id, 'converge');
      await store.db.query(
        `INSERT INTO changes (id, run_id, repo_id, branch, base_commit, head_commit, title, body, diffstat, diff, state)
         VALUES ('chg_1', $1, $2, 'nightshift/swarm/colors', 'b', 'h1', 't', '', '[]', '', 'local')`,
        [converge.id, repo.id],
      );
      await swarms.update(latest, {
        state: 'completed',
        facets: [],
        convergeRunId: converge.id,
        reason: null,
      });

      const all = await swarms.summaries();
      const named = await swarms.summaries({ name: 'colors' });
      const byId = await swarms.summaries({ id: old });
      const none = await swarms.summaries({ name: 'nothing' });

      expect(all.map((s) => s.id)).toEqual([latest, elsewhere]);
      expect(all[0]).toEqual({
        id: latest,
        name: 'colors',
        repo: '/srv/app',
        state: 'completed',
        reason: null,
        driver: 'wrk_a',
        durable: false,
        createdAt: expect.any(Date),
        updatedAt: expect.any(Date),
        runs: [{ id: converge.id, role: 'converge', facet: null, status: 'queued', conclusion: null }],
        change: { branch: 'nightshift/swarm/colors', headCommit: 'h1', url: null },
        driveFailure: null,
      });
      expect(all[1]).toMatchObject({ repo: '/srv/web', state: 'facets', runs: [], change: null });
      expect(named.map((s) => s.id)).toEqual([latest, elsewhere]);
      expect(byId).toMatchObject([{ id: old, state: 'failed', reason: 'stopped', driver: null }]);
      expect(none).toEqual([]);
      // Where only another process could be driving (the embedded database's home lock), wrk_a's claim is stale.
      expect(await swarms.summaries({ id: latest, onlyDriver: 'wrk_b' })).toMatchObject([{ driver: null }]);
    });
  });

  it('lets one process drive an unfinished execution at a time, until its claim lapses', async () => {
    await withSwarms(async ({ repo, swarms, spec }) => {
      const a = { driver: 'wrk_a', ms: 60_000, exclusive: false };
      const b = { ...a, driver: 'wrk_b' };

      const id = (await swarms.create(spec, repo.id, 'facets', a))!;
      const second = await swarms.create(spec, repo.id, 'facets', b);
      const takenByB = await swarms.claim(id, b);
      const renewedByA = await swarms.claim(id, a);
      const seen = await swarms.unfinished('colors', repo.id, spec);
      await swarms.release(id, a.driver);
      const afterRelease = await swarms.claim(id, b);
      // With the embedded database the home lock admits one process: any other claim is stale.
      const exclusive = await swarms.claim(id, { ...a, exclusive: true });
      await swarms.claim(id, { ...a, ms: -1 });
      const seenLapsed = await swarms.unfinished('colors', repo.id, spec);
      const afterLapse = await swarms.claim(id, b);
      await swarms.abandon(id, 'done with it');
      const finished = await swarms.claim(id, b);
      const next = await swarms.create(spec, repo.id, 'facets', b);

      expect(second).toBeNull();
      expect(takenByB).toBe(false);
      expect(renewedByA).toBe(true);
      expect(seen).toMatchObject({ id, drivenBy: 'wrk_a' });
      expect(afterRelease).toBe(true);
      expect(exclusive).toBe(true);
      expect(seenLapsed).toMatchObject({ id, drivenBy: null });
      expect(afterLapse).toBe(true);
      expect(finished).toBe(false);
      expect(next).toMatch(/^swm_/);
    });
  });
});
