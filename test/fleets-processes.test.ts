import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplySummary, applyFleet } from '../src/fleets/apply.ts';
import { parseFleetSpec, specOrThrow } from '../src/fleets/parse.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { Store } from '../src/store/index.ts';
import { finished, spawnCli, waitForOutput } from './support/cli.ts';
import { holdAcrossProcesses, newPostgresDatabase } from './support/databases.ts';
import { gate } from './support/gate.ts';
import { makeRepo } from './support/repos.ts';

/**
 * Two processes on one PostgreSQL database (two servers, or a CLI beside a server) applying the
 * same fleet: each process here is a store of its own, with its own connections.
 */
describe('fleet applies in two processes', () => {
  let dir: string;
  let url: string;
  let first: Store;
  let second: Store;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-fleet-processes-'));
    await makeRepo(join(dir, 'svc-0'), { 'README.md': '# svc\n' });
    // 12 repos: the apply writes a first page of 10, then one of 2.
    for (let i = 1; i < 12; i++) await cp(join(dir, 'svc-0'), join(dir, `svc-${i}`), { recursive: true });
    url = await newPostgresDatabase();
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
    const paused = gate();
    const resumed = gate();
    let pages = 0;
    const applying = applyFleet({ store: first, scm }, spec, {
      ...options,
      onQueued: async () => {
        if (++pages > 1) return;
        paused.open();
        await resumed.promise;
      },
    });
    await paused.promise;
    const waiting = gate();

    const again = applyFleet({ store: second, scm }, spec, { ...options, onWait: waiting.open });
    const seen = await Promise.race([
      waiting.promise.then(() => 'waited'),
      again.then(() => 'finished without waiting'),
    ]);
    resumed.open();
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

  it('`nightshift fleet apply` in another process says it waits, then applies', async () => {
    await writeFile(join(dir, 'waits.yml'), 'name: waits\ntargets:\n  - glob: "svc-*"\nscript: "true"\n');
    const holder = await holdAcrossProcesses(first.db, 'fleet waits');

    const cli = spawnCli(
      ['fleet', 'apply', 'waits.yml', '--detach'],
      {
        NIGHTSHIFT_HOME: join(dir, 'cli-home'),
        DATABASE_URL: url,
      },
      dir,
    );
    const result = finished(cli);
    try {
      await waitForOutput(cli, /another process is applying it/);
    } finally {
      await holder.release();
    }
    const { code, stdout } = await result;

    expect(code).toBe(0);
    expect(stdout).toContain('fleet waits: another process is applying it; waiting for that apply to finish');
    expect(stdout).toContain('fleet waits: 12 repos (12 new, 0 changed, 0 unchanged)');
  }, 120_000);
});
