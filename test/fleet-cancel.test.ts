import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import { makeRepo, tempDir } from './support/repos.ts';

const sh = promisify(execFile);
const REPOS = 205;

/** Cancelling a fleet reaches every one of its runs, however many are running at once. */
describe('fleet cancel', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let engine: Engine;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    // No worker: the runs stay where the test puts them.
    engine = await Engine.open({ ...engineConfig(join(dir, 'home'), {}), traceExecs: false });
    await makeRepo(join(dir, 'template'), { 'README.md': '# svc\n' });
    await sh(
      'sh',
      ['-c', `mkdir repos && for i in $(seq 1 ${REPOS}); do cp -r template repos/svc-$i; done`],
      {
        cwd: dir,
      },
    );
  }, 180_000);

  afterAll(async () => {
    await engine?.close();
    await cleanup?.();
  });

  it('cancels every running run, past the first page of 200', async () => {
    const spec = parseFleetSpec(
      'name: big\ntargets:\n  - glob: "repos/*"\nscript: "true"\nconcurrency: 1000\n',
    );
    await engine.fleets.apply(spec.spec!, { cwd: dir });
    // As if as many workers had claimed one run each.
    await engine.store.db.query("UPDATE runs SET status = 'running' WHERE trigger = 'fleet:big'");

    const { fleet, cancelled } = await engine.fleets.cancel('big', 'ana');

    const [asked] = await engine.store.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM runs WHERE trigger = 'fleet:big' AND cancel_requested_at IS NOT NULL",
    );
    expect(fleet.state).toBe('cancelled');
    expect(cancelled).toBe(REPOS);
    expect(asked!.n).toBe(REPOS);
  }, 180_000);
});
