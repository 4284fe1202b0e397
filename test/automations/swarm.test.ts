import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomationService } from '../../src/automations/service.ts';
import { parseSwarmSpec, readSpec } from '../../src/fleets/parse.ts';
import { automation, automationWorld, testClock, waitFor } from '../support/automations.ts';
import { gitIn } from '../support/repos.ts';

/**
 * A swarm automation: each fire starts its swarm spec in the process that owns the home, which
 * drives it (durable: a server takes it up again after a restart); a fire while it goes on is
 * skipped; a command without a server, which would stop driving it when it ends, refuses.
 */
describe('an automation starting a swarm spec', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;

  beforeAll(async () => {
    world = await automationWorld('pglite', ['api'], { worker: true });
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  it('starts the swarm, skips a fire while it goes on, starts it anew once it ended, and fails with a broken spec', async () => {
    const spec = join(world.dir, 'swarms', 'files.yml');
    await mkdir(join(world.dir, 'swarms'));
    await writeFile(
      spec,
      [
        'name: files',
        'repo: ../api',
        'goal: Add two files',
        'facets:',
        '  - { id: slow, script: "sleep 2 && echo s > slow.txt" }',
        '  - { id: fast, script: "echo f > fast.txt" }',
        '',
      ].join('\n'),
    );
    await world.queries.upsert(
      automation({ name: 'nightly-files', trigger: { kind: 'manual' }, targets: [], swarm: spec }),
      new Date(),
    );
    const service = new AutomationService(world.deps(testClock('2026-01-05T06:00:00Z')));
    const ended = async (id: string) =>
      waitFor(
        async () => {
          const progress = await world.engine.swarms.progress(id);
          return progress.driving ? undefined : progress;
        },
        `swarm ${id} to end`,
        120_000,
      );

    const first = await service.runNow('nightly-files');
    const id = /swm_[0-9a-z]+/.exec(first.reason ?? '')?.[0];
    const again = await service.runNow('nightly-files');
    const done = await ended(id!);
    const durable = await world.engine.store.db.query<{ durable: boolean }>(
      'SELECT durable FROM swarms WHERE id = $1',
      [id],
    );
    const next = await service.runNow('nightly-files');
    const nextId = /swm_[0-9a-z]+/.exec(next.reason ?? '')?.[0];
    await ended(nextId!);
    // A command without a server (no one to drive the swarm after it) refuses.
    const commanded = await new AutomationService({
      ...world.deps(testClock('2026-01-05T07:00:00Z')),
      startSwarm: undefined,
    }).runNow('nightly-files');
    await writeFile(spec, 'name: files\nrepo: [\n');
    const broken = await service.runNow('nightly-files');

    expect(first).toMatchObject({
      outcome: 'started',
      runIds: [],
      reason: `swarm files: ${id} (nightshift swarm status files)`,
    });
    expect(again).toMatchObject({ outcome: 'skipped', reason: `swarm files (${id}) is still going on` });
    expect(done).toMatchObject({ state: 'completed', result: { conclusion: 'success' } });
    expect(durable).toEqual([{ durable: true }]);
    expect(await gitIn(world.repos.api!, 'show', 'nightshift/swarm/files:slow.txt')).toBe('s');
    expect(next.outcome).toBe('started');
    expect(nextId).not.toBe(id);
    expect(commanded).toMatchObject({
      outcome: 'failed',
      reason: expect.stringContaining('this process cannot start swarms'),
    });
    expect(broken.outcome).toBe('failed');
    expect(broken.reason).toContain(`${spec} is not valid:\n  ${spec}:3:1 `);
  }, 300_000);

  it('does not start again a swarm someone cancelled, until its spec is run by hand', async () => {
    const spec = join(world.dir, 'swarms', 'cancelled.yml');
    await mkdir(join(world.dir, 'swarms'), { recursive: true });
    await writeFile(
      spec,
      'name: halted\nrepo: ../api\ngoal: Add a file\nfacets:\n  - { id: slow, script: "sleep 5 && echo s > halted.txt" }\n',
    );
    await world.queries.upsert(
      automation({ name: 'nightly-halted', trigger: { kind: 'manual' }, targets: [], swarm: spec }),
      new Date(),
    );
    const service = new AutomationService(world.deps(testClock('2026-01-06T06:00:00Z')));
    const idIn = (reason: string | null) => /swm_[0-9a-z]+/.exec(reason ?? '')?.[0];

    const first = await service.runNow('nightly-halted');
    await world.engine.swarms.cancel(idIn(first.reason)!, 'ada');
    const refused = await service.runNow('nightly-halted');
    // As `nightshift swarm SPEC` starts it.
    const { spec: parsed, dir } = await readSpec(spec, parseSwarmSpec);
    const byHand = await world.engine.swarms.start(parsed, dir);
    const afterHand = await service.runNow('nightly-halted');

    expect(first.outcome).toBe('started');
    expect(refused).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(
        /^swarm halted was cancelled \(cancelled by ada\), so it was not started \(`nightshift swarm .*cancelled\.yml` starts it again/,
      ),
    });
    expect(byHand.id).not.toBe(idIn(first.reason));
    // The execution started by hand goes on: the automation follows it, as with any swarm.
    expect(afterHand).toMatchObject({
      outcome: 'skipped',
      reason: `swarm halted (${byHand.id}) is still going on`,
    });
    await world.engine.swarms.cancel(byHand.id, 'ada');
  }, 300_000);
});
