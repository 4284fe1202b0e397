import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomationService } from '../src/automations/service.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { automationQueries } from '../src/store/automations.ts';
import { automation } from './support/automations.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { gitIn, makeRepo } from './support/repos.ts';

/**
 * Two processes on one PostgreSQL database (two engines, as two servers would be): only one
 * drives a swarm's execution at a time; once it stops, the other continues it.
 */
describe('swarm drivers sharing a PostgreSQL database', () => {
  let dir: string;
  let first: Engine;
  let second: Engine;
  /** Opens another engine (another process, as far as the database can tell) on the database. */
  let open: (name: string) => Promise<Engine>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-swarm-drivers-'));
    const databaseUrl = await newPostgresDatabase();
    open = async (name: string) => {
      const engine = await Engine.open({
        ...engineConfig(join(dir, name), {}),
        databaseUrl,
        leaseMs: 3000,
        traceExecs: false,
      });
      await engine.startWorker();
      return engine;
    };
    first = await open('first');
    second = await open('second');
  }, 180_000);

  /** A new repo named after swarm `name`, and the spec of that swarm over it with `facets` (YAML lines). */
  async function swarmOn(name: string, facets: string[]) {
    const repo = join(dir, name);
    await makeRepo(repo, { 'README.md': `# ${name}\n` });
    const lines = [`name: ${name}`, `repo: ${repo}`, 'goal: Add files', 'facets:', ...facets];
    return { repo, spec: parseSwarmSpec(lines.join('\n')).spec! };
  }

  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses to drive an execution another process drives, and continues it once that one stopped', async () => {
    const { repo, spec } = await swarmOn('shared', [
      '  - { id: slow, script: "sleep 3 && echo s > slow.txt" }',
      '  - { id: fast, script: "echo f > fast.txt" }',
    ]);

    const driven = await first.swarms.start(spec, dir);
    const refused = await second.swarms.start(spec, dir).catch((error: Error & { code: string }) => error);
    await first.close();
    const continued = await second.swarms.start(spec, dir);
    let progress = await second.swarms.progress(continued.id);
    const lines = [...progress.lines];
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await second.swarms.progress(continued.id, progress.next);
      lines.push(...progress.lines);
    }
    const runs = await second.store.db.query('SELECT run_id FROM swarm_runs WHERE swarm_id = $1', [
      driven.id,
    ]);

    expect(refused).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(
        new RegExp(`^swarm shared on ${repo} is driven by another process \\(${first.worker.id}\\)$`),
      ),
    });
    expect(continued).toEqual({ ...driven, attached: false });
    expect(lines[0]).toBe('continuing where it stopped: 2 runs already started');
    expect(progress.result).toMatchObject({ id: driven.id, conclusion: 'success' });
    // Two facets and one converge run: nothing was started twice.
    expect(runs).toHaveLength(3);
    expect(await gitIn(repo, 'show', 'nightshift/swarm/shared:slow.txt')).toBe('s');
  }, 240_000);

  it('stops driving when another process cancelled the execution, and starts no converge run', async () => {
    const { spec } = await swarmOn('halted', [
      '  - { id: slow, script: "sleep 60" }',
      '  - { id: fast, script: "echo f > fast.txt" }',
    ]);
    const third = await open('third');
    try {
      const { id } = await second.swarms.start(spec, dir);
      const runsOf = () =>
        second.store.db.query<{ id: string; status: string; conclusion: string | null; started: boolean }>(
          "SELECT r.id, r.status, r.conclusion, r.started_at IS NOT NULL AS started FROM runs r WHERE r.trigger = 'swarm:halted' ORDER BY r.created_at",
        );
      // Once the fast facet succeeded, the drive would merge it and converge when the slow one ends.
      while (!(await runsOf()).some((run) => run.conclusion === 'success'))
        await new Promise((resolve) => setTimeout(resolve, 100));
      const { cancelled } = await third.swarms.cancel(id, 'bo');
      let progress = await second.swarms.progress(id);
      while (progress.driving) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        progress = await second.swarms.progress(id);
      }
      while ((await runsOf()).some((run) => run.status !== 'completed'))
        await new Promise((resolve) => setTimeout(resolve, 100));
      const runs = await runsOf();
      const recorded = await second.store.db.query('SELECT run_id FROM swarm_runs WHERE swarm_id = $1', [id]);

      expect(cancelled).toBe(1);
      expect(progress).toMatchObject({
        state: 'cancelled',
        reason: 'cancelled by bo',
        result: null,
        error: { code: 'CONFLICT', message: 'swarm halted was cancelled by bo' },
      });
      expect(recorded).toHaveLength(2);
      // The two facets, and at most a converge run cancelled as it was created, never started
      // (it is held until recorded on the execution, which refused it).
      expect(
        runs
          .map((run) => run.conclusion)
          .slice(0, 2)
          .sort(),
      ).toEqual(['cancelled', 'success']);
      expect(runs.slice(2).map((run) => [run.conclusion, run.started])).toEqual(
        runs.length > 2 ? [['cancelled', false]] : [],
      );
    } finally {
      await third.close();
    }
  }, 120_000);

  it('stops driving when another process took the execution over (its claim lapsed meanwhile)', async () => {
    const { spec } = await swarmOn('taken', ['  - { id: slow, script: "sleep 30" }']);

    const { id } = await second.swarms.start(spec, dir);
    // As if this process had missed its renewals and another one had claimed the execution.
    await second.store.db.query(
      "UPDATE swarms SET driver = 'wrk_other', driven_until = now() + interval '1 hour' WHERE id = $1",
      [id],
    );
    let progress = await second.swarms.progress(id);
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await second.swarms.progress(id);
    }

    expect(progress).toMatchObject({
      state: 'facets',
      result: null,
      error: { code: 'CONFLICT', message: `another process took over driving swarm execution ${id}` },
    });
    // The claim stays with the process that took it.
    const [row] = await second.store.db.query<{ driver: string }>('SELECT driver FROM swarms WHERE id = $1', [
      id,
    ]);
    expect(row!.driver).toBe('wrk_other');
    const [facet] = await second.store.db.query<{ run_id: string }>(
      'SELECT run_id FROM swarm_runs WHERE swarm_id = $1',
      [id],
    );
    await second.store.requestCancel(facet!.run_id, 'test');
  }, 120_000);

  it('skips an automation fire for a swarm another process drives', async () => {
    // The spec as a file, as an automation names it.
    const { repo } = await swarmOn('elsewhere', []);
    const file = join(dir, 'elsewhere.yml');
    await writeFile(
      file,
      `name: elsewhere\nrepo: ${repo}\ngoal: Add files\nfacets:\n  - { id: slow, script: "sleep 3 && echo s > slow.txt" }\n`,
    );
    const other = await open('other');
    try {
      const driven = await other.swarms.startFile(file);
      await automationQueries(second.store.db).upsert(
        automation({ name: 'elsewhere', trigger: { kind: 'manual' }, targets: [], swarm: file }),
        new Date(),
      );
      const service = new AutomationService({
        db: second.store.db,
        submit: (request) => second.submit(request),
        startSwarm: (path) => second.swarms.startFile(path),
        log: pino({ level: 'silent' }),
      });

      const fire = await service.runNow('elsewhere');

      expect(driven.attached).toBe(false);
      expect(fire).toMatchObject({
        outcome: 'skipped',
        reason: `swarm elsewhere on ${repo} is driven by another process (${other.worker.id}): it is still going on`,
      });
    } finally {
      await other.close();
    }
  }, 120_000);
});
