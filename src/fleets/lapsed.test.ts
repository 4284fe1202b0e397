import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, useTestStore } from '../../test/support/databases.ts';
import { leaseOf } from '../store/queue.ts';
import { parseFleetSpec } from './parse.ts';
import { fleetQueries } from './store.ts';

/** Runs shown running whose worker stopped: their lease lapsed, and no worker took them over yet. */
describe.each(DATABASE_KINDS)('runs whose worker stopped (%s)', (kind) => {
  const store = useTestStore(kind);

  it("counts a fleet's runs whose lease lapsed, and tells who holds a run's lease", async () => {
    const { spec, errors } = parseFleetSpec('name: lapsing\ntargets:\n  - repos: [/srv/a]\nscript: "true"\n');
    expect(errors).toEqual([]);
    const queries = fleetQueries(store().db);
    await queries.upsert(spec!);
    const runs = [];
    for (const name of ['live', 'dead', 'queued']) {
      const repo = await store().repos.upsert({ name, url: `/srv/${name}`, defaultBranch: 'main' });
      const run = await store().createRun({
        repoId: repo.id,
        blueprint: 'script',
        blueprintSpec: {},
        inputs: {},
        timeoutMs: 1000,
      });
      await queries.setRepoRuns('lapsing', [{ repoId: repo.id, inputHash: 'h', branch: 'b', runId: run.id }]);
      runs.push(run.id);
    }
    const [live, dead, queued] = runs as [string, string, string];
    const lease = (runId: string, worker: string, interval: string) =>
      store().db.query(
        `UPDATE run_queue SET lease_owner = $2, lease_expires_at = now() + $3::interval WHERE run_id = $1`,
        [runId, worker, interval],
      );
    await lease(live, 'wrk_live', '1 minute');
    await lease(dead, 'wrk_dead', '-1 second');

    expect(await queries.lapsed('lapsing')).toBe(1);
    expect(await leaseOf(store().db, dead)).toMatchObject({ worker: 'wrk_dead', lapsed: true });
    expect(await leaseOf(store().db, live)).toMatchObject({ worker: 'wrk_live', lapsed: false });
    expect(await leaseOf(store().db, queued)).toBeNull();
    expect((await leaseOf(store().db, live))!.expiresAt).toBeInstanceOf(Date);
  });
});
