import { describe, expect, it } from 'vitest';
import { recordedChange } from '../../test/support/changes.ts';
import { DATABASE_KINDS, useTestStore } from '../../test/support/databases.ts';
import { parseFleetSpec } from './parse.ts';
import { returnOpenSlot, tickFleet } from './rollout.ts';
import { fleetQueries } from './store.ts';

/** Which deferred changes a rollout step hands out to be opened, and what a failed opening leaves. */
describe.each(DATABASE_KINDS)('opening deferred changes (%s)', (kind) => {
  const store = useTestStore(kind);
  let fleets = 0;

  /** A fleet over `repos` repos, each with a change waiting for the rollout to open it. */
  async function waitingFleet(repos: number, rollout = '') {
    const name = `f${fleets++}`;
    const { spec, errors } = parseFleetSpec(
      `name: ${name}\ntargets:\n  - repos: [/srv/x]\nscript: "true"\n${rollout}\nchange: { draft: true }\n`,
    );
    expect(errors).toEqual([]);
    const queries = fleetQueries(store().db);
    await queries.upsert(spec!);
    const changes: string[] = [];
    for (let i = 0; i < repos; i++) {
      const change = await recordedChange(store(), {
        repo: `acme/svc-${i}`,
        branch: `nightshift/fleet/${name}`,
        head: 'c'.repeat(40),
        state: 'pending',
        url: null,
      });
      await queries.setRepoRuns(name, [
        { repoId: change.repoId, inputHash: 'h', branch: change.branch, runId: change.runId },
      ]);
      changes.push(change.id);
    }
    // Released and run already: a rollout step only hands out the changes.
    await store().db.query('UPDATE fleet_repos SET held = false WHERE fleet = $1', [name]);
    await concluded(name, 'success');
    return { name, changes, queries, fleet: () => queries.get(name) };
  }

  /** Marks the fleet's runs completed with `conclusion`, or back to running (null). */
  async function concluded(fleet: string, conclusion: string | null) {
    await store().db.query(
      `UPDATE runs SET status = $2, conclusion = $3 WHERE id IN (SELECT run_id FROM fleet_repos WHERE fleet = $1)`,
      [fleet, conclusion ? 'completed' : 'running', conclusion],
    );
  }

  const step = async (fleet: Awaited<ReturnType<typeof waitingFleet>>) =>
    (await tickFleet(store().db, await fleet.fleet())).open.map((c) => [c.changeId, c.attempt, c.draft]);

  it('claims each waiting change for one attempt, and again only once its backoff passed (doubling)', async () => {
    const fleet = await waitingFleet(2);
    const [a, b] = fleet.changes;

    expect(await step(fleet)).toEqual([
      [a, 1, true],
      [b, 1, true],
    ]);
    expect(await step(fleet)).toEqual([]);

    await store().db.query('UPDATE changes SET next_open_at = now() WHERE id = $1', [a]);

    expect(await step(fleet)).toEqual([[a, 2, true]]);
    const [row] = await store().db.query<{ wait: number }>(
      'SELECT extract(epoch FROM next_open_at - now())::integer AS wait FROM changes WHERE id = $1',
      [a],
    );
    expect(row!.wait).toBeGreaterThan(100);
    expect(row!.wait).toBeLessThanOrEqual(120);
  });

  it('opens no change before its run succeeded: not while it runs, not after it was cancelled', async () => {
    const fleet = await waitingFleet(1);
    const [a] = fleet.changes;

    await concluded(fleet.name, null);
    expect(await step(fleet)).toEqual([]);
    await concluded(fleet.name, 'cancelled');
    expect(await step(fleet)).toEqual([]);

    await concluded(fleet.name, 'success');
    expect(await step(fleet)).toEqual([[a, 1, true]]);
  });

  it('with a rate, an attempt that opened nothing gives its slot to the next waiting change', async () => {
    const fleet = await waitingFleet(2, 'rollout: { rate: 1/hour }');
    const [a, b] = fleet.changes;

    expect(await step(fleet)).toEqual([[a, 1, true]]);
    expect(await step(fleet)).toEqual([]);

    await returnOpenSlot(store().db, await fleet.fleet());

    expect(await step(fleet)).toEqual([[b, 1, true]]);
    expect(await step(fleet)).toEqual([]);
  });

  it('groups failed openings by message whatever the repo, and forgets one once the change opened', async () => {
    const fleet = await waitingFleet(3);
    const [a, b, c] = fleet.changes as [string, string, string];
    await step(fleet);
    const refused = (repo: string) => `GitHub API POST /repos/acme/${repo}/pulls answered 502: Server Error`;

    await store().changes.openFailed(a, refused('svc-0'));
    await store().changes.openFailed(b, refused('svc-1'));
    await store().changes.openFailed(c, 'connect ECONNREFUSED 127.0.0.1:9');

    expect(await fleet.queries.openFailures(fleet.name)).toEqual([
      {
        reason: 'GitHub API POST /repos/OWNER/NAME/pulls answered 502: Server Error',
        count: 2,
        repos: ['acme/svc-0', 'acme/svc-1'],
      },
      { reason: 'connect ECONNREFUSED 127.0.0.1:9', count: 1, repos: ['acme/svc-2'] },
    ]);

    await store().changes.opened(a, 'open', 'https://github.com/acme/svc-0/pull/1');

    expect((await fleet.queries.openFailures(fleet.name))[0]).toMatchObject({
      count: 1,
      repos: ['acme/svc-1'],
    });
    const rows = await fleet.queries.repoPage(fleet.name);
    expect(rows.map((row) => row.change?.openFailure?.message ?? null)).toEqual([
      null,
      refused('svc-1'),
      'connect ECONNREFUSED 127.0.0.1:9',
    ]);
    expect(rows[1]!.change!.openFailure).toMatchObject({ attempts: 1, at: expect.any(Date) });
  });
});
