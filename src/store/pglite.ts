import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { NightshiftError } from '../core/errors.ts';
import type { Db, Queryable } from './db.ts';
import { preparedStatements } from './pglite-statements.ts';

/** The embedded database. Only one process may open a directory at a time (see the home lock). */
export async function openPglite(dir?: string): Promise<Db> {
  if (dir) mkdirSync(dir, { recursive: true });
  let pg: PGlite;
  try {
    const created = dir !== undefined && !existsSync(join(dir, 'PG_VERSION'));
    pg = new PGlite(dir);
    await pg.waitReady;
    if (created) {
      // Creating a database keeps initdb's memory (about 360 MiB) for as long as the instance
      // lives; opening it again (a quarter of a second, once per home) lets that go.
      await pg.close();
      pg = new PGlite(dir);
      await pg.waitReady;
    }
  } catch (error) {
    throw new NightshiftError('STORE_FAILED', `cannot open the embedded database in ${dir}`, {
      hint: 'another process may be using it, or the directory is damaged; check the Nightshift home',
      cause: error,
    });
  }
  const prepared = preparedStatements(pg);
  // PGlite runs one query or transaction at a time (the home lock keeps other processes out).
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>, inTransaction: boolean): Queryable => ({
    serialized: true,
    async query<T>(sql: string, params?: unknown[]) {
      if (prepared) return prepared.query<T>(sql, params ?? [], inTransaction);
      const result = await q.query<T>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pg, false),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx, true))),
    acrossProcesses: (_name, fn) => fn(),
    close: () => pg.close(),
  };
}
