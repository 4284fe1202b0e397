import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newPostgresDatabase } from '../../test/support/databases.ts';
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
});
