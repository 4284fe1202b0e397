import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarmDetails } from '../src/cli/render.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { SWARM_DRIVE_ATTEMPTS } from '../src/store/backoff.ts';
import { type DatabaseKind, newPostgresDatabase } from './support/databases.ts';
import { gitIn, makeRepo } from './support/repos.ts';

/**
 * A swarm a server drives (`durable`) outlives it: once the process driving it is gone, a
 * server takes it up (`SwarmDrives.resume`) and drives it to its end, starting no run twice.
 * A swarm a command drove itself waits for its spec to run again.
 */
describe.each<DatabaseKind>(['pglite', 'postgres'])('swarms taken up again (%s)', (kind) => {
  let dir: string;
  let databaseUrl: string | undefined;
  const engines: Engine[] = [];

  /** Opens an engine with a worker on home `name` (or the shared PostgreSQL database), as a server would be. */
  async function open(name: string, options: { worker?: boolean } = {}): Promise<Engine> {
    const engine = await Engine.open({
      ...engineConfig(join(dir, name), {}),
      databaseUrl,
      leaseMs: 3000,
      traceExecs: false,
    });
    engines.push(engine);
    if (options.worker !== false) await engine.startWorker();
    return engine;
  }

  /** A new repo named after swarm `name`, and the spec of that swarm over it with `facets` (YAML lines). */
  async function swarmOn(name: string, facets: string[]) {
    const repo = join(dir, name);
    await makeRepo(repo, { 'README.md': `# ${name}\n` });
    const lines = [`name: ${name}`, `repo: ${repo}`, 'goal: Add files', 'facets:', ...facets];
    return { repo, spec: parseSwarmSpec(lines.join('\n')).spec! };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `nightshift-swarm-resume-${kind}-`));
    if (kind === 'postgres') databaseUrl = await newPostgresDatabase();
  }, 180_000);

  afterAll(async () => {
    for (const engine of engines) await engine.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes up the durable swarm whose driver is gone, and only it', async () => {
    const first = await open('first');
    const durable = await swarmOn('durable', [
      '  - { id: slow, script: "sleep 2 && echo s > slow.txt" }',
      '  - { id: fast, script: "echo f > fast.txt" }',
    ]);
    const commanded = await swarmOn('commanded', [
      '  - { id: only, script: "sleep 2 && echo o > only.txt" }',
    ]);
    // Started twice at once (two automation fires): one drive, which the other follows.
    const [driven, twice] = await Promise.all(
      [0, 1].map(() => first.swarms.start(durable.spec, dir, { durable: true })),
    );
    const left = await first.swarms.start(commanded.spec, dir);
    await first.close();
    if (kind === 'pglite') {
      // As if the process had been killed: its claim still stands, but the home's lock says it is gone.
      const again = await open('first');
      await again.store.db.query(
        "UPDATE swarms SET driver = 'wrk_gone', driven_until = now() + interval '1 hour' WHERE id = $1",
        [driven!.id],
      );
      await again.close();
    }
    const second = await open(kind === 'pglite' ? 'first' : 'second');
    const before = await second.swarms.list();
    const status = (id: string) => stripVTControlCharacters(swarmDetails(before.find((s) => s.id === id)!));

    const taken = await second.swarms.resume();
    // Its spec run again (a command following it): the same spec as the one taken up from the
    // database, whatever the order of its keys there, so it follows the drive.
    const followed = await second.swarms.start(durable.spec, dir, { durable: true });
    let progress = await second.swarms.progress(driven!.id);
    const lines = [...progress.lines];
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await second.swarms.progress(driven!.id, progress.next);
      lines.push(...progress.lines);
    }
    const runs = await second.store.db.query('SELECT run_id FROM swarm_runs WHERE swarm_id = $1', [
      driven!.id,
    ]);
    const waiting = await second.swarms.progress(left.id);

    // Before it was taken up, `swarm status` said which of them a server would take up.
    expect(status(driven!.id)).toContain(
      'driven by  no process now: a server takes it up when one runs, or `nightshift swarm SPEC` continues it',
    );
    expect(status(left.id)).toContain('driven by  no process now: `nightshift swarm SPEC` continues it');
    expect([driven!.attached, twice!.attached].sort()).toEqual([false, true]);
    expect(twice!.id).toBe(driven!.id);
    expect(taken).toEqual([driven!.id]);
    expect(followed).toEqual({ id: driven!.id, name: 'durable', attached: true });
    expect(lines[0]).toBe('continuing where it stopped: 2 runs already started');
    expect(progress).toMatchObject({ state: 'completed', result: { conclusion: 'success' } });
    // Two facets and one converge run: nothing was started twice.
    expect(runs).toHaveLength(3);
    expect(await gitIn(durable.repo, 'show', 'nightshift/swarm/durable:slow.txt')).toBe('s');
    // The command's swarm waits for its spec to run again.
    expect(waiting).toMatchObject({ state: 'facets', driving: false });
    expect(await second.swarms.resume()).toEqual([]);
  }, 240_000);

  /**
   * Closes the engines earlier tests left open: on the shared PostgreSQL database their
   * workers would claim this test's runs.
   */
  async function closeEarlier(): Promise<void> {
    for (const engine of engines.splice(0)) await engine.close();
  }

  /** Drives execution `id` here to its end, and returns how it stands then. */
  async function driveToEnd(engine: Engine, id: string) {
    let progress = await engine.swarms.progress(id);
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await engine.swarms.progress(id, progress.next);
    }
    return progress;
  }

  it('takes up a swarm that cannot start after a backoff, gives up after its attempts, and goes on when its spec runs again', async () => {
    await closeEarlier();
    const before = await open('failing');
    const { repo, spec } = await swarmOn('moved', ['  - { id: only, script: "echo o > only.txt" }']);
    const { id } = await before.swarms.start(spec, dir, { durable: true });
    await before.close();
    await rename(repo, `${repo}-away`);
    // No worker until the repo is back: its facet run, queued, would fail without it.
    const server = await open('failing', { worker: false });
    const drives = server.swarms;
    const db = server.store.db;
    const failure = async () => (await server.swarms.list({ id }))[0]!.driveFailure;
    const status = async () => stripVTControlCharacters(swarmDetails((await server.swarms.list({ id }))[0]!));
    const dueNow = () =>
      db.query("UPDATE swarms SET next_drive_at = now() WHERE id = $1 AND next_drive_at <> 'infinity'", [id]);

    const first = await drives.resume();
    const failed = await failure();
    const said = await status();
    const soon = await drives.resume();
    const notYet = await failure();
    for (let i = 1; i < SWARM_DRIVE_ATTEMPTS + 2; i++) {
      await dueNow();
      await drives.resume();
    }
    const givenUp = await failure();
    const saidGivenUp = await status();
    await rename(`${repo}-away`, repo);
    await drives.resume();
    const stillGivenUp = await failure();
    // Someone runs the spec again: it goes on from where it stood.
    await server.startWorker();
    const again = await drives.start(spec, dir, { durable: true });
    const ended = await driveToEnd(server, id);

    expect(first).toEqual([]);
    expect(failed).toEqual({
      message: expect.stringContaining(`${repo} does not exist`),
      failures: 1,
      nextAttemptAt: expect.any(Date),
    });
    expect(failed!.nextAttemptAt!.getTime() - Date.now()).toBeGreaterThan(50_000);
    expect(said).toMatch(
      /failing {4}its drive failed once \(last: .* does not exist.*\); a server takes it up again in 1m, or `nightshift swarm SPEC` continues it now/,
    );
    // Not tried again before its backoff.
    expect(soon).toEqual([]);
    expect(notYet).toMatchObject({ failures: 1 });
    expect(givenUp).toMatchObject({ failures: SWARM_DRIVE_ATTEMPTS, nextAttemptAt: null });
    expect(saidGivenUp).toContain(`its drive failed ${SWARM_DRIVE_ATTEMPTS} times (last: `);
    expect(saidGivenUp).toContain('servers gave up on it: `nightshift swarm SPEC` continues it');
    expect(stillGivenUp).toMatchObject({ failures: SWARM_DRIVE_ATTEMPTS });
    expect(again).toMatchObject({ id, attached: false });
    expect(ended).toMatchObject({ state: 'completed', result: { conclusion: 'success' } });
    expect(await failure()).toBeNull();
  }, 240_000);

  it('records a drive that failed after it started, and takes the swarm up again after the backoff', async () => {
    await closeEarlier();
    const server = await open('broken');
    const { repo, spec } = await swarmOn('broken', ['  - { id: only, script: "echo o > only.txt" }']);
    const db = server.store.db;
    // The database refuses to record the swarm's next step (as an outage would fail it).
    await db.query(`CREATE FUNCTION refuse_converging() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$`);
    await db.query(`CREATE TRIGGER refuse_converging BEFORE UPDATE OF state ON swarms FOR EACH ROW
      WHEN (NEW.state = 'converging') EXECUTE FUNCTION refuse_converging()`);
    try {
      const { id } = await server.swarms.start(spec, dir, { durable: true });
      const stopped = await driveToEnd(server, id);
      const [failed] = await server.swarms.list({ id });
      await db.query('DROP TRIGGER refuse_converging ON swarms');
      const early = await server.swarms.resume();
      await db.query('UPDATE swarms SET next_drive_at = now() WHERE id = $1', [id]);
      const taken = await server.swarms.resume();
      const ended = await driveToEnd(server, id);

      expect(stopped).toMatchObject({
        state: 'facets',
        error: { message: expect.stringContaining('the disk is full') },
      });
      expect(failed!.driveFailure).toMatchObject({
        failures: 1,
        message: expect.stringContaining('the disk is full'),
      });
      expect(early).toEqual([]);
      expect(taken).toEqual([id]);
      expect(ended).toMatchObject({ state: 'completed', result: { conclusion: 'success' } });
      expect(await gitIn(repo, 'show', 'nightshift/swarm/broken:only.txt')).toBe('o');
    } finally {
      await db.query('DROP TRIGGER IF EXISTS refuse_converging ON swarms');
      await db.query('DROP FUNCTION IF EXISTS refuse_converging()');
    }
  }, 240_000);
});
