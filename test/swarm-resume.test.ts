import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarmDetails } from '../src/cli/render.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
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
  async function open(name: string): Promise<Engine> {
    const engine = await Engine.open({
      ...engineConfig(join(dir, name), {}),
      databaseUrl,
      leaseMs: 3000,
      traceExecs: false,
    });
    engines.push(engine);
    await engine.startWorker();
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
    const driven = await first.swarms.start(durable.spec, dir, { durable: true });
    const left = await first.swarms.start(commanded.spec, dir);
    await first.close();
    if (kind === 'pglite') {
      // As if the process had been killed: its claim still stands, but the home's lock says it is gone.
      const again = await open('first');
      await again.store.db.query(
        "UPDATE swarms SET driver = 'wrk_gone', driven_until = now() + interval '1 hour' WHERE id = $1",
        [driven.id],
      );
      await again.close();
    }
    const second = await open(kind === 'pglite' ? 'first' : 'second');
    const before = await second.swarms.list();
    const status = (id: string) => stripVTControlCharacters(swarmDetails(before.find((s) => s.id === id)!));

    const taken = await second.swarms.resume();
    let progress = await second.swarms.progress(driven.id);
    const lines = [...progress.lines];
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      progress = await second.swarms.progress(driven.id, progress.next);
      lines.push(...progress.lines);
    }
    const runs = await second.store.db.query('SELECT run_id FROM swarm_runs WHERE swarm_id = $1', [
      driven.id,
    ]);
    const waiting = await second.swarms.progress(left.id);

    // Before it was taken up, `swarm status` said which of them a server would take up.
    expect(status(driven.id)).toContain(
      'driven by  no process now: a server takes it up when one runs, or `nightshift swarm SPEC` continues it',
    );
    expect(status(left.id)).toContain('driven by  no process now: `nightshift swarm SPEC` continues it');
    expect(taken).toEqual([driven.id]);
    expect(lines[0]).toBe('continuing where it stopped: 2 runs already started');
    expect(progress).toMatchObject({ state: 'completed', result: { conclusion: 'success' } });
    // Two facets and one converge run: nothing was started twice.
    expect(runs).toHaveLength(3);
    expect(await gitIn(durable.repo, 'show', 'nightshift/swarm/durable:slow.txt')).toBe('s');
    // The command's swarm waits for its spec to run again.
    expect(waiting).toMatchObject({ state: 'facets', driving: false });
    expect(await second.swarms.resume()).toEqual([]);
  }, 240_000);
});
