import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { automationQueries } from '../../src/store/automations.ts';
import { Store } from '../../src/store/index.ts';
import { startScheduler } from '../../src/triggers/cron/index.ts';
import { automation, automationWorld, testClock, waitFor } from '../support/automations.ts';
import { waitForOutput } from '../support/cli.ts';
import { DATABASE_KINDS } from '../support/databases.ts';

const HOUR = { kind: 'cron', cron: '0 * * * *', timezone: 'UTC', overlap: 'skip' } as const;
const SLOT = new Date('2026-01-05T03:00:00Z');
/** Ticks only when the test says so. */
const MANUAL = { tickMs: 3_600_000 };
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

describe.each(DATABASE_KINDS)('cron fires left by a dead scheduler, on %s', (kind) => {
  let world: Awaited<ReturnType<typeof automationWorld>>;

  beforeAll(async () => {
    world = await automationWorld(kind);
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  beforeEach(async () => {
    await world.engine.store.db.exec('TRUNCATE automations, automation_fires, runs, run_queue CASCADE');
    await world.queries.upsert(
      automation({ name: 'nightly', trigger: HOUR, targets: [world.repos.api!, world.repos.web!] }),
      new Date('2026-01-05T02:30:00Z'),
    );
  });

  /** What a scheduler that died leaves: the slot claimed, the first target's run queued, nothing settled. */
  async function leftHalfway(leaseMs: number) {
    const fire = await world.queries.claimFire({
      automation: 'nightly',
      kind: 'cron',
      slot: SLOT,
      leaseMs,
      now: new Date('2026-01-05T03:00:01Z'),
    });
    const run = await world.engine.submit({
      script: 'true',
      repo: world.repos.api!,
      values: { automation: 'nightly', fire: fire!.id },
      trigger: 'cron:nightly',
    });
    return { fire: fire!, run };
  }

  const runsOf = async (fireId: string) =>
    (await world.engine.store.listRuns({ limit: 100 })).filter((r) => r.inputs.values?.fire === fireId);

  it('finishes a claimed fire once its lease ended: the runs it queued are kept, the missing ones started', async () => {
    const { fire, run } = await leftHalfway(1);
    const clock = testClock('2026-01-05T03:00:30Z');
    const other = kind === 'postgres' ? await Store.open({ url: world.databaseUrl }) : world.engine.store;
    const first = startScheduler(world.deps(clock), MANUAL);
    const second = startScheduler(
      { ...world.deps(clock), db: other.db, log: pino({ level: 'silent' }) },
      MANUAL,
    );

    await waitFor(async () => {
      await Promise.all([first.tick(), second.tick()]);
      return (await world.queries.history('nightly'))[0]?.outcome === 'started';
    }, 'the fire to be finished');
    await Promise.all([first.tick(), second.tick()]);
    await Promise.all([first.stop(), second.stop()]);
    if (other !== world.engine.store) await other.close();

    const fires = await world.queries.history('nightly');
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({ id: fire.id, outcome: 'started', leaseUntil: null });
    const runs = await runsOf(fire.id);
    expect(runs).toHaveLength(2);
    expect(fires[0]!.runIds.sort()).toEqual(runs.map((r) => r.id).sort());
    expect(fires[0]!.runIds).toContain(run.id);
    const repos = await Promise.all(
      runs.map(async (r) => (await world.engine.store.repos.get(r.repoId)).name),
    );
    expect(repos.sort()).toEqual(['api', 'web']);
  });

  it('leaves a fire alone while the scheduler holding it may still be alive (lease not ended)', async () => {
    const { fire } = await leftHalfway(600_000);
    const scheduler = startScheduler(world.deps(testClock('2026-01-05T03:00:30Z')), MANUAL);

    await scheduler.tick();
    await scheduler.tick();
    await scheduler.stop();

    expect((await world.queries.history('nightly'))[0]).toMatchObject({ id: fire.id, outcome: 'claimed' });
    expect(await runsOf(fire.id)).toHaveLength(1);
  });
});

describe('a scheduler killed with SIGKILL between claiming a fire and queuing its runs', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;

  beforeAll(async () => {
    world = await automationWorld('postgres');
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  it('has its fire finished by another scheduler, with each target run once', async () => {
    await world.queries.upsert(
      automation({ name: 'nightly', trigger: HOUR, targets: [world.repos.api!, world.repos.web!] }),
      new Date('2026-01-05T02:30:00Z'),
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(ROOT, 'test/support/cron-child.ts'),
        world.databaseUrl!,
        join(world.dir, 'child-home'),
        '2026-01-05T03:00:01Z',
        '3000',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let fireId: string;
    try {
      fireId = (await waitForOutput(child, /halfway (fire_\S+)/, 120_000))[1]!;
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(await automationQueries(world.engine.store.db).history('nightly')).toMatchObject([
      { id: fireId, outcome: 'claimed' },
    ]);

    const clock = testClock('2026-01-05T03:00:40Z');
    const scheduler = startScheduler({ ...world.deps(clock), fireLeaseMs: 3000 }, MANUAL);
    const fire = await waitFor(
      async () => {
        await scheduler.tick();
        const [latest] = await world.queries.history('nightly');
        return latest?.outcome === 'started' ? latest : undefined;
      },
      'the fire to be taken over',
      120_000,
    );
    await scheduler.tick();
    await scheduler.stop();

    expect(fire.id).toBe(fireId);
    expect(await world.queries.history('nightly')).toHaveLength(1);
    const runs = (await world.engine.store.listRuns({ limit: 100 })).filter(
      (r) => r.inputs.values?.fire === fireId,
    );
    const repos = await Promise.all(
      runs.map(async (r) => (await world.engine.store.repos.get(r.repoId)).name),
    );
    expect(repos.sort()).toEqual(['api', 'web']);
    expect(fire.runIds.sort()).toEqual(runs.map((r) => r.id).sort());
  }, 300_000);
});
