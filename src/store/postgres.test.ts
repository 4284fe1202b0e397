import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { holdAcrossProcesses, newPostgresDatabase } from '../../test/support/databases.ts';
import { gate } from '../../test/support/gate.ts';
import { Store } from './index.ts';

describe('store on PostgreSQL', () => {
  let url: string;
  let store: Store;

  beforeAll(async () => {
    url = await newPostgresDatabase();
    store = await Store.open({ url });
  });

  afterAll(async () => {
    await store?.close();
  });

  it('survives the server closing its idle connections, and reconnects', async () => {
    // Several idle connections in the pool.
    await Promise.all(Array.from({ length: 5 }, () => store.db.query('SELECT pg_sleep(0.05)')));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();

    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    await admin.end();
    // A stale connection may still be handed out once before its close is read: retry.
    const rows = await vi.waitFor(() => store.db.query<{ one: number }>('SELECT 1 AS one'), {
      timeout: 20_000,
      interval: 100,
    });

    expect(killed.rowCount).toBeGreaterThanOrEqual(5);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('runs work under one name in one process at a time, and lets go when the work throws', async () => {
    const other = await Store.open({ url });
    const order: string[] = [];
    const started = gate();
    const finish = gate();
    const waiting = gate();
    let waited = 0;
    const first = store.db.acrossProcesses('fleet tidy', async () => {
      started.open();
      await finish.promise;
      order.push('first');
      throw new Error('the first apply failed');
    });
    await started.promise;

    try {
      const second = other.db.acrossProcesses(
        'fleet tidy',
        async () => void order.push('second'),
        () => {
          waited++;
          waiting.open();
        },
      );
      await other.db.acrossProcesses('fleet other', async () => void order.push('other'));
      // The first lets go only once the second has found the name held.
      await waiting.promise;
      finish.open();
      await expect(first).rejects.toThrow('the first apply failed');
      await second;
    } finally {
      finish.open();
      await other.close();
    }

    expect(waited).toBe(1);
    expect(order).toEqual(['other', 'first', 'second']);
  });

  it('lets go of a name when the connection holding it dies (its process ended)', async () => {
    const other = await Store.open({ url });
    const holder = await holdAcrossProcesses(store.db, 'fleet stuck');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let ran = false;

    try {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      await other.db.acrossProcesses('fleet stuck', async () => {
        ran = true;
      });
    } finally {
      await holder.release();
      await admin.end();
      await other.close();
    }

    expect(ran).toBe(true);
  });
});
