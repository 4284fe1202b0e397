import { NightshiftError } from '../core/errors.ts';
import { type Db, lockForTransaction } from './db.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/** Same number in every process, so concurrent starts against one server migrate once. */
const MIGRATION_LOCK = 7_245_000;

/** Applies the migrations this database has not seen yet, each in its own transaction. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await lockForTransaction(tx, MIGRATION_LOCK);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new NightshiftError(
        'STORE_FAILED',
        `the database is at schema version ${newest}, newer than this Nightshift knows (${known})`,
        { hint: 'upgrade Nightshift; migrations are forward-only' },
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    return done;
  });
}
