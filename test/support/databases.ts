import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { Store } from '../../src/store/index.ts';
import { gate } from './gate.ts';
import { createDatabase } from './postgres.ts';

export type DatabaseKind = 'pglite' | 'postgres';
export const DATABASE_KINDS: DatabaseKind[] = ['pglite', 'postgres'];

/** A URL to a new empty database on the suite's PostgreSQL server. */
export function newPostgresDatabase(): Promise<string> {
  return createDatabase(inject('postgresUrl'));
}

/** A fresh, migrated store on the given kind of database (PGlite in memory, or a new PostgreSQL database). */
export async function openTestStore(kind: DatabaseKind, pollMs = 50): Promise<Store> {
  if (kind === 'pglite') return Store.open({ pollMs });
  return Store.open({ url: await newPostgresDatabase(), pollMs });
}

/**
 * One store for the enclosing `describe`, emptied before each test (opening PGlite takes
 * seconds, emptying it milliseconds).
 */
export function useTestStore(kind: DatabaseKind): () => Store {
  let store: Store | undefined;
  beforeAll(async () => {
    store = await openTestStore(kind);
  });
  beforeEach(async () => {
    await store!.db.exec('TRUNCATE repos, runs, run_events, changes, run_queue, api_tokens CASCADE');
  });
  afterAll(async () => {
    await store?.close();
  });
  return () => store!;
}

/**
 * Holds the lock `name` through `db.acrossProcesses` (as an apply in another process would)
 * until `release`, which resolves once it is let go. Resolves once the lock is held.
 */
export async function holdAcrossProcesses(db: Db, name: string): Promise<{ release(): Promise<void> }> {
  const held = gate();
  const finish = gate();
  const holding = db.acrossProcesses(name, async () => {
    held.open();
    await finish.promise;
  });
  await held.promise;
  return {
    async release() {
      finish.open();
      await holding;
    },
  };
}
