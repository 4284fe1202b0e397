import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fleetEngine } from './support/fleet-engine.ts';
import { gitIn, makeRepo, nightshiftBranches } from './support/repos.ts';

/** Fleets end to end: real repos, real sandboxes, the embedded database, the engine's worker. */
describe('fleets', () => {
  const { state, newRepos, spec, settled, table } = fleetEngine('fleets', { concurrency: 2 });

  it('applies a spec to every repo of a glob, and applying it again changes nothing', async () => {
    const dir = await newRepos(3);
    const fleet = spec(
      `name: tidy\ntargets:\n  - glob: "svc-*"\nscript: "echo '{{inputs.owner}}' >> OWNERS"\nvalues: { owner: team-a }\nconcurrency: 2\n`,
    );

    const first = await state.engine.fleets.apply(fleet, { cwd: dir });
    const status = await settled('tidy');
    const again = await state.engine.fleets.apply(fleet, { cwd: dir });

    expect(first).toMatchObject({ repos: 3, create: 3, update: 0, unchanged: 0 });
    expect(status.counts).toMatchObject({ succeeded: 3, failed: 0, queued: 0 });
    expect(again).toMatchObject({ repos: 3, create: 0, update: 0, unchanged: 3 });
    for (let i = 0; i < 3; i++) {
      const repo = join(dir, `svc-${i}`);
      expect(await nightshiftBranches(repo)).toEqual(['nightshift/fleet/tidy']);
      expect(await gitIn(repo, 'show', 'nightshift/fleet/tidy:OWNERS')).toBe('team-a');
    }
    const series = await state.engine.fleets.queries.series('tidy');
    expect(series.at(-1)!.counts.succeeded).toBe(3);
    expect(series.some((point) => point.counts.succeeded < 3)).toBe(true);
  });

  it('finds bare repositories with a glob too (a directory of server repos), and no plain directory', async () => {
    const dir = await newRepos(1);
    await gitIn(dir, 'clone', '--quiet', '--bare', 'svc-0', 'svc-bare.git');
    await mkdir(join(dir, 'svc-notes'));
    const fleet = spec('name: bare\ntargets:\n  - glob: "svc-*"\nscript: "echo bare >> BARE"\n');
    const planned: string[] = [];

    const summary = await state.engine.fleets.apply(fleet, {
      cwd: dir,
      onRepo: (repo) => planned.push(repo.url),
    });
    const status = await settled('bare');

    expect(planned).toEqual([join(dir, 'svc-0'), join(dir, 'svc-bare.git')]);
    expect(summary).toMatchObject({ repos: 2, create: 2, unusable: [] });
    expect(status.counts).toMatchObject({ succeeded: 2 });
    expect(await gitIn(join(dir, 'svc-bare.git'), 'show', 'nightshift/fleet/bare:BARE')).toBe('bare');
  });

  it('tells each page of planned repos once it is planned, before the repos after it are resolved', async () => {
    const dir = await newRepos(1);
    for (let i = 1; i < 150; i++) await cp(join(dir, 'svc-0'), join(dir, `svc-${i}`), { recursive: true });
    const fleet = spec('name: paged\ntargets:\n  - glob: "svc-*"\nscript: "true"\n');
    const resolve = vi.spyOn(state.engine.scm, 'resolve');
    let told = 0;
    const resolvedWhenTold: number[] = [];

    try {
      const summary = await state.engine.fleets.apply(fleet, {
        cwd: dir,
        dryRun: true,
        onRepo: () => {
          // The first repo of each page.
          if (told === 0 || told === 10) resolvedWhenTold.push(resolve.mock.calls.length);
          told++;
        },
      });

      expect(summary.repos).toBe(150);
      expect(told).toBe(150);
      expect(resolve).toHaveBeenCalledTimes(150);
      // The first page (10 repos) and the second (100) were each told with only the few
      // resolutions kept ahead (8) started beyond them.
      expect(resolvedWhenTold[0]).toBeGreaterThanOrEqual(10);
      expect(resolvedWhenTold[0]).toBeLessThanOrEqual(18);
      expect(resolvedWhenTold[1]).toBeGreaterThanOrEqual(110);
      expect(resolvedWhenTold[1]).toBeLessThanOrEqual(118);
    } finally {
      resolve.mockRestore();
    }
  });

  it('starts the first runs while the rest of the targets are still being resolved', async () => {
    const dir = await newRepos(1);
    for (let i = 1; i < 30; i++) await cp(join(dir, 'svc-0'), join(dir, `svc-${i}`), { recursive: true });
    const fleet = spec('name: early\ntargets:\n  - glob: "svc-*"\nscript: "true"\n');
    const real = state.engine.scm.resolve.bind(state.engine.scm);
    let releasedWhileResolving = -1;
    const resolve = vi.spyOn(state.engine.scm, 'resolve').mockImplementation(async (location) => {
      if (location.endsWith('svc-29')) {
        const [row] = await state.engine.store.db.query<{ n: number }>(
          "SELECT count(*)::integer AS n FROM fleet_repos WHERE fleet = 'early' AND NOT held",
        );
        releasedWhileResolving = row!.n;
      }
      return real(location);
    });

    try {
      await state.engine.fleets.apply(fleet, { cwd: dir });
      await settled('early');
    } finally {
      resolve.mockRestore();
    }

    // Runs of the first page (10 repos) were released before the last target was resolved.
    expect(releasedWhileResolving).toBeGreaterThan(0);
  });

  it('leaves out each target that names no repository, saying where it came from, and applies the rest', async () => {
    const dir = await newRepos(2);
    await mkdir(join(dir, 'plain'));
    await writeFile(join(dir, 'repos.txt'), 'svc-1\nmissing\n');
    await writeFile(join(dir, 'none.txt'), '# nothing yet\n');
    const fleet = spec(
      'name: partial\ntargets:\n  - repos: [svc-0, nope, plain]\n  - file: repos.txt\n  - glob: "web-*"\n  - file: none.txt\nscript: "echo x >> X"\n',
    );
    const reported: string[] = [];

    const first = await state.engine.fleets.apply(fleet, {
      cwd: dir,
      onUnusable: (target) => reported.push(target.source),
    });
    const status = await settled('partial');
    await makeRepo(join(dir, 'nope'), { 'README.md': '# nope\n' });
    const again = await state.engine.fleets.apply(fleet, { cwd: dir });
    await settled('partial');

    expect(first).toMatchObject({ repos: 2, create: 2 });
    expect(first.unusable).toEqual([
      {
        source: 'targets[0].repos[1]',
        location: join(dir, 'nope'),
        error: `${join(dir, 'nope')} does not exist`,
        hint: 'check the path',
      },
      expect.objectContaining({
        source: 'targets[0].repos[2]',
        error: `${join(dir, 'plain')} is not a git repository`,
      }),
      expect.objectContaining({ source: 'repos.txt:2', error: `${join(dir, 'missing')} does not exist` }),
      // A glob or file naming no repository at all is most likely a mistake too.
      expect.objectContaining({
        source: 'targets[2].glob',
        error: `"web-*" matched no git repository under ${dir}`,
      }),
      expect.objectContaining({
        source: 'targets[3].file',
        error: `${join(dir, 'none.txt')} lists no repository`,
      }),
    ]);
    expect(reported).toEqual([
      'targets[0].repos[1]',
      'targets[0].repos[2]',
      'repos.txt:2',
      'targets[2].glob',
      'targets[3].file',
    ]);
    expect(status.counts).toMatchObject({ succeeded: 2 });
    // Once fixed, applying again runs only the repo that was left out.
    expect(again).toMatchObject({ repos: 3, create: 1, unchanged: 2 });
    expect(again.unusable.map((target) => target.source)).toEqual([
      'targets[0].repos[2]',
      'repos.txt:2',
      'targets[2].glob',
      'targets[3].file',
    ]);
    expect(await nightshiftBranches(join(dir, 'nope'))).toEqual(['nightshift/fleet/partial']);

    // GitHub not configured is not one target's problem: it would be every GitHub target's.
    const github = spec('name: gh\ntargets:\n  - repos: [svc-0, github:acme/a]\nscript: "true"\n');
    await expect(state.engine.fleets.apply(github, { cwd: dir, dryRun: true })).rejects.toThrow(
      'targets[0].repos[1]: github:acme/a is a GitHub repo, and GitHub is not configured',
    );
  });

  it('reruns only the repos whose inputs changed, updating their change in place', async () => {
    const dir = await newRepos(2);
    const text = (owner: string, extra = '') =>
      `name: owners\ntargets:\n  - repos:\n      - svc-0\n      - repo: svc-1\n        values: { owner: ${owner}${extra} }\nscript: "echo '{{inputs.owner}}' > OWNERS"\nvalues: { owner: team-a }\n`;
    await state.engine.fleets.apply(spec(text('team-b')), { cwd: dir });
    await settled('owners');
    const before = await table('owners');

    const summary = await state.engine.fleets.apply(spec(text('team-c')), { cwd: dir });
    await settled('owners');
    const after = await table('owners');

    expect(summary).toMatchObject({ create: 0, update: 1, unchanged: 1 });
    expect(after[0]!.runId).toBe(before[0]!.runId);
    expect(after[1]!.runId).not.toBe(before[1]!.runId);
    const repo = join(dir, 'svc-1');
    expect(await nightshiftBranches(repo)).toEqual(['nightshift/fleet/owners']);
    expect(await gitIn(repo, 'show', 'nightshift/fleet/owners:OWNERS')).toBe('team-c');
    expect(await gitIn(repo, 'rev-list', '--count', 'main..nightshift/fleet/owners')).toBe('1');
    expect(after[1]!.change).toMatchObject({
      state: 'local',
      headCommit: await gitIn(repo, 'rev-parse', 'nightshift/fleet/owners'),
    });
    const changes = await state.engine.store.db.query<{ state: string }>(
      'SELECT c.state FROM changes c JOIN repos r ON r.id = c.repo_id WHERE r.url = $1 ORDER BY c.created_at',
      [repo],
    );
    expect(changes.map((change) => change.state)).toEqual(['superseded', 'local']);
  });

  it('numbers the repos new to a spec applied again after the others, without gaps', async () => {
    const dir = await newRepos(4);
    const text = (repos: string, word: string) =>
      `name: grown\ntargets:\n  - repos: [${repos}]\nscript: "echo ${word} > WORD"\n`;
    await state.engine.fleets.apply(spec(text('svc-0, svc-1', 'one')), { cwd: dir });
    await settled('grown');

    // Both repos already there rerun (their inputs changed) in the same statement as the new ones.
    const summary = await state.engine.fleets.apply(spec(text('svc-0, svc-1, svc-2, svc-3', 'two')), {
      cwd: dir,
    });
    await settled('grown');

    expect(summary).toMatchObject({ create: 2, update: 2 });
    expect((await table('grown')).map((row) => [row.position, row.repo])).toEqual([
      [1, 'svc-0'],
      [2, 'svc-1'],
      [3, 'svc-2'],
      [4, 'svc-3'],
    ]);
  });

  it('takes out the repos a spec applied again no longer targets, cancelling their runs not finished', async () => {
    const dir = await newRepos(3);
    const text = (repos: string) =>
      `name: shrunk\ntargets:\n  - repos: [${repos}]\nscript: "sleep 2; echo x > X"\nconcurrency: 1\n`;
    await state.engine.fleets.apply(spec(text('svc-0, svc-1, svc-2')), { cwd: dir });
    const before = await table('shrunk');

    const preview = await state.engine.fleets.apply(spec(text('svc-0')), { cwd: dir, dryRun: true });
    // A target that names no repo could be hiding repos of the fleet: nothing is taken out then.
    const withUnusable = await state.engine.fleets.apply(spec(text('svc-0, nowhere')), { cwd: dir });
    const kept = await table('shrunk');
    const summary = await state.engine.fleets.apply(spec(text('svc-0')), { cwd: dir });
    const status = await settled('shrunk');

    const taken = [1, 2].map((i) => ({
      repo: `svc-${i}`,
      url: join(dir, `svc-${i}`),
      runId: before[i]!.runId,
      cancelled: true,
    }));
    expect(preview).toMatchObject({ dryRun: true, unchanged: 1, removed: taken });
    expect(withUnusable).toMatchObject({ unusable: [{ source: 'targets[0].repos[1]' }], removed: [] });
    expect(kept.map((row) => row.repo)).toEqual(['svc-0', 'svc-1', 'svc-2']);
    expect(summary).toMatchObject({ repos: 1, unchanged: 1, removed: taken });
    expect((await table('shrunk')).map((row) => row.repo)).toEqual(['svc-0']);
    expect(status).toMatchObject({ total: 1, counts: { succeeded: 1 } });
    for (const { runId } of taken) {
      expect(await state.engine.store.getRun(runId!)).toMatchObject({
        status: 'completed',
        conclusion: 'cancelled',
      });
    }
  });

  it('leaves the fleet as it was when applying its spec fails part-way', async () => {
    const dir = await newRepos(1);
    const text = (extra: string) => `name: kept\ntargets:\n  - repos: [svc-0]${extra}\nscript: "true"\n`;
    await state.engine.fleets.apply(spec(text('')), { cwd: dir });
    await settled('kept');
    await state.engine.fleets.pause('kept', 'held by a test');

    const failed = state.engine.fleets.apply(spec(text('\n  - file: missing.txt')), { cwd: dir });

    await expect(failed).rejects.toThrow('targets[1].file: cannot read');
    expect((await state.engine.fleets.status('kept')).fleet).toMatchObject({
      state: 'paused',
      stateReason: 'held by a test',
      spec: { targets: [{ repos: ['svc-0'] }] },
    });
  });

  it('applies a spec applied twice at once one after the other: one run and one position per repo', async () => {
    const dir = await newRepos(3);
    const fleet = spec('name: twice\ntargets:\n  - glob: "svc-*"\nscript: "echo x > X"\n');
    // The first apply's writes are slow, so the second would plan before they land.
    const upsertMany = state.engine.store.repos.upsertMany.bind(state.engine.store.repos);
    const slowFirst = vi
      .spyOn(state.engine.store.repos, 'upsertMany')
      .mockImplementationOnce(async (repos) => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return upsertMany(repos);
      });

    const summaries = await Promise.all([0, 1].map(() => state.engine.fleets.apply(fleet, { cwd: dir })));
    slowFirst.mockRestore();
    await settled('twice');
    const runs = await state.engine.store.db.query("SELECT id FROM runs WHERE trigger = 'fleet:twice'");

    expect(summaries.map(({ create, unchanged }) => [create, unchanged])).toEqual([
      [3, 0],
      [0, 3],
    ]);
    expect(runs).toHaveLength(3);
    expect((await table('twice')).map((row) => [row.position, row.repo])).toEqual([
      [1, 'svc-0'],
      [2, 'svc-1'],
      [3, 'svc-2'],
    ]);
  });

  it('retries the failed repos only', async () => {
    const dir = await newRepos(4, (i): Record<string, string> => (i % 2 ? { broken: 'yes\n' } : {}));
    const fleet = spec(
      'name: retry\ntargets:\n  - glob: "svc-*"\nscript: "test ! -e broken && echo ok > DONE"\n',
    );
    await state.engine.fleets.apply(fleet, { cwd: dir });
    const failed = await settled('retry');
    const before = await table('retry');
    for (const i of [1, 3]) {
      await gitIn(join(dir, `svc-${i}`), 'rm', '--quiet', 'broken');
      await gitIn(join(dir, `svc-${i}`), 'commit', '--quiet', '-m', 'fix');
    }

    const { retried } = await state.engine.fleets.retryFailed('retry', 'test');
    const status = await settled('retry');
    const after = await table('retry');

    expect(failed.counts).toMatchObject({ succeeded: 2, failed: 2 });
    expect(failed.failures).toHaveLength(1);
    expect(failed.failures[0]).toMatchObject({ count: 2, repos: ['svc-1', 'svc-3'] });
    expect(retried).toBe(2);
    expect(status.counts).toMatchObject({ succeeded: 4, failed: 0 });
    expect(after.map((row) => row.runId === before[row.position - 1]!.runId)).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('pauses the fleet when the failure rate passes stop_when, leaving the rest unstarted', async () => {
    const dir = await newRepos(8);
    const fleet = spec(
      'name: stopper\ntargets:\n  - glob: "svc-*"\nscript: "exit 3"\nconcurrency: 1\nstop_when: { failure_rate: 50%, after: 2 }\n',
    );

    await state.engine.fleets.apply(fleet, { cwd: dir });
    const status = await settled('stopper');

    expect(status.fleet.state).toBe('paused');
    expect(status.fleet.stateReason).toMatch(/stop_when: \d of \d runs failed/);
    expect(status.counts.failed).toBeGreaterThanOrEqual(2);
    expect(status.counts.failed).toBeLessThanOrEqual(3);
    expect(status.counts.queued).toBe(8 - status.counts.failed);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await state.engine.fleets.status('stopper')).counts.failed).toBe(status.counts.failed);
  });

  it('counts stop_when again from a resume, so the fleet it paused goes on', async () => {
    const dir = await newRepos(6, (i): Record<string, string> => (i < 2 ? { broken: 'yes\n' } : {}));
    const fleet = spec(
      'name: resumed\ntargets:\n  - glob: "svc-*"\nscript: "test ! -e broken && echo ok > DONE"\nconcurrency: 1\nstop_when: { failure_rate: 50%, after: 2 }\n',
    );
    await state.engine.fleets.apply(fleet, { cwd: dir });
    const paused = await settled('resumed');

    await state.engine.fleets.resume('resumed');
    const resumed = await settled('resumed');
    // Applying the same spec again judges only the runs it starts: none, so it is not paused.
    const again = await state.engine.fleets.apply(fleet, { cwd: dir });
    const reapplied = await settled('resumed');

    expect(paused.fleet).toMatchObject({
      state: 'paused',
      stateReason: expect.stringContaining('2 of 2 runs failed'),
    });
    expect(paused.counts).toMatchObject({ failed: 2, queued: 4 });
    expect(resumed.fleet).toMatchObject({ state: 'active', stateReason: null });
    expect(resumed.counts).toMatchObject({ failed: 2, succeeded: 4, queued: 0 });
    expect(again).toMatchObject({ unchanged: 6 });
    expect(reapplied.fleet.state).toBe('active');
  });

  it('pauses, resumes and cancels a fleet', async () => {
    const dir = await newRepos(4);
    await state.engine.fleets.apply(
      spec('name: ctl\ntargets:\n  - glob: "svc-*"\nscript: "sleep 1; date > D"\nconcurrency: 1\n'),
      {
        cwd: dir,
      },
    );

    await state.engine.fleets.pause('ctl');
    const paused = await settled('ctl');
    await state.engine.fleets.resume('ctl');
    await state.engine.fleets.pause('ctl');
    const { cancelled } = await state.engine.fleets.cancel('ctl', 'test');
    const final = await settled('ctl');
    const pausing = await state.engine.fleets.pause('ctl').catch((error: unknown) => error);
    const resuming = await state.engine.fleets.resume('ctl').catch((error: unknown) => error);

    expect(paused.fleet.state).toBe('paused');
    expect(paused.counts.succeeded + paused.counts.queued).toBe(4);
    expect(final.fleet.state).toBe('cancelled');
    expect(cancelled).toBeGreaterThan(0);
    expect(final.counts.queued + final.counts.running).toBe(0);
    expect(final.counts.cancelled).toBe(cancelled);
    // Only applying the spec starts a cancelled fleet again: a pause then a resume does not.
    for (const refused of [pausing, resuming]) {
      expect(refused).toMatchObject({
        code: 'CONFLICT',
        message: 'fleet ctl was cancelled',
        hint: 'apply its spec again to start the repos that did not finish',
      });
    }
    expect((await state.engine.fleets.status('ctl')).fleet).toMatchObject({
      state: 'cancelled',
      stateReason: 'cancelled by test',
    });
  });
});
