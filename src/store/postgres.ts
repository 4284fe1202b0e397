import pg from 'pg';
import { NightshiftError } from '../core/errors.ts';
import type { Db, Queryable } from './db.ts';

/** A PostgreSQL server through a connection pool. */
export async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection the server closes (restart, failover, pg_terminate_backend, shutdown
  // while the pool is ending) is an 'error' event on the pool; pg drops the connection and the
  // next query opens a new one, but with no listener Node would end the whole process.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new NightshiftError(
      'STORE_FAILED',
      `cannot connect to PostgreSQL at ${redact(url)}: ${String(error)}`,
      {
        hint: 'check DATABASE_URL and that the server is running and reachable',
        cause: error,
      },
    );
  }
  const wrap = (q: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      const result = await q.query(sql, params);
      return result.rows as T[];
    },
    async exec(sql: string) {
      await q.query(sql);
    },
  });
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async acrossProcesses(name, fn, onWait) {
      // A connection of its own, outside the pool: the work it guards uses the pool, which
      // locks held on pooled connections could use up.
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      await client.connect().catch((error: unknown) => {
        throw new NightshiftError(
          'STORE_FAILED',
          `cannot connect to PostgreSQL at ${redact(url)} to lock ${name}`,
          {
            hint: 'check DATABASE_URL and that the server is running and reachable',
            cause: error,
          },
        );
      });
      const key = [NAMED_LOCKS, name];
      try {
        const [tried] = (await client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS held', key))
          .rows;
        if (!tried.held) {
          onWait?.();
          await client.query('SELECT pg_advisory_lock($1, hashtext($2))', key);
        }
        return await fn();
      } finally {
        // Closing the connection lets go of its lock.
        await client.end().catch(() => {});
      }
    },
    close: () => pool.end(),
  };
}

/**
 * The first key of `acrossProcesses`' locks (the second is a hash of their name): two-key
 * advisory locks, apart from the one-key transaction locks of `lockForTransaction`.
 */
const NAMED_LOCKS = 7_411_001;

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
