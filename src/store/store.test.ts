import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DATABASE_KINDS, openTestStore, useTestStore } from '../../test/support/databases.ts';
import { RunFencedError, type Store } from './index.ts';
import { migrate } from './migrate.ts';

describe.each(DATABASE_KINDS)('store on %s', (kind) => {
  const testStore = useTestStore(kind);
  let store: Store;
  let repoId: string;

  afterEach(() => {
    vi.restoreAllMocks();
  });

  beforeEach(async () => {
    store = testStore();
    repoId = (await store.repos.upsert({ name: 'demo', url: '/srv/demo', defaultBranch: 'main' })).id;
  });

  function newRun(overrides: { repoId?: string; priority?: number; held?: boolean } = {}) {
    return store.createRun({
      repoId: overrides.repoId ?? repoId,
      blueprint: 'script',
      blueprintSpec: { steps: [] },
      inputs: { script: 'true' },
      timeoutMs: 60_000,
      priority: overrides.priority,
      held: overrides.held,
    });
  }

  it('applies migrations once and is a no-op the second time', async () => {
    const again = await migrate(store.db);

    expect(again).toEqual([]);
  });

  it('returns the same repo when a location is registered twice', async () => {
    const again = await store.repos.upsert({ name: 'demo', url: '/srv/demo', defaultBranch: 'trunk' });

    expect(again.id).toBe(repoId);
    expect(again.defaultBranch).toBe('trunk');
  });

  it('creates a queued run with its first events numbered from 1', async () => {
    const run = await newRun();

    const events = await store.events(run.id);

    expect(run.status).toBe('queued');
    expect(run.conclusion).toBeNull();
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'run.created'],
      [2, 'run.status'],
    ]);
  });

  it('creates many runs in one call, in order, each numbered from 1 and queued or held as asked', async () => {
    const other = (await store.repos.upsert({ name: 'other', url: '/srv/other', defaultBranch: 'main' })).id;
    const spec = { repoId, blueprint: 'script', blueprintSpec: { steps: [] }, timeoutMs: 60_000 };

    const runs = await store.createRuns([
      { ...spec, inputs: { script: 'echo 1' } },
      { ...spec, repoId: other, inputs: { script: 'echo 2' }, held: true, trigger: 'fleet:f' },
      { ...spec, inputs: { script: 'echo 3' }, priority: 5 },
    ]);

    expect(runs.map((run) => [run.inputs.script, run.repoId, run.priority])).toEqual([
      ['echo 1', repoId, 0],
      ['echo 2', other, 0],
      ['echo 3', repoId, 5],
    ]);
    const created = await store.events(runs[1]!.id);
    expect(created.map((e) => [e.seq, e.type, e.data])).toEqual([
      [1, 'run.created', { blueprint: 'script', repo: 'other', trigger: 'fleet:f', continues: null }],
      [2, 'run.status', { status: 'queued' }],
    ]);
    // The held run is not claimable; the others are, highest priority first.
    const claimed = [];
    for (let i = 0; i < 3; i++)
      claimed.push((await store.claimRun({ workerId: 'w', leaseMs: 30_000 }))?.run.id);
    expect(claimed).toEqual([runs[2]!.id, runs[0]!.id, undefined]);
  });

  it('creates none of the runs when one names a repo that does not exist', async () => {
    const spec = { blueprint: 'script', blueprintSpec: { steps: [] }, inputs: {}, timeoutMs: 60_000 };

    const error = await store
      .createRuns([
        { ...spec, repoId },
        { ...spec, repoId: 'repo_missing' },
      ])
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('repo_missing') });
    expect(await store.listRuns()).toEqual([]);
  });

  it('finds a run by a unique suffix of its id', async () => {
    const run = await newRun();

    const found = await store.getRun(run.id.slice(-8));

    expect(found.id).toBe(run.id);
  });

  it('numbers concurrent appends without gaps or duplicates', async () => {
    const run = await newRun();

    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendEvents(run.id, [
          { type: 'step.output', data: { step: 's', stream: 'stdout', text: `a${i}` } },
          { type: 'step.output', data: { step: 's', stream: 'stdout', text: `b${i}` } },
        ]),
      ),
    );
    const seqs = (await store.events(run.id)).map((e) => e.seq);

    expect(seqs).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
  });

  it('lets a reader resume after any sequence number', async () => {
    const run = await newRun();
    await store.appendEvents(run.id, [{ type: 'agent.message', data: { text: 'hello' } }]);

    const rest = await store.events(run.id, 2);

    expect(rest.map((e) => e.seq)).toEqual([3]);
    expect(rest[0]).toMatchObject({ type: 'agent.message', data: { text: 'hello' } });
  });

  it('keeps the time an event happened when it is written later, and sets the status a run.status names', async () => {
    const run = await newRun();
    const happened = new Date(Date.now() - 60_000);

    await store.appendEvents(run.id, [
      { type: 'agent.message', data: { text: 'earlier' }, at: happened },
      { type: 'run.status', data: { status: 'running', baseCommit: 'a'.repeat(40), branch: 'nightshift/x' } },
    ]);

    const [message, status] = await store.events(run.id, 2);
    expect(message!.at.getTime()).toBe(happened.getTime());
    expect(status!.at.getTime()).toBeGreaterThan(happened.getTime());
    expect(await store.getRun(run.id)).toMatchObject({
      status: 'running',
      baseCommit: 'a'.repeat(40),
      branch: 'nightshift/x',
    });
  });

  it('claims the highest priority, then the oldest run, and each run once', async () => {
    const first = await newRun();
    const urgent = await newRun({ priority: 10 });

    const a = await store.claimRun({ workerId: 'w1', leaseMs: 30_000 });
    const b = await store.claimRun({ workerId: 'w2', leaseMs: 30_000 });
    const c = await store.claimRun({ workerId: 'w3', leaseMs: 30_000 });

    expect(a?.run.id).toBe(urgent.id);
    expect(b?.run.id).toBe(first.id);
    expect(c).toBeNull();
    expect(a?.run.status).toBe('provisioning');
    expect(a?.claim.attempt).toBe(1);
  });

  it('finds nothing to claim without a transaction, and claims once a run is released', async () => {
    const held = await newRun({ held: true });
    await newRun();
    const leased = await store.claimRun({ workerId: 'w1', leaseMs: 30_000 });
    const transaction = vi.spyOn(store.db, 'transaction');

    // Only a held run and a leased one are queued.
    expect(await store.claimRun({ workerId: 'w2', leaseMs: 30_000 })).toBeNull();
    expect(transaction).not.toHaveBeenCalled();
    await store.db.query('UPDATE run_queue SET available_at = now() WHERE run_id = $1', [held.id]);
    const released = await store.claimRun({ workerId: 'w2', leaseMs: 30_000 });

    expect(leased).not.toBeNull();
    expect(released?.run.id).toBe(held.id);
    expect(transaction).toHaveBeenCalledTimes(1);
  });

  it('takes the claim lock only where transactions can run side by side', async () => {
    await newRun();
    const statements: string[] = [];
    const transaction = store.db.transaction.bind(store.db);
    vi.spyOn(store.db, 'transaction').mockImplementation((fn) =>
      transaction((tx) =>
        fn({
          ...tx,
          query: (sql, params) => {
            statements.push(sql);
            return tx.query(sql, params);
          },
        }),
      ),
    );

    expect(await store.claimRun({ workerId: 'w', leaseMs: 30_000 })).not.toBeNull();

    expect(store.db.serialized === true).toBe(kind === 'pglite');
    expect(statements.some((sql) => sql.includes('pg_advisory_xact_lock'))).toBe(kind === 'postgres');
  });

  it('never hands one run to two concurrent claimers', async () => {
    for (let i = 0; i < 10; i++) await newRun();

    const claims = await Promise.all(
      Array.from({ length: 15 }, (_, i) => store.claimRun({ workerId: `w${i}`, leaseMs: 30_000 })),
    );
    const ids = claims.filter((c) => c !== null).map((c) => c.run.id);

    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  it('respects the global and per-repo concurrency limits', async () => {
    const other = await store.repos.upsert({ name: 'other', url: '/srv/other', defaultBranch: 'main' });
    await newRun();
    await newRun();
    const otherRun = await newRun({ repoId: other.id });
    await newRun({ repoId: other.id });

    const first = await store.claimRun({ workerId: 'w', leaseMs: 30_000, maxActivePerRepo: 1, maxActive: 2 });
    const second = await store.claimRun({
      workerId: 'w',
      leaseMs: 30_000,
      maxActivePerRepo: 1,
      maxActive: 2,
    });
    const third = await store.claimRun({ workerId: 'w', leaseMs: 30_000, maxActivePerRepo: 1, maxActive: 5 });

    expect(first?.run.repoId).toBe(repoId);
    expect(second?.run.id).toBe(otherRun.id);
    expect(third).toBeNull();
  });

  it('re-claims a run whose lease expired and records the new attempt', async () => {
    const run = await newRun();
    await store.claimRun({ workerId: 'dead', leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const again = await store.claimRun({ workerId: 'alive', leaseMs: 30_000 });
    const events = await store.events(run.id);

    expect(again?.run.id).toBe(run.id);
    expect(again?.claim.attempt).toBe(2);
    expect(again?.claim.previousOwner).toBe('dead');
    expect(events.find((e) => e.type === 'run.attempt')?.data).toEqual({
      attempt: 2,
      reason: 'the lease of worker dead expired',
    });
  });

  it('fences off writes from an attempt that lost the run', async () => {
    const run = await newRun();
    await store.claimRun({ workerId: 'slow', leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.claimRun({ workerId: 'fast', leaseMs: 30_000 });

    const stale = store.appendEvents(run.id, [{ type: 'agent.message', data: { text: 'late' } }], 1);

    await expect(stale).rejects.toBeInstanceOf(RunFencedError);
    expect(await store.renewLease(run.id, 'slow', 30_000)).toBe(false);
    expect(await store.renewLease(run.id, 'fast', 30_000)).toBe(true);
  });

  it('completes a run once, removing it from the queue', async () => {
    const run = await newRun();
    const claimed = await store.claimRun({ workerId: 'w', leaseMs: 30_000 });

    const first = await store.completeRun(run.id, 'success', null, claimed!.claim.attempt);
    const second = await store.completeRun(run.id, 'failure', 'late', claimed!.claim.attempt);
    const after = await store.getRun(run.id);

    expect([first, second]).toEqual([true, false]);
    expect(after).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(after.finishedAt).toBeInstanceOf(Date);
    expect(await store.queueDepth()).toBe(0);
  });

  it('cancels a queued run at once and flags a running one', async () => {
    const running = await newRun();
    const queued = await newRun();
    await store.claimRun({ workerId: 'w', leaseMs: 30_000 });

    const a = await store.requestCancel(queued.id, 'ana');
    const b = await store.requestCancel(running.id, 'ana');

    expect(a).toMatchObject({ status: 'completed', conclusion: 'cancelled', reason: 'cancelled by ana' });
    expect(b.status).toBe('provisioning');
    expect(await store.cancelRequested([running.id, queued.id])).toContain(running.id);
  });

  it('lists runs newest first with a cursor and filters', async () => {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await newRun());

    const page1 = await store.listRuns({ limit: 2 });
    const page2 = await store.listRuns({ limit: 2, before: page1.at(-1)!.id });
    const none = await store.listRuns({ status: 'completed' });

    expect(page1.map((r) => r.id)).toEqual([runs[4]!.id, runs[3]!.id]);
    expect(page2.map((r) => r.id)).toEqual([runs[2]!.id, runs[1]!.id]);
    expect(none).toEqual([]);
  });

  it('keeps one change per run when publish is retried', async () => {
    const run = await newRun();
    const change = {
      runId: run.id,
      repoId,
      branch: 'nightshift/x',
      baseCommit: 'a'.repeat(40),
      headCommit: 'b'.repeat(40),
      title: 't',
      body: 'b',
      diffstat: { files: 1, insertions: 1, deletions: 0, perFile: [] },
      diff: 'diff',
      state: 'local',
      url: null,
    };

    await store.recordChange(change);
    await store.recordChange({ ...change, headCommit: 'c'.repeat(40) });

    expect((await store.changes.forRun(run.id))?.headCommit).toBe('c'.repeat(40));
  });

  it('wakes a follower when an event is appended', async () => {
    const run = await newRun();

    const waiting = store.waitForEvents(run.id, 2);
    await store.appendEvents(run.id, [{ type: 'agent.message', data: { text: 'hi' } }]);

    expect((await waiting).map((e) => e.seq)).toEqual([3]);
  });

  it('wakes a follower at once for an event written while it was reading, without waiting for the poll', async () => {
    const slow = await openTestStore(kind, 60_000);
    try {
      const repo = await slow.repos.upsert({ name: 'r', url: '/srv/r', defaultBranch: 'main' });
      const run = await slow.createRun({
        repoId: repo.id,
        blueprint: 'script',
        blueprintSpec: {},
        inputs: {},
        timeoutMs: 1000,
      });
      const started = Date.now();

      const waiting = slow.waitForEvents(run.id, 2);
      const appended = slow.appendEvents(run.id, [{ type: 'agent.message', data: { text: 'hi' } }]);
      const [events] = await Promise.all([waiting, appended]);

      expect(events.map((e) => e.seq)).toEqual([3]);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await slow.close();
    }
  });
});
