import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automationQueries } from '../../src/store/automations.ts';
import { Store } from '../../src/store/index.ts';
import { startScheduler } from '../../src/triggers/cron/index.ts';
import { automation, automationWorld, testClock } from '../support/automations.ts';
import { DATABASE_KINDS } from '../support/databases.ts';

const HOUR = { kind: 'cron', cron: '0 * * * *', timezone: 'UTC', overlap: 'skip' } as const;
/** Ticks only when the test says so. */
const MANUAL = { tickMs: 3_600_000 };

describe.each(DATABASE_KINDS)('cron scheduler on %s', (kind) => {
  let world: Awaited<ReturnType<typeof automationWorld>>;

  beforeAll(async () => {
    world = await automationWorld(kind);
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  async function create(
    name: string,
    trigger = HOUR as typeof HOUR | Record<string, unknown>,
    at = '2026-01-05T02:30:00Z',
    extra = {},
  ) {
    await world.queries.upsert(
      automation({ name, trigger: trigger as typeof HOUR, targets: [world.repos.api!], ...extra }),
      new Date(at),
    );
  }

  it('fires once when a slot is due, as the service account, and not again in the same slot', async () => {
    await create('hourly');
    const clock = testClock('2026-01-05T02:59:59Z');
    const scheduler = startScheduler(world.deps(clock), MANUAL);

    await scheduler.tick();
    clock.set('2026-01-05T03:00:01Z');
    await scheduler.tick();
    await scheduler.tick();
    await scheduler.stop();

    const fires = await world.queries.history('hourly');
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({ kind: 'cron', outcome: 'started', catchUp: false });
    expect(fires[0]!.slot!.toISOString()).toBe('2026-01-05T03:00:00.000Z');
    const run = await world.engine.store.getRun(fires[0]!.runIds[0]!);
    expect(run).toMatchObject({ trigger: 'cron:hourly', author: 'automation-hourly', status: 'queued' });
    expect(run.inputs.values).toMatchObject({ automation: 'hourly', fire: fires[0]!.id });
  });

  it('never fires a slot twice across a restart or with two schedulers on one database', async () => {
    await create('twice');
    const clock = testClock('2026-01-05T03:00:02Z');
    const first = startScheduler(world.deps(clock), MANUAL);
    await first.tick();
    await first.stop();
    await world.engine.store.completeRun(
      (await world.queries.history('twice'))[0]!.runIds[0]!,
      'success',
      null,
    );
    const other = kind === 'postgres' ? await Store.open({ url: world.databaseUrl }) : world.engine.store;
    const log = pino({ level: 'silent' });

    const restarted = startScheduler(world.deps(clock), MANUAL);
    await restarted.tick();
    clock.set('2026-01-05T04:00:01Z');
    const parallel = startScheduler({ ...world.deps(clock), db: other.db, log }, MANUAL);
    await Promise.all([restarted.tick(), parallel.tick(), restarted.tick(), parallel.tick()]);
    await Promise.all([restarted.stop(), parallel.stop()]);
    if (other !== world.engine.store) await other.close();

    const slots = (await automationQueries(world.engine.store.db).history('twice')).map((f) =>
      f.slot!.toISOString(),
    );
    expect(slots.sort()).toEqual(['2026-01-05T03:00:00.000Z', '2026-01-05T04:00:00.000Z']);
  });

  it('catches up once, flagged, for slots missed while no scheduler ran', async () => {
    await create('missed');
    const clock = testClock('2026-01-05T07:30:00Z');

    const scheduler = startScheduler(world.deps(clock), MANUAL);
    await scheduler.tick();
    await scheduler.tick();
    await scheduler.stop();

    const fires = await world.queries.history('missed');
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({ catchUp: true, outcome: 'started' });
    expect(fires[0]!.slot!.toISOString()).toBe('2026-01-05T07:00:00.000Z');
    expect(fires[0]!.reason).toContain('5 slot(s) missed');
  });

  it('does not fire for slots before the automation existed or while it was disabled', async () => {
    await create('fresh', HOUR, '2026-01-05T05:10:00Z');
    const clock = testClock('2026-01-05T05:20:00Z');
    const scheduler = startScheduler(world.deps(clock), MANUAL);
    await scheduler.tick();
    await world.queries.setEnabled('fresh', false, clock.now());
    clock.set('2026-01-05T08:00:05Z');
    await scheduler.tick();
    await world.queries.setEnabled('fresh', true, clock.now());
    await scheduler.tick();
    const before = await world.queries.history('fresh');
    clock.set('2026-01-05T09:00:05Z');
    await scheduler.tick();
    await scheduler.stop();

    expect(before).toEqual([]);
    expect((await world.queries.history('fresh')).map((f) => f.slot!.toISOString())).toEqual([
      '2026-01-05T09:00:00.000Z',
    ]);
  });

  it('skips a slot while the previous run is active (overlap skip)', async () => {
    await create('skipper');
    const clock = testClock('2026-01-05T03:00:01Z');
    const scheduler = startScheduler(world.deps(clock), MANUAL);
    await scheduler.tick();

    clock.set('2026-01-05T04:00:01Z');
    await scheduler.tick();
    await scheduler.stop();

    const [second, first] = await world.queries.history('skipper');
    expect(first).toMatchObject({ outcome: 'started' });
    expect(second).toMatchObject({ outcome: 'skipped', runIds: [] });
    expect(second!.reason).toContain('still running');
  });

  it('queues a slot while the previous run is active and starts it when that run ends (overlap queue)', async () => {
    await create('queuer', { ...HOUR, overlap: 'queue' });
    const clock = testClock('2026-01-05T03:00:01Z');
    const scheduler = startScheduler(world.deps(clock), MANUAL);
    await scheduler.tick();
    clock.set('2026-01-05T04:00:01Z');
    await scheduler.tick();
    clock.set('2026-01-05T05:00:01Z');
    await scheduler.tick();
    const waiting = await world.queries.history('queuer');

    const firstRun = waiting.find((f) => f.outcome === 'started')!.runIds[0]!;
    await world.engine.store.completeRun(firstRun, 'success', null);
    await scheduler.tick();
    await scheduler.stop();

    expect(waiting.map((f) => f.outcome)).toEqual(['skipped', 'waiting', 'started']);
    const [, queued] = await world.queries.history('queuer');
    expect(queued).toMatchObject({ outcome: 'started' });
    expect(queued!.slot!.toISOString()).toBe('2026-01-05T04:00:00.000Z');
    expect(queued!.runIds).toHaveLength(1);
  });

  it('reads the expression in the automation time zone', async () => {
    await create('berlin', { ...HOUR, cron: '0 9 * * *', timezone: 'Europe/Berlin' });
    const clock = testClock('2026-01-05T07:59:59Z');
    const scheduler = startScheduler(world.deps(clock), MANUAL);
    await scheduler.tick();
    clock.set('2026-01-05T08:00:01Z');
    await scheduler.tick();
    await scheduler.stop();

    const fires = await world.queries.history('berlin');
    expect(fires.map((f) => f.slot!.toISOString())).toEqual(['2026-01-05T08:00:00.000Z']);
  });
});
