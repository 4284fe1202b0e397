/** What both database drivers offer: parameterized queries and transactions, in one SQL dialect. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * True when the database runs one statement or transaction at a time (the embedded database:
   * one connection in one process), so that no lock taken in a transaction would ever wait.
   */
  readonly serialized?: boolean;
}

/**
 * Takes the transaction-scoped advisory lock `key` in `tx`, so transactions that take it run
 * one after another (across processes on PostgreSQL). A database that runs one transaction at
 * a time needs no lock: there it is not taken, which saves a round trip.
 */
export async function lockForTransaction(tx: Queryable, key: number): Promise<void> {
  if (tx.serialized) return;
  await tx.query('SELECT pg_advisory_xact_lock($1)', [key]);
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in a transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while no other process runs one under the same `name`: work of several
   * transactions that must not interleave with the same work elsewhere (applying one fleet).
   * Calls `onWait` first when another process holds it, then waits. Only other processes are
   * kept out: callers in this one order themselves. On PostgreSQL a session lock on a
   * connection of its own, which the server lets go should this process die; the embedded
   * database is opened by one process only, so there `fn` runs at once.
   */
  acrossProcesses<T>(name: string, fn: () => Promise<T>, onWait?: () => void): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A `postgres://` URL; when set, PostgreSQL is used instead of the embedded database. */
  url?: string;
  /** Directory of the embedded database (PGlite); in memory when omitted. */
  dir?: string;
}

/** Opens PostgreSQL when `url` is given, else the embedded PGlite database. */
export async function openDatabase(options: DatabaseOptions): Promise<Db> {
  if (options.url) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(options.url);
  }
  const { openPglite } = await import('./pglite.ts');
  return openPglite(options.dir);
}
