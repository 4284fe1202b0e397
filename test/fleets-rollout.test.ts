import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { statusSummary } from '../src/cli/fleet/render.ts';
import { fleetEngine } from './support/fleet-engine.ts';
import { gitIn, nightshiftBranches } from './support/repos.ts';

/**
 * Rollout rates throttle opening changes, not runs; fleet pushes never overwrite a branch
 * someone else changed. Real repos, real sandboxes, the embedded database, the engine's worker.
 */
describe('fleet rollout and branch leases', () => {
  const { state, newRepos, spec, settled, table } = fleetEngine('fleet-rollout', { concurrency: 3 });

  /** Waits until the fleet's counts pass `check` (the rollout loop opens changes in the background). */
  async function until(name: string, check: (counts: Record<string, number>) => boolean, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await state.engine.fleets.status(name);
      if (check(status.counts)) return status;
      if (Date.now() > deadline) throw new Error(`fleet ${name}: ${JSON.stringify(status.counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('runs every repo at full concurrency while the rate opens one change per interval', async () => {
    const dir = await newRepos(3);
    await state.engine.fleets.apply(
      spec(
        'name: paced\ntargets:\n  - glob: "svc-*"\nscript: "echo v1 > VERSION"\nconcurrency: 3\nrollout: { rate: 1/hour }\n',
      ),
      { cwd: dir },
    );

    await settled('paced');
    const status = await until('paced', (counts) => counts.succeeded === 1);
    const rows = await table('paced');

    expect(status.counts).toMatchObject({ queued: 0, running: 0, failed: 0, succeeded: 1, waiting: 2 });
    expect(rows.map((row) => row.change?.state).sort()).toEqual(['local', 'pending', 'pending']);
    expect(statusSummary(status)).toContain('waiting for rollout 2');
    // The status says when the rate lets the next one open: an hour after the first opened.
    const [{ next }] = (await state.engine.store.db.query<{ next: Date }>(
      "SELECT next_start_at AS next FROM fleets WHERE name = 'paced'",
    )) as [{ next: Date }];
    expect(status.nextChangeAt).toEqual(next);
    expect(next.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(statusSummary(status)).toMatch(/rollout: the next waiting change may open in 5\dm\d\ds \(/);
    // The branches are pushed by the runs; only opening the change waits.
    for (let i = 0; i < 3; i++) {
      expect(await nightshiftBranches(join(dir, `svc-${i}`))).toEqual(['nightshift/fleet/paced']);
    }

    // An hour passes on the rollout's clock: the next change opens, one still waits.
    await state.engine.store.db.query(
      "UPDATE fleets SET next_start_at = next_start_at - interval '1 hour' WHERE name = 'paced'",
    );
    const later = await until('paced', (counts) => counts.succeeded === 2);
    // Stays so: the next opening is an hour away.
    await state.engine.fleets.tick('paced');

    expect(later.counts).toMatchObject({ succeeded: 2, waiting: 1 });
    expect((await state.engine.fleets.status('paced')).counts).toMatchObject({ succeeded: 2, waiting: 1 });
    // Once none waits, there is no next opening to tell.
    await state.engine.store.db.query(
      "UPDATE fleets SET next_start_at = next_start_at - interval '2 hours' WHERE name = 'paced'",
    );
    const done = await until('paced', (counts) => counts.succeeded === 3);
    expect(done.nextChangeAt).toBeNull();
  });

  it('withdraws the waiting change of a repo the spec no longer targets, and never opens it', async () => {
    const dir = await newRepos(3);
    const text = (glob: string) =>
      `name: narrowed\ntargets:\n  - glob: "${glob}"\nscript: "echo v1 > VERSION"\nconcurrency: 3\nrollout: { rate: 1/hour }\n`;
    await state.engine.fleets.apply(spec(text('svc-*')), { cwd: dir });
    await settled('narrowed');
    await until('narrowed', (counts) => counts.succeeded === 1 && counts.waiting === 2);
    const waiting = (await table('narrowed')).filter((row) => row.change?.state === 'pending');

    // The first repo's change opened; the spec now targets only it.
    const opened = (await table('narrowed')).find((row) => row.change?.state === 'local')!;
    const summary = await state.engine.fleets.apply(spec(text(opened.repo)), { cwd: dir });
    // Hours pass on the rollout's clock: nothing is left to open.
    await state.engine.store.db.query(
      "UPDATE fleets SET next_start_at = next_start_at - interval '3 hours' WHERE name = 'narrowed'",
    );
    await state.engine.fleets.tick('narrowed');
    await state.engine.fleets.tick('narrowed');

    expect(summary.removed.map((repo) => repo.repo).sort()).toEqual(waiting.map((row) => row.repo).sort());
    const states = await state.engine.store.db.query<{ state: string; url: string | null }>(
      'SELECT state, url FROM changes WHERE run_id = ANY($1)',
      [waiting.map((row) => row.runId)],
    );
    expect(states).toEqual([
      { state: 'withdrawn', url: null },
      { state: 'withdrawn', url: null },
    ]);
    expect((await state.engine.fleets.status('narrowed')).counts).toMatchObject({ succeeded: 1, waiting: 0 });
  });

  it('opens no change outside the rollout windows, though every run finishes', async () => {
    const dir = await newRepos(2);
    const hour = new Date().getUTCHours();
    // A one-hour window two hours from now: closed for the whole test.
    const window = `${(hour + 2) % 24}-${(hour + 3) % 24}`;
    await state.engine.fleets.apply(
      spec(
        `name: windowed\ntargets:\n  - glob: "svc-*"\nscript: "echo v1 > VERSION"\nrollout: { rate: 100/hour, windows: [{ hours: "${window}" }] }\n`,
      ),
      { cwd: dir },
    );

    const status = await settled('windowed');
    const opens = new Date();
    opens.setUTCHours(hour + 2, 0, 0, 0);

    expect(status.counts).toMatchObject({ queued: 0, running: 0, succeeded: 0, waiting: 2 });
    // The status says the next change may open when the window does.
    expect(status.nextChangeAt).toEqual(opens);
  });

  it('leaves a fleet stepped just before out of a look, unless a run of it just finished', async () => {
    const dir = await newRepos(1);
    const closed = `${(new Date().getUTCHours() + 2) % 24}-${(new Date().getUTCHours() + 3) % 24}`;
    await state.engine.fleets.apply(
      spec(
        `name: looked\ntargets:\n  - glob: "svc-*"\nscript: "echo v1 > VERSION"\nrollout: { rate: 100/hour, windows: [{ hours: "${closed}" }] }\n`,
      ),
      { cwd: dir },
    );
    // Its change waits for the window, so every look at the fleets finds it.
    await settled('looked');
    const runId = (await table('looked'))[0]!.runId!;
    // Only this test steps fleets now.
    await state.engine.fleets.stop();
    try {
      await state.engine.fleets.tick('looked');
      const tick = vi.spyOn(state.engine.fleets, 'tick');

      const steps = () => tick.mock.calls.filter(([name]) => name === 'looked').length;
      await state.engine.fleets.tickAll({ fresh: 60_000 });
      const whileFresh = steps();
      await state.engine.fleets.tickAll({ fresh: 60_000, finished: [runId] });
      await state.engine.fleets.tickAll();
      const afterwards = steps();
      tick.mockRestore();

      expect(whileFresh).toBe(0);
      expect(afterwards).toBe(2);
    } finally {
      state.engine.fleets.start();
    }
  });

  it('does not overwrite a commit a person pushed to the fleet branch, and says why', async () => {
    const dir = await newRepos(1);
    const repo = join(dir, 'svc-0');
    const text = (version: string) =>
      `name: leased\ntargets:\n  - glob: "svc-*"\nscript: "echo ${version} > VERSION"\n`;
    await state.engine.fleets.apply(spec(text('v1')), { cwd: dir });
    expect((await settled('leased')).counts.succeeded).toBe(1);
    // A person adds a commit to the fleet's branch.
    await gitIn(repo, 'checkout', '--quiet', 'nightshift/fleet/leased');
    await gitIn(repo, 'commit', '--quiet', '--allow-empty', '-m', 'human fix');
    const human = await gitIn(repo, 'rev-parse', 'HEAD');
    await gitIn(repo, 'checkout', '--quiet', 'main');

    await state.engine.fleets.apply(spec(text('v2')), { cwd: dir });
    const status = await settled('leased');

    expect(status.counts).toMatchObject({ failed: 1, succeeded: 0 });
    expect(status.failures[0]!.reason).toMatch(
      /branch nightshift\/fleet\/leased of svc-0 was changed by someone else: Nightshift expected it at [0-9a-f]{12}/,
    );
    expect(await gitIn(repo, 'rev-parse', 'nightshift/fleet/leased')).toBe(human);

    // Once the person deletes the branch, a retry publishes it anew.
    await gitIn(repo, 'branch', '-D', 'nightshift/fleet/leased');
    await state.engine.fleets.retryFailed('leased', 'test');
    const retried = await settled('leased');

    expect(retried.counts).toMatchObject({ failed: 0, succeeded: 1 });
    expect(await gitIn(repo, 'show', 'nightshift/fleet/leased:VERSION')).toBe('v2');
  });

  it('does not overwrite a branch of the same name that Nightshift never pushed', async () => {
    const dir = await newRepos(1);
    const repo = join(dir, 'svc-0');
    await gitIn(repo, 'branch', 'nightshift/fleet/taken');
    const theirs = await gitIn(repo, 'rev-parse', 'nightshift/fleet/taken');

    await state.engine.fleets.apply(
      spec('name: taken\ntargets:\n  - glob: "svc-*"\nscript: "echo x > X"\n'),
      {
        cwd: dir,
      },
    );
    const status = await settled('taken');

    expect(status.counts.failed).toBe(1);
    expect(status.failures[0]!.reason).toMatch(
      /was changed by someone else: Nightshift expected it not to exist/,
    );
    expect(await gitIn(repo, 'rev-parse', 'nightshift/fleet/taken')).toBe(theirs);
  });
});
