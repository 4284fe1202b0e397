import { type PGlite, parse, protocol } from '@electric-sql/pglite';

/** The parts of PGlite's instance this module uses beyond its documented API (checked at open). */
interface PgliteInternals {
  /** Holds the query lock (one protocol exchange at a time), as `query` does. */
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  /** Holds the transaction lock, as `query` does outside a transaction. */
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Parameter serializers by type oid (arrays included), as `query` uses them. */
  serializers: Record<number, (value: unknown) => string>;
  /** Result parsers by type oid. */
  parsers: Parameters<typeof parse.parseResults>[1];
}

/** Most statements kept prepared; the least recently used one is closed beyond this. */
const CAPACITY = 256;

/** A prepared statement's cached plan no longer fits (a table it reads changed shape). */
const CACHED_PLAN_CHANGED = /cached plan must not change result type/;

const { serialize } = protocol;

/**
 * Runs parameterized statements as named prepared statements, each parsed once per database
 * session: PGlite's `query` parses, describes and plans every call again, which costs more CPU
 * than executing most of Nightshift's statements (measured in docs/benchmarks.md). Results,
 * parameter serialization and locking are PGlite's own. Returns null when the PGlite in use
 * lacks the internals this needs, so the caller keeps `query`.
 */
export function preparedStatements(pglite: PGlite): PreparedStatements | null {
  const pg = pglite as PGlite & Partial<PgliteInternals>;
  if (
    typeof pg._runExclusiveQuery !== 'function' ||
    typeof pg._runExclusiveTransaction !== 'function' ||
    typeof pg.serializers !== 'object' ||
    typeof pg.parsers !== 'object'
  ) {
    return null;
  }
  return new PreparedStatements(pg as PGlite & PgliteInternals);
}

interface Statement {
  name: string;
  /** The parameters' type oids, as the server inferred them. */
  types: number[];
}

export class PreparedStatements {
  /** By SQL text, least recently used first. */
  private readonly statements = new Map<string, Statement>();
  /** Names forgotten in a failed transaction, closed at the next statement outside one. */
  private readonly stale: string[] = [];
  private made = 0;

  constructor(private readonly pg: PGlite & PgliteInternals) {}

  /**
   * Runs `sql` with `params`, inside the caller's transaction when `inTransaction` (whose lock
   * the caller holds), else alone.
   */
  query<T>(sql: string, params: readonly unknown[], inTransaction: boolean): Promise<T[]> {
    const { pg } = this;
    const run = () => pg._runExclusiveQuery(() => this.run<T>(sql, params, inTransaction));
    if (inTransaction) return run();
    return pg._runExclusiveTransaction(async () => {
      const rows = await run();
      await pg.syncToFs();
      return rows;
    });
  }

  /** How many statements are prepared now. */
  get size(): number {
    return this.statements.size;
  }

  private async run<T>(
    sql: string,
    params: readonly unknown[],
    inTransaction: boolean,
    again = false,
  ): Promise<T[]> {
    if (!inTransaction) while (this.stale.length > 0) await this.closeNamed(this.stale.pop()!);
    const statement = await this.prepare(sql);
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.pg.serializers[statement.types[i]!];
      return serializer ? serializer(value) : String(value);
    });
    let messages: Parameters<typeof parse.parseResults>[0];
    try {
      ({ messages } = await this.pg.execProtocol(
        Buffer.concat([
          serialize.bind({ statement: statement.name, values: values as string[] }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]),
        { syncToFs: false },
      ));
    } catch (error) {
      if (CACHED_PLAN_CHANGED.test((error as Error).message)) {
        // Outside a transaction it is prepared again at once. A transaction it failed can run
        // nothing more: the statement is forgotten (closed later) and prepared on its next use.
        if (inTransaction) {
          this.stale.push(statement.name);
          this.statements.delete(sql);
        } else if (!again) {
          await this.close(sql);
          return this.run(sql, params, inTransaction, true);
        }
      }
      throw withQuery(error, sql, params);
    }
    return (parse.parseResults(messages, this.pg.parsers)[0]?.rows ?? []) as T[];
  }

  private async prepare(sql: string): Promise<Statement> {
    const known = this.statements.get(sql);
    if (known) {
      this.statements.delete(sql);
      this.statements.set(sql, known);
      return known;
    }
    const oldest = this.statements.keys().next();
    if (this.statements.size >= CAPACITY && !oldest.done) await this.close(oldest.value);
    const name = `nightshift_${++this.made}`;
    let messages: Parameters<typeof parse.parseDescribeStatementResults>[0];
    try {
      ({ messages } = await this.pg.execProtocol(
        Buffer.concat([
          serialize.parse({ name, text: sql }),
          serialize.describe({ type: 'S', name }),
          serialize.sync(),
        ]),
        { syncToFs: false },
      ));
    } catch (error) {
      throw withQuery(error, sql, []);
    }
    const statement = { name, types: parse.parseDescribeStatementResults(messages) };
    this.statements.set(sql, statement);
    return statement;
  }

  private async close(sql: string): Promise<void> {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    await this.closeNamed(statement.name);
  }

  private async closeNamed(name: string): Promise<void> {
    await this.pg.execProtocol(Buffer.concat([serialize.close({ type: 'S', name }), serialize.sync()]), {
      syncToFs: false,
    });
  }
}

/** The statement and its parameters on the error, as PGlite's `query` puts them. */
function withQuery(error: unknown, sql: string, params: readonly unknown[]): unknown {
  if (error instanceof Error && !('query' in error)) Object.assign(error, { query: sql, params });
  return error;
}
