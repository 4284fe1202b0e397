import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScheduler } from '../../src/triggers/cron/index.ts';
import { automation, automationWorld, testClock } from '../support/automations.ts';

/**
 * A fleet automation: each cron fire applies its fleet spec again, so a repo added to the
 * fleet's targets gets a run while the repos done are not redone.
 */
describe('a cron automation applying a fleet spec', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;

  beforeAll(async () => {
    world = await automationWorld('pglite', ['api', 'web']);
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  /**
   * Automation `name` applying fleet spec `spec` on `cron` (UTC), made at `since`, with a
   * scheduler ticked by hand: `fire(at)` ticks it at that time and returns the latest fire.
   */
  async function cronFleet(name: string, cron: string, spec: string, since: string) {
    await world.queries.upsert(
      automation({
        name,
        trigger: { kind: 'cron', cron, timezone: 'UTC', overlap: 'skip' },
        targets: [],
        fleet: spec,
      }),
      new Date(since),
    );
    const clock = testClock(since);
    const scheduler = startScheduler(world.deps(clock), { tickMs: 3_600_000 });
    const fire = async (at: string) => {
      clock.set(at);
      await scheduler.tick();
      return (await world.queries.history(name))[0]!;
    };
    return { scheduler, fire };
  }

  it('queues runs for new repos only on each fire, skips a fire with nothing to do, and fails one with a broken spec', async () => {
    const spec = join(world.dir, 'deps.yml');
    const targets = join(world.dir, 'repos.txt');
    await writeFile(targets, `${world.repos.api}\n`);
    await writeFile(spec, 'name: deps\ntargets:\n  - file: repos.txt\nscript: "echo bumped > deps.txt"\n');
    const { scheduler, fire } = await cronFleet('weekly-deps', '0 6 * * 1', spec, '2026-01-04T00:00:00Z');
    const finish = async (runIds: string[]) => {
      for (const id of runIds) await world.engine.store.completeRun(id, 'success', null);
    };

    try {
      const first = await fire('2026-01-05T06:00:01Z');
      const [run] = await Promise.all(first.runIds.map((id) => world.engine.store.getRun(id)));
      await finish(first.runIds);
      await writeFile(targets, `${world.repos.api}\n${world.repos.web}\n`);
      const second = await fire('2026-01-12T06:00:01Z');
      await finish(second.runIds);
      const third = await fire('2026-01-19T06:00:01Z');
      await writeFile(spec, 'name: deps\ntargets: [\n');
      const broken = await fire('2026-01-26T06:00:01Z');
      const status = await world.engine.fleets.status('deps');

      expect(first).toMatchObject({
        outcome: 'started',
        reason: 'fleet deps: 1 new, 0 changed, 0 unchanged',
      });
      expect(run).toMatchObject({ trigger: 'fleet:deps', author: 'automation-weekly-deps' });
      expect(second).toMatchObject({
        outcome: 'started',
        reason: 'fleet deps: 1 new, 0 changed, 1 unchanged',
      });
      expect(second.runIds).toHaveLength(1);
      expect((await world.engine.store.getRun(second.runIds[0]!)).repoId).not.toBe(run!.repoId);
      expect(third).toMatchObject({
        outcome: 'skipped',
        runIds: [],
        reason: 'fleet deps: 0 new, 0 changed, 2 unchanged',
      });
      expect(broken.outcome).toBe('failed');
      expect(broken.reason).toContain(`${spec} is not valid:\n  ${spec}:3:1 `);
      expect(status.total).toBe(2);
    } finally {
      await scheduler.stop();
    }
  });

  it('leaves a fleet someone paused or cancelled as it is, saying how to start it again', async () => {
    const spec = join(world.dir, 'held.yml');
    const text = (word: string) =>
      `name: held\ntargets:\n  - repos: [${world.repos.api}]\nscript: "echo ${word} > held.txt"\n`;
    await writeFile(spec, text('one'));
    const { scheduler, fire } = await cronFleet('daily-held', '0 6 * * *', spec, '2026-02-01T00:00:00Z');

    try {
      const first = await fire('2026-02-01T06:00:01Z');
      for (const id of first.runIds) await world.engine.store.completeRun(id, 'success', null);
      await world.engine.fleets.pause('held');
      // Its inputs changed: a fire would rerun the repo, but the fleet is paused.
      await writeFile(spec, text('two'));
      const whilePaused = await fire('2026-02-02T06:00:01Z');
      const paused = await world.engine.fleets.status('held');
      await world.engine.fleets.cancel('held', 'ops');
      const whileCancelled = await fire('2026-02-03T06:00:01Z');
      const cancelled = await world.engine.fleets.status('held');

      expect(whilePaused).toMatchObject({
        outcome: 'skipped',
        runIds: [],
        reason:
          'fleet held is paused (paused by a person), so it was not applied (`nightshift fleet resume held` resumes it; the automation applies it again from its next fire)',
      });
      expect(paused.fleet.state).toBe('paused');
      expect(paused.total).toBe(1);
      expect(whileCancelled).toMatchObject({
        outcome: 'skipped',
        reason: `fleet held is cancelled (cancelled by ops), so it was not applied (\`nightshift fleet apply ${spec}\` starts it again; the automation applies it from its next fire after that)`,
      });
      expect(cancelled.fleet.state).toBe('cancelled');
    } finally {
      await scheduler.stop();
    }
  });
});
