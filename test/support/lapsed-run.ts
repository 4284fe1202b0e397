import { parseFleetSpec } from '../../src/fleets/parse.ts';
import { fleetQueries } from '../../src/fleets/store.ts';
import { Store } from '../../src/store/index.ts';

/** The worker that held the run `lapsedRun` records, gone. */
export const GONE_WORKER = 'wrk_gone@elsewhere:4242';

/**
 * Records, in the PostgreSQL database at `url`, fleet `lapsing` with one run shown running
 * whose worker stopped: its lease ran out a second ago (as a worker killed with its host
 * leaves it). Returns the run's id.
 */
export async function lapsedRun(url: string): Promise<string> {
  const store = await Store.open({ url });
  try {
    const repo = await store.repos.upsert({ name: 'api', url: '/srv/api', defaultBranch: 'main' });
    const run = await store.createRun({
      repoId: repo.id,
      blueprint: 'script',
      blueprintSpec: { name: 'script', steps: [] },
      inputs: { script: 'sleep 600' },
      timeoutMs: 600_000,
    });
    const fleets = fleetQueries(store.db);
    await fleets.upsert(
      parseFleetSpec('name: lapsing\ntargets:\n  - repos: [/srv/api]\nscript: "sleep 600"\n').spec!,
    );
    await fleets.setRepoRuns('lapsing', [{ repoId: repo.id, inputHash: 'h', branch: 'b', runId: run.id }]);
    await store.db.query(
      `UPDATE run_queue SET lease_owner = $2, lease_expires_at = now() - interval '1 second' WHERE run_id = $1`,
      [run.id, GONE_WORKER],
    );
    await store.db.query("UPDATE runs SET status = 'running' WHERE id = $1", [run.id]);
    return run.id;
  } finally {
    await store.close();
  }
}
